//! Maintenance: the round that flushes frozen memtables and compacts what
//! the tree needs, where it runs, and how writers wait for it.
//!
//! Where flushes and compactions run. Inline: in the thread whose write
//! froze a memtable, right after that write returns its result (always so
//! without `std`). In the background (feature `std`, `Options::background_work`):
//! on a worker thread, so a writer keeps filling a fresh memtable while the
//! frozen one is written out — the second core does the merging. Writers
//! are slowed as L0 deepens (see `pace_rate`) and stop only when work piles
//! up anyway (see `DbInner::throttle`).

use super::state::DbInner;
use super::stats::bump;
use crate::error::Result;
use crate::options::Options;

#[cfg(feature = "std")]
mod imp {
    use std::format;
    use std::panic::{self, AssertUnwindSafe};
    use std::string::String;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use crate::db::state::DbInner;

    /// A writer waiting for progress re-checks at least this often.
    const PROGRESS_WAIT: Duration = Duration::from_millis(10);
    /// Paced writers may run this far ahead of the pace before sleeping, so
    /// they sleep a millisecond or more at a time, not at every write.
    const PACE_SLACK_MICROS: u64 = 1_000;
    /// The longest one write is delayed by pacing (a huge batch at a slow
    /// pace would otherwise wait seconds; the stop still bounds memory).
    pub(super) const PACE_MAX_DELAY_MICROS: u64 = 100_000;

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

    /// A token bucket shared by all writers: each write reserves
    /// `bytes / rate` of time after the previous one's; a writer whose
    /// reservation runs more than the slack ahead of now sleeps until it.
    pub(super) struct Pacer {
        epoch: Instant,
        /// Bytes per second; 0: writers are not paced.
        rate: AtomicU64,
        /// Microseconds after `epoch` when the last reservation ends.
        next: Mutex<u64>,
    }

    impl Pacer {
        /// Reserves time for `bytes` at `rate` from `now`; returns how far
        /// the reservation ends ahead of `now` (microseconds). The queue never
        /// runs more than the longest delay ahead, so one huge batch at a slow
        /// pace does not hold every later write back for seconds.
        pub(super) fn reserve(&self, now: u64, bytes: u64, rate: u64) -> u64 {
            let cost = bytes.saturating_mul(1_000_000) / rate.max(1);
            let mut next = self.next.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *next = (*next).max(now).saturating_add(cost).min(now.saturating_add(PACE_MAX_DELAY_MICROS));
            *next - now
        }

        fn now(&self) -> u64 {
            u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
        }
    }

    /// How one database runs its maintenance.
    pub(crate) struct Maintenance {
        signal: Option<Arc<Signal>>,
        pub(super) pacer: Pacer,
    }

    impl Maintenance {
        pub fn new(background: bool) -> Self {
            let pacer = Pacer { epoch: Instant::now(), rate: AtomicU64::new(0), next: Mutex::new(0) };
            Maintenance { signal: background.then(Arc::default), pacer }
        }

        /// Sets the pace writers are held to (bytes per second, 0: none).
        pub fn set_pace(&self, rate: u64) {
            self.pacer.rate.store(rate, Ordering::Relaxed);
        }

