use super::*;
use alloc::vec;

fn is_crash<T>(result: Result<T>) -> bool {
    matches!(result, Err(Error::Io { kind: IoKind::Other, message, .. }) if message == CRASH_MESSAGE)
}

/// A storage holding file "f" = b"synced" (synced) + b"-unsynced" (not).
fn half_synced() -> FaultStorage {
    let s = FaultStorage::new();
    s.create("f").unwrap();
    s.append("f", b"synced").unwrap();
    s.sync("f").unwrap();
    s.append("f", b"-unsynced").unwrap();
    s
}

/// Goal: every trait method counts as one call, failed ones too;
/// helpers do not count.
#[test]
fn every_call_is_counted() {
    let s = FaultStorage::new();
    s.create("a").unwrap();
    s.append("a", b"x").unwrap();
    s.read_at("a", 0, &mut [0u8; 1]).unwrap();
    s.len("a").unwrap();
    s.sync("a").unwrap();
    s.truncate("a", 0).unwrap();
    s.rename("a", "b").unwrap();
    s.list().unwrap();
    s.read_all("b").unwrap();
    s.exists("b").unwrap();
    s.remove("b").unwrap();
    assert!(s.remove("b").is_err());
    assert_eq!(s.ops(), 12);
    s.file_names();
    s.raw_bytes("b");
    s.synced_len("b");
    s.flip_bit("b", 0);
    assert_eq!(s.ops(), 12);
}

/// Goal: the crashing call has no effect and it and all later calls
/// fail, whatever the method.
#[test]
fn crash_stops_everything_and_the_crashing_call_has_no_effect() {
    type Call = fn(&FaultStorage) -> Result<()>;
    type Check = fn(&FaultStorage);
    let calls: [(Call, Check); 5] = [
        (|s| s.create("g"), |s| assert!(s.raw_bytes("g").is_none())),
        (|s| s.sync("f"), |s| assert_eq!(s.synced_len("f"), Some(6))),
        (|s| s.truncate("f", 2), |s| assert_eq!(s.raw_bytes("f").unwrap().len(), 15)),
        (|s| s.rename("f", "g"), |s| assert_eq!(s.file_names(), vec![String::from("f")])),
        (|s| s.remove("f"), |s| assert!(s.raw_bytes("f").is_some())),
    ];
    for (call, check_no_effect) in calls {
        let s = half_synced();
        s.crash_at(s.ops() + 1);
        assert!(is_crash(call(&s)));
        assert!(s.is_crashed());
        check_no_effect(&s);
        assert!(is_crash(s.len("f")));
        assert!(is_crash(s.list()));
        assert!(is_crash(s.append("f", b"late")));
        assert!(!s.raw_bytes("f").unwrap().ends_with(b"late"), "appends after the crash never land");
    }
}

/// Goal: the tear modes keep none, all, or a prefix of unsynced bytes,
/// always all synced bytes; the restarted storage is clean.
#[test]
fn after_crash_keeps_synced_bytes_and_tears_the_rest() {
    let s = half_synced();
    s.crash_at(s.ops() + 1);
    assert!(is_crash(s.append("f", b"+torn")));
    assert_eq!(s.raw_bytes("f").unwrap(), b"synced-unsynced+torn".to_vec());
    assert_eq!(s.after_crash(Tear::DropUnsynced).read_all("f").unwrap(), b"synced".to_vec());
    let kept = s.after_crash(Tear::KeepUnsynced);
    assert_eq!(kept.read_all("f").unwrap(), b"synced-unsynced+torn".to_vec());
    assert_eq!(kept.ops(), 1, "a fresh counter (one call made just now)");
    assert_eq!(kept.synced_len("f"), Some(20), "what survived a crash is durable");
    assert!(!kept.is_crashed());

    let mut seen = BTreeMap::new();
    for seed in 0..200 {
        let recovered = s.after_crash(Tear::RandomPrefix { seed }).raw_bytes("f").unwrap();
        assert!(b"synced-unsynced+torn".starts_with(&recovered), "seed {seed}: a prefix survives");
        assert!(recovered.len() >= 6, "seed {seed}: synced bytes survive");
        let again = s.after_crash(Tear::RandomPrefix { seed }).raw_bytes("f").unwrap();
        assert_eq!(recovered, again, "seed {seed}: deterministic");
        *seen.entry(recovered.len()).or_insert(0) += 1;
    }
    assert!(seen.contains_key(&6) && seen.contains_key(&20), "both extremes occur: {seen:?}");
    assert!(seen.len() > 5, "intermediate tears occur: {seen:?}");
}

/// Goal: after_crash without a crash is a power cut now, and leaves
/// the original untouched.
#[test]
fn after_crash_without_a_crash_is_a_power_cut() {
    let s = half_synced();
    let before = s.ops();
    let restarted = s.after_crash(Tear::DropUnsynced);
    assert_eq!(restarted.read_all("f").unwrap(), b"synced".to_vec());
    assert_eq!(s.ops(), before);
    assert_eq!(s.raw_bytes("f").unwrap(), b"synced-unsynced".to_vec());
    s.append("f", b"!").unwrap();
}

