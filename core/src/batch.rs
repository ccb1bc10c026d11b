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
