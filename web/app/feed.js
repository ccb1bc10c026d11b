// The engine's event feed as the page keeps it: read from the engine's
// cursor, page by page; the latest events kept, each with the time it
// arrived (`at`) and which open of the store it belongs to (`epoch`); and
// positions in it (`mark`, `since`) for whoever wants the events a call
// caused. It interprets no event: narration.js puts them in words.

const PAGE = 500;
const KEPT = 300;

export class EventFeed {
  constructor() {
    this.cursor = 0;
    /** The latest events, oldest first. */
    this.events = [];
    /** Events kept since the page loaded (for `mark` / `since`). */
    this.total = 0;
  }

  /** A newly opened store: its feed starts again at cursor 0. */
  restart() {
    this.cursor = 0;
  }

  /**
   * Reads every event after the cursor (and a `missed` event where the
   * engine's bounded log dropped some), moving the cursor past them.
   * Returns them; `keep` adds them to the feed.
   */
  async read(store, epoch) {
    const fresh = [];
    for (;;) {
      const page = await store.events(this.cursor, PAGE);
      const now = Date.now();
      for (const event of page.events) fresh.push({ ...event, at: now, epoch });
      if (page.missed > 0) fresh.push({ type: 'missed', count: page.missed, cursor: this.cursor, at: now, epoch });
      const done = page.nextCursor === this.cursor || page.events.length < PAGE;
      this.cursor = page.nextCursor;
      if (done) return fresh;
    }
  }

  keep(fresh) {
    this.events.push(...fresh);
    this.total += fresh.length;
    if (this.events.length > KEPT) this.events.splice(0, this.events.length - KEPT);
  }

  /** A position in the feed, for `since`. */
  mark() {
    return this.total;
  }

  /** The events kept after `mark` (as many as are still kept). */
  since(mark) {
    const count = Math.min(this.total - mark, this.events.length);
    return count > 0 ? this.events.slice(this.events.length - count) : [];
  }
}
