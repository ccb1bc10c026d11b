//! A latency histogram: log-linear buckets (16 per power of two, so any
//! reported percentile is within about 6% of the true value), fixed size,
//! no allocation while recording. It also keeps the exact maximum, and the
//! count and total time of slow operations (over `SLOW_NANOS`), which is how
//! the bench sees write stalls on an engine that does not report its own.

/// Sub-buckets per power of two.
const SUB_BUCKETS: u64 = 16;
/// Enough buckets for any `u64` nanosecond count.
const BUCKET_COUNT: usize = 16 + 60 * 16;
/// An operation slower than this counts as slow (1 ms).
pub const SLOW_NANOS: u64 = 1_000_000;

#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
    slow_count: u64,
    slow_nanos: u64,
}

impl Histogram {
    pub fn new() -> Self {
        Histogram { counts: vec![0; BUCKET_COUNT], total: 0, max: 0, slow_count: 0, slow_nanos: 0 }
    }

    pub fn record(&mut self, nanos: u64) {
        self.counts[bucket_of(nanos)] += 1;
        self.total += 1;
        self.max = self.max.max(nanos);
        if nanos > SLOW_NANOS {
            self.slow_count += 1;
            self.slow_nanos += nanos;
        }
    }

    /// Adds `other`'s recordings to this one (per-thread histograms merged).
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
        self.slow_count += other.slow_count;
        self.slow_nanos += other.slow_nanos;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded, exactly.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Operations slower than `SLOW_NANOS`, and their total time.
    pub fn slow(&self) -> (u64, u64) {
        (self.slow_count, self.slow_nanos)
    }

    /// The value below which `fraction` of the recorded values lie (the
    /// midpoint of the bucket holding that rank, never above the exact
    /// maximum), in nanoseconds.
    pub fn percentile(&self, fraction: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((self.total as f64) * fraction).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, high) = bounds_of(bucket);
                return (low + (high - low) / 2).min(self.max);
            }
        }
        unreachable!("rank is at most the total count")
    }
}

fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    let msb = 63 - u64::from(value.leading_zeros()); // ≥ 4
    let mantissa = (value >> (msb - 4)) & (SUB_BUCKETS - 1);
    (SUB_BUCKETS + (msb - 4) * SUB_BUCKETS + mantissa) as usize
}

/// [low, high) of a bucket.
fn bounds_of(bucket: usize) -> (u64, u64) {
    let bucket = bucket as u64;
    if bucket < SUB_BUCKETS {
        return (bucket, bucket + 1);
    }
    let shift = (bucket - SUB_BUCKETS) / SUB_BUCKETS;
    let mantissa = (bucket - SUB_BUCKETS) % SUB_BUCKETS;
    let low = (SUB_BUCKETS + mantissa) << shift;
    (low, low + (1 << shift))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value falls in the bucket whose bounds contain it, and
    /// percentiles land within one bucket (≈6%) of the exact answer.
    #[test]
    fn buckets_contain_their_values_and_percentiles_are_close() {
        for value in (0..5000).chain([1 << 20, 123_456_789, u64::MAX / 3]) {
            let (low, high) = bounds_of(bucket_of(value));
            assert!(low <= value && value < high, "{value} not in [{low}, {high})");
        }
        let mut h = Histogram::new();
        for v in 1..=10_000 {
            h.record(v * 100);
        }
        let p50 = h.percentile(0.5) as f64;
        let p99 = h.percentile(0.99) as f64;
        let p999 = h.percentile(0.999) as f64;
        assert!((p50 / 500_000.0 - 1.0).abs() < 0.07, "p50 {p50}");
        assert!((p99 / 990_000.0 - 1.0).abs() < 0.07, "p99 {p99}");
        assert!((p999 / 999_000.0 - 1.0).abs() < 0.07, "p99.9 {p999}");
        assert_eq!(h.max(), 1_000_000);
        assert_eq!(h.slow(), (0, 0), "1 ms exactly is not slow");
    }

    /// Merging two histograms is the same as recording everything into one:
    /// counts, percentiles, the exact maximum and the slow operations.
    #[test]
    fn merge_equals_recording_into_one() {
        let (mut a, mut b, mut both) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in 0..1000u64 {
            let nanos = v * v * 7;
            if v % 3 == 0 { &mut a } else { &mut b }.record(nanos);
            both.record(nanos);
        }
        a.merge(&b);
        assert_eq!(a.count(), both.count());
        assert_eq!(a.max(), both.max());
        assert_eq!(a.slow(), both.slow());
        assert!(a.slow().0 > 0);
        for fraction in [0.5, 0.99, 0.999] {
            assert_eq!(a.percentile(fraction), both.percentile(fraction));
        }
    }
}
