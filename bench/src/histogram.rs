//! A latency histogram: log-linear buckets (16 per power of two, so any
//! reported percentile is within about 6% of the true value), fixed size,
//! no allocation while recording.

/// Sub-buckets per power of two.
const SUB_BUCKETS: u64 = 16;
/// Enough buckets for any `u64` nanosecond count.
const BUCKET_COUNT: usize = 16 + 60 * 16;

pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    pub fn new() -> Self {
        Histogram { counts: vec![0; BUCKET_COUNT], total: 0 }
    }

    pub fn record(&mut self, nanos: u64) {
        self.counts[bucket_of(nanos)] += 1;
        self.total += 1;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value below which `fraction` of the recorded values lie (the
    /// midpoint of the bucket holding that rank), in nanoseconds.
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
                return low + (high - low) / 2;
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
        assert!((p50 / 500_000.0 - 1.0).abs() < 0.07, "p50 {p50}");
        assert!((p99 / 990_000.0 - 1.0).abs() < 0.07, "p99 {p99}");
    }
}
