//! The pool of slot files and the engine's flat namespace over it (the
//! operations and their crash behaviour are described in `slots.rs`).

use std::collections::{BTreeMap, HashMap};

use lsmkv::{Error, IoKind, Result};

use super::file::{IoFailure, IoResult, SlotFile};
use super::header::{
    decode_header, encode_header, Copy, Header, COPY_SIZE, HEADER_SIZE, NAME_MAX, SLOT_FORMAT_VERSION,
};

/// Appended bytes kept in memory per file before they are written out.
pub const APPEND_BUFFER_MAX: usize = 1 << 20;

struct Slot<F> {
    file: F,
    /// Which copy holds the current state (`None`: neither is valid).
    copy: Option<u8>,
    generation: u64,
    name: Option<String>,
    /// Logical length: physical size minus the header, plus `pending`.
    len: u64,
    /// Appended bytes not yet written to the file (they end the file).
    pending: Vec<u8>,
}

/// Counters for `health()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolCounters {
    pub flushes: u64,
    pub header_writes: u64,
    pub bytes_written: u64,
    pub bytes_read: u64,
    /// `write` calls that wrote buffered appends.
    pub append_writes: u64,
    /// Slots freed at load: stale duplicates after a crash mid-rename.
    pub stale_slots_freed: u64,
    /// Free slots whose leftover data load truncated (a crash mid-remove).
    pub free_slots_cleaned: u64,
}

/// The pool: slot id → slot, and the logical namespace over it.
pub struct Pool<F> {
    slots: BTreeMap<u64, Slot<F>>,
    names: HashMap<String, u64>,
    /// Free slots, durably empty; the last one is used first.
    free: Vec<u64>,
    next_generation: u64,
    /// Slots in an unknown state after a failed I/O call: never reused.
    broken: Vec<u64>,
    counters: PoolCounters,
}

fn io(kind: IoKind, name: &str, message: impl Into<String>) -> Error {
    Error::io(kind, name, message.into())
}

fn failed(name: &str, what: &str, f: IoFailure) -> Error {
    io(f.kind, name, format!("{what}: {}", f.message))
}

fn not_found(name: &str) -> Error {
    io(IoKind::NotFound, name, "no such file")
}

impl<F: SlotFile> Pool<F> {
    /// Builds the pool from every slot file found, repairing what a crash
    /// left: stale duplicates of a renamed file are freed, and free slots
    /// holding leftover data are truncated, each durably, before the pool is
    /// used. Fails on a header of a newer format.
    pub fn load(files: Vec<(u64, F)>) -> Result<Pool<F>> {
        let mut pool = Pool {
            slots: BTreeMap::new(),
            names: HashMap::new(),
            free: Vec::new(),
            next_generation: 1,
            broken: Vec::new(),
            counters: PoolCounters::default(),
        };
        for (id, file) in files {
            let label = format!("OPFS slot {id}");
            let size = file.size().map_err(|f| failed(&label, "size", f))?;
            let mut head = vec![0u8; HEADER_SIZE.min(size) as usize];
            read_exact(&file, 0, &mut head).map_err(|f| failed(&label, "header read", f))?;
            let mut best: Option<(u8, Header)> = None;
            for copy in 0..2u8 {
                let start = (copy as u64 * COPY_SIZE) as usize;
                let bytes = head.get(start..(start + COPY_SIZE as usize).min(head.len())).unwrap_or(&[]);
                match decode_header(bytes) {
                    Copy::Valid(header) => {
                        pool.next_generation = pool.next_generation.max(header.generation + 1);
                        if best.as_ref().is_none_or(|(_, b)| header.generation > b.generation) {
                            best = Some((copy, header));
                        }
                    }
                    Copy::Invalid => {}
                    Copy::NewerVersion(found) => {
                        return Err(Error::UnsupportedFormat {
                            file: label,
                            found: found as u32,
                            supported: SLOT_FORMAT_VERSION as u32,
                        })
                    }
                }
            }
            let (copy, generation, name) = match best {
                Some((copy, header)) => (Some(copy), header.generation, header.name),
                None => (None, 0, None),
            };
            let len = size.saturating_sub(HEADER_SIZE);
            pool.slots.insert(id, Slot { file, copy, generation, name, len, pending: Vec::new() });
        }
        // Resolve names: the highest generation wins; the rest are stale.
        let mut stale = Vec::new();
        let ids: Vec<u64> = pool.slots.keys().copied().collect();
        for id in ids {
            let slot = &pool.slots[&id];
            let Some(name) = slot.name.clone() else { continue };
            match pool.names.get(&name).copied() {
                None => {
                    pool.names.insert(name, id);
                }
                Some(other) if pool.slots[&other].generation < slot.generation => {
                    stale.push(other);
                    pool.names.insert(name, id);
                }
                Some(_) => stale.push(id),
            }
        }
        for id in stale {
            pool.release(id).map_err(|f| failed(&format!("OPFS slot {id}"), "freeing a stale slot", f))?;
            pool.counters.stale_slots_freed += 1;
        }
        let free: Vec<u64> = pool.slots.iter().filter(|(_, s)| s.name.is_none()).map(|(id, _)| *id).collect();
        for id in free {
            if pool.slots[&id].len > 0 {
                pool.clean(id).map_err(|f| failed(&format!("OPFS slot {id}"), "cleaning a free slot", f))?;
                pool.counters.free_slots_cleaned += 1;
            }
            pool.free.push(id);
        }
        // Use low ids first (a stable layout is easier to inspect).
        pool.free.sort_unstable_by(|a, b| b.cmp(a));
        Ok(pool)
    }

