//! YCSB's core workloads A–F (Cooper et al., SoCC'10, and the YCSB
//! `CoreWorkload`), over the keys `workload::key` makes: the scrambled
//! Zipfian request distribution (θ = 0.99, Gray et al.'s generator, then an
//! FNV-1a hash so the hot keys spread over the key space), YCSB's "latest"
//! distribution for D, and inserts of new keys that readers see only once
//! they are acknowledged (YCSB's `AcknowledgedCounterGenerator`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::clients::Tally;
use crate::engine::{Engine, Res};
use crate::workload::{self, Permutation, Rng, Values, KEY_BYTES};

/// YCSB's `zipfian_constant`.
pub const ZIPFIAN_THETA: f64 = 0.99;
/// Longest scan of workload E (YCSB's `maxscanlength`); lengths are uniform in 1..=this.
pub const SCAN_LENGTH_MAX: u64 = 100;

/// One YCSB workload's operation mix, in percent.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    pub read: u64,
    pub update: u64,
    pub insert: u64,
    pub scan: u64,
    pub read_modify_write: u64,
    /// Reads choose recently inserted keys (workload D) instead of Zipfian ones.
    pub latest: bool,
}

/// The mix of `ycsb-a` … `ycsb-f`.
pub fn mix(workload: &str) -> Option<Mix> {
    let none = Mix { read: 0, update: 0, insert: 0, scan: 0, read_modify_write: 0, latest: false };
    Some(match workload {
        "ycsb-a" => Mix { read: 50, update: 50, ..none },
        "ycsb-b" => Mix { read: 95, update: 5, ..none },
        "ycsb-c" => Mix { read: 100, ..none },
        "ycsb-d" => Mix { read: 95, insert: 5, latest: true, ..none },
        "ycsb-e" => Mix { scan: 95, insert: 5, ..none },
        "ycsb-f" => Mix { read: 50, read_modify_write: 50, ..none },
        _ => return None,
    })
}

/// Σ_{i=from+1..=to} i^-θ: summed term by term up to 65,536 terms, the rest
/// by the Euler–Maclaurin formula (integral, end-point and two derivative
/// corrections; relative error below 1e-12 from there on), so zeta(100M)
/// costs what 65,536 terms cost instead of 100M `powf` calls.
pub fn zeta_between(from: u64, to: u64, theta: f64) -> f64 {
    const EXACT_TERMS: u64 = 1 << 16;
    let exact_to = to.min(from.saturating_add(EXACT_TERMS));
    let mut sum: f64 = (from + 1..=exact_to).map(|i| (i as f64).powf(-theta)).sum();
    if exact_to < to {
        // Σ_{i=a..=b} f(i) ≈ ∫_a^b f + (f(a) + f(b))/2 + (f'(b) − f'(a))/12 − (f'''(b) − f'''(a))/720,
        // minus f(a), which the exact part already holds.
        let (a, b) = (exact_to as f64, to as f64);
        let f = |x: f64| x.powf(-theta);
        let f1 = |x: f64| -theta * x.powf(-theta - 1.0);
        let f3 = |x: f64| -theta * (theta + 1.0) * (theta + 2.0) * x.powf(-theta - 3.0);
        let integral = (b.powf(1.0 - theta) - a.powf(1.0 - theta)) / (1.0 - theta);
        sum += integral + (f(a) + f(b)) / 2.0 + (f1(b) - f1(a)) / 12.0 - (f3(b) - f3(a)) / 720.0 - f(a);
    }
    sum
}

/// Gray et al.'s Zipfian generator ("Quickly generating billion-record
/// synthetic databases", SIGMOD'94), as YCSB's `ZipfianGenerator`: ranks in
/// `0..items`, rank 0 the most popular. zeta(items) is computed once; when
/// the item count grows (workload D's inserts), only the new terms are added.
#[derive(Clone, Debug)]
pub struct Zipfian {
    items: u64,
    theta: f64,
    zeta_n: f64,
    zeta_2: f64,
    alpha: f64,
    eta: f64,
}

