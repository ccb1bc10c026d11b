//! Leveled compaction, in two halves kept apart: `pick` and `pick_range`
//! decide what the tree needs from a `Version`, the options and the oldest
//! snapshot alone (no I/O, so they are easy to test and to show), returning
//! a `Decision`; `Retention` decides entry by entry what a merge keeps. The
//! engine (`db::compact`) carries a decision out.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::event::CompactionReason;
use crate::key::ValueKind;
use crate::options::{Options, LEVELS};
use crate::version::{TableMeta, Version};

/// A compaction to run: tables to merge and the level their merge goes to.
#[derive(Clone, Debug)]
pub struct CompactionTask {
    pub reason: CompactionReason,
    /// Input tables grouped by level, shallowest level first.
    pub inputs: Vec<(usize, Vec<Arc<TableMeta>>)>,
    pub output_level: usize,
}

impl CompactionTask {
    /// Every input table with its level.
    pub fn input_tables(&self) -> impl Iterator<Item = (usize, &Arc<TableMeta>)> {
        self.inputs.iter().flat_map(|(level, tables)| tables.iter().map(move |t| (*level, t)))
    }
}

/// What the tree needs next, and how to do it. Every variant but `Nothing`
/// carries the task: the input tables, the output level and the reason.
#[derive(Clone, Debug)]
pub enum Decision {
    /// Every level is within its limits.
    Nothing,
    /// One table, with nothing to merge it with below, relinks to the output
    /// level unchanged: no bytes rewritten.
    Move(CompactionTask),
    /// The inputs merge into new tables at the output level.
    Merge(CompactionTask),
    /// The inputs hold only tombstones that every reader sees past and that
    /// shadow nothing (no other table at their levels or below holds their
    /// keys): their files are dropped without being read.
    Drop(CompactionTask),
}

impl Decision {
    /// How a task is best carried out.
    fn of(version: &Version, task: CompactionTask, oldest_snapshot: u64) -> Decision {
        if only_dead_tombstones(version, &task, oldest_snapshot) {
            return Decision::Drop(task);
        }
        let lone = {
            let mut inputs = task.input_tables();
            matches!((inputs.next(), inputs.next()), (Some((level, _)), None) if level < task.output_level)
        };
        if lone {
            Decision::Move(task)
        } else {
            Decision::Merge(task)
        }
    }

    /// The task, unless there is nothing to do.
    pub fn task(&self) -> Option<&CompactionTask> {
        match self {
            Decision::Nothing => None,
            Decision::Move(task) | Decision::Merge(task) | Decision::Drop(task) => Some(task),
        }
    }
}

/// True when every input is tombstones only, all at or below the oldest
/// snapshot, and every table at the inputs' levels and below that overlaps
/// their key span is an input: then no read at any snapshot changes when
/// they go.
fn only_dead_tombstones(version: &Version, task: &CompactionTask, oldest_snapshot: u64) -> bool {
    let inputs: Vec<&Arc<TableMeta>> = task.input_tables().map(|(_, t)| t).collect();
    let dead = |t: &&Arc<TableMeta>| t.tombstone_count == t.entry_count && t.max_seq <= oldest_snapshot;
    if inputs.is_empty() || !inputs.iter().all(dead) {
        return false;
    }
    let shallowest = task.input_tables().map(|(level, _)| level).min().unwrap_or(0);
    let (start, end) = user_key_span(&inputs.iter().map(|t| Arc::clone(t)).collect::<Vec<_>>());
    (shallowest..LEVELS).all(|level| {
        version.overlapping(level, Some(&start), Some(&end)).iter().all(|t| inputs.iter().any(|i| i.number == t.number))
    })
}

