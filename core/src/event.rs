//! The event feed: what the engine did (flushes, compactions, recovery), kept
//! in a bounded log that a UI polls from a cursor.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::stats::TableSummary;

/// What a flush did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlushReport {
    /// Entries the frozen memtable held.
    pub memtable_entries: u64,
    /// L0 tables written (several if the memtable exceeded the SSTable caps).
    pub outputs: Vec<TableSummary>,
    /// Versions dropped because a newer version of the same key, visible to
    /// every snapshot, was in the same memtable.
    pub dropped_entries: u64,
    /// Every write up to here is now in a table.
    pub flushed_seq: u64,
    /// WAL files retired by this flush.
    pub retired_wals: Vec<u64>,
    /// The table numbers of every level once the flush was installed (L0
    /// newest first): the engine's own tree after this step, for pictures.
    pub levels_after: Vec<Vec<u64>>,
}

/// Why a compaction ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactionReason {
    /// L0 held more tables than `l0_compaction_trigger`.
    L0Tables,
    /// A level exceeded its target size.
    LevelSize,
    /// `compact()` or `compact_range()`.
    Manual,
}

/// What one compaction step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactionReport {
    pub reason: CompactionReason,
    pub output_level: usize,
    /// Input tables, each with its level.
    pub inputs: Vec<TableSummary>,
    pub outputs: Vec<TableSummary>,
    /// The table moved down a level unchanged (no overlap below).
    pub trivial_move: bool,
    pub entries_in: u64,
    pub entries_out: u64,
    /// Older versions dropped because a newer version shadows them.
    pub dropped_overwritten: u64,
    /// Tombstones dropped because no older version can exist below.
    pub dropped_tombstones: u64,
    /// Entries written with sequence number 0: every reader sees them and
    /// nothing below holds their key, so their number no longer matters.
    pub zeroed_seqs: u64,
    /// The table numbers of every level once the step was installed (L0
    /// newest first): the engine's own tree after this step, for pictures.
    pub levels_after: Vec<Vec<u64>>,
}

/// Something the engine did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The database opened; `created` if it was new.
    Opened {
        created: bool,
    },
    /// WAL files replayed at open.
    WalReplayed {
        files: Vec<u64>,
        records: u64,
        entries: u64,
    },
    /// A torn tail was cut off a WAL file at open.
    WalTailTruncated {
        file: String,
        offset: u64,
        dropped_bytes: u64,
    },
    /// A torn manifest tail was discarded at open (the edit never committed).
    ManifestTailDiscarded {
        file: String,
        offset: u64,
        dropped_bytes: u64,
    },
    /// The memtable reached a cap and was frozen for flushing.
    MemtableFrozen {
        entries: u64,
        bytes: u64,
    },
    Flushed(FlushReport),
    Compacted(CompactionReport),
    /// Obsolete table files removed.
    TablesRemoved {
        numbers: Vec<u64>,
    },
    /// A storage failure made the database read-only.
    WentReadOnly {
        reason: String,
    },
    /// Something only the code that owns the storage can see — a browser
    /// that deleted the store's database since the last session, say —
    /// recorded with `Db::record_notice` so the feed's readers learn of it.
    StorageNotice {
        message: String,
    },
}

/// One event and its position in the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Strictly increasing, starting at 1.
    pub cursor: u64,
    pub kind: EventKind,
}

/// A page of events from `Db::events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass this as `since` to get the events after these.
    pub next_cursor: u64,
    /// Events after `since` that were already dropped from the bounded log.
    pub missed: u64,
}

/// A bounded log of events.
#[derive(Debug)]
pub(crate) struct EventLog {
    events: VecDeque<Event>,
    capacity: usize,
    last_cursor: u64,
}

impl EventLog {
    pub fn new(capacity: usize) -> Self {
        assert!(capacity >= 1);
        EventLog { events: VecDeque::new(), capacity, last_cursor: 0 }
    }

    pub fn push(&mut self, kind: EventKind) {
        self.last_cursor += 1;
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(Event { cursor: self.last_cursor, kind });
    }

    /// Events with cursor > `since`, at most `max`.
    pub fn since(&self, since: u64, max: usize) -> EventPage {
        let oldest = self.events.front().map_or(self.last_cursor + 1, |e| e.cursor);
        let missed = oldest.saturating_sub(since + 1);
        let events: Vec<Event> = self.events.iter().filter(|e| e.cursor > since).take(max).cloned().collect();
        let next_cursor = events.last().map_or(since.max(oldest - 1).min(self.last_cursor), |e| e.cursor);
        EventPage { events, next_cursor, missed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_is_bounded_and_reports_missed_events() {
        let mut log = EventLog::new(3);
        for _ in 0..5 {
            log.push(EventKind::Opened { created: false });
        }
        let page = log.since(0, 10);
        assert_eq!(page.events.iter().map(|e| e.cursor).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(page.missed, 2);
        assert_eq!(page.next_cursor, 5);
        let page = log.since(5, 10);
        assert!(page.events.is_empty());
        assert_eq!(page.next_cursor, 5);
        assert_eq!(page.missed, 0);
        let page = log.since(3, 1);
        assert_eq!(page.events[0].cursor, 4);
        assert_eq!(page.next_cursor, 4);
    }
}
