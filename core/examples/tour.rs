//! A tour of lsmkv, following the original product's demo: user CRUD, a
//! product catalog loaded in one batch, range queries, an automatic flush,
//! compaction dropping overwritten values and tombstones, and a crash
//! followed by WAL recovery. Stats are printed at each step.
//!
//!     cargo run -p lsmkv --example tour

use std::ops::Bound;
use std::sync::Arc;

use lsmkv::testing::{FaultStorage, Tear};
use lsmkv::{Db, EventKind, Options, RangeOptions, Result, Stats};

fn main() -> Result<()> {
    // FaultStorage keeps files in memory and can simulate a power cut.
    let storage = Arc::new(FaultStorage::new());
    let db = Db::open_shared(storage.clone(), Options::teaching())?;
    println!("Opened with the specification's limits: memtable <= 30 entries, SSTables <= 30 entries.");
    show(&db.stats());

    step("1. Users: create, read, update, delete");
    db.put(b"user:alice", br#"{"name":"Alice","role":"admin"}"#)?;
    db.put(b"user:bob", br#"{"name":"Bob","role":"viewer"}"#)?;
    println!("get user:alice -> {}", text(db.get(b"user:alice")?));
    db.put(b"user:bob", br#"{"name":"Bob","role":"editor"}"#)?;
    println!("update user:bob -> {}", text(db.get(b"user:bob")?));
    db.delete(b"user:alice")?;
    println!("delete user:alice; get -> {}", text(db.get(b"user:alice")?));
    show(&db.stats());

    step("2. A product catalog of 40 items in one atomic batch");
    let catalog: Vec<(Vec<u8>, Vec<u8>)> = (1..=40)
        .map(|i| (format!("product:{i:03}").into_bytes(), format!(r#"{{"price":{}}}"#, i * 5).into_bytes()))
        .collect();
    db.batch_put(catalog)?;
    println!("The batch is larger than the memtable, so it spilled into a flush:");
    print_events(&db, 0);
    show(&db.stats());

    step("3. Range queries");
    let some = db.range(&RangeOptions {
        start: Bound::Included(b"product:010".to_vec()),
        end: Bound::Excluded(b"product:014".to_vec()),
        ..Default::default()
    })?;
    println!("[product:010, product:014): {}", pairs(&some));
    let last =
        db.range(&RangeOptions { reverse: true, limit: Some(3), ..RangeOptions::prefix(b"product:".to_vec()) })?;
    println!("last three products (reverse, limit 3): {}", pairs(&last));
    let users = db.keys(&RangeOptions::prefix(b"user:".to_vec()))?;
    println!("keys with prefix user: -> {:?}", users.iter().map(|k| String::from_utf8_lossy(k)).collect::<Vec<_>>());

    step("4. An automatic flush: the memtable fills to 30 and becomes an L0 table");
    let cursor = db.events(0, 1000).next_cursor;
    for i in 0..30 {
        db.put(format!("session:{i:02}").as_bytes(), b"active")?;
    }
    print_events(&db, cursor);
    show(&db.stats());

    step("5. Compaction: overwrite and delete, then merge everything");
    for i in 1..=20 {
        db.put(format!("product:{i:03}").as_bytes(), br#"{"price":0,"sale":true}"#)?;
    }
    for i in 0..30 {
        db.delete(format!("session:{i:02}").as_bytes())?;
    }
    let cursor = db.events(0, 1000).next_cursor;
    for report in db.compact()? {
        println!(
            "compacted {} tables ({} entries) into L{}: {} tables, {} entries; dropped {} overwritten values and {} tombstones",
            report.inputs.len(),
            report.entries_in,
            report.output_level,
            report.outputs.len(),
            report.entries_out,
            report.dropped_overwritten,
            report.dropped_tombstones
        );
    }
    print_events(&db, cursor);
    println!("product:001 -> {}", text(db.get(b"product:001")?));
    show(&db.stats());

    step("6. A crash: five more writes, then the power goes out before any flush");
    for i in 0..5 {
        db.put(format!("order:{i}").as_bytes(), b"paid")?;
    }
    println!("acknowledged 5 orders (each synced to the WAL before put returned)");
    // Everything not synced is lost; the in-memory memtable is gone.
    let after_power_cut = Arc::new(storage.after_crash(Tear::DropUnsynced));
    drop(db);
    let db = Db::open_shared(after_power_cut, Options::teaching())?;
    print_events(&db, 0);
    let orders = db.keys(&RangeOptions::prefix(b"order:".to_vec()))?;
    println!("after recovery, orders present: {} of 5", orders.len());
    show(&db.stats());
    let space = db.space()?;
    println!(
        "space: {} live keys, {} live bytes, {} stored bytes (space amplification {:.2})",
        space.live_keys, space.live_bytes, space.stored_bytes, space.space_amplification
    );
    Ok(())
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn text(value: Option<Vec<u8>>) -> String {
    value.map_or("(absent)".into(), |v| String::from_utf8_lossy(&v).into_owned())
}

fn pairs(items: &[(Vec<u8>, Vec<u8>)]) -> String {
    items
        .iter()
        .map(|(k, v)| format!("{}={}", String::from_utf8_lossy(k), String::from_utf8_lossy(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_events(db: &Db, since: u64) {
    for event in db.events(since, 1000).events {
        let line = match event.kind {
            EventKind::Opened { created } => format!("opened (new database: {created})"),
            EventKind::WalReplayed { files, records, entries } => {
                format!("WAL replayed: {records} records, {entries} entries from files {files:?}")
            }
            EventKind::WalTailTruncated { file, offset, dropped_bytes } => {
                format!("WAL tail cut: {file} at byte {offset} ({dropped_bytes} bytes)")
            }
            EventKind::MemtableFrozen { entries, .. } => {
                format!("memtable frozen at {entries} entries")
            }
            EventKind::Flushed(r) => format!(
                "flushed {} entries into L0 table(s) {:?}",
                r.memtable_entries,
                r.outputs.iter().map(|t| format!("#{} ({} entries)", t.number, t.entries)).collect::<Vec<_>>()
            ),
            EventKind::Compacted(r) => format!(
                "compaction to L{}: {} -> {} entries{}",
                r.output_level,
                r.entries_in,
                r.entries_out,
                if r.trivial_move { " (moved)" } else { "" }
            ),
            EventKind::TablesRemoved { numbers } => format!("removed obsolete tables {numbers:?}"),
            EventKind::StorageNotice { message } => format!("storage: {message}"),
            other => format!("{other:?}"),
        };
        println!("  event {}: {line}", event.cursor);
    }
}

fn show(s: &Stats) {
    println!(
        "  stats: memtable {}/{} entries | WAL {} bytes | last seq {} | flushes {} | compactions {}",
        s.memtable_entries, s.memtable_max_entries, s.wal_bytes, s.last_seq, s.flushes, s.compactions
    );
    for level in s.levels.iter().filter(|l| !l.tables.is_empty()) {
        let tables: Vec<String> = level
            .tables
            .iter()
            .map(|t| {
                format!(
                    "[{}..{} {}e]",
                    String::from_utf8_lossy(&t.smallest_key),
                    String::from_utf8_lossy(&t.largest_key),
                    t.entries
                )
            })
            .collect();
        println!("  L{}: {}", level.level, tables.join(" "));
    }
    println!(
        "  amplification: write {:.2}, read {:.2} tables/get ({} gets, {} bloom skips)",
        s.write_amplification, s.read_amplification, s.gets, s.bloom_negatives
    );
}
