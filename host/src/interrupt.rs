//! Interrupting threads with one reserved host signal, and the spans inside lintel.
//!
//! The port reserves [`INTERRUPT_SIGNAL`] (`SIGRTMAX`), installed with
//! `SA_SIGINFO | SA_ONSTACK | SA_RESTART`, blocking every signal but SIGSEGV and SIGBUS while it
//! runs. Two senders use it:
//! - `Interrupt::kick(t)` sets `t.kick` and `tgkill`s the thread; the handler consumes `kick`
//!   and, if the thread is inside an `enter`/`leave` span, only sets `t.inbox` (the next
//!   `leave` reports it); otherwise it calls the installed [`InterruptHook`] with the
//!   interrupted registers ([`HostRegisters`], over the host `ucontext_t`; writes to pc/sp are
//!   honoured on return). With no hook installed, the kick is posted to the inbox.
//! - `Notify::interrupt(t)` sends it only when `t` is inside the restartable window (see
//!   [`crate::window`]); the handler then moves an uncommitted window RIP to the abort label.
//!
//! `SA_RESTART` matters: a host syscall that returns `ERESTARTSYS` (a blocking `read`, an
//! untimed futex wait) then reaches the handler rewound onto its `syscall` instruction —
//! inside the window, uncommitted. Without it `read` would report "after the syscall,
//! `-EINTR`" and the call could not be transparently abandoned.
//!
//! The handler runs on the thread's host sigaltstack (every raw and adopted thread has one),
//! uses no C library and no TLS, and ignores a signal that lands on a thread which does not own
//! the record its GS base points at (it costs one `gettid` to check).

use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering, compiler_fence};

use lintel_kernel::interrupt::InterruptHook;
use lintel_kernel::{Interrupt, Registers};
use linux_raw_sys::general as g;

use crate::arch::{Ucontext, labels};
use crate::notify::{INTERRUPTED, send_interrupt_signal};
use crate::syscall::{self, KernelSigaction};
use crate::tcb::{self, Tcb};
use crate::{Host, Thread};

pub use crate::notify::INTERRUPT_SIGNAL;

/// The installed hook (an `InterruptHook` as usize), or 0.
static HOOK: AtomicUsize = AtomicUsize::new(0);

/// The registers of a thread interrupted by the host signal: a view of its `ucontext_t`.
///
/// Writes are honoured when the handler returns (the kernel's `rt_sigreturn` restores this
/// context).
#[derive(Debug)]
pub struct HostRegisters<'a> {
    uc: &'a mut Ucontext,
}

impl HostRegisters<'_> {
    /// The whole host context (general registers, FP state pointer, signal mask, altstack), for
    /// code that needs more than pc/sp, such as building a Linux signal frame.
    pub fn ucontext(&mut self) -> &mut Ucontext {
        self.uc
    }
}

impl Registers for HostRegisters<'_> {
    fn pc(&self) -> usize {
        self.uc.uc_mcontext.rip as usize
    }
    fn set_pc(&mut self, pc: usize) {
        self.uc.uc_mcontext.rip = pc as u64;
    }
    fn sp(&self) -> usize {
        self.uc.uc_mcontext.rsp as usize
    }
    fn set_sp(&mut self, sp: usize) {
        self.uc.uc_mcontext.rsp = sp as u64;
    }
    fn machine(&mut self) -> Option<&mut lintel_kernel::abi::Sigcontext> {
        Some(&mut self.uc.uc_mcontext)
    }
}

/// Runs the installed hook on the calling thread `t` (outside a span) with the interrupted
/// context `uc`; with no hook, posts to the inbox instead.
pub(crate) fn run_hook(t: &Tcb, uc: &mut Ucontext) {
    let hook = HOOK.load(Ordering::Acquire);
    if t.span.load(Ordering::Relaxed) != 0 || hook == 0 {
        t.inbox.store(1, Ordering::Relaxed);
    } else {
        // SAFETY: HOOK only ever holds an `InterruptHook` stored by `set_interrupt_hook`.
        let hook: InterruptHook = unsafe { core::mem::transmute(hook) };
        // Interrupted while resuming a context in user space: the hook acts on that context.
        crate::delivery::resume_window_fixup(t, uc);
        hook(&mut HostRegisters { uc });
    }
}

