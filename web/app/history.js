// The samples the Analytics view plots: the engine's counters over time,
// one point per reading of `stats()` the session passes on (after every
// call and once a second), with the latest `space()` measurement. Points
// within 250 ms of each other collapse into the newest; erasing the store
// starts a new history.

const KEPT = 600;
/** Updates that carry no new reading of the engine's counters. */
const NOT_READINGS = new Set(['opening', 'error']);

export class History {
  constructor(session) {
    this.session = session;
    /** Oldest first: { t, epoch, lastSeq, gets, tablesProbed, bloomNegatives, writeAmplification, readAmplification, levels: [{ tables, bytes }], spaceAmplification }. */
    this.points = [];
    this.listeners = new Set();
    session.subscribe((update) => this.record(update));
  }

  /** `listener()` after every change of `points`. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  record(update) {
    if (update.reason === 'erased') this.points = [];
    if (update.stats && !NOT_READINGS.has(update.reason)) this.add(update.stats, update.space, this.session.epoch);
    for (const listener of this.listeners) listener();
  }

  add(stats, space, epoch) {
    const last = this.points[this.points.length - 1];
    const point = {
      t: Date.now(),
      epoch,
      lastSeq: stats.lastSeq,
      gets: stats.gets,
      tablesProbed: stats.tablesProbed,
      bloomNegatives: stats.bloomNegatives,
      writeAmplification: stats.writeAmplification,
      readAmplification: stats.readAmplification,
      levels: stats.levels.map((l) => ({ tables: l.tables.length, bytes: l.bytes })),
      spaceAmplification: space ? space.spaceAmplification : last && last.epoch === epoch ? last.spaceAmplification : null,
    };
    // Several samples within 250 ms: keep the newest only.
    if (last && point.t - last.t < 250 && last.epoch === point.epoch) this.points[this.points.length - 1] = point;
    else this.points.push(point);
    if (this.points.length > KEPT) this.points.splice(0, this.points.length - KEPT);
  }
}
