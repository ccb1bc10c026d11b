//! A counting allocator for the unit tests: what the current thread holds
//! on the heap, so a test can compare what a structure charges itself with
//! what it really allocated (other test threads do not disturb the count).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

std::thread_local! {
    static HELD: Cell<i64> = const { Cell::new(0) };
}

/// Bytes a request costs the system allocator, roughly as glibc's malloc
/// does it: an 8-byte header, rounded up to 16, at least 32.
fn cost(layout: Layout) -> i64 {
    let size = (layout.size() + 8).div_ceil(16) * 16;
    size.max(32) as i64
}

fn add(delta: i64) {
    // `try_with`: the thread-local may be gone while a thread exits.
    let _ = HELD.try_with(|held| held.set(held.get() + delta));
}

// SAFETY: every call is forwarded to `System` unchanged; the counting on
// the side allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(cost(layout));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-cost(layout));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(cost(layout));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `new_size` and `layout.align()` come from the caller, who
        // guarantees they form a valid layout.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        add(cost(new) - cost(layout));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes the current thread holds on the heap now (allocated minus freed
/// by this thread).
pub fn held() -> i64 {
    HELD.with(Cell::get)
}
