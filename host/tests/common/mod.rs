//! Helpers shared by the integration tests. Everything a raw thread may call here uses raw
//! syscalls and atomics only (no std).
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lintel_host::{HOST, raw_syscall6};
use lintel_kernel::{Clock, ClockId, Deadline};
use linux_raw_sys::general as g;

/// Raw syscall shorthand.
pub fn sys(nr: u32, a: &[usize]) -> isize {
    let mut args = [0usize; 6];
    args[..a.len()].copy_from_slice(a);
    // SAFETY: the tests only issue calls with valid arguments.
    unsafe { raw_syscall6(nr as usize, args) }
}

/// A deadline `ms` milliseconds from now on `clock`.
pub fn deadline_in(clock: ClockId, ms: u64) -> Deadline {
    Deadline::after(clock, HOST.now(clock), ms * 1_000_000)
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    cond()
}

/// Spins (no std) until `word` equals `v` or ~`ms` milliseconds pass; usable on raw threads.
pub fn raw_wait_eq(word: &AtomicU32, v: u32, ms: u64) -> bool {
    let end = HOST.now(ClockId::Monotonic) + ms * 1_000_000;
    while word.load(Ordering::Acquire) != v {
        if HOST.now(ClockId::Monotonic) > end {
            return false;
        }
        sys(g::__NR_sched_yield, &[]);
    }
    true
}

/// `pipe2(O_CLOEXEC)`: (read end, write end).
pub fn pipe() -> (i32, i32) {
    let mut fds = [0i32; 2];
    let r = sys(
        g::__NR_pipe2,
        &[fds.as_mut_ptr() as usize, g::O_CLOEXEC as usize],
    );
    assert_eq!(r, 0);
    (fds[0], fds[1])
}

/// `close(fd)`.
pub fn close(fd: i32) {
    sys(g::__NR_close, &[fd as usize]);
}

/// The calling thread's host tid.
pub fn gettid() -> i32 {
    sys(g::__NR_gettid, &[]) as i32
}

/// Anonymous mapping.
pub fn mmap(len: usize, prot: u32) -> usize {
    let r = sys(
        g::__NR_mmap,
        &[
            0,
            len,
            prot as usize,
            (g::MAP_PRIVATE | g::MAP_ANONYMOUS) as usize,
            usize::MAX,
            0,
        ],
    );
    assert!(r > 0, "mmap: {r}");
    r as usize
}

/// `munmap`.
pub fn munmap(addr: usize, len: usize) {
    assert_eq!(sys(g::__NR_munmap, &[addr, len]), 0);
}

/// Leaks a value to get a `'static` reference a raw thread can use through its `usize` arg.
pub fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// The `usize` argument for a raw thread pointing at `v`.
pub fn arg<T>(v: &'static T) -> usize {
    v as *const T as usize
}

/// Recovers the reference from a raw thread's argument.
///
/// # Safety
/// `a` must come from [`arg`] with the same `T`.
pub unsafe fn from_arg<T>(a: usize) -> &'static T {
    // SAFETY: the caller guarantees `a` is a leaked `&'static T`.
    unsafe { &*(a as *const T) }
}

/// Five seconds in nanoseconds: the bound for joins in tests.
pub const JOIN_NS: u64 = 5_000_000_000;