impl Zipfian {
    pub fn new(items: u64, theta: f64) -> Self {
        let items = items.max(1);
        let mut z = Zipfian { items, theta, zeta_n: zeta_between(0, items, theta), zeta_2: 0.0, alpha: 0.0, eta: 0.0 };
        z.zeta_2 = zeta_between(0, 2, theta);
        z.alpha = 1.0 / (1.0 - theta);
        z.derive_eta();
        z
    }

    fn derive_eta(&mut self) {
        let n = self.items as f64;
        self.eta = (1.0 - (2.0 / n).powf(1.0 - self.theta)) / (1.0 - self.zeta_2 / self.zeta_n);
    }

    /// Grows the item count to `items` (never shrinks), adding zeta's new terms.
    pub fn grow(&mut self, items: u64) {
        if items > self.items {
            self.zeta_n += zeta_between(self.items, items, self.theta);
            self.items = items;
            self.derive_eta();
        }
    }

    pub fn items(&self) -> u64 {
        self.items
    }

    /// The rank for a uniform `u` in [0, 1).
    pub fn rank(&self, u: f64) -> u64 {
        let uz = u * self.zeta_n;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1.min(self.items - 1);
        }
        let rank = (self.items as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        rank.min(self.items - 1)
    }
}

/// YCSB's `fnvhash64`: FNV-1a over the 8 little-endian bytes, made non-negative.
pub fn fnv_hash64(value: u64) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    for byte in value.to_le_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    (hash as i64).unsigned_abs()
}

/// The data set as YCSB numbers it: key numbers `0..loaded` are the
/// fillrandom keys (`workload::key`), and insert `j` gets key number
/// `loaded + j`, written as `workload::missing_key` of a seeded permutation
/// of `j` — a key never written before, spread over the whole key space like
/// YCSB's default `insertorder=hashed`. Shared by the client threads and by
/// the workloads that run one after another on one database.
pub struct KeySpace {
    loaded: u64,
    scatter: Permutation,
    /// Inserts handed out (the next insert's number).
    claimed: AtomicU64,
    /// Every insert below this number has been written (readers stay below).
    acknowledged: AtomicU64,
    /// Inserts written but not yet counted in `acknowledged`, by number mod the window.
    done: Vec<AtomicBool>,
    advance: Mutex<()>,
}

/// Inserts that may be in flight at once before a writer waits for older ones.
const ACK_WINDOW: u64 = 1 << 16;

impl KeySpace {
    pub fn new(loaded: u64, seed: u64) -> Self {
        KeySpace {
            loaded,
            scatter: Permutation::new(loaded.max(1), seed),
            claimed: AtomicU64::new(0),
            acknowledged: AtomicU64::new(0),
            done: (0..ACK_WINDOW).map(|_| AtomicBool::new(false)).collect(),
            advance: Mutex::new(()),
        }
    }

    /// Keys present now: the loaded ones and every acknowledged insert.
    pub fn live(&self) -> u64 {
        self.loaded + self.acknowledged.load(Ordering::Acquire)
    }

    pub fn key(&self, number: u64, out: &mut [u8; KEY_BYTES]) {
        match number.checked_sub(self.loaded) {
            None => workload::key(number, out),
            Some(j) if j < self.loaded => workload::missing_key(self.scatter.at(j), out),
            // Past `loaded` inserts, odd numbers above every loaded key (still new).
            Some(j) => workload::missing_key(j, out),
        }
    }

    fn claim(&self) -> u64 {
        let j = self.claimed.fetch_add(1, Ordering::Relaxed);
        while j >= self.acknowledged.load(Ordering::Acquire) + ACK_WINDOW {
            std::thread::yield_now();
        }
        j
    }

    /// Marks insert `j` written, and moves the acknowledged mark past every
    /// contiguous written insert (one thread at a time; the others go on).
    fn acknowledge(&self, j: u64) {
        self.done[(j % ACK_WINDOW) as usize].store(true, Ordering::Release);
        if let Ok(_guard) = self.advance.try_lock() {
            self.advance_acknowledged();
        }
    }

    fn advance_acknowledged(&self) {
        let mut mark = self.acknowledged.load(Ordering::Acquire);
        while self.done[(mark % ACK_WINDOW) as usize].swap(false, Ordering::AcqRel) {
            mark += 1;
        }
        self.acknowledged.store(mark, Ordering::Release);
    }

