//! Passthrough: the real Linux syscall, inside the restartable window.
//!
//! A call that the interrupted flag catches before it commits — either before it enters the
//! kernel or, blocked in a restartable call, rewound by `SA_RESTART` onto its `syscall`
//! instruction — is abandoned and reported as [`Passed::Interrupted`]; see [`crate::window`].
//! Consequently, while the calling thread's interrupted flag is set, **every** passthrough
//! returns `Interrupted` at once: lintel takes the interrupt (`Notify::take_interrupt`) before
//! issuing host calls of its own on that thread.
//!
//! Refused: `arch_prctl(ARCH_SET_GS)` returns `-EPERM` (GS is this port's per-thread slot; a
//! program that moved it would break `Threads::current`).

use lintel_kernel::{Passed, Passthrough};

use crate::Host;
use crate::syscall::{arch_prctl, nr};
use crate::window;

// SAFETY: the call is Linux's own syscall with the caller's arguments (apart from the refused
// ARCH_SET_GS), so it has Linux x86_64 semantics; `Interrupted` comes only from the window's
// abort path, taken before the `syscall` instruction ran or after the kernel rewound a
// restartable call that had no effect.
unsafe impl Passthrough for Host {
    unsafe fn passthrough(&self, nr: usize, args: [usize; 6]) -> Passed {
        if nr == nr::ARCH_PRCTL && args[0] == arch_prctl::ARCH_SET_GS {
            return Passed::Done(-(linux_raw_sys::errno::EPERM as isize));
        }
        // SAFETY: the caller vouches for the arguments (the trait's contract).
        match unsafe { window::run(nr, args) } {
            Some(r) => Passed::Done(r),
            None => Passed::Interrupted,
        }
    }
}