        /// Holds a writer of `bytes` to the pace; returns the microseconds
        /// it slept (0 when unpaced or within the slack).
        pub fn pace(&self, bytes: u64) -> u64 {
            let rate = self.pacer.rate.load(Ordering::Relaxed);
            if rate == 0 {
                return 0;
            }
            let start = self.pacer.now();
            let ahead = self.pacer.reserve(start, bytes, rate);
            if ahead <= PACE_SLACK_MICROS {
                return 0;
            }
            std::thread::sleep(Duration::from_micros(ahead));
            self.pacer.now().saturating_sub(start).max(1)
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
        pub fn set_pace(&self, _rate: u64) {}
        pub fn pace(&self, _bytes: u64) -> u64 {
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
/// From this many times `l0_compaction_trigger` L0 tables writers are paced,
/// so compaction catches up before the stop: a stop waits for a whole L0
/// merge (seconds at 10M keys), a pace spreads that wait over many writes.
const L0_SLOWDOWN_FACTOR: usize = 2;
/// The pace at the slowdown depth, in bytes of keys and values per second;
/// halved at each L0 table beyond it.
const PACE_TOP_RATE: u64 = 32 << 20;

/// The pace writers are held to with `l0_tables` in L0 (bytes per second;
/// 0: none). Only background work is paced, and only while automatic
/// compaction will shrink L0.
pub(super) fn pace_rate(options: &Options, l0_tables: usize) -> u64 {
    let slowdown = options.l0_compaction_trigger.saturating_mul(L0_SLOWDOWN_FACTOR);
    if !options.background_work || !options.auto_compaction || l0_tables < slowdown {
        return 0;
    }
    let halvings = u32::try_from(l0_tables - slowdown).unwrap_or(u32::MAX).min(16);
    PACE_TOP_RATE >> halvings
}

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
        // Without automatic compaction nothing shrinks L0: only memory counts.
        let l0_stop = match self.options.auto_compaction {
            true => self.options.l0_compaction_trigger.saturating_mul(L0_STOP_FACTOR),
            false => usize::MAX,
        };
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

impl DbInner {
    /// Holds a writer of `bytes` to the pace L0's depth sets (see
    /// `pace_rate`), counted in `Stats::write_slowdowns`.
    pub(super) fn pace(&self, bytes: u64) {
        let slept = self.maintenance.pace(bytes);
        if slept > 0 {
            bump(&self.counters.write_slowdowns, 1);
            bump(&self.counters.write_slowdown_micros, slept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paced from twice the trigger, halving per table, never without
    /// background work or automatic compaction.
    #[test]
    fn the_pace_halves_with_each_l0_table_past_the_slowdown_depth() {
        let options = Options { background_work: true, l0_compaction_trigger: 4, ..Options::default() };
        let rates: alloc::vec::Vec<u64> = (6..=12).map(|l0| pace_rate(&options, l0)).collect();
        assert_eq!(rates, [0, 0, 32 << 20, 16 << 20, 8 << 20, 4 << 20, 2 << 20]);
        assert_eq!(pace_rate(&options, 1000), (32 << 20) >> 16, "deep L0: slow, never zero");
        assert_eq!(pace_rate(&Options { auto_compaction: false, ..options.clone() }, 10), 0);
        assert_eq!(pace_rate(&Options { background_work: false, ..options }, 10), 0);
    }

    /// Reservations queue one after another at the rate, from now when the
    /// queue has drained.
    #[cfg(feature = "std")]
    #[test]
    fn reservations_queue_at_the_rate() {
        let maintenance = Maintenance::new(true);
        let pacer = &maintenance.pacer;
        let rate = 1 << 20; // a MiB per second: a byte per ~0.95 µs
        assert_eq!(pacer.reserve(0, 1 << 14, rate), 15_625);
        assert_eq!(pacer.reserve(10_000, 1 << 13, rate), 13_437, "behind the first: 15,625 + 7,812 - 10,000");
        assert_eq!(pacer.reserve(5_000_000, 1 << 10, rate), 976, "the queue drained: from now");
        // A huge batch waits at most the longest delay, and so do the
        // writes behind it: the queue is cut there.
        assert_eq!(pacer.reserve(6_000_000, 64 << 20, rate), imp::PACE_MAX_DELAY_MICROS);
        assert_eq!(pacer.reserve(6_000_000, 1 << 10, rate), imp::PACE_MAX_DELAY_MICROS);
        assert_eq!(maintenance.pace(1), 0, "unpaced");
    }

    /// Writes held to a pace sleep (each reserves more than the slack) and
    /// the sleeps are counted; unpaced writes never sleep.
    #[cfg(feature = "std")]
    #[test]
    fn paced_writes_sleep_and_are_counted() {
        let options = Options { background_work: true, ..Options::default() };
        let db = crate::Db::open(crate::MemStorage::new(), options).unwrap();
        let value = alloc::vec![7u8; 4096];
        for i in 0..64u32 {
            db.put(&i.to_be_bytes(), &value).unwrap();
        }
        assert_eq!(db.stats().write_slowdowns, 0, "a shallow L0: unpaced");
        // A MiB a second: every 4 KiB write reserves 3.9 ms, past the slack.
        db.inner.maintenance.set_pace(1 << 20);
        for i in 64..96u32 {
            db.put(&i.to_be_bytes(), &value).unwrap();
        }
        let stats = db.stats();
        assert!(stats.write_slowdowns >= 31 && stats.write_slowdown_micros > 0, "{stats:?}");
        for i in 0..96u32 {
            assert_eq!(db.get(&i.to_be_bytes()).unwrap().as_deref(), Some(&value[..]));
        }
    }
}
