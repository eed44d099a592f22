//! Futexes in memory shared between processes.
//!
//! A private futex is known only to the process that uses it, and lintel's own futex table
//! handles it entirely. A shared futex (one used without `FUTEX_PRIVATE_FLAG`) can have waiters
//! in several processes, each with its own lintel, so its identity (which physical word) and its
//! wait queue must live in something all those processes share: the kernel, or a server of it.
//! This trait is that hook. lintel decodes and validates the operation exactly as Linux does
//! (flags, alignment, timeouts, counts) and hands the port a whole operation on shared keys;
//! the port gives it Linux's semantics (wake order, counts, `EFAULT` for unmapped words).
//!
//! Private and shared futexes on the same address never see each other, as on Linux: lintel's
//! private table and the port's shared queues are disjoint by construction.

use crate::{Deadline, Errno};

/// Why a shared wait returned without being woken.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SharedWaitError {
    /// A Linux error: `EAGAIN` (value mismatch), `ETIMEDOUT`, `EFAULT`, `EINVAL`.
    Errno(Errno),
    /// The thread's interrupted flag ([`crate::Notify::interrupt`]) ended the wait; the waiter
    /// is no longer queued.
    Interrupted,
}

/// What ended a [`SharedFutex::shared_waitv`] that was not an error.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SharedWaitv {
    /// Entry `i` of the call was woken (the highest index of those woken, as Linux's
    /// `futex_waitv`); the waiter is off every queue.
    Woken(usize),
    /// The calling thread's notification was signalled ([`crate::Notify::signal`]); its token is
    /// consumed and the waiter is off every queue.
    Notified,
}

/// Shared (inter-process) futexes.
///
/// All addresses are 4-byte aligned and checked by lintel before the call; counts are Linux's
/// (`i32`, with Linux's "at least one" rule for wakes left to the port: `nr_wake <= 0` wakes one
/// in `shared_wake` and `shared_wake_op`).
///
/// # Safety
/// Implementors guarantee Linux's `futex(2)` semantics for the shared (non-private) form of each
/// operation, including the ordering guarantee that a waiter blocks only if it read `expected`
/// after every wake that happened before its enqueue, and that a shared wait returns
/// [`SharedWaitError::Interrupted`] promptly after [`crate::Notify::interrupt`] on the waiting
/// thread, with the waiter dequeued and no wakeup consumed.
pub unsafe trait SharedFutex {
    /// `FUTEX_WAIT_BITSET` on a shared word with an absolute deadline.
    fn shared_wait(
        &self,
        addr: usize,
        expected: u32,
        bitset: u32,
        deadline: Option<Deadline>,
    ) -> Result<(), SharedWaitError>;

    /// `FUTEX_WAKE_BITSET` on a shared word; returns the number woken.
    fn shared_wake(&self, addr: usize, nr_wake: i32, bitset: u32) -> Result<u32, Errno>;

    /// `FUTEX_REQUEUE` (`expected` `None`) or `FUTEX_CMP_REQUEUE`; returns woken + requeued.
    fn shared_requeue(
        &self,
        addr: usize,
        addr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        expected: Option<u32>,
    ) -> Result<u32, Errno>;

    /// `FUTEX_LOCK_PI2` (with `trylock`: `FUTEX_TRYLOCK_PI`) on a shared word: takes the
    /// priority-inheritance lock for the calling thread, sleeping until the absolute
    /// `deadline`. Linux's word protocol and errors; an interruption before the lock was taken
    /// is [`SharedWaitError::Interrupted`] (lintel restarts it: `LOCK_PI` never returns
    /// `EINTR`).
    fn shared_lock_pi(
        &self,
        addr: usize,
        deadline: Option<Deadline>,
        trylock: bool,
    ) -> Result<(), SharedWaitError>;

    /// `FUTEX_UNLOCK_PI` on a shared word.
    fn shared_unlock_pi(&self, addr: usize) -> Result<(), Errno>;

    /// `FUTEX_WAIT_REQUEUE_PI` on shared words: waits on `addr` while it holds `expected`
    /// until a shared `FUTEX_CMP_REQUEUE_PI` from `addr` to `addr2` gives the calling thread
    /// the priority-inheritance lock at `addr2` (`Ok`: the caller owns it), either at once or
    /// after requeuing it onto `addr2` as a `LOCK_PI` waiter; the absolute `deadline` ends the
    /// wait wherever the waiter is (`ETIMEDOUT`). Linux's checks and errors, in Linux's order:
    /// `addr2`'s key (write access: `EFAULT` for memory with no writable shared key), `addr`'s,
    /// both keys the same futex (`EINVAL`), the value (`EAGAIN`).
    ///
    /// Interruption ([`crate::Notify::interrupt`]) follows Linux's
    /// `futex_requeue_pi_wakeup_sync`: a waiter still queued on `addr` (or not yet queued)
    /// returns [`SharedWaitError::Interrupted`], dequeued and with no effect (lintel restarts
    /// the call, `ERESTARTNOINTR`, as Linux does); one already requeued onto `addr2` leaves
    /// that queue without the lock and returns `EAGAIN` (Linux does not restart a requeued
    /// waiter); one the requeue or an unlock handed the lock to returns `Ok`.
    fn shared_wait_requeue_pi(
        &self,
        addr: usize,
        expected: u32,
        deadline: Option<Deadline>,
        addr2: usize,
    ) -> Result<(), SharedWaitError>;

    /// `FUTEX_CMP_REQUEUE_PI` on shared words (`nr_wake` is 1, the addresses differ and the
    /// counts are not negative: lintel checked): `EAGAIN` unless `*addr == expected`; takes
    /// the lock at `addr2` for the first `FUTEX_WAIT_REQUEUE_PI` waiter on `addr` if it is
    /// free, and requeues waiters onto `addr2` with Linux's rules (keys, `EINVAL` for a waiter
    /// of another kind or for another `addr2`, `EDEADLK` from the deadlock walk of a requeued
    /// waiter); returns woken + requeued. It never blocks.
    fn shared_cmp_requeue_pi(
        &self,
        addr: usize,
        addr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        expected: u32,
    ) -> Result<u32, Errno>;

    /// `futex_waitv` on shared 32-bit words (`entries`: address and expected value, at most
    /// 127), for a call that also has private entries: lintel queues those in its own table
    /// first and then waits here, so the wait also ends when the calling thread's notification
    /// is signalled ([`SharedWaitv::Notified`], the token consumed, as
    /// [`crate::Notify::wait`] consumes it; a token already pending ends it at once). Each
    /// entry is queued in turn while its word holds its value (`EAGAIN` otherwise, `EFAULT`);
    /// a wake of any entry ends the wait ([`SharedWaitv::Woken`]); the absolute `deadline`
    /// gives `ETIMEDOUT` (a token or a wake that came first wins). An interruption
    /// ([`crate::Notify::interrupt`]) returns [`SharedWaitError::Interrupted`] promptly, the
    /// waiter off every queue and nothing consumed. Every return leaves no entry queued.
    ///
    /// A port that cannot wait so returns `ENOSYS` (without waiting); lintel then hands such a
    /// call to the port whole, as a passthrough.
    fn shared_waitv(
        &self,
        entries: &[(usize, u32)],
        deadline: Option<Deadline>,
    ) -> Result<SharedWaitv, SharedWaitError>;

    /// `FUTEX_WAKE_OP` with Linux's encoded operation; returns the total woken.
    fn shared_wake_op(
        &self,
        addr: usize,
        addr2: usize,
        nr_wake: i32,
        nr_wake2: i32,
        encoded_op: u32,
    ) -> Result<u32, Errno>;
}
