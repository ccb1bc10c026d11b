//! Maintenance: the round that flushes frozen memtables and compacts what
//! the tree needs, where it runs, and how writers wait for it.
//!
//! Where flushes and compactions run. Inline: in the thread whose write
//! froze a memtable, right after that write returns its result (always so
//! without `std`). In the background (feature `std`, `Options::background_work`):
//! on a worker thread, so a writer keeps filling a fresh memtable while the
//! frozen one is written out — the second core does the merging. Writers
//! wait only when work piles up (see `DbInner::throttle`).

use super::state::DbInner;
use super::stats::bump;
use crate::error::Result;

#[cfg(feature = "std")]
mod imp {
    use std::format;
    use std::panic::{self, AssertUnwindSafe};
    use std::string::String;
    use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use crate::db::state::DbInner;

    /// A writer waiting for progress re-checks at least this often.
    const PROGRESS_WAIT: Duration = Duration::from_millis(10);

    #[derive(Default)]
    struct Flags {
        /// Work was requested since the worker last looked.
        pending: bool,
        stop: bool,
        /// Rounds of maintenance finished, so waiters can tell one happened.
        rounds: u64,
    }

    #[derive(Default)]
    struct Signal {
        flags: Mutex<Flags>,
        wake: Condvar,
        progress: Condvar,
    }

    impl Signal {
        fn flags(&self) -> MutexGuard<'_, Flags> {
            self.flags.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }

    /// How one database runs its maintenance.
    pub(crate) struct Maintenance {
        signal: Option<Arc<Signal>>,
    }

    impl Maintenance {
        pub fn new(background: bool) -> Self {
            Maintenance { signal: background.then(Arc::default) }
        }

        pub fn is_background(&self) -> bool {
            self.signal.is_some()
        }

        /// Asks the worker for a round of maintenance.
        pub fn request(&self) {
            if let Some(signal) = &self.signal {
                signal.flags().pending = true;
                signal.wake.notify_one();
            }
        }

        /// Waits until the worker finishes a round, or a short while.
        /// Returns the microseconds waited.
        pub fn wait_for_progress(&self) -> u64 {
            let Some(signal) = &self.signal else { return 0 };
            let start = Instant::now();
            let flags = signal.flags();
            let round = flags.rounds;
            let _ = signal.progress.wait_timeout_while(flags, PROGRESS_WAIT, |f| f.rounds == round && !f.stop);
            u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
        }

        /// Starts the worker thread, if this database has one.
        pub fn start(&self, inner: Weak<DbInner>) -> Option<Worker> {
            let signal = self.signal.clone()?;
            let for_thread = signal.clone();
            let handle = std::thread::Builder::new()
                .name("lsmkv-maintenance".into())
                .spawn(move || run(&for_thread, &inner))
                .ok()?;
            Some(Worker { signal, handle: Some(handle) })
        }
    }

    /// The worker thread; stopped and joined when the last `Db` handle goes.
    pub(crate) struct Worker {
        signal: Arc<Signal>,
        handle: Option<JoinHandle<()>>,
    }

    impl Drop for Worker {
        fn drop(&mut self) {
            self.signal.flags().stop = true;
            self.signal.wake.notify_all();
            if let Some(handle) = self.handle.take() {
                let _ = handle.join();
            }
        }
    }

    fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
        match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
            (Some(text), _) => text,
            (_, Some(text)) => text,
            _ => "(no message)",
        }
    }

    fn run(signal: &Signal, inner: &Weak<DbInner>) {
        loop {
            {
                let mut flags = signal.flags();
                while !flags.pending && !flags.stop {
                    flags = signal.wake.wait(flags).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                if flags.stop {
                    return;
                }
                flags.pending = false;
            }
            let Some(db) = inner.upgrade() else { return };
            // A failure turns the database read-only, so writers get it (and
            // stop waiting for progress): an error, or a panic, which would
            // otherwise end this thread and leave throttled writers waiting
            // for rounds that never come.
            match panic::catch_unwind(AssertUnwindSafe(|| db.maintain())) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    db.fail(e);
                }
                Err(payload) => {
                    db.go_read_only(format!("background maintenance panicked: {}", panic_message(&*payload)))
                }
            }
            drop(db);
            signal.flags().rounds += 1;
            signal.progress.notify_all();
        }
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use alloc::sync::Weak;

    use crate::db::state::DbInner;

    /// Without `std` there are no threads: maintenance always runs inline.
    pub(crate) struct Maintenance;

    impl Maintenance {
        pub fn new(background: bool) -> Self {
            debug_assert!(!background, "Options::validate rejects background work without std");
            Maintenance
        }
        pub fn is_background(&self) -> bool {
            false
        }
        pub fn request(&self) {}
        pub fn wait_for_progress(&self) -> u64 {
            0
        }
        pub fn start(&self, _inner: Weak<DbInner>) -> Option<Worker> {
            None
        }
    }

    pub(crate) struct Worker;
}

pub(crate) use imp::{Maintenance, Worker};

/// Writers wait while this many frozen memtables await a background flush.
const FROZEN_MEMTABLES_MAX: usize = 2;
/// ...or while L0 holds this many times `l0_compaction_trigger` tables.
const L0_STOP_FACTOR: usize = 3;

impl DbInner {
    /// One round of maintenance: flush every frozen memtable, then, if
    /// automatic, compact until the tree needs nothing. Runs inline after a
    /// write that froze a memtable, or on the background worker; the tree
    /// lock serialises rounds.
    pub(super) fn maintain(&self) -> Result<()> {
        let mut tree = self.tree.lock();
        if self.check_open().is_err() {
            return Ok(()); // Closed, or read-only after a failure: leave the files alone.
        }
        self.flush_frozen(&mut tree)?;
        if self.options.auto_compaction {
            self.compact_while_needed(&mut tree)?;
        }
        Ok(())
    }

    /// A memtable was frozen: flush it (and compact) inline, or hand the
    /// work to the background worker and wait only if work is piling up.
    /// The write itself is already durable and acknowledged; a failure here
    /// turns the database read-only and shows on the next write.
    pub(super) fn after_freeze(&self) {
        if !self.maintenance.is_background() {
            if let Err(e) = self.maintain() {
                self.fail(e);
            }
            return;
        }
        self.maintenance.request();
        self.throttle();
    }

    /// Backpressure: waits while the worker is behind — too many frozen
    /// memtables (memory) or too many L0 tables (read cost) — so memory stays
    /// bounded however fast writers are. Counted in `Stats::write_stalls`.
    fn throttle(&self) {
        let l0_stop = self.options.l0_compaction_trigger.saturating_mul(L0_STOP_FACTOR);
        let mut waited = None;
        loop {
            let view = self.view();
            let behind = view.frozen.len() >= FROZEN_MEMTABLES_MAX || view.version.levels[0].len() >= l0_stop;
            drop(view);
            if !behind || self.check_open().is_err() {
                break;
            }
            self.maintenance.request();
            *waited.get_or_insert(0) += self.maintenance.wait_for_progress();
        }
        if let Some(micros) = waited {
            bump(&self.counters.write_stalls, 1);
            bump(&self.counters.write_stall_micros, micros);
        }
    }
}
