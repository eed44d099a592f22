//! What lintel did, for `LINTEL_STATS=1` and the demo: threads created and futex calls.
//!
//! Counting costs a plain load and store of a per-thread word (the port's
//! [`locals`](lintel_kernel::Threads::locals), slots [`STATS`]): no shared cache line is touched
//! on the futex path. A thread adds its counts to the process totals once, when it exits
//! ([`flush`]); the totals are read at `exit_group`.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use lintel_kernel::Kernel;
use lintel_kernel::thread::slots::STATS;

/// A counted event.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Event {
    /// A futex call that may block (`WAIT`, `WAIT_BITSET`, `LOCK_PI`, ...).
    FutexWait = 0,
    /// A futex call that wakes (`WAKE`, `WAKE_BITSET`, `WAKE_OP`, `UNLOCK_PI`).
    FutexWake = 1,
    /// A futex requeue (`REQUEUE`, `CMP_REQUEUE`).
    FutexRequeue = 2,
    /// A thread created through lintel's clone.
    ThreadCreated = 3,
}

const EVENTS: usize = 4;
const _: () = assert!(STATS.start + EVENTS <= STATS.end);

/// Process totals of threads that have exited (and of `ThreadCreated`, counted directly).
static TOTALS: [AtomicU64; EVENTS] = [const { AtomicU64::new(0) }; EVENTS];

/// Whether the report is printed at `exit_group` (set by the front door from `LINTEL_STATS`).
pub static ENABLED: AtomicBool = AtomicBool::new(false);

/// Counts `e` for the calling thread.
#[inline]
pub fn count<K: Kernel>(kernel: &K, e: Event) {
    let w = &kernel.locals()[STATS.start + e as usize];
    // Only this thread writes its own words.
    w.store(w.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Counts `e` straight into the process totals (for rare events counted off the owning
/// thread).
pub fn count_global(e: Event) {
    TOTALS[e as usize].fetch_add(1, Ordering::Relaxed);
}

/// Adds the calling thread's counts to the totals and clears them (at thread exit).
pub fn flush<K: Kernel>(kernel: &K) {
    for (i, total) in TOTALS.iter().enumerate() {
        let w = &kernel.locals()[STATS.start + i];
        let n = w.swap(0, Ordering::Relaxed);
        if n != 0 {
            total.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

/// The totals so far: `[futex waits, futex wakes, futex requeues, threads created]`.
pub fn totals() -> [u64; EVENTS] {
    [0, 1, 2, 3].map(|i| TOTALS[i].load(Ordering::Relaxed))
}

/// A fixed buffer `fmt::Write` can fill (no allocation: this runs in a program's exit path).
struct Buf<'a> {
    bytes: &'a mut [u8],
    len: usize,
}

impl Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(core::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Formats the report into `out`; returns its length.
pub fn report(out: &mut [u8]) -> usize {
    let [waits, wakes, requeues, threads] = totals();
    let mut b = Buf { bytes: out, len: 0 };
    let _ = writeln!(
        b,
        "lintel: threads created {threads}, futex waits {waits}, wakes {wakes}, requeues {requeues}"
    );
    b.len
}
