//! Opening a database: FORMAT.md's "Open and recovery" protocol, step by step.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::maintenance::Maintenance;
use super::snapshot::SnapshotList;
use super::state::{DbInner, ReadView, Status, TreeState, WalFile, WriteState};
use super::stats::Counters;
use super::write::GroupCommit;
use crate::error::{Error, IoKind, Result};
use crate::event::{EventKind, EventLog};
use crate::filename::{self, FileKind};
use crate::manifest::{self, ManifestWriter, VersionEdit};
use crate::memtable::Memtable;
use crate::options::Options;
use crate::sstable::TableCache;
use crate::storage::CountingStorage;
use crate::storage::Storage;
use crate::sync::{Mutex, RwLock};
use crate::version::{TableMeta, Version};
use crate::wal;

/// What the manifest says.
struct Recovered {
    version: Version,
    next_file_number: u64,
    flushed_seq: u64,
    last_seq: u64,
}

pub(super) fn open(storage: Arc<dyn Storage>, options: Options) -> Result<DbInner> {
    let counting = Arc::new(CountingStorage::counting(storage));
    let s: &dyn Storage = &*counting;
    let mut events = EventLog::new(options.event_log_capacity);

    // Steps 1–3: find the live manifest (creating a database if there is none) and read it.
    let files = owned_files(s)?;
    let (manifest_number, created) = match manifest::read_current(s)? {
        Some(number) => (number, false),
        None => (create_database(s, &files)?, true),
    };
    let (edits, torn) = manifest::read_manifest(s, manifest_number)?;
    if edits.is_empty() {
        // CURRENT only ever names a synced manifest, whose first record is a snapshot.
        return Err(Error::corruption(&filename::manifest_name(manifest_number), 0, "manifest holds no complete edit"));
    }
    if let Some(torn) = torn {
        events.push(EventKind::ManifestTailDiscarded {
            file: filename::manifest_name(manifest_number),
            offset: torn.offset,
            dropped_bytes: torn.dropped_bytes,
        });
    }
    let recovered = replay_edits(&edits, &filename::manifest_name(manifest_number))?;

    // Steps 4–6: check the tables, clear crash leftovers, never reuse a number.
    verify_tables(s, &recovered.version)?;
    remove_leftovers(s, &files, &recovered.version, manifest_number)?;
    let highest_present = files.iter().filter_map(|(kind, _)| file_number(*kind)).max().unwrap_or(0);
    let mut next_file_number = recovered.next_file_number.max(highest_present + 1);

    // Step 7: a fresh manifest holding the whole version, so replay's
    // flushes have a manifest to append to.
    let new_manifest = next_file_number;
    next_file_number += 1;
    let snapshot = VersionEdit {
        next_file_number: Some(next_file_number),
        flushed_seq: Some(recovered.flushed_seq),
        last_seq: Some(recovered.last_seq),
        added: recovered.version.tables().map(|(level, t)| (level, (**t).clone())).collect(),
        removed: Vec::new(),
    };
    let manifest = ManifestWriter::create(s, new_manifest, &snapshot)?;
    manifest::install_current(s, new_manifest)?;
    remove_if_present(s, &filename::manifest_name(manifest_number))?;

    let inner = assemble(counting.clone(), options, events, recovered, manifest, next_file_number);

    // Step 8: replay the WAL files into the memtable.
    let wals: Vec<u64> =
        files.iter().filter_map(|(kind, _)| if let FileKind::Wal(n) = kind { Some(*n) } else { None }).collect();
    replay_wals(&inner, &wals)?;
    inner.event(EventKind::Opened { created });
    Ok(inner)
}

/// Names the engine owns, parsed.
fn owned_files(s: &dyn Storage) -> Result<Vec<(FileKind, String)>> {
    let mut files: Vec<(FileKind, String)> =
        s.list()?.into_iter().filter_map(|name| filename::parse(&name).map(|kind| (kind, name))).collect();
    files.sort();
    Ok(files)
}

fn file_number(kind: FileKind) -> Option<u64> {
    match kind {
        FileKind::Manifest(n) | FileKind::Wal(n) | FileKind::Table(n) => Some(n),
        FileKind::Current | FileKind::CurrentTmp => None,
    }
}

