// The levels the picture shows: always the engine's own. At rest, the
// tables of `stats().levels`; after a flush or compaction it replays, that
// report's `levelsAfter` — the engine's table numbers per level once the
// step was installed — each number mapped to the summary the page knows
// for it (from the latest `stats()` or from reports' outputs and inputs),
// or a bare `{ number }` when it knows none. Nothing here applies a
// report's inputs and outputs to a level: the engine did, and says so.

export class Levels {
  constructor() {
    /** `rows[level]`: that level's tables, L0 newest first. Empty until the engine's levels are known. */
    this.rows = [];
    this.known = new Map(); // table number → summary
  }

  learn(tables) {
    for (const t of tables) this.known.set(t.number, t);
  }

  /** Remembers the summaries in `stats()` and in the reports of `events`. */
  learnFrom(stats, events = []) {
    for (const level of stats.levels) this.learn(level.tables);
    for (const e of events) {
      if (!e.report) continue;
      this.learn(e.report.outputs);
      if (e.report.inputs) this.learn(e.report.inputs);
    }
  }

  /** Exactly `stats().levels`; summaries of tables gone since are forgotten. */
  settle(stats) {
    this.rows = stats.levels.map((level) => level.tables);
    this.known.clear();
    this.learnFrom(stats);
  }

  /** Exactly a report's `levelsAfter`. */
  after(report) {
    this.rows = report.levelsAfter.map((numbers) => numbers.map((number) => this.known.get(number) || { number }));
  }

  numbers() {
    return this.rows.map((tables) => tables.map((t) => t.number));
  }
}
