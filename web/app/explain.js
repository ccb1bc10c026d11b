// Explain get, under the picture: a form for a key, the engine's
// `explainGet` trace drawn as the read path, and the probed tables handed
// to the picture (`onProbes`) to outline. Other views reach it through
// `explainKey`.

import { h, errorText, messageBox, showMessage } from './dom.js';
import { drawTrace } from './drawing.js';

export class ExplainGet {
  constructor(session, onProbes) {
    this.session = session;
    this.onProbes = onProbes;
    this.input = h('input', { attrs: { type: 'text', 'aria-label': 'Key to explain', placeholder: 'a key', 'data-testid': 'explain-key', autocomplete: 'off' } });
    this.input.id = 'explain-key';
    this.message = messageBox();
    this.out = h('div', { class: 'trace', attrs: { 'data-testid': 'explain-result' } });
    const form = h(
      'form',
      { class: 'explain-form', on: { submit: (e) => { e.preventDefault(); this.run(this.input.value); } } },
      h('label', { attrs: { for: 'explain-key' }, text: 'Explain get' }),
      this.input,
      h('button', { attrs: { type: 'submit' }, text: 'Explain' }),
    );
    this.el = h('section', { class: 'explain', attrs: { 'aria-label': 'Explain get' } }, form, this.message, this.out);
  }

  /** Shows the read path of a get for `key` (also used by other views). */
  async explainKey(key) {
    this.input.value = key;
    await this.run(key);
  }

  async run(key) {
    showMessage(this.message, '');
    if (key === '') {
      showMessage(this.message, 'Type a key to see where a get for it looks.');
      return;
    }
    let trace;
    try {
      trace = await this.session.run((store) => store.explainGet(key), 'explain');
    } catch (error) {
      showMessage(this.message, errorText(error));
      return;
    }
    this.onProbes(drawTrace(this.out, key, trace));
  }
}