/// Goal: an injected error has no effect and later calls work; a failed
/// sync makes nothing durable, and what was unsynced then stays lost to a
/// crash even after a later sync succeeds (fsyncgate).
#[test]
fn injected_failures_have_no_effect() {
    let s = half_synced();
    let next = s.ops() + 1;
    s.fail_at(next, IoKind::Other);
    s.fail_at(next + 1, IoKind::QuotaExceeded);
    let err = s.sync("f").unwrap_err();
    assert!(matches!(err, Error::Io { kind: IoKind::Other, ref message, .. } if message == INJECTED_MESSAGE));
    assert!(s.append("f", b"more").unwrap_err().is_io(IoKind::QuotaExceeded));
    assert_eq!(s.synced_len("f"), Some(6), "a failed sync syncs nothing");
    assert_eq!(s.raw_bytes("f").unwrap(), b"synced-unsynced".to_vec(), "a failed append appends nothing");
    assert!(!s.is_crashed());
    s.append("f", b"!").unwrap();
    assert_eq!(s.after_crash(Tear::DropUnsynced).read_all("f").unwrap(), b"synced".to_vec());
    s.sync("f").unwrap();
    assert_eq!(s.synced_len("f"), Some(16), "the retried sync reports success");
    assert_eq!(s.after_crash(Tear::DropUnsynced).read_all("f").unwrap(), b"synced".to_vec(), "but they may be gone");
    assert_eq!(s.after_crash(Tear::KeepUnsynced).read_all("f").unwrap(), b"synced-unsynced!".to_vec(), "or not");
    // A cut back to the durable prefix starts fresh pages: they sync.
    s.truncate("f", 6).unwrap();
    s.append("f", b"+new").unwrap();
    s.sync("f").unwrap();
    assert_eq!(s.after_crash(Tear::DropUnsynced).read_all("f").unwrap(), b"synced+new".to_vec());
}

/// Goal: `fail_nth_sync` fails exactly the n-th sync, counting syncs only.
#[test]
fn the_nth_sync_fails() {
    let s = half_synced();
    s.fail_nth_sync(2, IoKind::QuotaExceeded);
    s.sync("f").unwrap();
    s.len("f").unwrap();
    s.append("f", b"x").unwrap();
    assert!(s.sync("f").unwrap_err().is_io(IoKind::QuotaExceeded));
    assert_eq!(s.synced_len("f"), Some(15));
    s.sync("f").unwrap();
    s.sync("f").unwrap();
}

/// Goal: faults can be disarmed, and a number already past never fires.
#[test]
fn clear_faults_and_past_numbers() {
    let s = half_synced();
    s.crash_at(1);
    s.len("f").unwrap();
    s.crash_at(s.ops() + 1);
    s.fail_at(s.ops() + 2, IoKind::Other);
    s.clear_faults();
    s.len("f").unwrap();
    s.len("f").unwrap();
    assert!(!s.is_crashed());
}

/// Goal: truncate, rename and remove are durable; rename carries the
/// file's unsynced bytes as unsynced.
#[test]
fn metadata_operations_are_durable() {
    let s = half_synced();
    s.truncate("f", 3).unwrap();
    assert_eq!(s.synced_len("f"), Some(3));
    s.append("f", b"abc").unwrap();
    s.rename("f", "g").unwrap();
    s.create("h").unwrap();
    s.create("gone").unwrap();
    s.remove("gone").unwrap();
    let restarted = s.after_crash(Tear::DropUnsynced);
    assert_eq!(restarted.file_names(), vec![String::from("g"), String::from("h")]);
    assert_eq!(restarted.read_all("g").unwrap(), b"syn".to_vec());
    assert_eq!(restarted.read_all("h").unwrap(), Vec::<u8>::new());
    assert_eq!(s.after_crash(Tear::KeepUnsynced).read_all("g").unwrap(), b"synabc".to_vec());
}

/// Goal: the damage helpers change exactly what they say.
#[test]
fn flip_bit_and_set_raw_bytes() {
    let s = FaultStorage::new();
    s.set_raw_bytes("x", vec![0u8; 4]);
    assert!(s.flip_bit("x", 9));
    assert_eq!(s.read_all("x").unwrap(), vec![0, 2, 0, 0]);
    assert!(!s.flip_bit("x", 32), "bit past the end");
    assert!(!s.flip_bit("missing", 0));
    assert_eq!(s.synced_len("x"), Some(4));
}

/// Goal: a crashing append to a missing file lands nothing.
#[test]
fn crashing_append_to_a_missing_file() {
    let s = FaultStorage::new();
    s.crash_at(1);
    assert!(is_crash(s.append("nope", b"x")));
    assert!(s.file_names().is_empty());
}
