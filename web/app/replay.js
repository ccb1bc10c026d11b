// Replay: the queue of engine events the picture shows one at a time, their
// pace (slower when few wait, faster when many do, none when skipping), and
// step mode (each event waits for "Next step"). How an event looks is the
// picture's business: `show(event)` plays it, awaiting `pause(ms)` between
// its frames; `waiting(count)` is called before a step-mode wait and
// `done()` once the queue is empty.

export class Replay {
  constructor({ show, waiting, done }) {
    this.hooks = { show, waiting, done };
    this.queue = [];
    this.playing = false;
    this.skipping = false;
    this.stepMode = false;
    this.waiter = null;
  }

  /** Queues `events` and plays them (after those already queued). */
  add(events) {
    this.queue.push(...events);
    this.play();
  }

  /** True while a step waits for `next()`. */
  get waitsForNext() {
    return this.playing && this.stepMode;
  }

  setStepMode(on) {
    this.stepMode = on;
    if (!on) this.wake();
  }

  next() {
    this.wake();
  }

  /** Drops what is queued and finishes the event being shown without pauses. */
  skip() {
    this.queue = [];
    this.skipping = true;
    this.wake();
  }

  /** Drops what is queued (what it showed no longer exists). */
  clear() {
    this.queue = [];
    this.wake();
  }

  wake() {
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve();
    }
  }

  /** Waits `ms`, or less if woken (next, skip, clear). */
  pause(ms) {
    return new Promise((resolve) => {
      const done = () => {
        if (this.waiter === done) this.waiter = null;
        resolve();
      };
      this.waiter = done;
      setTimeout(done, ms);
    });
  }

  waitForNext() {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** How long a frame stays: shorter the more events wait; 0 when skipping. */
  delay() {
    if (this.skipping) return 0;
    const n = this.queue.length;
    return n > 12 ? 60 : n > 4 ? 250 : 800;
  }

  async play() {
    if (this.playing) return;
    this.playing = true;
    this.skipping = false;
    try {
      while (this.queue.length) {
        if (this.stepMode && !this.skipping) {
          this.hooks.waiting(this.queue.length);
          await this.waitForNext();
          if (!this.queue.length) break;
        }
        await this.hooks.show(this.queue.shift());
      }
    } finally {
      this.playing = false;
      this.skipping = false;
      this.hooks.done();
    }
  }
}