/// The compaction the tree needs most, by score: L0's is its tables over
/// `l0_compaction_trigger` (when more), a level's its bytes over its target
/// size (when more); the highest goes, L0 on a tie.
/// `pointers[level]` is where the last compaction of that level ended, so
/// successive compactions walk the key space round-robin.
/// `oldest_snapshot` is the oldest sequence number any reader may read at.
pub fn pick(
    version: &Version,
    options: &Options,
    pointers: &[Option<Vec<u8>>; LEVELS],
    oldest_snapshot: u64,
) -> Decision {
    let l0 = (version.levels[0].len() as u64, options.l0_compaction_trigger as u64);
    let task = match (l0.0 > l0.1, most_oversized_level(version, options)) {
        // L0 (tables over its trigger) and a level (bytes over its target)
        // both need work: the one further over goes first, L0 on a tie. L0
        // always first would let L1 grow without bound under a steady write
        // load, and every L0 merge rewrites all of L1 that random keys
        // overlap: at 100M keys L1 reached 2.75 times its target and writes
        // were amplified 18 times (RocksDB picks by the same scores).
        (true, Some((level, bytes, target)))
            if u128::from(bytes) * u128::from(l0.1) > u128::from(l0.0) * u128::from(target) =>
        {
            pick_from_level(version, level, pointers[level].as_deref())
        }
        (true, _) => pick_l0(version),
        (false, Some((level, _, _))) => pick_from_level(version, level, pointers[level].as_deref()),
        (false, None) => return Decision::Nothing,
    };
    Decision::of(version, task, oldest_snapshot)
}

/// The level of 1..=5 furthest over its target size (the last level cannot
/// move down), with its bytes and target.
fn most_oversized_level(version: &Version, options: &Options) -> Option<(usize, u64, u64)> {
    let mut best: Option<(usize, u64, u64)> = None;
    for level in 1..LEVELS - 1 {
        let (bytes, target) = (version.level_bytes(level), options.level_target_bytes(level));
        if bytes <= target {
            continue;
        }
        // Compare bytes/target ratios exactly: a/b > c/d  <=>  a*d > c*b.
        let better =
            best.is_none_or(|(_, b, t)| u128::from(bytes) * u128::from(t) > u128::from(b) * u128::from(target));
        if better {
            best = Some((level, bytes, target));
        }
    }
    best
}

/// Every L0 table (they may overlap each other) plus the L1 tables they
/// overlap. Except when an L0 table overlaps no other L0 table and nothing in
/// L1, as every flush of sequential writes makes: then that table alone (the
/// oldest such), which `Decision::of` moves down unchanged instead of
/// rewriting it with the rest. Moving it is safe: no L0 table can hold
/// another version of its keys, so nothing above it changes order.
fn pick_l0(version: &Version) -> CompactionTask {
    let l0 = &version.levels[0];
    let alone = l0.iter().rev().find(|t| {
        let (start, end) = (Some(t.smallest.user_key.as_slice()), Some(t.largest.user_key.as_slice()));
        l0.iter().all(|other| other.number == t.number || !other.overlaps(start, end))
            && version.overlapping(1, start, end).is_empty()
    });
    if let Some(table) = alone {
        let inputs = alloc::vec![(0, alloc::vec![Arc::clone(table)])];
        return CompactionTask { reason: CompactionReason::L0Tables, inputs, output_level: 1 };
    }
    let l0 = l0.clone();
    let (start, end) = user_key_span(&l0);
    let l1 = version.overlapping(1, Some(&start), Some(&end));
    CompactionTask { reason: CompactionReason::L0Tables, inputs: alloc::vec![(0, l0), (1, l1)], output_level: 1 }
}

