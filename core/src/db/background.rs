//! Where flushes and compactions run. Inline: in the thread whose write
//! froze a memtable, right after that write returns its result (always so
//! without `std`). In the background (feature `std`, `Options::background_work`):
//! on a worker thread, so a writer keeps filling a fresh memtable while the
//! frozen one is written out — the second core does the merging. Writers
//! wait only when work piles up (see `DbInner::throttle`).

#[cfg(feature = "std")]
mod imp {
    use std::format;
    use std::panic::{self, AssertUnwindSafe};
    use std::string::String;
    use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use crate::db::DbInner;

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

    use crate::db::DbInner;

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
