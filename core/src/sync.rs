//! Locks that work with and without `std`.
//!
//! With `std` these are std's parking locks (poisoning ignored: the engine
//! keeps its invariants with explicit read-only states, not poison flags).
//! Without `std` they are spin locks, which is right for the single-threaded
//! wasm targets `no_std` builds are for and still correct elsewhere.

#[cfg(feature = "std")]
mod imp {
    pub struct Mutex<T>(std::sync::Mutex<T>);
    pub type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub const fn new(value: T) -> Self {
            Mutex(std::sync::Mutex::new(value))
        }
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }

    pub struct RwLock<T>(std::sync::RwLock<T>);
    pub type ReadGuard<'a, T> = std::sync::RwLockReadGuard<'a, T>;
    pub type WriteGuard<'a, T> = std::sync::RwLockWriteGuard<'a, T>;

    impl<T> RwLock<T> {
        pub const fn new(value: T) -> Self {
            RwLock(std::sync::RwLock::new(value))
        }
        pub fn read(&self) -> ReadGuard<'_, T> {
            self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
        }
        pub fn write(&self) -> WriteGuard<'_, T> {
            self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use core::cell::UnsafeCell;
    use core::ops::{Deref, DerefMut};
    use core::sync::atomic::{AtomicBool, Ordering};

    /// A minimal spin lock.
    pub struct Mutex<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: access to `value` is serialised by `locked`.
    unsafe impl<T: Send> Send for Mutex<T> {}
    unsafe impl<T: Send> Sync for Mutex<T> {}

    pub struct MutexGuard<'a, T> {
        lock: &'a Mutex<T>,
    }

    impl<T> Mutex<T> {
        pub const fn new(value: T) -> Self {
            Mutex { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
        }
        pub fn lock(&self) -> MutexGuard<'_, T> {
            while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
                core::hint::spin_loop();
            }
            MutexGuard { lock: self }
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard proves we hold the lock.
            unsafe { &*self.lock.value.get() }
        }
    }
    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: the guard proves we hold the lock exclusively.
            unsafe { &mut *self.lock.value.get() }
        }
    }
    impl<T> Drop for MutexGuard<'_, T> {
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }

    /// Without threads worth optimising for, a read-write lock is a mutex.
    pub struct RwLock<T>(Mutex<T>);
    pub type ReadGuard<'a, T> = MutexGuard<'a, T>;
    pub type WriteGuard<'a, T> = MutexGuard<'a, T>;

    impl<T> RwLock<T> {
        pub const fn new(value: T) -> Self {
            RwLock(Mutex::new(value))
        }
        pub fn read(&self) -> ReadGuard<'_, T> {
            self.0.lock()
        }
        pub fn write(&self) -> WriteGuard<'_, T> {
            self.0.lock()
        }
    }
}

pub use imp::*;

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}
