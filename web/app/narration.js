// Narration: what an engine event means, in one sentence. Every number in
// it is the engine's own (from the event or its report); the Dashboard,
// Operations, the Demo and the picture's captions all say events this way.

import { fmtBytes, fmtNum, plural } from './dom.js';

/** Tables as words: "table #7 (30 entries)", "tables #8 (30 entries), #9 (12 entries)". */
export function tablesText(tables) {
  if (!tables.length) return 'no table';
  const list = tables.map((t) => `#${t.number} (${plural(t.entries, 'entry', 'entries')})`).join(', ');
  return `${tables.length === 1 ? 'table' : 'tables'} ${list}`;
}

/** One sentence per engine event; every number is the engine's. */
// At the bottom of the tree a version every reader sees needs no sequence
// number any more; the engine writes 0 there, which compresses to almost nothing.
function zeroedText(r) {
  return r.zeroedSeqs ? `; ${plural(r.zeroedSeqs, 'entry', 'entries')} at the bottom now carry seq 0 (every reader sees them)` : '';
}

export function describeEvent(e) {
  switch (e.type) {
    case 'opened':
      return e.created ? 'Opened a new, empty store.' : 'Opened the store from its manifest.';
    case 'walReplayed':
      return `Recovery: replayed ${plural(e.records, 'WAL record')} (${plural(e.entries, 'entry', 'entries')}) from WAL ${e.files.length === 1 ? 'file' : 'files'} ${e.files.map((n) => `#${n}`).join(', ') || '–'} into the memtable.`;
    case 'walTailTruncated':
      return `Recovery: cut a torn tail of ${plural(e.droppedBytes, 'byte')} off ${e.file} at offset ${fmtNum(e.offset)} (a write that never completed).`;
    case 'manifestTailDiscarded':
      return `Recovery: discarded a torn manifest tail of ${plural(e.droppedBytes, 'byte')} in ${e.file}.`;
    case 'memtableFrozen':
      return `The memtable reached its cap: frozen with ${plural(e.entries, 'entry', 'entries')} (${fmtBytes(e.bytes)}); a new, empty memtable takes the writes.`;
    case 'flushed': {
      const r = e.report;
      const dropped = r.droppedEntries ? `, ${plural(r.droppedEntries, 'overwritten version')} dropped on the way` : '';
      const wals = r.retiredWals.length ? `; WAL ${r.retiredWals.map((n) => `#${n}`).join(', ')} retired` : '';
      return `Flush: ${plural(r.memtableEntries, 'memtable entry', 'memtable entries')} → L0 ${tablesText(r.outputs)}${dropped}${wals}. Everything up to seq ${fmtNum(r.flushedSeq)} is in tables.`;
    }
    case 'compacted': {
      const r = e.report;
      const from = [...new Set(r.inputs.map((t) => `L${t.level}`))].join('+') || '–';
      const why = { l0Tables: 'L0 has too many tables', levelSize: 'a level outgrew its target', manual: 'requested' }[r.reason] || r.reason;
      if (r.trivialMove) return `Compaction (${why}): ${tablesText(r.inputs)} moved from ${from} to L${r.outputLevel} unchanged — nothing below overlaps it.`;
      return `Compaction (${why}) ${from} → L${r.outputLevel}: ${plural(r.inputs.length, 'table')} with ${plural(r.entriesIn, 'entry', 'entries')} merged into ${plural(r.outputs.length, 'table')} with ${plural(r.entriesOut, 'entry', 'entries')}; dropped ${plural(r.droppedOverwritten, 'overwritten version')} and ${plural(r.droppedTombstones, 'tombstone')}${zeroedText(r)}.`;
    }
    case 'tablesRemoved':
      return `Deleted obsolete table files ${e.numbers.map((n) => `#${n}`).join(', ')}.`;
    case 'wentReadOnly':
      return `The store went read-only: ${e.reason}`;
    case 'storageNotice':
      return `Storage: ${e.message}`;
    case 'missed':
      return `${plural(e.count, 'event')} dropped from the engine's bounded event log before the page read them.`;
    case 'other':
      return e.description;
    default:
      return e.type;
  }
}
