//! `MergeIter`: several cursors moving the same way, merged into one in
//! internal-key order (the read path's and compaction's shared step).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cmp::Ordering;

use super::{Direction, EntryIter};
use crate::error::Result;
use crate::key::{self, ValueKind};

/// Merges cursors that move in the same direction into one, in internal-key
/// order (or its reverse). On equal keys the earlier source — the newer data
/// — comes first.
///
/// The valid sources are kept in a binary heap ordered by their current
/// entry, so a step costs O(log k) comparisons for k sources, not k: a read
/// over a tree of many L0 tables and levels merges a dozen or more.
pub struct MergeIter {
    sources: Vec<Box<dyn EntryIter>>,
    direction: Direction,
    /// Indices of the valid sources; `heap[0]` is the current one.
    heap: Vec<usize>,
}

impl MergeIter {
    pub fn new(sources: Vec<Box<dyn EntryIter>>, direction: Direction) -> Self {
        let heap = Vec::with_capacity(sources.len());
        MergeIter { sources, direction, heap }
    }

    /// Whether source `a`'s entry comes before source `b`'s.
    #[allow(clippy::indexing_slicing, reason = "heap entries are indices of `sources`")]
    fn before(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.sources[a], &self.sources[b]);
        let order = key::compare(x.user_key(), x.seq(), y.user_key(), y.seq());
        let order = match self.direction {
            Direction::Forward => order,
            Direction::Reverse => order.reverse(),
        };
        order == Ordering::Less || (order == Ordering::Equal && a < b)
    }

    #[allow(clippy::indexing_slicing, reason = "positions stay below the heap's length")]
    fn sift_down(&mut self, mut at: usize) {
        loop {
            let (left, right) = (2 * at + 1, 2 * at + 2);
            let mut first = at;
            if left < self.heap.len() && self.before(self.heap[left], self.heap[first]) {
                first = left;
            }
            if right < self.heap.len() && self.before(self.heap[right], self.heap[first]) {
                first = right;
            }
            if first == at {
                return;
            }
            self.heap.swap(at, first);
            at = first;
        }
    }

    /// Rebuilds the heap from every valid source.
    fn rebuild(&mut self) {
        self.heap.clear();
        self.heap.extend((0..self.sources.len()).filter(|&i| self.sources.get(i).is_some_and(|s| s.valid())));
        for at in (0..self.heap.len() / 2).rev() {
            self.sift_down(at);
        }
    }

    #[allow(clippy::indexing_slicing, clippy::expect_used, reason = "EntryIter's contract: read only when valid")]
    fn leader(&self) -> &dyn EntryIter {
        &*self.sources[*self.heap.first().expect("valid cursor")]
    }
}

impl EntryIter for MergeIter {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        self.heap.clear();
        for source in &mut self.sources {
            source.seek(target)?;
        }
        self.rebuild();
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        let Some(&top) = self.heap.first() else { return Ok(()) };
        let source = self.sources.get_mut(top).expect("heap entries are indices of sources");
        if let Err(e) = source.next() {
            self.heap.clear();
            return Err(e);
        }
        if !source.valid() {
            // The last entry takes the exhausted source's place.
            self.heap.swap_remove(0);
        }
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
        Ok(())
    }

    fn valid(&self) -> bool {
        !self.heap.is_empty()
    }
    fn user_key(&self) -> &[u8] {
        self.leader().user_key()
    }
    fn seq(&self) -> u64 {
        self.leader().seq()
    }
    fn kind(&self) -> ValueKind {
        self.leader().kind()
    }
    fn value(&self) -> &[u8] {
        self.leader().value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;
    use alloc::vec;

    type Entry = (Vec<u8>, u64);

    /// A cursor over a sorted list (internal-key order).
    struct ListIter {
        entries: Vec<Entry>,
        direction: Direction,
        at: Option<usize>,
    }

    impl EntryIter for ListIter {
        fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
            let before = |e: &Entry, (k, s): (&[u8], u64)| key::compare(&e.0, e.1, k, s);
            self.at = match (self.direction, target) {
                (Direction::Forward, None) => Some(0),
                (Direction::Reverse, None) => self.entries.len().checked_sub(1),
                (Direction::Forward, Some(t)) => Some(self.entries.partition_point(|e| before(e, t).is_lt())),
                (Direction::Reverse, Some(t)) => self.entries.partition_point(|e| before(e, t).is_le()).checked_sub(1),
            }
            .filter(|&i| i < self.entries.len());
            Ok(())
        }
        fn next(&mut self) -> Result<()> {
            self.at = match self.direction {
                Direction::Forward => self.at.map(|i| i + 1).filter(|&i| i < self.entries.len()),
                Direction::Reverse => self.at.and_then(|i| i.checked_sub(1)),
            };
            Ok(())
        }
        fn valid(&self) -> bool {
            self.at.is_some()
        }
        fn user_key(&self) -> &[u8] {
            &self.entries[self.at.unwrap()].0
        }
        fn seq(&self) -> u64 {
            self.entries[self.at.unwrap()].1
        }
        fn kind(&self) -> ValueKind {
            ValueKind::Put
        }
        fn value(&self) -> &[u8] {
            &[]
        }
    }

    /// Goal: the merge of any number of sorted sources is their sorted
    /// union, both ways and from any seek target. Method: random sources
    /// (0 to 20 of them, some empty, keys shared across sources), compared
    /// with a sort of all their entries.
    #[test]
    fn merges_any_number_of_sources_in_order() {
        let mut rng = Rng::new(9);
        for round in 0..200 {
            let count = rng.below(21) as usize;
            let mut seq = 0;
            let lists: Vec<Vec<Entry>> = (0..count)
                .map(|_| {
                    let mut list: Vec<Entry> = (0..rng.below(30))
                        .map(|_| {
                            seq += 1;
                            (vec![b'k', rng.below(40) as u8], seq)
                        })
                        .collect();
                    list.sort_by(|a, b| key::compare(&a.0, a.1, &b.0, b.1));
                    list
                })
                .collect();
            let mut all: Vec<Entry> = lists.iter().flatten().cloned().collect();
            all.sort_by(|a, b| key::compare(&a.0, a.1, &b.0, b.1));
            for direction in [Direction::Forward, Direction::Reverse] {
                let sources = lists
                    .iter()
                    .map(|list| Box::new(ListIter { entries: list.clone(), direction, at: None }) as Box<dyn EntryIter>)
                    .collect();
                let mut merged = MergeIter::new(sources, direction);
                let target_key = vec![b'k', rng.below(42) as u8];
                let target = (round % 3 != 0).then_some((target_key.as_slice(), rng.below(seq + 2)));
                merged.seek(target).unwrap();
                let mut got = Vec::new();
                while merged.valid() {
                    got.push((merged.user_key().to_vec(), merged.seq()));
                    merged.next().unwrap();
                }
                let mut want: Vec<Entry> = all
                    .iter()
                    .filter(|e| match (direction, target) {
                        (_, None) => true,
                        (Direction::Forward, Some((k, s))) => key::compare(&e.0, e.1, k, s).is_ge(),
                        (Direction::Reverse, Some((k, s))) => key::compare(&e.0, e.1, k, s).is_le(),
                    })
                    .cloned()
                    .collect();
                if direction == Direction::Reverse {
                    want.reverse();
                }
                assert_eq!(got, want, "round {round}, {direction:?}, {count} sources, target {target:?}");
            }
        }
    }
}
