//! The REST API's writes as data. In single mode a command runs against the
//! store at once; in cluster mode it is a Raft log entry that every node's
//! state machine applies in log order. Applying is deterministic: a command
//! reads only the store and the commands staged before it in the same group
//! (a range delete resolves its keys then, not when it was sent), never the
//! clock or the node.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use lsmkv::{Db, Options, RangeOptions, WriteBatch};
use serde::{Deserialize, Serialize};

/// Keys at and above this byte are the cluster's own metadata (the state
/// machine's applied log id and membership, `state_machine.rs`). REST keys
/// are UTF-8 text, which never holds the byte 0xFF, so no client key is
/// ever there; every cluster-mode read and range delete stops below it.
pub const METADATA_FIRST_BYTE: u8 = 0xFF;

/// One write of the REST API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Command {
    Put {
        key: String,
        /// The stored bytes (the value's type tag and payload, `value.rs`).
        #[serde(with = "base64_bytes")]
        value: Vec<u8>,
    },
    /// Deletes a key; the reply counts 1 if it held a value just before.
    Delete { key: String },
    /// Puts and deletes, applied atomically.
    Batch { ops: Vec<Op> },
    /// Deletes every key in the range as it stands when the command applies.
    DeleteRange { start: Bound<String>, end: Bound<String>, prefix: Option<String> },
    /// Several clients' commands in one log entry, applied in order in one
    /// atomic batch (cluster mode's group commit, `cluster/proposer.rs`).
    Many { commands: Vec<Command> },
}

/// One operation of a `Command::Batch`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Op {
    Put {
        key: String,
        #[serde(with = "base64_bytes")]
        value: Vec<u8>,
    },
    Delete {
        key: String,
    },
}

/// What applying a command did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Reply {
    /// `count`: 1 for a put; 1 or 0 for a delete (whether the key held a
    /// value); the operations of a batch; the keys a range delete removed.
    Applied { count: u64 },
    /// The command broke a limit of the store's options (a node's preset
    /// differs from the one that accepted it): nothing was written. `code`
    /// is the engine's error code (`INVALID_KEY`, ...).
    Rejected { code: String, message: String },
    /// The replies of a `Command::Many`, in its order.
    Many { replies: Vec<Reply> },
}

impl Command {
    /// A range delete over the parsed query's bounds.
    pub fn delete_range(options: &RangeOptions) -> Command {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let bound = |b: &Bound<Vec<u8>>| match b {
            Bound::Included(k) => Bound::Included(text(k)),
            Bound::Excluded(k) => Bound::Excluded(text(k)),
            Bound::Unbounded => Bound::Unbounded,
        };
        Command::DeleteRange {
            start: bound(&options.start),
            end: bound(&options.end),
            prefix: options.prefix.as_deref().map(text),
        }
    }

    /// Checks the command against `options`' key and value limits, with the
    /// engine's own errors (so a cluster answers as a single node would).
    pub fn validate(&self, options: &Options) -> lsmkv::Result<()> {
        match self {
            Command::Put { key, value } => check_op(options, key, Some(value)),
            Command::Delete { key } => check_op(options, key, None),
            Command::Batch { ops } => ops.iter().try_for_each(|op| match op {
                Op::Put { key, value } => check_op(options, key, Some(value)),
                Op::Delete { key } => check_op(options, key, None),
            }),
            Command::DeleteRange { .. } => Ok(()),
            Command::Many { commands } => commands.iter().try_for_each(|c| c.validate(options)),
        }
    }

    /// About the bytes of the command's log entry (values in base64 JSON).
    pub fn approx_bytes(&self) -> usize {
        const FRAMING: usize = 64;
        let op = |key: &str, value: &[u8]| FRAMING + key.len() + value.len().div_ceil(3) * 4;
        match self {
            Command::Put { key, value } => op(key, value),
            Command::Delete { key } => op(key, &[]),
            Command::Batch { ops } => ops
                .iter()
                .map(|o| match o {
                    Op::Put { key, value } => op(key, value),
                    Op::Delete { key } => op(key, &[]),
                })
                .sum(),
            Command::DeleteRange { start, end, prefix } => {
                let text = |b: &Bound<String>| match b {
                    Bound::Included(k) | Bound::Excluded(k) => k.len(),
                    Bound::Unbounded => 0,
                };
                FRAMING + text(start) + text(end) + prefix.as_ref().map_or(0, String::len)
            }
            Command::Many { commands } => commands.iter().map(Command::approx_bytes).sum(),
        }
    }
}

fn check_op(options: &Options, key: &str, value: Option<&[u8]>) -> lsmkv::Result<()> {
    options.check_entry(key.as_bytes(), value)
}

