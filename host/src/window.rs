//! The restartable window: how a blocking host syscall is made interruptible without a race.
//!
//! The idea is musl's `__cp_begin`/`__cp_end` (cancellation points). The syscall runs from a
//! tiny assembly routine (`lintel_host_window_syscall`, in `arch`):
//!
//! ```text
//! window_begin:    testl $INTERRUPTED, %gs:notify   ; flag set? then
//!                  jnz   window_refuse              ;   not started, no effect
//! window_syscall:  syscall                          ; the commit point
//! window_end:      ...                              ; ran: return rax
//! window_abort:    ...                              ; abandoned: report Interrupted
//! ```
//!
//! `run` marks the thread "in window" (a SeqCst swap of `Tcb::in_window`) before entering.
//! `Notify::interrupt` sets INTERRUPTED (SeqCst RMW) and *then* reads `in_window`; by the
//! store-load ordering one of the two sides sees the other:
//! - the interrupter sees `in_window` and sends the interrupt signal (`SIGRTMAX`, installed with
//!   `SA_RESTART`). The handler finds RIP either before `window_begin` (the test will see the
//!   flag), or in `[window_begin, window_syscall]` — not yet in the kernel, or blocked in a
//!   restartable call that the kernel rewound onto the `syscall` instruction with
//!   `rax = nr` — and moves RIP to `window_abort`; or at/after `window_end` (the call
//!   completed or returned `-EINTR` by itself: its result stands);
//! - or the thread's test sees the flag and never enters the kernel.
//!
//! So a call either completes with its real result, or is reported as abandoned having had no
//! effect. Host calls that Linux does not restart after a handler (`ERESTARTNOHAND` /
//! `ERESTART_RESTARTBLOCK`: `poll`, `epoll_wait`, `nanosleep`, timed futex waits, ...) come back
//! as a completed `-EINTR`; lintel decides whether that restarts.

use core::sync::atomic::Ordering;

use crate::arch;
use crate::tcb;

/// Runs syscall `nr` in the window: its result if it ran; else whether it was abandoned on the
/// syscall instruction or never started, because the calling thread's interrupted flag is
/// set.
///
/// # Safety
/// As [`crate::raw_syscall6`].
pub(crate) unsafe fn run(nr: usize, a: [usize; 6]) -> Window {
    let t = tcb::current();
    // Nested windows (a hook running in the signal handler) restore the outer state.
    let prev = t.in_window.swap(1, Ordering::SeqCst);
    // SAFETY: the routine follows the C ABI; GS points at `t` (so its `%gs:` test reads our
    // own flag); the caller vouches for the syscall's arguments.
    let p = unsafe { arch::lintel_host_window_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    t.in_window.store(prev, Ordering::Release);
    match p.flag {
        0 => Window::Done(p.value as isize),
        1 => Window::Abandoned,
        _ => Window::NotStarted,
    }
}

/// The outcome of [`run`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    /// The syscall ran; its raw result.
    Done(isize),
    /// Interrupted on the syscall instruction (possibly blocked and rewound), no effect.
    Abandoned,
    /// The flag was set before the syscall instruction: never started.
    NotStarted,
}
