//! Passthrough: the real Linux syscall, inside the restartable window.
//!
//! A call that the interrupted flag catches before it commits is abandoned: before it enters
//! the kernel it is reported as [`Passed::NotStarted`]; blocked in a restartable call and
//! rewound by `SA_RESTART` onto its `syscall` instruction, as [`Passed::Interrupted`]; see
//! [`crate::window`]. Consequently, while the calling thread's interrupted flag is set,
//! **every** passthrough returns `NotStarted` at once: lintel takes the interrupt
//! (`Notify::take_interrupt`) before issuing host calls of its own on that thread.
//!
//! Refused: `arch_prctl(ARCH_SET_GS)` returns `-EPERM` and `ARCH_GET_GS` reports 0 (GS is this
//! port's per-thread slot: a program that moved it would break `Threads::current`, and its
//! value is the record's address). Linux reads the option as an `int`, so the checks do too.

use lintel_kernel::{Passed, Passthrough, UserMemory};
use linux_raw_sys::general as g;

use crate::Host;
use crate::syscall::{arch_prctl, nr};
use crate::window;

/// SIGSEGV and SIGBUS as a mask: never blocked on the host, because lintel's fault-tolerant
/// user-memory accesses are fixed up by their handler (the kernel kills a process whose fault
/// signal is blocked). A program's `sigprocmask` that blocks them is passed on without them; the
/// mask it reads back then lacks them (the emulated signal layer will keep the program's view).
pub(crate) const FAULT_SIGNALS: u64 = (1 << (g::SIGSEGV - 1)) | (1 << (g::SIGBUS - 1));

// SAFETY: the call is Linux's own syscall with the caller's arguments (apart from the refused
// ARCH_SET_GS), so it has Linux x86_64 semantics; `Interrupted` comes only from the window's
// abort path, taken before the `syscall` instruction ran or after the kernel rewound a
// restartable call that had no effect.
unsafe impl Passthrough for Host {
    unsafe fn passthrough(&self, nr: usize, args: [usize; 6]) -> Passed {
        if nr == nr::ARCH_PRCTL {
            match args[0] as u32 as usize {
                arch_prctl::ARCH_SET_GS => {
                    return Passed::Done(-(linux_raw_sys::errno::EPERM as isize));
                }
                arch_prctl::ARCH_GET_GS => {
                    // SAFETY: the program's output pointer, as Linux's put_user would use it.
                    let r = unsafe {
                        lintel_kernel::UserMemory::write(self, args[1], &0usize.to_ne_bytes())
                    };
                    return Passed::Done(r.map_or_else(|e| e.to_ret(), |()| 0));
                }
                _ => {}
            }
        }
        let mut args = args;
        let mut filtered = 0u64;
        if nr == g::__NR_rt_sigprocmask as usize
            && args[1] != 0
            && args[3] == 8
            && matches!(args[0] as u32, g::SIG_BLOCK | g::SIG_SETMASK)
        {
            let mut raw = [0u8; 8];
            if self.read(args[1], &mut raw).is_ok() {
                filtered = u64::from_ne_bytes(raw) & !FAULT_SIGNALS;
                args[1] = &filtered as *const u64 as usize;
            }
        }
        // SAFETY: the caller vouches for the arguments (the trait's contract); a rewritten set
        // points at `filtered`, which outlives the call.
        let r = unsafe { window::run(nr, args) };
        let _ = filtered;
        if crate::priority::may_change(nr) {
            // Whatever the outcome (an abandoned call may have run): cached priorities are stale.
            crate::priority::changed();
        }
        match r {
            window::Window::Done(r) => Passed::Done(r),
            window::Window::Abandoned => Passed::Interrupted,
            window::Window::NotStarted => Passed::NotStarted,
        }
    }
}
