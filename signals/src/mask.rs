//! Per-thread signal state: the blocked mask (`rt_sigprocmask`) and the words it lives in.
//!
//! Each thread's signal state is kept in the port's per-thread words
//! ([`Threads::locals`](lintel_kernel::Threads::locals)), in the range
//! [`slots::SIGNALS`] reserved for this layer:
//!
//! | word | content | written by | read by |
//! | --- | --- | --- | --- |
//! | 12 | blocked mask | the thread itself, under the process signal lock or lock-free by the fast path ([MASK] below) (its creator, before it runs) | anyone |
//! | 13 | thread-directed pending set | any thread, under the lock | anyone (the owner lock-free, as its "anything to deliver?" check) |
//! | 14 | saved mask (`sigsuspend`, and `ppoll`/`pselect6`/`epoll_pwait` with a mask: restored at delivery) | the thread | the thread |
//! | 15 | state bits: [`LIVE`] (the thread takes part in signal delivery), [`RESTORE_SAVED`] (a frame must restore word 14, not word 12), [`SIGPENDING`] (Linux's `TIF_SIGPENDING` for the shared set), [`EXITED`] (left delivery for good) | the thread (its creator, before it runs), and senders setting [`SIGPENDING`], under the lock | anyone |
//! | 16, 17, 18 | the alternate signal stack: `ss_sp`, `ss_size`, `ss_flags` as last given (a new thread's flags word: `SS_DISABLE`, stored by its creator) | the thread | the thread |
//! | 19 | the entry mark: the stack pointer of the call signals were last delivered *before*, with in its 3 low bits how many times (so that call, re-entered, is made, and a flood delays it only so often) | the thread | the thread |
//!
//! [`ThreadSignals`] is a view of one thread's words plus its tid. For the calling thread it
//! comes from the port's `locals()`; for another thread (a sender's target, a walk over the
//! process's threads) from `Threads::locals_of(thread)`, which the dispatcher visits through
//! `Threads::for_each_thread`, keeping only threads marked [`LIVE`].
//!
//! ## [MASK]: the blocked mask changed without the lock
//!
//! `rt_sigprocmask` on the calling thread ([`Signals::sigprocmask_fast`]) changes word 12
//! without the process signal lock; senders still decide under the lock whether the target
//! blocks what they queue ([`Signals::send`]), and for a process-directed signal mark and
//! notify the first thread that does not. Only the owner writes word 12 (its creator before it
//! runs), so there is no lost update between writers; the race is between the owner and a
//! sender, the store-buffering shape:
//!
//! ```text
//!   owner, changing its mask                 sender of S (to the owner, or to the process)
//!   word 12 = new                    [M1]    word 13 or the shared copy gets S      [S1]
//!   fence(SeqCst)                    [M2]    fence(SeqCst)                          [S2]
//!   r1 = word 13 | shared copy       [M3]    r2 = word 12: does the owner block S?  [S3]
//! ```
//!
//! The two fences are ordered one before the other; the thread whose fence comes second sees
//! the other's store, so they never both miss:
//! - *unblocking* S: either `r1` has S (the owner puts its old mask back and takes the locked
//!   path, which unblocks S again and delivers it at the call's exit, as Linux's
//!   `recalc_sigpending` makes `sigprocmask` do) or `r2` does not block S (the sender marks the
//!   owner for a shared S and notifies it: it delivers S at its next delivery point);
//! - *blocking* a process-directed S: either `r2` blocks S (the sender passes over the owner)
//!   or `r1` has S (the owner puts its old mask back and takes the locked path, which blocks S
//!   and passes it on to a thread that does not block it: Linux's `retarget_shared_pending`).
//!   Without the barrier a sender could pick the owner just as it blocks S, and a later locked
//!   step of the owner would drop the mark with no one told (loom `mask_fast`
//!   `fast_block_vs_kill` finds it). A thread-directed S needs nothing: it stays pending and
//!   blocked, as if it had come after the block.
//!
//! loom checks the shape and the real code (`loom-tests/tests/mask_fast.rs`).
//!
//! A signal delivered on the owner while it runs the fast path (the port's interrupt hook
//! treats it as user code) changes word 12 only for the handler, and `rt_sigreturn` puts back
//! what it found, so the fast path's read-compute-store still sees its own value.

use crate::sigset::SigSet;
use crate::sync::fence;
use core::sync::atomic::{AtomicUsize, Ordering};
use lintel_kernel::thread::slots;
use lintel_kernel::{Errno, LOCAL_WORDS};
use linux_raw_sys::general as g;

