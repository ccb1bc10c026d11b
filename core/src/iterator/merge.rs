//! `MergeIter`: several cursors moving the same way, merged into one in
//! internal-key order (the read path's and compaction's shared step).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{Direction, EntryIter};
use crate::error::Result;
use crate::key::{self, ValueKind};

/// Merges cursors that move in the same direction into one, in internal-key
/// order (or its reverse). On equal keys the earlier source — the newer data
/// — comes first.
pub struct MergeIter {
    sources: Vec<Box<dyn EntryIter>>,
    direction: Direction,
    current: Option<usize>,
}

impl MergeIter {
    pub fn new(sources: Vec<Box<dyn EntryIter>>, direction: Direction) -> Self {
        MergeIter { sources, direction, current: None }
    }

    fn find_current(&mut self) {
        let mut best: Option<usize> = None;
        for (i, source) in self.sources.iter().enumerate() {
            if !source.valid() {
                continue;
            }
            let better = best.is_none_or(|b| {
                let leader = &self.sources[b];
                let order = key::compare(source.user_key(), source.seq(), leader.user_key(), leader.seq());
                match self.direction {
                    Direction::Forward => order.is_lt(),
                    Direction::Reverse => order.is_gt(),
                }
            });
            if better {
                best = Some(i);
            }
        }
        self.current = best;
    }

    fn leader(&self) -> &dyn EntryIter {
        &*self.sources[self.current.expect("valid cursor")]
    }
}

impl EntryIter for MergeIter {
    fn seek(&mut self, target: Option<(&[u8], u64)>) -> Result<()> {
        for source in &mut self.sources {
            source.seek(target)?;
        }
        self.find_current();
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        if let Some(i) = self.current {
            self.sources[i].next()?;
            self.find_current();
        }
        Ok(())
    }

    fn valid(&self) -> bool {
        self.current.is_some()
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