    /// Adds a new, empty slot file to the free list.
    pub fn add_free(&mut self, id: u64, file: F) {
        self.slots.insert(id, Slot { file, copy: None, generation: 0, name: None, len: 0, pending: Vec::new() });
        self.free.push(id);
    }

    /// Takes up to `count` free slots out of the pool (to close and delete
    /// them); returns their ids and files.
    pub fn take_free(&mut self, count: usize) -> Vec<(u64, F)> {
        let mut out = Vec::new();
        while out.len() < count {
            let Some(id) = self.free.first().copied() else { break };
            self.free.remove(0);
            if let Some(slot) = self.slots.remove(&id) {
                out.push((id, slot.file));
            }
        }
        out
    }

    /// Every slot file, for closing (the pool is unusable afterwards).
    pub fn drain(&mut self) -> Vec<F> {
        self.names.clear();
        self.free.clear();
        std::mem::take(&mut self.slots).into_values().map(|s| s.file).collect()
    }

    pub fn live_files(&self) -> usize {
        self.names.len()
    }

    pub fn free_slots(&self) -> usize {
        self.free.len()
    }

    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    pub fn max_id(&self) -> Option<u64> {
        self.slots.keys().next_back().copied()
    }

    pub fn counters(&self) -> PoolCounters {
        self.counters
    }

    /// Bytes of the logical files.
    pub fn data_bytes(&self) -> u64 {
        self.names.values().map(|id| self.slots[id].len).sum()
    }

    /// Writes `header` into the slot's non-current copy (not flushed).
    fn write_header(&mut self, id: u64, name: Option<String>) -> IoResult<()> {
        let generation = self.next_generation;
        self.next_generation += 1;
        let slot = self.slots.get_mut(&id).expect("slot exists");
        let target = match slot.copy {
            Some(0) => 1u8,
            _ => 0u8,
        };
        let bytes = encode_header(&Header { generation, name: name.clone() });
        write_exact(&slot.file, target as u64 * COPY_SIZE, &bytes)?;
        slot.copy = Some(target);
        slot.generation = generation;
        slot.name = name;
        self.counters.header_writes += 1;
        Ok(())
    }

    fn flush(&mut self, id: u64) -> IoResult<()> {
        self.slots[&id].file.flush()?;
        self.counters.flushes += 1;
        Ok(())
    }