/// Step 2: a new database, unless data files exist without a CURRENT.
fn create_database(s: &dyn Storage, files: &[(FileKind, String)]) -> Result<u64> {
    if let Some((_, name)) = files.iter().find(|(kind, _)| matches!(kind, FileKind::Table(_) | FileKind::Wal(_))) {
        return Err(Error::corruption(filename::CURRENT, 0, format!("CURRENT is missing but data file {name} exists")));
    }
    for (_, name) in files {
        s.remove(name)?;
    }
    let first =
        VersionEdit { next_file_number: Some(2), flushed_seq: Some(0), last_seq: Some(0), ..VersionEdit::default() };
    ManifestWriter::create(s, 1, &first)?;
    manifest::install_current(s, 1)?;
    Ok(1)
}

fn replay_edits(edits: &[VersionEdit], manifest_name: &str) -> Result<Recovered> {
    let mut r = Recovered { version: Version::default(), next_file_number: 2, flushed_seq: 0, last_seq: 0 };
    for edit in edits {
        if let Some(n) = edit.next_file_number {
            r.next_file_number = r.next_file_number.max(n);
        }
        if let Some(seq) = edit.flushed_seq {
            r.flushed_seq = r.flushed_seq.max(seq);
        }
        if let Some(seq) = edit.last_seq {
            r.last_seq = r.last_seq.max(seq);
        }
        let added: Vec<(usize, Arc<TableMeta>)> = edit.added.iter().map(|(l, t)| (*l, Arc::new(t.clone()))).collect();
        r.version =
            r.version.apply(&edit.removed, &added).map_err(|reason| Error::corruption(manifest_name, 0, reason))?;
    }
    r.last_seq = r.last_seq.max(r.flushed_seq);
    Ok(r)
}

/// Step 4: every table the version names exists with the recorded size.
fn verify_tables(s: &dyn Storage, version: &Version) -> Result<()> {
    for (_, table) in version.tables() {
        let name = filename::table_name(table.number);
        let len = s.len(&name).map_err(|e| {
            if e.is_io(IoKind::NotFound) {
                Error::corruption(&name, 0, "table named by the manifest is missing")
            } else {
                e
            }
        })?;
        if len != table.file_size {
            return Err(Error::corruption(
                &name,
                len,
                format!("table is {len} bytes but the manifest recorded {}", table.file_size),
            ));
        }
    }
    Ok(())
}

/// Step 5: files a crash left behind that nothing references.
fn remove_leftovers(s: &dyn Storage, files: &[(FileKind, String)], version: &Version, manifest: u64) -> Result<()> {
    for (kind, name) in files {
        let stale = match *kind {
            FileKind::Table(n) => !version.tables().any(|(_, t)| t.number == n),
            FileKind::Manifest(n) => n != manifest,
            FileKind::CurrentTmp => true,
            FileKind::Current | FileKind::Wal(_) => false,
        };
        if stale {
            remove_if_present(s, name)?;
        }
    }
    Ok(())
}

fn remove_if_present(s: &dyn Storage, name: &str) -> Result<()> {
    match s.remove(name) {
        Err(e) if !e.is_io(IoKind::NotFound) => Err(e),
        _ => Ok(()),
    }
}