    /// After the clients stopped: counts inserts whose acknowledgement lost the race for the lock.
    pub fn settle(&self) {
        let _guard = self.advance.lock().unwrap_or_else(|e| e.into_inner());
        self.advance_acknowledged();
    }
}

/// What one client thread needs to run a workload: its generators.
pub struct Client<'a> {
    mix: Mix,
    keys: &'a KeySpace,
    rng: Rng,
    /// Scrambled Zipfian over the loaded keys plus the inserts expected.
    zipfian: Zipfian,
    /// Workload D: Zipfian over the distance back from the newest key.
    latest: Zipfian,
    values: Values,
    key: [u8; KEY_BYTES],
}

/// The generators one workload run starts from, cloned into each client:
/// computing zeta once here keeps a 100M-key start-up to milliseconds.
pub struct Generators {
    mix: Mix,
    zipfian: Zipfian,
    latest: Zipfian,
}

impl Generators {
    /// For `ops` operations of `mix` on `keys` (YCSB sizes the Zipfian
    /// key chooser for the records there will be: the ones present plus
    /// twice the inserts expected, rejecting numbers not yet inserted).
    pub fn new(mix: Mix, keys: &KeySpace, ops: u64) -> Self {
        let expected_inserts = ops * mix.insert / 100 * 2;
        Generators {
            mix,
            zipfian: Zipfian::new(keys.live() + expected_inserts, ZIPFIAN_THETA),
            latest: Zipfian::new(keys.live(), ZIPFIAN_THETA),
        }
    }

    pub fn client<'a>(&self, keys: &'a KeySpace, seed: u64, value_size: usize) -> Client<'a> {
        Client {
            mix: self.mix,
            keys,
            rng: Rng::new(seed),
            zipfian: self.zipfian.clone(),
            latest: self.latest.clone(),
            values: Values::new(seed ^ 0x5eed, value_size),
            key: [0; KEY_BYTES],
        }
    }
}

impl Client<'_> {
    /// Runs one operation of the mix against `db`.
    pub fn step(&mut self, db: &dyn Engine) -> Res<Tally> {
        let mut roll = self.rng.below(100);
        let mix = self.mix;
        for (percent, op) in [
            (mix.read, Op::Read),
            (mix.update, Op::Update),
            (mix.insert, Op::Insert),
            (mix.scan, Op::Scan),
            (mix.read_modify_write, Op::ReadModifyWrite),
        ] {
            if roll < percent {
                return self.run(op, db);
            }
            roll -= percent;
        }
        unreachable!("a mix adds up to 100%")
    }

    fn run(&mut self, op: Op, db: &dyn Engine) -> Res<Tally> {
        Ok(match op {
            Op::Insert => {
                let j = self.keys.claim();
                self.keys.key(self.keys.loaded + j, &mut self.key);
                db.put(&self.key, self.values.next())?;
                self.keys.acknowledge(j);
                Tally::WRITE
            }
            Op::Read => {
                self.choose_key();
                Tally::miss(db.get(&self.key)?.is_none())
            }
            Op::ReadModifyWrite => {
                self.choose_key();
                let missed = db.get(&self.key)?.is_none();
                db.put(&self.key, self.values.next())?;
                Tally { misses: u64::from(missed), ..Tally::WRITE }
            }
            Op::Update => {
                self.choose_key();
                db.put(&self.key, self.values.next())?;
                Tally::WRITE
            }
            Op::Scan => {
                // The start key exists, so a scan reads at least it.
                self.choose_key();
                let length = 1 + self.rng.below(SCAN_LENGTH_MAX) as usize;
                Tally::short(db.seek_and_read(&self.key, length)? == 0)
            }
        })
    }

    /// Writes the next request's key into `self.key`.
    fn choose_key(&mut self) {
        let live = self.keys.live();
        let number = if self.mix.latest {
            // YCSB's SkewedLatestGenerator: the newest key, minus a Zipfian distance.
            let newest = live - 1;
            self.latest.grow(newest.max(1));
            newest - self.latest.rank(workload::unit(&mut self.rng)).min(newest)
        } else {
            loop {
                let rank = self.zipfian.rank(workload::unit(&mut self.rng));
                let number = fnv_hash64(rank) % self.zipfian.items();
                if number < live {
                    break number;
                }
            }
        };
        self.keys.key(number, &mut self.key);
    }
}