const BLOCKED: usize = slots::SIGNALS.start;
const PENDING: usize = slots::SIGNALS.start + 1;
const SAVED: usize = slots::SIGNALS.start + 2;
const STATE: usize = slots::SIGNALS.start + 3;
const ALT_SP: usize = slots::SIGNALS.start + 4;
const ALT_SIZE: usize = slots::SIGNALS.start + 5;
const ALT_FLAGS: usize = slots::SIGNALS.start + 6;
const ENTRY_MARK: usize = slots::SIGNALS.start + 7;
static_assertions::const_assert!(ENTRY_MARK < slots::SIGNALS.end);

/// Word 15 bit: the thread has registered with the signal layer and not exited; senders and
/// thread walks ignore threads without it (a record being recycled, a thread that never ran
/// lintel code).
pub const LIVE: usize = 1;
/// Word 15 bit: the next frame's `uc_sigmask` is the saved mask (word 14), after `sigsuspend`.
pub const RESTORE_SAVED: usize = 2;
/// Word 15 bit: Linux's `TIF_SIGPENDING` as far as the process-wide set goes: a
/// process-directed signal was aimed at this thread (or its mask changed while one was
/// pending), so it looks at the shared set. A thread never takes a shared signal on its own
/// initiative at a plain syscall exit: the sender chose another thread.
pub const SIGPENDING: usize = 4;
/// Word 15 value: the thread has left delivery for good (it is exiting); it is never
/// registered again (a record's words are zeroed when a new thread claims it).
pub const EXITED: usize = 8;
/// Word 15 bit: the thread waits in `sigtimedwait`; word 14 holds the mask from before the
/// wait, which still counts as blocked for the ignore rule (Linux's `real_blocked`).
pub const REAL_BLOCKED: usize = 16;
// A `SigSet` must fit one word.
static_assertions::const_assert!(core::mem::size_of::<usize>() >= 8);

/// One thread's signal words and its Linux tid.
#[derive(Copy, Clone)]
pub struct ThreadSignals<'a> {
    words: &'a [AtomicUsize; LOCAL_WORDS],
    tid: i32,
}

impl core::fmt::Debug for ThreadSignals<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ThreadSignals")
            .field("tid", &self.tid)
            .field("blocked", &self.blocked())
            .field("pending", &self.pending())
            .finish()
    }
}

impl<'a> ThreadSignals<'a> {
    /// The view of a thread whose port words are `words` and whose Linux tid is `tid` (> 0).
    #[inline]
    pub fn new(words: &'a [AtomicUsize; LOCAL_WORDS], tid: i32) -> Self {
        ThreadSignals { words, tid }
    }

    /// The thread's Linux tid.
    #[inline]
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// The blocked mask.
    #[inline]
    pub fn blocked(&self) -> SigSet {
        SigSet::from_bits(self.words[BLOCKED].load(Ordering::Acquire) as u64)
    }

    /// The thread-directed pending set (bits only; the siginfo queue is process-wide).
    #[inline]
    pub fn pending(&self) -> SigSet {
        SigSet::from_bits(self.words[PENDING].load(Ordering::Acquire) as u64)
    }

    /// The saved mask (`sigsuspend`, `ppoll`, …: restored after delivery).
    pub fn saved_mask(&self) -> SigSet {
        SigSet::from_bits(self.words[SAVED].load(Ordering::Relaxed) as u64)
    }

    /// Stores the blocked mask. Call with the process signal lock held; KILL and STOP are
    /// removed (Linux's `__set_current_blocked`).
    pub(crate) fn store_blocked(&self, set: SigSet) {
        let set = set.minus(SigSet::UNBLOCKABLE);
        self.words[BLOCKED].store(set.bits() as usize, Ordering::Release);
    }

    /// The owner's lock-free store of its old mask back, when the fast path declines ([MASK]).
    #[inline]
    pub(crate) fn store_blocked_owner(&self, set: SigSet) {
        let set = set.minus(SigSet::UNBLOCKABLE);
        self.words[BLOCKED].store(set.bits() as usize, Ordering::Release);
    }

    /// The owner's lock-free mask change, [MASK] M1 and M2: the new mask, then a full barrier
    /// (one locked instruction on x86) before the caller reads the pending sets (M3).
    #[inline]
    pub(crate) fn store_blocked_fenced(&self, set: SigSet) {
        let set = set.minus(SigSet::UNBLOCKABLE);
        self.words[BLOCKED].store(set.bits() as usize, Ordering::Relaxed); // [MASK] M1
        fence(Ordering::SeqCst); // [MASK] M2
    }

