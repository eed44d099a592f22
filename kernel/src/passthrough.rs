//! Passthrough: every syscall lintel does not emulate goes to the port.
//!
//! On the Linux host port this is the real syscall; on a microkernel, its servers. A blocking
//! call must be interruptible without a lost-signal window: if the calling thread's interrupted
//! flag is set before the call is committed (before it has any effect), the call is abandoned
//! and reported as [`Passed::Interrupted`], so lintel can deliver and then restart it.

/// The outcome of a passed-through syscall.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Passed {
    /// The call ran; its raw Linux return (a value, or `-errno`).
    Done(isize),
    /// The call was interrupted before it committed and had no effect.
    Interrupted,
    /// The calling thread's interrupted flag was already set when the call was to start: it
    /// was not made. (Linux would have delivered the signal before the call: lintel delivers
    /// and then makes the call, whatever the handler's `SA_RESTART`.) A port that cannot tell
    /// this from [`Passed::Interrupted`] may report `Interrupted` instead.
    NotStarted,
}

/// Syscalls lintel does not emulate.
///
/// While the calling thread's interrupted flag is set, every call returns
/// [`Passed::NotStarted`] (or [`Passed::Interrupted`]) at once: lintel clears the flag ([`crate::Notify::take_interrupt`])
/// when it has handled the interruption, before it passes calls through again. A call that Linux
/// does not restart (poll, nanosleep, timed waits) and that was interrupted after it started
/// comes back as `Passed::Done(-EINTR)`.
///
/// # Safety
/// Implementors guarantee Linux x86_64 syscall semantics for `nr` and its arguments, and that
/// [`Passed::Interrupted`] and [`Passed::NotStarted`] are returned only for a call that had no
/// effect (`NotStarted` only for one that never reached the kernel).
pub unsafe trait Passthrough {
    /// Performs syscall `nr` with `args`.
    ///
    /// # Safety
    /// The arguments must be valid for the syscall as Linux defines it (pointers to memory of
    /// the right size, and so on); a syscall can do anything a process can do.
    unsafe fn passthrough(&self, nr: usize, args: [usize; 6]) -> Passed;
}