/// One table of `level` (the first after `pointer`, wrapping around), widened
/// to neighbours that share a boundary user key (a key's versions must move
/// down together), plus the tables of `level + 1` it overlaps.
fn pick_from_level(version: &Version, level: usize, pointer: Option<&[u8]>) -> CompactionTask {
    let tables = &version.levels[level];
    assert!(!tables.is_empty(), "an oversized level has tables");
    let mut first =
        pointer.map(|p| tables.iter().position(|t| t.smallest.user_key.as_slice() > p).unwrap_or(0)).unwrap_or(0);
    let mut last = first;
    while first > 0 && tables[first - 1].largest.user_key == tables[first].smallest.user_key {
        first -= 1;
    }
    while last + 1 < tables.len() && tables[last].largest.user_key == tables[last + 1].smallest.user_key {
        last += 1;
    }
    let chosen: Vec<_> = tables[first..=last].to_vec();
    let (start, end) = user_key_span(&chosen);
    let below = version.overlapping(level + 1, Some(&start), Some(&end));
    CompactionTask {
        reason: CompactionReason::LevelSize,
        inputs: alloc::vec![(level, chosen), (level + 1, below)],
        output_level: level + 1,
    }
}

/// A manual compaction of every table overlapping `[start, end]` (None:
/// unbounded), merged into the deepest level among them (at least L1). The
/// range widens until it covers every input table, so no version of a key
/// is left behind above the output.
pub fn pick_range(version: &Version, start: Option<&[u8]>, end: Option<&[u8]>, oldest_snapshot: u64) -> Decision {
    let (mut lo, mut hi) = (start.map(<[u8]>::to_vec), end.map(<[u8]>::to_vec));
    loop {
        let inputs: Vec<(usize, Vec<Arc<TableMeta>>)> = (0..LEVELS)
            .map(|level| (level, version.overlapping(level, lo.as_deref(), hi.as_deref())))
            .filter(|(_, tables)| !tables.is_empty())
            .collect();
        let all: Vec<Arc<TableMeta>> = inputs.iter().flat_map(|(_, t)| t.iter().cloned()).collect();
        if all.is_empty() {
            return Decision::Nothing;
        }
        let (span_lo, span_hi) = user_key_span(&all);
        // An unbounded side stays unbounded; a bounded one grows to the span.
        let widened_lo = lo.as_ref().map(|l| l.clone().min(span_lo));
        let widened_hi = hi.as_ref().map(|h| h.clone().max(span_hi));
        if widened_lo == lo && widened_hi == hi {
            let deepest = inputs.iter().map(|(level, _)| *level).max().unwrap_or(0);
            let task = CompactionTask { reason: CompactionReason::Manual, inputs, output_level: deepest.max(1) };
            return Decision::of(version, task, oldest_snapshot);
        }
        (lo, hi) = (widened_lo, widened_hi);
    }
}

/// Smallest and largest user key over some tables (non-empty).
fn user_key_span(tables: &[Arc<TableMeta>]) -> (Vec<u8>, Vec<u8>) {
    let start = tables.iter().map(|t| &t.smallest.user_key).min().expect("non-empty");
    let end = tables.iter().map(|t| &t.largest.user_key).max().expect("non-empty");
    (start.clone(), end.clone())
}

/// What a merge does with one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Kept with sequence number 0: every reader sees this version and no
    /// deeper level can hold an older one of its key, so its number orders it
    /// against nothing any more (RocksDB zeroes these too). An entry's
    /// trailer is then 7 zero bytes and its kind, which LZ4 stores almost
    /// for free, where a real number costs about 5 bytes an entry.
    KeepAsOldest,
    /// A newer version of the key, visible to every snapshot, shadows it.
    DropShadowed,
    /// A tombstone nothing below can need, visible to every snapshot.
    DropTombstone,
}

/// Decides which versions a merge keeps, entry by entry, for entries arriving
/// in internal-key order (LevelDB's rule): a version is dropped when the next
/// newer version of its key is at or below the oldest snapshot (no reader can
/// see past that one); a tombstone is dropped when it is itself at or below
/// the oldest snapshot and no deeper level can hold its key, and a put in the
/// same place keeps its value but loses its sequence number (`KeepAsOldest`).
#[derive(Debug)]
pub struct Retention {
    oldest_snapshot: u64,
    current_key: Vec<u8>,
    has_current: bool,
    /// Sequence number of the previous (newer) version of `current_key`.
    newer_seq: u64,
}

