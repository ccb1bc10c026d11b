//! Client threads: every timed workload runs its operations on one or more
//! threads sharing one open database, each thread timing its own operations
//! into its own histogram (merged at the end), and a rate-paced writer for
//! readwhilewriting.

use std::ops::AddAssign;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::engine::Res;
use crate::histogram::Histogram;

/// What operations did, for the result checks and the write accounting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Puts (fills, updates, inserts, the write of a read-modify-write).
    pub writes: u64,
    /// Reads that did not find what they should have.
    pub misses: u64,
    /// Seeks or scans that read fewer entries than they should have.
    pub short_reads: u64,
}

impl Tally {
    pub const WRITE: Tally = Tally { writes: 1, misses: 0, short_reads: 0 };
    pub const NONE: Tally = Tally { writes: 0, misses: 0, short_reads: 0 };

    pub fn miss(missed: bool) -> Tally {
        Tally { misses: u64::from(missed), ..Tally::NONE }
    }

    pub fn short(short: bool) -> Tally {
        Tally { short_reads: u64::from(short), ..Tally::NONE }
    }
}

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.writes += other.writes;
        self.misses += other.misses;
        self.short_reads += other.short_reads;
    }
}

/// A finished run of clients.
pub struct Run {
    pub hist: Histogram,
    /// Wall-clock seconds from the moment every client was ready to the last one's end.
    pub secs: f64,
    pub tally: Tally,
    /// readwhilewriting: the writer's achieved puts per second.
    pub writer_ops_per_sec: Option<f64>,
}

/// Runs operations `0..total` on `threads` threads: thread `t` runs the
/// `t`-th contiguous share, through the operation `make(t)` builds (its
/// generators and buffers live in the thread). One clock read per operation.
pub fn run_clients<F, G>(threads: usize, total: u64, make: F) -> Res<Run>
where
    F: Fn(usize) -> G + Sync,
    G: FnMut(u64) -> Res<Tally>,
{
    let threads = threads.max(1);
    let start = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let clients: Vec<_> = (0..threads)
            .map(|t| {
                let (make, start) = (&make, &start);
                scope.spawn(move || -> Res<(Histogram, Tally)> {
                    let mut op = make(t);
                    let range = total * t as u64 / threads as u64..total * (t as u64 + 1) / threads as u64;
                    let (mut hist, mut tally) = (Histogram::new(), Tally::default());
                    start.wait();
                    let mut last = Instant::now();
                    for i in range {
                        tally += op(i)?;
                        let now = Instant::now();
                        hist.record(now.duration_since(last).as_nanos() as u64);
                        last = now;
                    }
                    Ok((hist, tally))
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        let mut run = Run { hist: Histogram::new(), secs: 0.0, tally: Tally::default(), writer_ops_per_sec: None };
        let mut failure = None;
        for client in clients {
            match client.join() {
                Ok(Ok((hist, tally))) => {
                    run.hist.merge(&hist);
                    run.tally += tally;
                }
                Ok(Err(e)) => failure = Some(e),
                Err(_) => failure = Some("a client thread panicked".into()),
            }
        }
        run.secs = started.elapsed().as_secs_f64();
        failure.map_or(Ok(run), Err)
    })
}

/// Runs `readers` (as `run_clients`) while one writer thread calls `put(i)`
/// at `rate` per second, paced by a 1 ms timer (each tick it writes the puts
/// due by then, then sleeps); a writer that falls behind writes back to back
/// until it catches up. The writer stops when the readers finish.
pub fn run_while_writing<F, G>(
    threads: usize,
    total: u64,
    rate: u64,
    mut put: impl FnMut(u64) -> Res<()> + Send,
    make: F,
) -> Res<Run>
where
    F: Fn(usize) -> G + Sync,
    G: FnMut(u64) -> Res<Tally>,
{
    const TICK: Duration = Duration::from_millis(1);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> Res<(u64, f64)> {
            let started = Instant::now();
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
                while done < due && !stop.load(Ordering::Relaxed) {
                    put(done)?;
                    done += 1;
                }
                std::thread::sleep(TICK);
            }
            Ok((done, started.elapsed().as_secs_f64()))
        });
        let readers = run_clients(threads, total, make);
        stop.store(true, Ordering::Relaxed);
        let (puts, secs) = writer.join().map_err(|_| "the writer thread panicked")??;
        let mut run = readers?;
        run.tally.writes += puts;
        run.writer_ops_per_sec = Some(if secs > 0.0 { puts as f64 / secs } else { 0.0 });
        Ok(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Every operation index runs exactly once across the threads, and the
    /// histograms and tallies of all threads are merged.
    #[test]
    fn clients_share_the_operations() {
        let sum = AtomicU64::new(0);
        let run = run_clients(3, 1000, |_| {
            |i| {
                sum.fetch_add(i, Ordering::Relaxed);
                Ok(Tally::WRITE)
            }
        })
        .expect("runs");
        assert_eq!(sum.load(Ordering::Relaxed), 999 * 1000 / 2);
        assert_eq!(run.hist.count(), 1000);
        assert_eq!(run.tally.writes, 1000);
    }

    /// The paced writer holds its rate: about 2,000 puts/s over readers
    /// that take about 300 ms.
    #[test]
    fn writer_is_paced() {
        let run = run_while_writing(
            1,
            30,
            2000,
            |_| Ok(()),
            |_| {
                |_| {
                    std::thread::sleep(Duration::from_millis(10));
                    Ok(Tally::NONE)
                }
            },
        )
        .expect("runs");
        let rate = run.writer_ops_per_sec.unwrap_or(0.0);
        assert!((1500.0..=2100.0).contains(&rate), "writer rate {rate}");
    }
}
