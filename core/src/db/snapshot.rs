//! Snapshots: a reader's fixed point in the sequence. Live snapshots are
//! counted by sequence number, so compaction keeps every version one of them
//! can see and drops the rest once the last clone is gone.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::DbInner;
use crate::sync::Mutex;

/// A read-only view of the database as of one moment: reads at a snapshot
/// see exactly the writes acknowledged before it was taken. Compaction keeps
/// every version a live snapshot can see; dropping the last clone lets it
/// discard them.
pub struct Snapshot {
    seq: u64,
    list: Arc<SnapshotList>,
}

impl Snapshot {
    /// The sequence number the snapshot reads at.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        self.list.acquire(self.seq);
        Snapshot { seq: self.seq, list: self.list.clone() }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.list.release(self.seq);
    }
}

impl core::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Snapshot").field("seq", &self.seq).finish()
    }
}

/// Sequence numbers of live snapshots, with reference counts.
#[derive(Default)]
pub(crate) struct SnapshotList {
    live: Mutex<BTreeMap<u64, usize>>,
}

impl SnapshotList {
    pub(super) fn acquire(&self, seq: u64) {
        *self.live.lock().entry(seq).or_insert(0) += 1;
    }

    pub(super) fn release(&self, seq: u64) {
        let mut live = self.live.lock();
        if let Some(count) = live.get_mut(&seq) {
            *count -= 1;
            if *count == 0 {
                live.remove(&seq);
            }
        }
    }

    pub(super) fn oldest(&self) -> Option<u64> {
        self.live.lock().keys().next().copied()
    }
}

impl DbInner {
    pub(super) fn snapshot(&self) -> Snapshot {
        let list = self.snapshots.clone();
        // Hold the snapshot list's lock while reading the sequence, so a
        // compaction that reads the oldest snapshot cannot slip in between.
        let mut live = list.live.lock();
        let seq = self.visible_seq.load(Ordering::Acquire);
        *live.entry(seq).or_insert(0) += 1;
        drop(live);
        Snapshot { seq, list }
    }

    /// The oldest sequence number any reader may read at: the oldest live
    /// snapshot, or what readers see now.
    pub(super) fn oldest_snapshot(&self) -> u64 {
        let visible = self.visible_seq.load(Ordering::Acquire);
        self.snapshots.oldest().map_or(visible, |s| s.min(visible))
    }
}
