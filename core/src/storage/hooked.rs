//! `Hooked`: a storage with a hook around every call that changes it, so
//! code that watches or steers storage (counting the bytes the engine
//! writes, measuring a call's footprint, holding a call at a gate in a test)
//! is the hook alone, not another copy of the whole trait's forwarding.

use alloc::string::String;
use alloc::vec::Vec;

use super::Storage;
use crate::error::Result;

/// A call that changes storage, as a hook sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Create(&'a str),
    CreateLog(&'a str),
    Append(&'a str, &'a [u8]),
    Sync(&'a str),
    Truncate(&'a str, u64),
    Rename(&'a str, &'a str),
    Remove(&'a str),
}

/// What runs around each changing call of a `Hooked` storage. Reads pass
/// straight through.
pub trait Hook: Send + Sync {
    /// Before the call; an error is returned instead of making the call.
    fn before(&self, _change: &Change<'_>) -> Result<()> {
        Ok(())
    }

    /// After the call returned Ok.
    fn after(&self, _change: &Change<'_>) {}
}

/// `inner` with `hook` around every call that changes it.
pub struct Hooked<S, H> {
    pub inner: S,
    pub hook: H,
}

impl<S: Storage, H: Hook> Hooked<S, H> {
    pub fn new(inner: S, hook: H) -> Self {
        Hooked { inner, hook }
    }

    fn change(&self, change: Change<'_>, call: impl FnOnce(&S) -> Result<()>) -> Result<()> {
        self.hook.before(&change)?;
        call(&self.inner)?;
        self.hook.after(&change);
        Ok(())
    }
}

impl<S: Storage, H: Hook> Storage for Hooked<S, H> {
    fn create(&self, name: &str) -> Result<()> {
        self.change(Change::Create(name), |s| s.create(name))
    }
    fn create_log(&self, name: &str) -> Result<()> {
        self.change(Change::CreateLog(name), |s| s.create_log(name))
    }
    fn append(&self, name: &str, data: &[u8]) -> Result<()> {
        self.change(Change::Append(name, data), |s| s.append(name, data))
    }
    fn sync(&self, name: &str) -> Result<()> {
        self.change(Change::Sync(name), |s| s.sync(name))
    }
    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        self.change(Change::Truncate(name, len), |s| s.truncate(name, len))
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.change(Change::Rename(from, to), |s| s.rename(from, to))
    }
    fn remove(&self, name: &str) -> Result<()> {
        self.change(Change::Remove(name), |s| s.remove(name))
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.inner.read_at(name, offset, buf)
    }
    fn len(&self, name: &str) -> Result<u64> {
        self.inner.len(name)
    }
    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }
    fn read_vec(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        self.inner.read_vec(name, offset, len)
    }
    fn read_with(&self, name: &str, offset: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> Result<()> {
        self.inner.read_with(name, offset, len, f)
    }
    fn read_all(&self, name: &str) -> Result<Vec<u8>> {
        self.inner.read_all(name)
    }
    fn exists(&self, name: &str) -> Result<bool> {
        self.inner.exists(name)
    }
}