fn assemble(
    storage: Arc<CountingStorage>,
    options: Options,
    events: EventLog,
    recovered: Recovered,
    manifest: ManifestWriter,
    next_file_number: u64,
) -> DbInner {
    let version = Arc::new(recovered.version);
    let mem = Arc::new(Memtable::new());
    let view = ReadView { mem: mem.clone(), frozen: Vec::new(), version: version.clone() };
    let counters = Counters::default();
    counters.last_seq.store(recovered.last_seq, Ordering::Relaxed);
    counters.flushed_seq.store(recovered.flushed_seq, Ordering::Relaxed);
    let tables = Arc::new(TableCache::new(storage.clone(), options.block_cache_bytes, options.partition_cache_bytes));
    let maintenance = Maintenance::new(options.background_work);
    maintenance.set_pace(super::maintenance::pace_rate(&options, version.levels[0].len()));
    DbInner {
        storage,
        write: Mutex::new(WriteState {
            wal: None,
            wal_last_seq: 0,
            closed_wals: Vec::new(),
            last_seq: recovered.last_seq,
            mem,
            frozen: Vec::new(),
        }),
        tree: Mutex::new(TreeState {
            manifest,
            version,
            flushed_seq: recovered.flushed_seq,
            pointers: Default::default(),
            obsolete: Vec::new(),
        }),
        next_file_number: AtomicU64::new(next_file_number),
        view: RwLock::new(Arc::new(view)),
        visible_seq: AtomicU64::new(recovered.last_seq),
        group: GroupCommit {
            leader: Mutex::new(()),
            synced_seq: AtomicU64::new(recovered.last_seq),
            head: Mutex::new((Arc::from(""), recovered.last_seq)),
        },
        snapshots: Arc::new(SnapshotList::default()),
        tables,
        counters,
        events: Mutex::new(events),
        status: Mutex::new(Status::Open),
        maintenance,
        options,
    }
}

/// Step 8: replays WAL files in number order. Batches (or their tails)
/// above the flushed sequence go back into the memtable, which is frozen
/// as its caps demand; the frozen memtables are flushed once replay is done.
/// A torn tail is cut off and reported.
fn replay_wals(inner: &DbInner, wals: &[u64]) -> Result<()> {
    let s: &dyn Storage = &*inner.storage;
    let flushed_seq = inner.tree.lock().flushed_seq;
    let mut w = inner.write.lock();
    let (mut records, mut entries) = (0u64, 0u64);
    for &number in wals {
        let name = filename::wal_name(number);
        let contents = wal::read_wal(s, &name)?;
        if let Some(torn) = contents.torn_tail.as_ref().filter(|_| Some(&number) != wals.last()) {
            // A WAL is synced when the next one starts, so only the newest
            // can end torn; anywhere else the damage is a hole in the log.
            return Err(Error::corruption(
                &name,
                torn.offset,
                "damaged record in a WAL file that newer WAL files follow",
            ));
        }
        if contents.torn_tail.is_none() && s.len(&name)? > contents.valid_len {
            // Zeros a preallocating backend never wrote: trim them quietly.
            s.truncate(&name, contents.valid_len)?;
        }
        if let Some(torn) = &contents.torn_tail {
            s.truncate(&name, contents.valid_len)?;
            inner.counters.wal_tail_truncations.fetch_add(1, Ordering::Relaxed);
            inner.event(EventKind::WalTailTruncated {
                file: name.clone(),
                offset: torn.offset,
                dropped_bytes: torn.dropped_bytes,
            });
        }
        let mut file_last_seq = 0;
        for (first, batch) in &contents.batches {
            let last = first + batch.len() as u64 - 1;
            file_last_seq = last;
            if last <= flushed_seq {
                continue;
            }
            // Ops up to the flushed sequence are in tables already.
            let skip = (flushed_seq + 1).saturating_sub(*first) as usize;
            let tail = &batch.as_ops()[skip..];
            w.last_seq = w.last_seq.max(last);
            inner.apply(&mut w, first + skip as u64, tail)?;
            records += 1;
            entries += tail.len() as u64;
        }
        if file_last_seq <= flushed_seq {
            // Empty, or entirely in tables already.
            remove_if_present(s, &name)?;
        } else {
            s.sync(&name)?;
            let bytes = contents.valid_len;
            inner.counters.wal_files.fetch_add(1, Ordering::Relaxed);
            inner.counters.wal_bytes.fetch_add(bytes, Ordering::Relaxed);
            w.closed_wals.push(WalFile { number, last_seq: file_last_seq, bytes });
        }
    }
    let last = w.last_seq;
    inner.counters.last_seq.store(last, Ordering::Relaxed);
    inner.visible_seq.store(last, Ordering::Release);
    inner.group.synced_seq.store(last, Ordering::Release);
    if !wals.is_empty() {
        inner.event(EventKind::WalReplayed { files: wals.to_vec(), records, entries });
    }
    drop(w);
    inner.maintain()
}