    /// Stores the thread-directed pending set. Call with the process signal lock held.
    pub(crate) fn store_pending(&self, set: SigSet) {
        self.words[PENDING].store(set.bits() as usize, Ordering::Release);
    }

    /// Stores the saved mask.
    pub fn set_saved_mask(&self, set: SigSet) {
        self.words[SAVED].store(set.bits() as usize, Ordering::Relaxed);
    }

    /// The state word ([`LIVE`], [`RESTORE_SAVED`]).
    #[inline]
    pub fn state(&self) -> usize {
        self.words[STATE].load(Ordering::Acquire)
    }

    /// Whether the thread is registered ([`LIVE`]).
    pub fn is_live(&self) -> bool {
        self.state() & LIVE != 0
    }

    /// Sets the state word (under the process signal lock, or on a thread no one can see yet).
    pub fn store_state(&self, state: usize) {
        self.words[STATE].store(state, Ordering::Release);
    }

    /// The alternate signal stack (`sigaltstack`): `(ss_sp, ss_size, ss_flags)` with the flags
    /// as the thread last gave them (Linux's `sas_ss_flags`); all zero for the first thread, as
    /// on Linux (a size of 0 reads back as `SS_DISABLE`).
    pub fn altstack(&self) -> (usize, usize, i32) {
        (
            self.words[ALT_SP].load(Ordering::Relaxed),
            self.words[ALT_SIZE].load(Ordering::Relaxed),
            self.words[ALT_FLAGS].load(Ordering::Relaxed) as i32,
        )
    }

    /// Sets the alternate signal stack (the owner only).
    pub fn set_altstack(&self, sp: usize, size: usize, flags: i32) {
        self.words[ALT_SP].store(sp, Ordering::Relaxed);
        self.words[ALT_SIZE].store(size, Ordering::Relaxed);
        self.words[ALT_FLAGS].store(flags as u32 as usize, Ordering::Relaxed);
    }

    /// The stack pointer of the call whose start was last a delivery point (0: none).
    pub fn entry_mark(&self) -> usize {
        self.words[ENTRY_MARK].load(Ordering::Relaxed)
    }

    /// Sets [`entry_mark`](Self::entry_mark) (the owner only).
    pub fn set_entry_mark(&self, sp: usize) {
        self.words[ENTRY_MARK].store(sp, Ordering::Relaxed);
    }

    /// The word index of the blocked mask in `locals` (a new thread starts with its creator's:
    /// the clone layer stores it before the thread runs).
    pub const BLOCKED_WORD: usize = BLOCKED;
    /// The word index of the state word.
    pub const STATE_WORD: usize = STATE;
    /// The word index of the stored alternate-stack flags.
    pub const ALT_FLAGS_WORD: usize = ALT_FLAGS;
}

/// `how` for `rt_sigprocmask`.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum How {
    /// `SIG_BLOCK`: add the set.
    Block,
    /// `SIG_UNBLOCK`: remove the set.
    Unblock,
    /// `SIG_SETMASK`: replace with the set.
    SetMask,
}

impl How {
    /// Decodes `how`; `EINVAL` for anything else (Linux checks this only when `set` is
    /// non-NULL, after reading it).
    pub fn from_raw(how: i64) -> Result<How, Errno> {
        match how {
            x if x == g::SIG_BLOCK as i64 => Ok(How::Block),
            x if x == g::SIG_UNBLOCK as i64 => Ok(How::Unblock),
            x if x == g::SIG_SETMASK as i64 => Ok(How::SetMask),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The mask that results from applying `set` to `old` (KILL and STOP never blocked).
    pub const fn apply(self, old: SigSet, set: SigSet) -> SigSet {
        let new = match self {
            How::Block => old.union(set),
            How::Unblock => old.minus(set),
            How::SetMask => set,
        };
        new.minus(SigSet::UNBLOCKABLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_applies() {
        let a = SigSet::from_bits(0b1010);
        assert_eq!(
            How::Block.apply(a, SigSet::from_bits(0b0101)).bits(),
            0b1111
        );
        assert_eq!(
            How::Unblock.apply(a, SigSet::from_bits(0b0010)).bits(),
            0b1000
        );
        assert_eq!(
            How::SetMask.apply(a, SigSet::FULL),
            SigSet::FULL.minus(SigSet::UNBLOCKABLE)
        );
        assert_eq!(How::from_raw(3), Err(Errno::EINVAL));
        assert_eq!(How::from_raw(-1), Err(Errno::EINVAL));
        assert_eq!(How::from_raw(2), Ok(How::SetMask));
    }
}
