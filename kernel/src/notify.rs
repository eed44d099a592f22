//! The per-thread notification: how a blocked thread is woken.
//!
//! Each thread owns one notification object with two bits of state:
//! - a **wake token** (a binary semaphore): [`Notify::signal`] sets it, [`Notify::wait`]
//!   consumes it. A signal sent before the wait is not lost; two signals before one wait make
//!   one token.
//! - an **interrupted flag**: [`Notify::interrupt`] sets it, only [`Notify::take_interrupt`]
//!   clears it. While it is set, every `wait` returns at once. It does not depend on host
//!   signals: a port may interrupt a thread for any reason.
//!
//! lintel never trusts a wakeup alone: after `wait` returns it re-checks its own state (the futex
//! engine, for instance, checks whether its waiter node was dequeued), so spurious
//! [`Wakeup::Notified`] results cost a loop, not correctness.

use crate::{Deadline, Threads};

/// Why [`Notify::wait`] returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Wakeup {
    /// The wake token was set; it has been consumed.
    Notified,
    /// The deadline passed with no token and no interrupt.
    TimedOut,
    /// The interrupted flag is set (it stays set).
    Interrupted,
}

/// Per-thread notifications.
///
/// # Safety
/// Implementors guarantee:
/// - `wait` returns [`Wakeup::Notified`] only after a `signal` aimed at the calling thread (a
///   signal aimed at a stale handle may reach the thread that reuses the record: allowed);
/// - a `signal` is never lost: if it happens before or during a `wait`, that wait (or the next
///   one) returns `Notified`;
/// - an `interrupt` is never lost: every `wait` that starts or is blocked after it returns
///   until `take_interrupt` clears the flag;
/// - `wait` returns `TimedOut` only once the deadline has passed on its clock;
/// - `signal` and `interrupt` are async-signal-safe and never block;
/// - `signal` has `Release` semantics and a `wait` that returns `Notified` has `Acquire`
///   semantics with respect to every `signal` it consumed (binary tokens merge: the consuming
///   wait acquires all of them). The futex engine relies on this: a waker publishes "dequeued"
///   on the waiter's node and then signals; the woken waiter must see the publication.
///
/// When both the token and the flag are set, `wait` returns `Notified` first.
pub unsafe trait Notify: Threads {
    /// Blocks the calling thread until its token is set, its interrupted flag is set, or
    /// `deadline` passes.
    fn wait(&self, deadline: Option<Deadline>) -> Wakeup;

    /// Sets `thread`'s wake token, waking it if it is blocked in [`wait`](Notify::wait).
    fn signal(&self, thread: Self::Thread);

    /// Sets `thread`'s interrupted flag, waking it if it is blocked in `wait` (or, on ports
    /// where that applies, in a [`crate::SharedFutex`] wait or a [`crate::Passthrough`] call).
    fn interrupt(&self, thread: Self::Thread);

    /// Clears the calling thread's interrupted flag; returns whether it was set.
    fn take_interrupt(&self) -> bool;

    /// Whether the calling thread's interrupted flag is set.
    fn is_interrupted(&self) -> bool;
}
