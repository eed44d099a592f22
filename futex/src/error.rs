//! How a futex operation fails: a Linux errno, or an interruption to be restarted by Linux's
//! rules.

use lintel_kernel::{Deadline, Errno};

/// A futex operation's failure.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FutexError {
    /// A Linux error, returned to the program as is.
    Errno(Errno),
    /// The wait was interrupted (the thread's interrupted flag was set) before it was woken.
    /// The waiter is off the queue; nothing of it is left in the table. The caller delivers
    /// whatever interrupted it and then applies Linux's restart rules ([`Restart`]).
    Restart(Restart),
}

/// The restart Linux would arrange for an interrupted wait.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Restart {
    /// `-ERESTARTSYS` (an untimed wait): restart the call unchanged if no handler ran or the
    /// handler has `SA_RESTART`; `EINTR` otherwise.
    Syscall,
    /// `-ERESTART_RESTARTBLOCK` (a timed wait): restart through [`WaitRestart`] (same absolute
    /// deadline) if no handler ran; `EINTR` after a handler.
    Block(WaitRestart),
    /// `-ERESTARTNOINTR` (`FUTEX_LOCK_PI`): always restart the call unchanged, handler or not
    /// (its timeout is absolute, so nothing needs adjusting).
    NoIntr,
}

/// Linux's `restart_block.futex`: everything needed to resume a timed wait with its original
/// absolute deadline (`futex_wait_restart`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WaitRestart {
    /// The futex word.
    pub uaddr: usize,
    /// The expected value.
    pub val: u32,
    /// The wait's bitset.
    pub bitset: u32,
    /// Private or shared.
    pub scope: crate::Scope,
    /// The absolute deadline of the original call.
    pub deadline: Deadline,
}

impl FutexError {
    /// The kernel-internal errno Linux would hold at this point (`ERESTARTSYS`,
    /// `ERESTART_RESTARTBLOCK`, or the error itself).
    pub fn errno(&self) -> Errno {
        match self {
            FutexError::Errno(e) => *e,
            FutexError::Restart(Restart::Syscall) => Errno::ERESTARTSYS,
            FutexError::Restart(Restart::Block(_)) => Errno::ERESTART_RESTARTBLOCK,
            FutexError::Restart(Restart::NoIntr) => Errno::ERESTARTNOINTR,
        }
    }
}

impl From<Errno> for FutexError {
    fn from(e: Errno) -> Self {
        FutexError::Errno(e)
    }
}