#[derive(Clone, Copy)]
enum Op {
    Read,
    Update,
    Insert,
    Scan,
    ReadModifyWrite,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Euler–Maclaurin tail agrees with summing every term, and growing
    /// a generator's zeta step by step agrees with computing it at once.
    #[test]
    fn zeta_matches_the_plain_sum() {
        let n = 2_000_000;
        let plain: f64 = (1..=n).map(|i| (i as f64).powf(-ZIPFIAN_THETA)).sum();
        let fast = zeta_between(0, n, ZIPFIAN_THETA);
        assert!((fast / plain - 1.0).abs() < 1e-12, "{fast} vs {plain}");
        let mut grown = Zipfian::new(1000, ZIPFIAN_THETA);
        for items in [1001, 5000, 70_000, 200_000, n] {
            grown.grow(items);
        }
        assert!((grown.zeta_n / plain - 1.0).abs() < 1e-12);
    }

    /// zeta of a huge n (the 100M preset needs 100M) matches YCSB's
    /// published zeta for its 10-billion-item generator. (Its speed is not
    /// asserted: tests never time things on these shared machines.)
    #[test]
    fn zeta_of_a_large_n_matches_ycsb() {
        let z = zeta_between(0, 10_000_000_000, ZIPFIAN_THETA);
        // YCSB ScrambledZipfianGenerator.ZETAN (for ITEM_COUNT = 10^10).
        assert!((z - 26.46902820178302).abs() < 1e-6, "{z}");
    }

    /// Ranks follow Zipf's law: rank 0 about 1/zeta(n) of the draws, rank 1
    /// about 2^-θ of rank 0's share, and every rank below the item count.
    #[test]
    fn ranks_are_zipfian() {
        let items = 1000;
        let z = Zipfian::new(items, ZIPFIAN_THETA);
        let mut rng = Rng::new(9);
        let mut counts = vec![0u64; items as usize];
        let draws = 1_000_000;
        for _ in 0..draws {
            counts[z.rank(workload::unit(&mut rng)) as usize] += 1;
        }
        let share0 = counts[0] as f64 / draws as f64;
        assert!((share0 * z.zeta_n - 1.0).abs() < 0.03, "rank 0 share {share0}");
        let ratio = counts[1] as f64 / counts[0] as f64;
        assert!((ratio / 0.5f64.powf(ZIPFIAN_THETA) - 1.0).abs() < 0.05, "rank 1 / rank 0 {ratio}");
        assert!(counts[500] < counts[10]);
    }

    /// Values of YCSB's `Utils.fnvhash64`, computed independently from its
    /// Java source (FNV-1a over 8 bytes, then `Math.abs`).
    #[test]
    fn fnv_matches_ycsb() {
        assert_eq!(fnv_hash64(0), 0x5738_07cd_d7e5_c63b);
        assert_eq!(fnv_hash64(1), 0x7632_ced6_e2d5_105c);
        assert_eq!(fnv_hash64(12345), 0x18e1_4e7a_1d12_33b4);
        assert_eq!(fnv_hash64(99_999_999), 0x3448_81ac_9549_7d68);
    }

    /// Inserts get new, distinct keys; reads only see acknowledged inserts;
    /// numbers below `loaded` are the loaded keys.
    #[test]
    fn inserted_keys_are_new_and_acknowledged_in_order() {
        let keys = KeySpace::new(1000, 5);
        let mut seen = std::collections::BTreeSet::new();
        let mut k = [0; KEY_BYTES];
        for i in 0..1000 {
            keys.key(i, &mut k);
            assert!(seen.insert(k));
        }
        let (a, b) = (keys.claim(), keys.claim());
        keys.acknowledge(b);
        assert_eq!(keys.live(), 1000, "b is written but a is not");
        keys.acknowledge(a);
        keys.settle();
        assert_eq!(keys.live(), 1002);
        for j in 0..3000 {
            keys.key(1000 + j, &mut k);
            assert!(seen.insert(k), "insert {j} reused a key");
        }
    }
}
