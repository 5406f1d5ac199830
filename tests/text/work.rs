//! Work counted instead of timed. "Linear in the input" used to be checked with a stopwatch
//! (twice the input in under 3.5× the time), which failed on a busy machine: wall time on a
//! shared machine measures the neighbours. This binary's allocator counts the bytes each
//! thread asks for, which no neighbour changes: the same input allocates the same bytes on
//! any machine under any load. String code that goes quadratic usually does it by copying
//! (re-slicing into new strings, rebuilding a buffer per token), and copying allocates.
//! Wall-time figures for the same inputs are in `make bench` (examples/text_bench.rs).
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting per thread (tests run on parallel threads).
pub struct CountingAllocator;

thread_local! {
    /// Const-initialised and without a destructor, so the allocator may touch it at any time.
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // `try_with`: a thread being torn down has no counter left, and nobody reads it anyway.
    let _ = ALLOCATED.try_with(|c| c.set(c.get().wrapping_add(bytes as u64)));
}

// SAFETY: every call goes straight to `System` with the caller's arguments; counting
// touches only a thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    /// Growth counts the new size: a buffer doubling its way up to n bytes counts about
    /// 2n in total (linear), one rebuilt per step counts quadratically.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Run `f` and return its result with the bytes this thread allocated meanwhile.
pub fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATED.with(Cell::get);
    let out = f();
    (out, ALLOCATED.with(Cell::get) - before)
}

/// Assert that `f` on `big` (about twice `small`) allocates under 3× what it does on
/// `small`: linear work gives about 2×, quadratic about 4×. Returns both results.
pub fn assert_linear<I: ?Sized, T>(what: &str, small: &I, big: &I, f: impl Fn(&I) -> T) -> (T, T) {
    let (a, small_bytes) = allocated_by(|| f(small));
    let (b, big_bytes) = allocated_by(|| f(big));
    eprintln!("{what}: {small_bytes} B allocated, then {big_bytes} B for twice the input");
    assert!(small_bytes > 0, "{what}: nothing counted");
    assert!(
        big_bytes < small_bytes * 3,
        "{what}: twice the input allocated {big_bytes} B vs {small_bytes} B: not linear"
    );
    (a, b)
}

/// The yardstick can fail: a pass that rebuilds its output for every word (quadratic
/// copying) allocates about 4× for twice the input, and linear building about 2×.
#[test]
fn counting_tells_quadratic_copying_from_linear() {
    let quadratic = |s: &str| {
        let mut out = String::new();
        for w in s.split(' ') {
            out = format!("{out}{w} ");
        }
        out
    };
    let linear = |s: &str| s.split(' ').map(|w| format!("{w} ")).collect::<String>();
    let small = "word ".repeat(2_000);
    let big = small.repeat(2);
    let ratio = |f: &dyn Fn(&str) -> String| {
        let (_, a) = allocated_by(|| f(&small));
        let (_, b) = allocated_by(|| f(&big));
        b as f64 / a as f64
    };
    assert!(ratio(&quadratic) > 3.5, "{}", ratio(&quadratic));
    assert!(ratio(&linear) < 2.5, "{}", ratio(&linear));
    assert_linear("linear building", small.as_str(), big.as_str(), linear);
}