    /// Marks the slot free (durably), then empties its data (durably).
    fn release(&mut self, id: u64) -> IoResult<()> {
        self.write_header(id, None)?;
        self.flush(id)?;
        self.clean(id)
    }

    /// Truncates a slot's data away, durably.
    fn clean(&mut self, id: u64) -> IoResult<()> {
        let slot = self.slots.get_mut(&id).expect("slot exists");
        slot.pending.clear();
        slot.len = 0;
        if slot.file.size()? > HEADER_SIZE {
            slot.file.truncate(HEADER_SIZE)?;
            self.flush(id)?;
        }
        Ok(())
    }

    fn slot_of(&self, name: &str) -> Result<u64> {
        self.names.get(name).copied().ok_or_else(|| not_found(name))
    }

    /// After a failed I/O call the slot's state is unknown: keep it out of
    /// the pool until the next load sorts it out. The engine goes read-only
    /// on any storage error, so the store is reopened anyway.
    fn broke(&mut self, id: u64, name: &str, what: &str, f: IoFailure) -> Error {
        if let Some(other) = self.names.get(name) {
            if *other == id {
                self.names.remove(name);
            }
        }
        self.free.retain(|free| *free != id);
        if !self.broken.contains(&id) {
            self.broken.push(id);
        }
        failed(name, what, f)
    }

