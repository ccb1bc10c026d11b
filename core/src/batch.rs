//! `WriteBatch`: puts and deletes applied atomically — all or nothing, also
//! across a crash (a batch is one WAL record).

use alloc::vec::Vec;

use crate::key::ValueKind;

/// One operation of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOp {
    pub kind: ValueKind,
    pub key: Vec<u8>,
    /// Empty for a delete.
    pub value: Vec<u8>,
}

/// One operation borrowed from the caller: the write path logs and inserts
/// these, so a single put or delete never copies into a `WriteBatch` first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op<'a> {
    pub kind: ValueKind,
    pub key: &'a [u8],
    /// Empty for a delete.
    pub value: &'a [u8],
}

impl<'a> Op<'a> {
    pub fn put(key: &'a [u8], value: &'a [u8]) -> Self {
        Op { kind: ValueKind::Put, key, value }
    }

    pub fn delete(key: &'a [u8]) -> Self {
        Op { kind: ValueKind::Delete, key, value: &[] }
    }
}

impl BatchOp {
    pub fn as_op(&self) -> Op<'_> {
        Op { kind: self.kind, key: &self.key, value: &self.value }
    }
}

/// An ordered list of puts and deletes. Later operations on the same key win.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(BatchOp { kind: ValueKind::Put, key: key.into(), value: value.into() });
        self
    }

    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(BatchOp { kind: ValueKind::Delete, key: key.into(), value: Vec::new() });
        self
    }

    pub fn push(&mut self, op: BatchOp) -> &mut Self {
        self.ops.push(op);
        self
    }

    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn clear(&mut self) {
        self.ops.clear();
    }

    /// The operations, borrowed.
    pub fn as_ops(&self) -> Vec<Op<'_>> {
        self.ops.iter().map(BatchOp::as_op).collect()
    }

    /// Sum of key and value lengths: the user bytes this batch writes.
    pub fn user_bytes(&self) -> u64 {
        self.ops.iter().map(|op| (op.key.len() + op.value.len()) as u64).sum()
    }
}

impl From<Vec<BatchOp>> for WriteBatch {
    fn from(ops: Vec<BatchOp>) -> Self {
        WriteBatch { ops }
    }
}