/// Narrows a range so that it ends below the metadata keys.
pub fn hide_metadata(options: &mut RangeOptions) {
    let limit = [METADATA_FIRST_BYTE];
    let beyond = match &options.end {
        Bound::Unbounded => true,
        Bound::Included(k) => k.as_slice() >= limit.as_slice(),
        Bound::Excluded(k) => k.as_slice() > limit.as_slice(),
    };
    if beyond {
        options.end = Bound::Excluded(limit.to_vec());
    }
}

/// Whether `key` is in the range `options` describes (bounds and prefix).
fn in_range(options: &RangeOptions, key: &[u8]) -> bool {
    let above_start = match &options.start {
        Bound::Unbounded => true,
        Bound::Included(s) => key >= s.as_slice(),
        Bound::Excluded(s) => key > s.as_slice(),
    };
    let below_end = match &options.end {
        Bound::Unbounded => true,
        Bound::Included(e) => key <= e.as_slice(),
        Bound::Excluded(e) => key < e.as_slice(),
    };
    let prefixed = options.prefix.as_ref().is_none_or(|p| key.starts_with(p));
    above_start && below_end && prefixed
}

/// Commands staged into one `WriteBatch`: each sees the effects of those
/// staged before it (`overlay`), and `commit` writes them all atomically.
pub struct Group<'a> {
    db: &'a Db,
    batch: WriteBatch,
    /// The keys written so far: true for a put, false for a delete.
    overlay: BTreeMap<Vec<u8>, bool>,
    /// Bytes of keys and values staged.
    bytes: u64,
    /// Cluster mode: validate each command, and keep range deletes below
    /// the metadata. Single mode leaves both to the engine as before.
    cluster: bool,
}

impl<'a> Group<'a> {
    pub fn new(db: &'a Db, cluster: bool) -> Self {
        Group { db, batch: WriteBatch::new(), overlay: BTreeMap::new(), bytes: 0, cluster }
    }

    /// Stages `command`; an `Err` is a failure to read the store.
    pub fn stage(&mut self, command: &Command) -> lsmkv::Result<Reply> {
        if self.cluster && !matches!(command, Command::Many { .. }) {
            if let Err(e) = command.validate(self.db.options()) {
                return Ok(Reply::Rejected { code: e.code().to_owned(), message: e.to_string() });
            }
        }
        let count = match command {
            Command::Put { key, value } => {
                self.put(key.as_bytes(), value);
                1
            }
            Command::Delete { key } => {
                let existed = self.exists(key.as_bytes())?;
                self.delete(key.as_bytes());
                u64::from(existed)
            }
            Command::Batch { ops } => {
                for op in ops {
                    match op {
                        Op::Put { key, value } => self.put(key.as_bytes(), value),
                        Op::Delete { key } => self.delete(key.as_bytes()),
                    }
                }
                ops.len() as u64
            }
            Command::DeleteRange { start, end, prefix } => {
                let bytes = |b: &Bound<String>| b.as_ref().map(|k| k.as_bytes().to_vec());
                let mut range = RangeOptions {
                    start: bytes(start),
                    end: bytes(end),
                    prefix: prefix.as_ref().map(|p| p.as_bytes().to_vec()),
                    ..RangeOptions::default()
                };
                if self.cluster {
                    hide_metadata(&mut range);
                }
                let keys = self.keys_in(&range)?;
                for key in &keys {
                    self.delete(key);
                }
                keys.len() as u64
            }
            // Each command on its own: one rejected leaves the others be.
            Command::Many { commands } => {
                let replies = commands.iter().map(|c| self.stage(c)).collect::<lsmkv::Result<_>>()?;
                return Ok(Reply::Many { replies });
            }
        };
        Ok(Reply::Applied { count })
    }

    /// A write of the group's own (the state machine's metadata).
    pub fn put_raw(&mut self, key: &[u8], value: &[u8]) {
        self.put(key, value);
    }

    /// Bytes of keys and values staged so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Writes everything staged as one atomic batch.
    pub fn commit(self) -> lsmkv::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.db.write(&self.batch)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) {
        self.batch.put(key, value);
        self.bytes += (key.len() + value.len()) as u64;
        self.overlay.insert(key.to_vec(), true);
    }

    fn delete(&mut self, key: &[u8]) {
        self.batch.delete(key);
        self.bytes += key.len() as u64;
        self.overlay.insert(key.to_vec(), false);
    }

    fn exists(&self, key: &[u8]) -> lsmkv::Result<bool> {
        match self.overlay.get(key) {
            Some(&present) => Ok(present),
            None => Ok(self.db.get(key)?.is_some()),
        }
    }

    /// The keys in `range` with the staged writes taken into account.
    fn keys_in(&self, range: &RangeOptions) -> lsmkv::Result<Vec<Vec<u8>>> {
        let mut keys: BTreeSet<Vec<u8>> = self.db.keys(range)?.into_iter().collect();
        for (key, &present) in &self.overlay {
            if in_range(range, key) {
                if present {
                    keys.insert(key.clone());
                } else {
                    keys.remove(key);
                }
            }
        }
        Ok(keys.into_iter().collect())
    }
}