/// The host handler of [`INTERRUPT_SIGNAL`].
unsafe extern "C" fn on_interrupt_signal(_sig: i32, _info: *mut c_void, ctx: *mut c_void) {
    let Some(t) = tcb::current_if_owned() else {
        return; // not one of ours: nothing to do
    };
    // SAFETY: with SA_SIGINFO the kernel passes the interrupted context, ours to edit until
    // we return.
    let uc = unsafe { &mut *(ctx as *mut Ucontext) };
    let rip = uc.uc_mcontext.rip as usize;
    if (labels::window_begin()..=labels::window_syscall()).contains(&rip)
        && t.notify.load(Ordering::SeqCst) & INTERRUPTED != 0
    {
        // Uncommitted: before the syscall instruction the call never started; on it, it may
        // have blocked and been rewound by SA_RESTART. Either way it is abandoned.
        uc.uc_mcontext.rip = if rip < labels::window_syscall() {
            labels::window_refuse()
        } else {
            labels::window_abort()
        } as u64;
    }
    if t.kick.swap(0, Ordering::SeqCst) != 0 {
        run_hook(t, uc);
    }
}

/// Installs the interrupt signal's handler (called once from init).
pub(crate) fn install_handler() {
    let act = KernelSigaction {
        handler: on_interrupt_signal as *const () as usize,
        flags: (g::SA_SIGINFO | g::SA_ONSTACK | g::SA_RESTART | g::SA_RESTORER) as u64,
        restorer: labels::restore_rt(),
        // Forwarded signals wait until this handler is done (the hook never runs twice at once
        // on one thread); fault signals are never blocked (see `usermem`).
        mask: crate::delivery::HANDLER_MASK,
    };
    // SAFETY: a valid handler and restorer; the signal is reserved for this port.
    let r = unsafe { syscall::sigaction(INTERRUPT_SIGNAL, &act, core::ptr::null_mut()) };
    if r != 0 {
        syscall::fatal("lintel-host: cannot install the interrupt signal handler\n");
    }
}

// SAFETY: `kick` sets the target's `kick` word before it sends the signal, and the handler
// consumes the word after the signal arrived, so every kick is seen by some handler run on the
// target thread, which either calls the hook with that thread's own context (outside a span) or
// posts to the inbox that `leave` reports (inside one). The hook never runs while `span` is
// set: `enter` stores it before any lintel work (compiler fence; the handler runs on the same
// thread), `leave` clears it only after.
unsafe impl Interrupt for Host {
    fn set_interrupt_hook(&self, hook: InterruptHook) {
        crate::init::ensure_init();
        HOOK.store(hook as usize, Ordering::Release);
    }

    fn kick(&self, thread: Thread) {
        if !thread.is_current_generation() {
            return;
        }
        let t = thread.tcb();
        // A kick not yet consumed has its signal on the way (the handler consumes the word
        // with a swap before acting, so a kick after that sends again): one signal serves both.
        if t.kick.swap(1, Ordering::SeqCst) == 0 {
            send_interrupt_signal(&thread);
        }
    }

    #[inline]
    fn enter(&self) {
        let t = tcb::current();
        t.span.store(1, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
    }

    #[inline]
    fn leave(&self) -> bool {
        let t = tcb::current();
        compiler_fence(Ordering::SeqCst);
        t.span.store(0, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        // A handler that runs from here on sees span == 0 and runs the hook instead of posting,
        // so a load-then-store (no locked RMW) cannot lose a post.
        if t.inbox.load(Ordering::Relaxed) != 0 {
            t.inbox.store(0, Ordering::Relaxed);
            true
        } else {
            false
        }
    }
}

/// `[start, end)` of the section holding every `syscall` instruction of this crate (the range
/// a Syscall User Dispatch front door exempts).
pub fn syscall_section() -> (usize, usize) {
    labels::syscall_section()
}

/// The restartable window's labels: `(begin, syscall instruction, end, abort)`.
pub fn window_labels() -> (usize, usize, usize, usize) {
    (
        labels::window_begin(),
        labels::window_syscall(),
        labels::window_end(),
        labels::window_abort(),
    )
}
