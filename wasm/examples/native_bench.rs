//! The browser benchmark's workloads on lsmkv's memory backend, natively:
//! the same engine build as the wasm package (`lsmkv` without `std`), the
//! production preset, 16-byte keys and 100-byte values (+ the one-byte type
//! tag the wasm layer stores with every value). `wasm/bench/bench.mjs` runs
//! it beside the headless-Chromium run and puts its figures in the same
//! table, so the cost of wasm and of the JS boundary is visible.
//!
//!   cargo run --release -p lsmkv-wasm --example native_bench -- --n 100000 [--ranges 1000]
//!
//! Prints one JSON object: `{ "n": .., "rows": [{ "workload", "ops", "ms" }] }`
//! with the workload ids of `wasm/bench/workloads.mjs`.

use std::ops::Bound;
use std::time::Instant;

use lsmkv::testing::Rng;
use lsmkv::{Db, MemStorage, Options, RangeOptions, WriteBatch};

fn key(i: usize) -> Vec<u8> {
    format!("key{i:013}").into_bytes()
}

fn shuffled(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    order
}

fn open() -> Db {
    // As the wasm layer opens it: production preset, `Durability::Sync`.
    Db::open(MemStorage::new(), Options::production()).expect("open")
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let option = |name: &str, fallback: usize| {
        argv.iter()
            .position(|a| a == &format!("--{name}"))
            .and_then(|i| argv.get(i + 1))
            .map(|v| v.parse().expect("a number"))
            .unwrap_or(fallback)
    };
    let n = option("n", 10_000);
    let ranges = option("ranges", (n / 10).min(1000));
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    // 1000 random values, tagged as the wasm layer tags a Uint8Array (0x00).
    let values: Vec<Vec<u8>> =
        (0..1000).map(|_| std::iter::once(0u8).chain((0..100).map(|_| rng.next_u64() as u8)).collect()).collect();
    let value = |i: usize| values[i % values.len()].as_slice();
    let mut rows = Vec::new();
    let mut row = |workload: &str, ops: usize, start: Instant| {
        rows.push(format!(
            r#"{{"workload":"{workload}","ops":{ops},"ms":{:.3}}}"#,
            start.elapsed().as_secs_f64() * 1000.0
        ));
    };

    let db = open();
    let start = Instant::now();
    for i in 0..n {
        db.put(&key(i), value(i)).expect("put");
    }
    row("put-each", n, start);
    drop(db);

    let db = open();
    let start = Instant::now();
    let mut batch = WriteBatch::new();
    for i in 0..n {
        batch.put(key(i), value(i));
    }
    db.write(&batch).expect("write");
    row("put-batch", n, start);

    let order = shuffled(n, &mut rng);
    let reads = |db: &Db, rows: &mut dyn FnMut(&str, usize, Instant), suffix: &str| {
        let start = Instant::now();
        for &i in &order {
            assert!(db.get(&key(i)).expect("get").is_some(), "lost {i}");
        }
        rows(&format!("get-each{suffix}"), n, start);
        let start = Instant::now();
        let mut seen = 0;
        for &i in &order[..ranges] {
            let options = RangeOptions { start: Bound::Included(key(i)), limit: Some(100), ..RangeOptions::default() };
            seen += db.range(&options).expect("range").len();
        }
        rows(&format!("range-100{suffix}"), seen, start);
        let start = Instant::now();
        let mut seen = 0;
        for entry in db.iter(&RangeOptions::default()).expect("iter") {
            entry.expect("entry");
            seen += 1;
        }
        assert_eq!(seen, n);
        rows(&format!("scan{suffix}"), n, start);
    };
    reads(&db, &mut row, "");
    db.compact().expect("compact");
    reads(&db, &mut row, "-compacted");
    println!(r#"{{"n":{n},"rows":[{}]}}"#, rows.join(","));
}
