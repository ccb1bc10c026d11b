//! The background worker under pressure: when it is slower than the
//! writers they stall (memory stays bounded, the stall is counted), and when
//! it fails — an error or a panic — the writers hear of it instead of being
//! acknowledged on or left waiting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use lsmkv::storage::{Change, Hook, Hooked};
use lsmkv::{Db, Durability, Error, HealthStatus, MemStorage, Options, Result};

/// What holds a memory storage's table creation at a gate, or panics in it.
#[derive(Default)]
struct Gate {
    closed: Mutex<bool>,
    opened: Condvar,
    panic_on_table: AtomicBool,
}

impl Gate {
    fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }

    fn open(&self) {
        *self.closed.lock().unwrap() = false;
        self.opened.notify_all();
    }
}

impl Hook for Gate {
    fn before(&self, change: &Change<'_>) -> Result<()> {
        if let Change::Create(name) = change {
            if name.ends_with(".sst") {
                assert!(!self.panic_on_table.load(Ordering::SeqCst), "injected panic creating {name}");
                let mut closed = self.closed.lock().unwrap();
                while *closed {
                    closed = self.opened.wait(closed).unwrap();
                }
            }
        }
        Ok(())
    }
}

type Gated = Hooked<MemStorage, Gate>;

fn gated() -> Arc<Gated> {
    Arc::new(Hooked::new(MemStorage::new(), Gate::default()))
}

fn background() -> Options {
    Options { background_work: true, durability: Durability::Buffered, ..Options::teaching() }
}

/// Goal: while the worker cannot flush, a writer stops after a bounded number
/// of frozen memtables (it stalls, it does not pile up memory), goes on once
/// the worker does, and the stall shows in `Stats`.
#[test]
fn writers_stall_while_background_work_is_behind_and_the_stall_is_counted() {
    let storage = gated();
    let db = Arc::new(Db::open_shared(storage.clone(), background()).unwrap());
    assert_eq!(db.stats().write_stalls, 0);
    storage.hook.close();
    const WRITES: u64 = 600;
    let writer = {
        let db = db.clone();
        thread::spawn(move || {
            for i in 0..WRITES {
                db.put(format!("k{i:05}").as_bytes(), b"value").unwrap();
            }
        })
    };
    // The writer fills the memtable, freezes it, again and again, until the
    // worker (held at the gate) is too far behind; then it waits. However
    // long we look, it cannot get further than that.
    let cap = db.stats().memtable_max_entries;
    let mut most_frozen = 0;
    for _ in 0..50 {
        thread::sleep(Duration::from_millis(4));
        let stats = db.stats();
        most_frozen = most_frozen.max(stats.immutable_memtables);
        assert!(stats.last_seq <= cap * (stats.immutable_memtables + 1) + 1, "the writer did not stop: {stats:?}");
    }
    assert!(!writer.is_finished(), "the writer waits while the worker cannot flush");
    storage.hook.open();
    writer.join().unwrap();
    db.flush().unwrap();
    let stats = db.stats();
    println!(
        "stalls {}, {} µs, most frozen memtables seen {most_frozen}",
        stats.write_stalls, stats.write_stall_micros
    );
    assert!(stats.write_stalls >= 1 && stats.write_stall_micros > 0, "{stats:?}");
    assert!(most_frozen <= 2, "memory stays bounded: {most_frozen} frozen memtables");
    assert_eq!(stats.last_seq, WRITES);
    for i in (0..WRITES).step_by(37) {
        assert_eq!(db.get(format!("k{i:05}").as_bytes()).unwrap().as_deref(), Some(&b"value"[..]));
    }
}

/// Goal: a panic in the worker (a bug, here injected in the storage) does
/// not end maintenance silently: the database turns read-only with the
/// cause, a writer waiting for the worker is released with the error, and
/// reads keep working.
#[test]
fn a_panic_in_background_work_reaches_the_writers() {
    let storage = gated();
    let db = Db::open_shared(storage.clone(), background()).unwrap();
    storage.hook.panic_on_table.store(true, Ordering::SeqCst);
    let mut acknowledged = 0u64;
    let error = loop {
        assert!(acknowledged < 100_000, "writes kept being acknowledged after the worker died");
        match db.put(format!("k{acknowledged:06}").as_bytes(), b"v") {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
    };
    match &error {
        Error::ReadOnly { reason } => {
            assert!(reason.contains("background maintenance panicked: injected panic"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
    let health = db.health();
    assert_eq!(health.status, HealthStatus::ReadOnly);
    assert!(db.put(b"later", b"v").is_err());
    for i in 0..acknowledged {
        assert_eq!(db.get(format!("k{i:06}").as_bytes()).unwrap().as_deref(), Some(&b"v"[..]), "reads keep working");
    }
    println!("{acknowledged} writes acknowledged before the panicking worker stopped them");
}
