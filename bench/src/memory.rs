//! Peak memory of the benchmark process (one child process per engine, so
//! it is the engine's): the kernel's exact peak resident set (`VmHWM`), reset
//! before each workload through `/proc/self/clear_refs`, and a sampled peak
//! of the anonymous part (`RssAnon`): `VmHWM` also counts file pages mapped
//! into the process, which for an engine that reads its tables through a
//! memory map (lsmkv) are page cache, not memory it allocated.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often the sampler reads `RssAnon`.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// Peak memory over one workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// `VmHWM` after the workload, reset before it (if the reset works
    /// here; otherwise the peak since the process started).
    pub hwm_bytes: u64,
    /// The largest `RssAnon` seen every 20 ms during the workload.
    pub anon_bytes: u64,
}

static ANON_PEAK: AtomicU64 = AtomicU64::new(0);
static SAMPLER_STARTED: AtomicBool = AtomicBool::new(false);

/// A field of `/proc/self/status` ("VmHWM", "VmRSS", "RssAnon"), in bytes.
pub fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    let kib: u64 = line.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peaks: `VmHWM` to the current resident set (writing 5 to
/// `clear_refs`, Linux ≥ 4.0) and the sampled anonymous peak to the current
/// `RssAnon`. Starts the sampler thread on first use.
pub fn reset_peak() -> bool {
    if !SAMPLER_STARTED.swap(true, Ordering::SeqCst) {
        std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(|| loop {
                if let Some(anon) = status_bytes("RssAnon") {
                    ANON_PEAK.fetch_max(anon, Ordering::Relaxed);
                }
                std::thread::sleep(SAMPLE_EVERY);
            })
            .expect("spawn the RSS sampler");
    }
    ANON_PEAK.store(status_bytes("RssAnon").unwrap_or(0), Ordering::Relaxed);
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peaks since the last `reset_peak`.
pub fn peak() -> Peak {
    let anon_now = status_bytes("RssAnon").unwrap_or(0);
    Peak {
        hwm_bytes: status_bytes("VmHWM").unwrap_or(0),
        anon_bytes: ANON_PEAK.fetch_max(anon_now, Ordering::Relaxed).max(anon_now),
    }
}

/// Checks that resetting `VmHWM` works here: touches 128 MiB, frees it,
/// resets, and expects the peak to have dropped by most of that. Returns a
/// sentence for the report.
pub fn verify_reset() -> (bool, String) {
    const PROBE_BYTES: usize = 128 << 20;
    reset_peak();
    let mut probe = vec![0u8; PROBE_BYTES];
    for page in probe.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&probe);
    let with_probe = status_bytes("VmHWM").unwrap_or(0);
    drop(probe);
    let reset = reset_peak();
    let after = status_bytes("VmHWM").unwrap_or(0);
    let dropped = with_probe.saturating_sub(after);
    let works = reset && dropped >= (PROBE_BYTES as u64) * 3 / 4;
    let sentence = if works {
        format!(
            "VmHWM reset verified: 128 MiB touched and freed, peak {} MiB → {} MiB after writing 5 to /proc/self/clear_refs",
            with_probe >> 20,
            after >> 20
        )
    } else {
        format!(
            "VmHWM could NOT be reset here (clear_refs write {}, peak {} MiB → {} MiB): peak RSS figures are since the engine's process started",
            if reset { "accepted" } else { "refused" },
            with_probe >> 20,
            after >> 20
        )
    };
    (works, sentence)
}