impl Retention {
    /// `oldest_snapshot`: the smallest sequence number any reader may read at
    /// (live snapshots and the current visible sequence).
    pub fn new(oldest_snapshot: u64) -> Self {
        Retention { oldest_snapshot, current_key: Vec::new(), has_current: false, newer_seq: u64::MAX }
    }

    /// Judges the next entry. `bottom` answers "can no deeper level hold this
    /// key?" and is asked only for entries every snapshot sees (and not for
    /// puts already at seq 0).
    pub fn judge(&mut self, user_key: &[u8], seq: u64, kind: ValueKind, bottom: impl FnOnce(&[u8]) -> bool) -> Verdict {
        if !self.has_current || self.current_key.as_slice() != user_key {
            self.current_key.clear();
            self.current_key.extend_from_slice(user_key);
            self.has_current = true;
            self.newer_seq = u64::MAX;
        }
        debug_assert!(seq < self.newer_seq, "entries must arrive newest first");
        let verdict = if self.newer_seq <= self.oldest_snapshot {
            Verdict::DropShadowed
        } else if seq <= self.oldest_snapshot && (kind == ValueKind::Delete || seq != 0) && bottom(user_key) {
            match kind {
                ValueKind::Delete => Verdict::DropTombstone,
                ValueKind::Put => Verdict::KeepAsOldest,
            }
        } else {
            Verdict::Keep
        };
        self.newer_seq = seq;
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::InternalKey;
    use alloc::vec;

    fn table(number: u64, lo: &str, hi: &str, size: u64) -> Arc<TableMeta> {
        Arc::new(TableMeta {
            number,
            file_size: size,
            entry_count: 1,
            tombstone_count: 0,
            min_seq: number,
            max_seq: number,
            smallest: InternalKey::new(lo.as_bytes().to_vec(), number, ValueKind::Put),
            largest: InternalKey::new(hi.as_bytes().to_vec(), number, ValueKind::Put),
        })
    }

    /// An oldest snapshot that sees every table written.
    const SEE_ALL: u64 = u64::MAX;

    fn merge(decision: Decision) -> CompactionTask {
        match decision {
            Decision::Merge(task) => task,
            other => panic!("expected a merge, got {other:?}"),
        }
    }

    fn tombstones(number: u64, lo: &str, hi: &str) -> Arc<TableMeta> {
        let mut t = (*table(number, lo, hi, 60)).clone();
        t.tombstone_count = t.entry_count;
        Arc::new(t)
    }

    fn numbers(tables: &[Arc<TableMeta>]) -> Vec<u64> {
        tables.iter().map(|t| t.number).collect()
    }

    #[test]
    fn l0_over_trigger_compacts_all_of_l0_with_overlapping_l1() {
        let mut v = Version::default();
        let options = Options { l0_compaction_trigger: 2, ..Options::teaching() };
        v.levels[0] = vec![table(9, "c", "f", 10), table(8, "a", "b", 10)];
        v.levels[1] = vec![table(1, "a", "a", 10), table(2, "d", "e", 10), table(3, "x", "z", 10)];
        let none: [Option<Vec<u8>>; LEVELS] = Default::default();
        assert!(
            matches!(pick(&v, &options, &none, SEE_ALL), Decision::Nothing),
            "two tables do not exceed a trigger of two"
        );
        v.levels[0].push(table(7, "b", "c", 10));
        let task = merge(pick(&v, &options, &none, SEE_ALL));
        assert_eq!(task.output_level, 1);
        assert_eq!(numbers(&task.inputs[0].1), [9, 8, 7]);
        assert_eq!(numbers(&task.inputs[1].1), [1, 2]);
    }

    /// The level a decision writes to (a merge's or a move's).
    fn output_level(decision: Decision) -> usize {
        match decision {
            Decision::Merge(task) | Decision::Move(task) => task.output_level,
            other => panic!("expected a merge or a move, got {other:?}"),
        }
    }

    #[test]
    fn the_level_further_over_its_target_goes_first_l0_on_a_tie() {
        let options = Options { l0_compaction_trigger: 2, level_base_bytes: 100, ..Options::teaching() };
        let none: [Option<Vec<u8>>; LEVELS] = Default::default();
        let mut v = Version::default();
        // L0: 3 tables over a trigger of 2 (1.5 times); L1: 250 bytes over 100 (2.5 times).
        v.levels[0] = vec![table(9, "a", "m", 10), table(8, "b", "n", 10), table(7, "c", "o", 10)];
        v.levels[1] = vec![table(1, "a", "f", 125), table(2, "g", "z", 125)];
        assert_eq!(output_level(pick(&v, &options, &none, SEE_ALL)), 2, "L1 is further over");
        // L1 at 150 bytes (1.5 times): a tie, and L0 goes first.
        v.levels[1] = vec![table(1, "a", "f", 75), table(2, "g", "z", 75)];
        assert_eq!(output_level(pick(&v, &options, &none, SEE_ALL)), 1, "a tie goes to L0");
        // L0 at 4 tables (2 times) beats L1 at 1.5 times.
        v.levels[1] = vec![table(1, "a", "f", 125), table(2, "g", "z", 125)];
        v.levels[0].push(table(6, "d", "p", 10));
        assert_eq!(output_level(pick(&v, &options, &none, SEE_ALL)), 2, "L1 at 2.5 still beats L0 at 2");
        v.levels[0].extend([table(5, "e", "q", 10), table(4, "f", "r", 10)]);
        assert_eq!(output_level(pick(&v, &options, &none, SEE_ALL)), 1, "L0 at 3 beats L1 at 2.5");
    }

    /// Sequential writes: each L0 table overlaps no other and nothing in L1,
    /// so it moves down unchanged (oldest first) instead of being rewritten;
    /// one that overlaps anything brings back the merge of all of L0.
    #[test]
    fn l0_tables_overlapping_nothing_move_down_one_at_a_time() {
        let mut v = Version::default();
        let options = Options { l0_compaction_trigger: 2, ..Options::teaching() };
        let none: [Option<Vec<u8>>; LEVELS] = Default::default();
        v.levels[0] = vec![table(9, "g", "h", 10), table(8, "e", "f", 10), table(7, "c", "d", 10)];
        v.levels[1] = vec![table(1, "a", "b", 10)];
        match pick(&v, &options, &none, SEE_ALL) {
            Decision::Move(task) => {
                assert_eq!(task.output_level, 1);
                assert_eq!(task.input_tables().map(|(l, t)| (l, t.number)).collect::<Vec<_>>(), [(0, 7)]);
            }
            other => panic!("expected a move, got {other:?}"),
        }
        // Table 7 now overlaps L1's table 2: it must merge, and the other L0
        // tables (still alone) go first, oldest first.
        v.levels[1].push(table(2, "d", "d", 10));
        match pick(&v, &options, &none, SEE_ALL) {
            Decision::Move(task) => assert_eq!(task.input_tables().next().map(|(_, t)| t.number), Some(8)),
            other => panic!("expected a move, got {other:?}"),
        }
        // Sharing a boundary key with another L0 table counts as overlapping.
        v.levels[0] = vec![table(9, "h", "i", 10), table(8, "e", "h", 10), table(7, "c", "d", 10)];
        let task = merge(pick(&v, &options, &none, SEE_ALL));
        assert_eq!(numbers(&task.inputs[0].1), [9, 8, 7]);
        assert_eq!(numbers(&task.inputs[1].1), [2]);
    }

    #[test]
    fn oversized_level_picks_round_robin_and_keeps_boundary_keys_together() {
        let mut v = Version::default();
        let options = Options { level_base_bytes: 100, ..Options::teaching() };
        v.levels[1] = vec![table(1, "a", "c", 60), table(2, "c", "e", 60), table(3, "g", "h", 60)];
        v.levels[2] = vec![table(4, "d", "d", 10), table(5, "h", "k", 10)];
        let mut pointers: [Option<Vec<u8>>; LEVELS] = Default::default();
        let task = merge(pick(&v, &options, &pointers, SEE_ALL));
        assert_eq!(numbers(&task.inputs[0].1), [1, 2], "table 2 shares key c with table 1");
        assert_eq!(numbers(&task.inputs[1].1), [4]);
        pointers[1] = Some(b"e".to_vec());
        let task = merge(pick(&v, &options, &pointers, SEE_ALL));
        assert_eq!(numbers(&task.inputs[0].1), [3]);
        assert_eq!(numbers(&task.inputs[1].1), [5]);
        pointers[1] = Some(b"h".to_vec());
        let task = merge(pick(&v, &options, &pointers, SEE_ALL));
        assert_eq!(numbers(&task.inputs[0].1), [1, 2], "wraps around");
    }

    #[test]
    fn a_key_split_over_two_tables_below_is_taken_whole() {
        // L2 holds k's tombstone in table 4 and an older put of k in table 5.
        // An L1 table reaching only into table 4 must take table 5 as well,
        // or dropping the tombstone would resurrect the put.
        let mut v = Version::default();
        let options = Options { level_base_bytes: 10, ..Options::teaching() };
        v.levels[1] = vec![table(1, "a", "h", 60)];
        v.levels[2] = vec![table(4, "g", "k", 1), table(5, "k", "m", 1), table(6, "n", "p", 1)];
        let task = merge(pick(&v, &options, &Default::default(), SEE_ALL));
        assert_eq!(numbers(&task.inputs[1].1), [4, 5]);
    }

    #[test]
    fn lone_table_without_overlap_below_is_a_trivial_move() {
        let mut v = Version::default();
        let options = Options { level_base_bytes: 10, ..Options::teaching() };
        v.levels[1] = vec![table(1, "a", "c", 60)];
        v.levels[2] = vec![table(2, "d", "e", 1)];
        assert!(matches!(pick(&v, &options, &Default::default(), SEE_ALL), Decision::Move(_)));
    }

    #[test]
    fn range_compaction_widens_to_cover_whole_tables_and_targets_the_deepest_level() {
        let mut v = Version::default();
        v.levels[0] = vec![table(10, "m", "q", 1)];
        v.levels[1] = vec![table(5, "a", "f", 1), table(6, "g", "n", 1), table(7, "p", "z", 1)];
        v.levels[3] = vec![table(2, "b", "c", 1)];
        // [h, h] touches only table 6 (g..n), which widens to reach L0's m..q, then table 7 (p..z).
        let task = merge(pick_range(&v, Some(b"h"), Some(b"h"), SEE_ALL));
        assert_eq!(task.output_level, 1);
        let all: Vec<u64> = task.input_tables().map(|(_, t)| t.number).collect();
        assert_eq!(all, [10, 6, 7]);
        let task = merge(pick_range(&v, None, None, SEE_ALL));
        assert_eq!(task.output_level, 3);
        assert_eq!(task.input_tables().count(), 5);
        assert!(matches!(pick_range(&Version::default(), None, None, SEE_ALL), Decision::Nothing));
    }

    #[test]
    fn retention_keeps_what_snapshots_can_see() {
        // Versions of k at 9, 7 (tombstone), 4, 2; oldest snapshot 5.
        let mut r = Retention::new(5);
        let bottom = |_: &[u8]| true;
        assert_eq!(r.judge(b"k", 9, ValueKind::Put, bottom), Verdict::Keep);
        assert_eq!(r.judge(b"k", 7, ValueKind::Delete, bottom), Verdict::Keep, "newer 9 > snapshot 5");
        assert_eq!(r.judge(b"k", 4, ValueKind::Put, bottom), Verdict::KeepAsOldest, "snapshot 5 sees 4");
        assert_eq!(r.judge(b"k", 2, ValueKind::Put, bottom), Verdict::DropShadowed);
        // A put every snapshot sees loses its number only at the bottom, once.
        assert_eq!(r.judge(b"l", 4, ValueKind::Put, |_| false), Verdict::Keep);
        assert_eq!(r.judge(b"l2", 6, ValueKind::Put, bottom), Verdict::Keep, "snapshot 5 does not see 6");
        let asked = core::cell::Cell::new(false);
        let ask = |_: &[u8]| {
            asked.set(true);
            true
        };
        assert_eq!(r.judge(b"l3", 0, ValueKind::Put, ask), Verdict::Keep);
        assert!(!asked.get(), "a put at seq 0 needs no level lookup");
        // A tombstone below every snapshot goes only at the bottom.
        assert_eq!(r.judge(b"m", 3, ValueKind::Delete, |_| false), Verdict::Keep);
        assert_eq!(r.judge(b"m", 1, ValueKind::Put, bottom), Verdict::DropShadowed);
        assert_eq!(r.judge(b"n", 3, ValueKind::Delete, bottom), Verdict::DropTombstone);
        assert_eq!(r.judge(b"n", 1, ValueKind::Put, bottom), Verdict::DropShadowed);
    }

    #[test]
    fn bottom_cursor_agrees_with_the_search_for_ascending_keys() {
        let mut v = Version::default();
        v.levels[2] = vec![table(1, "b", "d", 1), table(2, "f", "f", 1), table(3, "h", "k", 1)];
        v.levels[4] = vec![table(4, "c", "c", 1), table(5, "j", "m", 1)];
        let keys = ["a", "b", "c", "c", "d", "e", "f", "g", "h", "j", "l", "m", "n", "z"];
        for level in 0..LEVELS {
            let mut cursor = v.bottom_cursor(level);
            for key in keys {
                let expected = v.is_bottom_for_key(level, key.as_bytes());
                assert_eq!(cursor.is_bottom(key.as_bytes()), expected, "L{level}, key {key}");
            }
        }
        // Keys the cursor skips levels for (an earlier level already answered) still count.
        let mut cursor = v.bottom_cursor(1);
        assert!(!cursor.is_bottom(b"c"));
        assert!(cursor.is_bottom(b"e"));
        assert!(!cursor.is_bottom(b"l"));
    }

    #[test]
    fn tombstones_that_shadow_nothing_are_dropped_unread() {
        let options = Options { level_base_bytes: 10, ..Options::teaching() };
        let mut v = Version::default();
        v.levels[1] = vec![tombstones(7, "a", "c")];
        v.levels[2] = vec![table(2, "d", "e", 1)];
        let decision = pick(&v, &options, &Default::default(), SEE_ALL);
        assert!(matches!(&decision, Decision::Drop(task) if numbers(&task.inputs[0].1) == [7]), "{decision:?}");
        // A snapshot older than the tombstones: they move down as they are.
        assert!(matches!(pick(&v, &options, &Default::default(), 6), Decision::Move(_)));
        // Something below holds their keys: they must be merged with it.
        v.levels[2].insert(0, table(3, "b", "b", 1));
        assert!(matches!(pick(&v, &options, &Default::default(), SEE_ALL), Decision::Merge(_)));
        // A manual compaction over tombstones alone drops them too.
        let mut v = Version::default();
        v.levels[3] = vec![tombstones(8, "k", "m"), tombstones(9, "n", "p")];
        assert!(matches!(pick_range(&v, None, None, SEE_ALL), Decision::Drop(_)));
    }
}
