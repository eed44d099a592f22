//! Fault-tolerant access to user memory.
//!
//! lintel reads futex words, timespecs and (later) robust lists and signal frames that a program
//! handed it. A bad pointer must give `EFAULT`, as it does on Linux, never a crash inside lintel.

use crate::Errno;

/// User memory.
///
/// # Safety
/// Implementors guarantee that every method either performs the access or returns
/// `Err(EFAULT)`, never faults the calling thread, and that:
/// - `load_u32` is an atomic 32-bit load with at least `Acquire` ordering;
/// - `cmpxchg_u32` is an atomic compare-and-exchange with `SeqCst` ordering on success and
///   failure, as Linux's `futex_atomic_cmpxchg_inatomic`;
/// - an access that does not lie wholly below [`user_end`](UserMemory::user_end) is rejected
///   without touching memory.
pub unsafe trait UserMemory {
    /// The end of user space: Linux's `TASK_SIZE_MAX` (`0x7fff_ffff_f000` on x86_64 with
    /// 4-level paging). The page at it is never mapped.
    fn user_end(&self) -> usize;

    /// Atomically loads the aligned `u32` at `addr`.
    fn load_u32(&self, addr: usize) -> Result<u32, Errno>;

    /// Atomically replaces the aligned `u32` at `addr` with `new` if it equals `expected`;
    /// returns the value found (equal to `expected` on success). `EFAULT` if the word is not
    /// mapped writable.
    ///
    /// # Safety
    /// The program must have handed `addr` to lintel as a word to modify (as `FUTEX_WAKE_OP`'s
    /// `uaddr2`): writing it must not break any invariant of memory the caller does not own.
    unsafe fn cmpxchg_u32(&self, addr: usize, expected: u32, new: u32) -> Result<u32, Errno>;

    /// Copies `buf.len()` bytes from user address `addr`.
    fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), Errno>;

    /// Copies `buf` to user address `addr`.
    ///
    /// # Safety
    /// As [`cmpxchg_u32`](UserMemory::cmpxchg_u32): the program handed lintel this range to
    /// write (a syscall's output buffer, as Linux's ABI defines).
    unsafe fn write(&self, addr: usize, buf: &[u8]) -> Result<(), Errno>;

    /// Whether `[addr, addr + len)` lies below [`user_end`](UserMemory::user_end), as Linux's
    /// `access_ok`.
    fn access_ok(&self, addr: usize, len: usize) -> bool {
        addr.checked_add(len)
            .is_some_and(|end| end <= self.user_end())
    }
}
