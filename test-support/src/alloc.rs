//! A global allocator that counts, for the tests that prove a path allocates nothing (or
//! nothing large): install it with `#[global_allocator]` in the test, then
//! [`watch_allocations`] a closure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting the allocations of the thread that watches (see
/// [`watch_allocations`]); other threads pass through uncounted.
pub struct CountingAllocator;

/// What a watched closure allocated on its thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocations {
    /// Allocations and reallocations.
    pub count: usize,
    /// The largest size asked for, in bytes.
    pub largest: usize,
}

thread_local! {
    /// What this thread allocated while watching, or `None` when not watching.
    static WATCHED: Cell<Option<Allocations>> = const { Cell::new(None) };
}

/// Runs `f` and returns what it returned and what it allocated on the calling thread, as
/// counted by [`CountingAllocator`] (all zero if the test did not install it).
pub fn watch_allocations<T>(f: impl FnOnce() -> T) -> (T, Allocations) {
    WATCHED.with(|watched| watched.set(Some(Allocations::default())));
    let out = f();
    let allocations = WATCHED.with(|watched| watched.replace(None));
    (out, allocations.unwrap_or_default())
}

/// Counts one allocation of `size` bytes, if this thread watches.
fn note(size: usize) {
    let _ = WATCHED.try_with(|watched| {
        if let Some(seen) = watched.get() {
            watched.set(Some(Allocations {
                count: seen.count + 1,
                largest: seen.largest.max(size),
            }));
        }
    });
}

// SAFETY: every call is passed on to `System` unchanged; the record is a const-initialised
// thread-local `Cell`, which neither allocates nor panics (`try_with` during teardown).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's guarantees for `alloc` hold for `System.alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's guarantees for `alloc_zeroed` hold for `System.alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` came from `System` with this layout; the caller checked `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