/// Bytes as a standard base64 string in the log's JSON (a JSON array of
/// numbers would take three to four times the room).
mod base64_bytes {
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        BASE64.decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsmkv::MemStorage;

    fn db() -> Db {
        Db::open(MemStorage::new(), Options::teaching()).unwrap()
    }

    /// A group's later commands see its earlier ones: a delete after a put
    /// of the same key in one group reports that the key existed, and a
    /// range delete counts keys staged but not yet written.
    #[test]
    fn staged_commands_see_each_other() {
        let db = db();
        db.put(b"a1", b"x").unwrap();
        let mut group = Group::new(&db, true);
        let put = |k: &str| Command::Put { key: k.into(), value: b"\x01v".to_vec() };
        assert_eq!(group.stage(&put("a2")).unwrap(), Reply::Applied { count: 1 });
        assert_eq!(group.stage(&Command::Delete { key: "a3".into() }).unwrap(), Reply::Applied { count: 0 });
        assert_eq!(group.stage(&Command::Delete { key: "a2".into() }).unwrap(), Reply::Applied { count: 1 });
        assert_eq!(group.stage(&put("a4")).unwrap(), Reply::Applied { count: 1 });
        let range = Command::DeleteRange { start: Bound::Unbounded, end: Bound::Unbounded, prefix: Some("a".into()) };
        assert_eq!(group.stage(&range).unwrap(), Reply::Applied { count: 2 }, "a1 (stored) and a4 (staged)");
        group.put_raw(&[0xFF, 0xFF, b'm'], b"meta");
        group.commit().unwrap();
        assert_eq!(db.keys(&RangeOptions::default()).unwrap(), vec![vec![0xFF, 0xFF, b'm']]);
    }

    /// A range delete in cluster mode never reaches the metadata keys, and a
    /// command over the options' limits is rejected without writing.
    #[test]
    fn range_deletes_stop_below_metadata_and_limits_reject() {
        let db = db();
        db.put(&[0xFF, 0xFF, b'm'], b"meta").unwrap();
        db.put(b"k", b"v").unwrap();
        let mut group = Group::new(&db, true);
        let all = Command::DeleteRange { start: Bound::Included("a".into()), end: Bound::Unbounded, prefix: None };
        assert_eq!(group.stage(&all).unwrap(), Reply::Applied { count: 1 });
        let long = Command::Put { key: "k".repeat(2000), value: vec![1] };
        assert!(matches!(group.stage(&long).unwrap(), Reply::Rejected { code, .. } if code == "INVALID_KEY"));
        group.commit().unwrap();
        assert_eq!(db.keys(&RangeOptions::default()).unwrap(), vec![vec![0xFF, 0xFF, b'm']]);
    }

    /// A `Many` (several clients' writes in one log entry) applies its
    /// commands in order, each seeing those before it; one rejected command
    /// leaves the others applied.
    #[test]
    fn many_applies_each_command_in_order_and_rejects_alone() {
        let db = db();
        let mut group = Group::new(&db, true);
        let many = Command::Many {
            commands: vec![
                Command::Put { key: "a".into(), value: b"1".to_vec() },
                Command::Put { key: "k".repeat(2000), value: b"1".to_vec() },
                Command::Delete { key: "a".into() },
                Command::Put { key: "b".into(), value: b"2".to_vec() },
            ],
        };
        let Reply::Many { replies } = group.stage(&many).unwrap() else { panic!("a Many's reply") };
        assert_eq!(replies[0], Reply::Applied { count: 1 });
        assert!(matches!(&replies[1], Reply::Rejected { code, .. } if code == "INVALID_KEY"));
        assert_eq!(replies[2], Reply::Applied { count: 1 }, "the delete sees the put before it");
        assert_eq!(replies[3], Reply::Applied { count: 1 });
        group.commit().unwrap();
        assert_eq!(db.keys(&RangeOptions::default()).unwrap(), vec![b"b".to_vec()]);
    }

    #[test]
    fn commands_round_trip_through_json_with_base64_values() {
        let command = Command::Batch {
            ops: vec![Op::Put { key: "k".into(), value: vec![0, 1, 255] }, Op::Delete { key: "d".into() }],
        };
        let text = serde_json::to_string(&command).unwrap();
        assert!(text.contains("\"AAH/\""), "{text}");
        assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), command);
    }
}