    pub fn create(&mut self, name: &str) -> Result<()> {
        if self.names.contains_key(name) {
            return Err(io(IoKind::AlreadyExists, name, "file exists"));
        }
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(io(IoKind::Other, name, format!("file names are 1 to {NAME_MAX} bytes")));
        }
        let Some(id) = self.free.pop() else {
            return Err(io(
                IoKind::Other,
                name,
                format!("the OPFS slot pool is exhausted ({} slots, all in use); reopen the store", self.slots.len()),
            ));
        };
        let result = (|| {
            let file = &self.slots[&id].file;
            if file.size()? < HEADER_SIZE {
                file.truncate(HEADER_SIZE)?;
            }
            self.write_header(id, Some(name.to_string()))?;
            self.flush(id)
        })();
        match result {
            Ok(()) => {
                self.slots.get_mut(&id).expect("slot exists").len = 0;
                self.names.insert(name.to_string(), id);
                Ok(())
            }
            Err(f) => Err(self.broke(id, name, "create", f)),
        }
    }

    pub fn append(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let id = self.slot_of(name)?;
        if data.is_empty() {
            return Ok(());
        }
        let slot = self.slots.get_mut(&id).expect("slot exists");
        if slot.pending.len() + data.len() > APPEND_BUFFER_MAX {
            self.write_out(id).map_err(|f| self.broke(id, name, "append", f))?;
        }
        let slot = self.slots.get_mut(&id).expect("slot exists");
        if data.len() >= APPEND_BUFFER_MAX {
            // Large appends (a table's bulk) go straight to the file.
            let written = slot.len;
            match write_exact(&slot.file, HEADER_SIZE + written, data) {
                Ok(()) => {
                    slot.len += data.len() as u64;
                    self.counters.bytes_written += data.len() as u64;
                    return Ok(());
                }
                Err(f) => return Err(self.broke(id, name, "append", f)),
            }
        }
        slot.pending.extend_from_slice(data);
        slot.len += data.len() as u64;
        Ok(())
    }

    /// Writes the slot's buffered appends to its file (not flushed).
    fn write_out(&mut self, id: u64) -> IoResult<()> {
        let slot = self.slots.get_mut(&id).expect("slot exists");
        if slot.pending.is_empty() {
            return Ok(());
        }
        let at = HEADER_SIZE + slot.len - slot.pending.len() as u64;
        write_exact(&slot.file, at, &slot.pending)?;
        self.counters.bytes_written += slot.pending.len() as u64;
        self.counters.append_writes += 1;
        slot.pending.clear();
        Ok(())
    }

    /// Writes every file's buffered appends (for relaxed durability: the
    /// bytes then survive the browser being killed, without a flush).
    pub fn write_out_all(&mut self) -> Result<()> {
        let ids: Vec<u64> = self.names.values().copied().collect();
        for id in ids {
            self.write_out(id).map_err(|f| failed(&format!("OPFS slot {id}"), "writing appends", f))?;
        }
        Ok(())
    }

    pub fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        let id = self.slot_of(name)?;
        let slot = &self.slots[&id];
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > slot.len) {
            return Err(Error::corruption(name, offset, "read past end of file"));
        }
        if buf.is_empty() {
            return Ok(());
        }
        if !slot.pending.is_empty() && offset + buf.len() as u64 > slot.len - slot.pending.len() as u64 {
            self.write_out(id).map_err(|f| self.broke(id, name, "append", f))?;
        }
        let slot = &self.slots[&id];
        read_exact(&slot.file, HEADER_SIZE + offset, buf).map_err(|f| failed(name, "read", f))?;
        self.counters.bytes_read += buf.len() as u64;
        Ok(())
    }

    pub fn len(&self, name: &str) -> Result<u64> {
        Ok(self.slots[&self.slot_of(name)?].len)
    }

    pub fn sync(&mut self, name: &str) -> Result<()> {
        let id = self.slot_of(name)?;
        let result = self.write_out(id).and_then(|()| self.flush(id));
        result.map_err(|f| self.broke(id, name, "flush", f))
    }

    pub fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        let id = self.slot_of(name)?;
        if len >= self.slots[&id].len {
            return Ok(());
        }
        let result = (|| {
            self.write_out(id)?;
            self.slots[&id].file.truncate(HEADER_SIZE + len)?;
            self.slots.get_mut(&id).expect("slot exists").len = len;
            self.flush(id)
        })();
        result.map_err(|f| self.broke(id, name, "truncate", f))
    }

    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let id = self.slot_of(from)?;
        if from == to {
            return Ok(());
        }
        if to.is_empty() || to.len() > NAME_MAX {
            return Err(io(IoKind::Other, to, format!("file names are 1 to {NAME_MAX} bytes")));
        }
        let replaced = self.names.get(to).copied();
        let result = (|| {
            // The content first, then the header that names it `to`.
            self.write_out(id)?;
            self.flush(id)?;
            self.write_header(id, Some(to.to_string()))?;
            self.flush(id)
        })();
        if let Err(f) = result {
            return Err(self.broke(id, from, "rename", f));
        }
        self.names.remove(from);
        self.names.insert(to.to_string(), id);
        if let Some(old) = replaced {
            // `to` is already the new content (its generation is higher);
            // a failure from here on leaves a stale slot that load frees.
            match self.release(old) {
                Ok(()) => self.free.push(old),
                Err(f) => {
                    self.broken.push(old);
                    return Err(failed(to, "freeing the replaced file's slot", f));
                }
            }
        }
        Ok(())
    }

    pub fn remove(&mut self, name: &str) -> Result<()> {
        let id = self.slot_of(name)?;
        self.slots.get_mut(&id).expect("slot exists").pending.clear();
        match self.release(id) {
            Ok(()) => {
                self.names.remove(name);
                self.free.push(id);
                Ok(())
            }
            Err(f) => Err(self.broke(id, name, "remove", f)),
        }
    }

    pub fn list(&self) -> Vec<String> {
        self.names.keys().cloned().collect()
    }

    pub fn exists(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }
}

fn read_exact<F: SlotFile>(file: &F, at: u64, buf: &mut [u8]) -> IoResult<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = file.read(at + done as u64, &mut buf[done..])?;
        if n == 0 {
            return Err(IoFailure::new(IoKind::Other, format!("short read: {done} of {} bytes", buf.len())));
        }
        done += n;
    }
    Ok(())
}

fn write_exact<F: SlotFile>(file: &F, at: u64, data: &[u8]) -> IoResult<()> {
    let mut done = 0;
    while done < data.len() {
        let n = file.write(at + done as u64, &data[done..])?;
        if n == 0 {
            return Err(IoFailure::new(IoKind::Other, format!("short write: {done} of {} bytes", data.len())));
        }
        done += n;
    }
    Ok(())
}
