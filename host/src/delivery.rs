//! Signal delivery on the Linux host ([`Delivery`]): host signals forwarded to lintel, contexts
//! resumed through the host's own `rt_sigreturn`, default actions done by the host kernel.
//!
//! ## Forwarding
//! A signal routed [`SignalRoute::Forward`] gets the host handler [`on_forwarded_signal`]
//! (`SA_SIGINFO | SA_ONSTACK | SA_RESTART`, every signal but SIGSEGV/SIGBUS blocked while it
//! runs). It runs on the receiving thread's host signal stack and:
//! 1. appends the signal and its siginfo to the thread's [`Arrivals`] ring (a standard signal
//!    already waiting there is merged, as Linux merges a pending standard signal); when the ring
//!    is full the signal is queued back on the host with its siginfo (`rt_tgsigqueueinfo` to
//!    the thread itself) and stays blocked on the host until lintel has drained the ring, so
//!    nothing is lost;
//! 2. inside an `Interrupt` span (the thread is in lintel: blocked in a wait, or about to
//!    leave) sets the thread's interrupted flag and posts to its inbox, and lintel drains the
//!    ring at its delivery point;
//! 3. outside a span (the thread runs user code) runs the interrupt hook at once with the
//!    interrupted registers, exactly as a kick does.
//!
//! SIGSEGV and SIGBUS keep this port's fault handler ([`crate::usermem`]): a fault at one of
//! lintel's own user-memory accessors is fixed up, any other is forwarded in the same way when
//! lintel manages the signal. A synchronous fault inside lintel's own code (a span) is a lintel
//! bug: the process dies of it natively.
//!
//! ## Resuming
//! lintel's signal frames are Linux `rt_sigframe`s. [`Delivery::resume`] continues in one in
//! user space when only registers and FP state change (the usual case: no forwarded signal
//! re-queued on the host, so the host mask is empty and stays so; nothing to redeliver; a
//! context with ordinary flags and selectors and an FP area `XRSTOR` takes, checked first):
//! `XRSTOR` (the frame's FP area, or the initial state for a handler's entry), then the span
//! ends and the general registers, flags and stack are loaded and the context's `rip` jumped
//! to (`arch::resume_x86_64`). A host handler that lands between the end of the span and the
//! jump finds the interrupted `rip` in that routine's window: the hook's runner first replaces
//! the interrupted registers with the resumed context's ([`resume_window_fixup`]), so the hook
//! delivers on that context, as if the jump had been made (`tests-c/sig_resume.c` and
//! `lintel/tests/resume_inject.rs`, a host signal at each instruction of the window, fail
//! without it). A kick posted while the span was on sends the routine to the kernel's path.
//!
//! Otherwise it is the host's `rt_sigreturn` with `%rsp` at the frame's `uc`: every register,
//! the FP state and the host mask are restored in one step. The frame's `uc_sigmask` and
//! `uc_stack` are overwritten first with the thread's host values (nothing blocked but
//! re-queued arrivals; the host signal stack), so a program's mask never reaches the host.

use core::ffi::c_void;
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use lintel_kernel::delivery::{Arrival, Delivery, SignalRoute};
use lintel_kernel::{Notify, UserMemory};
use linux_raw_sys::general as g;

use crate::arch::{self, Ucontext};
use crate::init::PID;
use crate::interrupt::INTERRUPT_SIGNAL;
use crate::passthrough::FAULT_SIGNALS;
use crate::syscall::{self, KernelSigaction};
use crate::tcb::{self, Tcb};
use crate::{HOST, Host, Thread};

/// How many forwarded signals a thread's ring holds before they are queued back on the host.
pub(crate) const ARRIVAL_SLOTS: usize = 8;

/// `SIG_DFL` / `SIG_IGN` as handler values.
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

/// The route of every signal (index = number), as [`SignalRoute`] codes.
static ROUTES: [AtomicU8; 65] = [const { AtomicU8::new(ROUTE_DEFAULT) }; 65];
const ROUTE_DEFAULT: u8 = 0;
const ROUTE_IGNORE: u8 = 1;
const ROUTE_FORWARD: u8 = 2;

/// `SA_NOCLDSTOP | SA_NOCLDWAIT` as the program last set them on SIGCHLD.
static CHILD_FLAGS: AtomicU64 = AtomicU64::new(0);

/// The XSAVE size of a frame's FP data (without the trailing magic) and its feature mask.
static XSTATE_SIZE: AtomicUsize = AtomicUsize::new(0);
static XFEATURES: AtomicU64 = AtomicU64::new(0);

/// The bit of `sig` in a host `sigset_t`.
const fn bit(sig: u32) -> u64 {
    1 << (sig - 1)
}

/// A thread's forwarded signals waiting for lintel.
///
/// A ring with one producer ([`on_forwarded_signal`], which runs on the owning thread with the
/// other forwarded signals blocked) and one consumer (the owning thread, in
/// [`Delivery::take_arrival`]). The producer interrupts the consumer, never the reverse, so
/// the consumer sees either the old or the new `tail`, and a slot is reused only after the
/// consumer has advanced `head` past it.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Arrivals {
    head: AtomicU32,
    tail: AtomicU32,
    sig: [AtomicU32; ARRIVAL_SLOTS],
    info: [[AtomicU64; 16]; ARRIVAL_SLOTS],
    /// Signals queued back on the host (and blocked there) because the ring was full.
    requeued: AtomicU64,
}

impl Arrivals {
    pub(crate) const fn new() -> Arrivals {
        Arrivals {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            sig: [const { AtomicU32::new(0) }; ARRIVAL_SLOTS],
            info: [const { [const { AtomicU64::new(0) }; 16] }; ARRIVAL_SLOTS],
            requeued: AtomicU64::new(0),
        }
    }

    /// Empties the ring (a record being claimed by a new thread).
    pub(crate) fn reset(&self) {
        self.head.store(0, Ordering::Relaxed);
        self.tail.store(0, Ordering::Relaxed);
        self.requeued.store(0, Ordering::Relaxed);
    }

    /// Appends an arrival; `false` if the ring is full. A standard signal already in the ring
    /// is merged (Linux keeps one instance of a pending standard signal).
    fn push(&self, sig: u32, info: &[u64; 16]) -> bool {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Relaxed);
        if sig < g::SIGRTMIN && (head..tail).any(|i| self.slot_sig(i) == sig) {
            return true;
        }
        if tail.wrapping_sub(head) as usize >= ARRIVAL_SLOTS {
            return false;
        }
        let s = tail as usize % ARRIVAL_SLOTS;
        self.sig[s].store(sig, Ordering::Relaxed);
        for (d, w) in self.info[s].iter().zip(info) {
            d.store(*w, Ordering::Relaxed);
        }
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        true
    }

    fn slot_sig(&self, i: u32) -> u32 {
        self.sig[i as usize % ARRIVAL_SLOTS].load(Ordering::Relaxed)
    }

    /// Removes the oldest arrival.
    fn pop(&self) -> Option<Arrival> {
        let head = self.head.load(Ordering::Relaxed);
        if head == self.tail.load(Ordering::Acquire) {
            return None;
        }
        let s = head as usize % ARRIVAL_SLOTS;
        let mut info = [0u8; 128];
        for (chunk, w) in info.chunks_exact_mut(8).zip(&self.info[s]) {
            chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
        }
        let sig = self.sig[s].load(Ordering::Relaxed);
        self.head.store(head.wrapping_add(1), Ordering::Release);
        Some(Arrival { sig, info })
    }
}

/// Every signal but the fault signals: the mask the forwarding and interrupt handlers run
/// with, so neither nests on the other (and the hook never runs twice on one thread).
pub(crate) const HANDLER_MASK: u64 = !FAULT_SIGNALS;

/// The route of `sig`.
fn route_of(sig: u32) -> u8 {
    ROUTES
        .get(sig as usize)
        .map_or(ROUTE_DEFAULT, |r| r.load(Ordering::Acquire))
}

/// Whether lintel manages `sig` (its faults go to lintel too).
pub(crate) fn forwarded(sig: u32) -> bool {
    route_of(sig) != ROUTE_DEFAULT
}

/// The host handler of every [`SignalRoute::Forward`]ed signal.
unsafe extern "C" fn on_forwarded_signal(sig: i32, info: *mut c_void, ctx: *mut c_void) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo and the interrupted context,
    // ours to read and edit until we return.
    unsafe { forward(sig as u32, info, &mut *(ctx as *mut Ucontext)) }
}

/// Hands a host signal to lintel (see the module docs). Also the fault handler's path for a
/// fault that is not one of lintel's accessors.
///
/// # Safety
/// Called from a host signal handler on the receiving thread, `info` the kernel's siginfo.
pub(crate) unsafe fn forward(sig: u32, info: *mut c_void, uc: &mut Ucontext) {
    let t = match tcb::current_if_owned() {
        Some(t) => t,
        None => tcb::current(),
    };
    let mut words = [0u64; 16];
    // SAFETY: the kernel's siginfo is 128 readable bytes.
    unsafe { core::ptr::copy_nonoverlapping(info.cast::<u64>(), words.as_mut_ptr(), 16) };
    let in_span = t.span.load(Ordering::Relaxed) != 0;
    let code = words[1] as u32 as i32; // si_code (after si_signo and si_errno)
    if in_span && FAULT_SIGNALS_ALL & bit(sig) != 0 && code > 0 {
        // A fault inside lintel itself, not at one of its accessors: a bug. Die of it the
        // native way (the faulting instruction runs again with the default action).
        set_host_action(sig, SIG_DFL);
        return;
    }
    if !t.arrivals.push(sig, &words) {
        // Full: queue it back on the host, blocked until the ring has room (take_arrival).
        t.arrivals.requeued.fetch_or(bit(sig), Ordering::Relaxed);
        uc.uc_sigmask |= bit(sig);
        // SAFETY: the siginfo the kernel gave us, re-sent to this very thread (allowed for
        // any si_code when the target is the caller's own process).
        unsafe {
            syscall::sys(
                g::__NR_rt_tgsigqueueinfo as usize,
                PID.load(Ordering::Relaxed) as usize,
                syscall::gettid() as usize,
                sig as usize,
                info as usize,
            )
        };
        return;
    }
    if in_span {
        // lintel drains the ring at its next delivery point; end a blocking wait now.
        HOST.interrupt(Thread::new(t));
        t.inbox.store(1, Ordering::Relaxed);
    } else {
        crate::interrupt::run_hook(t, uc);
    }
}

/// The synchronous fault signals (a fault in the program's code is forced on it).
const FAULT_SIGNALS_ALL: u64 =
    bit(g::SIGSEGV) | bit(g::SIGBUS) | bit(g::SIGFPE) | bit(g::SIGILL) | bit(g::SIGTRAP);

/// Installs `handler` (`SIG_DFL`, `SIG_IGN` or the forwarder) as the host action of `sig`.
fn set_host_action(sig: u32, handler: usize) {
    let child = if sig == g::SIGCHLD {
        CHILD_FLAGS.load(Ordering::Relaxed)
    } else {
        0
    };
    let act = if handler == SIG_DFL || handler == SIG_IGN {
        KernelSigaction {
            handler,
            flags: child,
            ..KernelSigaction::default()
        }
    } else {
        KernelSigaction {
            handler,
            flags: (g::SA_SIGINFO | g::SA_ONSTACK | g::SA_RESTART | g::SA_RESTORER) as u64 | child,
            restorer: arch::labels::restore_rt(),
            mask: HANDLER_MASK,
        }
    };
    // SAFETY: a valid disposition for a signal this port does not reserve.
    unsafe { syscall::sigaction(sig, &act, core::ptr::null_mut()) };
}

/// Re-installs the host action `ROUTES` says `sig` has.
fn apply_route(sig: u32) {
    if sig == g::SIGSEGV || sig == g::SIGBUS {
        crate::usermem::install_handler(sig);
        return;
    }
    let handler = match route_of(sig) {
        ROUTE_FORWARD => on_forwarded_signal as *const () as usize,
        ROUTE_IGNORE => SIG_IGN,
        _ => SIG_DFL,
    };
    set_host_action(sig, handler);
}

/// See [`crate::musl::reset_forwarded_in_child`].
pub(crate) fn reset_forwarded_in_child() {
    for sig in 1..=64 {
        if route_of(sig) == ROUTE_FORWARD && !reserved(sig) {
            set_host_action(sig, SIG_DFL);
        }
    }
}

/// Whether the port reserves `sig` (or Linux does not let anyone catch it).
fn reserved(sig: u32) -> bool {
    !(1..=64).contains(&sig) || sig == INTERRUPT_SIGNAL || sig == g::SIGKILL || sig == g::SIGSTOP
}

// SAFETY: an arrival is pushed to the ring or queued back on the host blocked (and unblocked
// once the ring has drained), never dropped except by merging a standard signal; after a push
// the thread is interrupted (in a span) or the hook runs on it before it resumes (outside).
// `resume` is the host's rt_sigreturn, which restores every register and the FP state (a zero
// fpstate pointer gives the initial FP state) together with the host mask.
unsafe impl Delivery for Host {
    fn route_signal(&self, sig: u32, route: SignalRoute) {
        if reserved(sig) {
            return;
        }
        crate::init::ensure_init();
        let code = match route {
            SignalRoute::Default => ROUTE_DEFAULT,
            SignalRoute::Ignore => ROUTE_IGNORE,
            SignalRoute::Forward => ROUTE_FORWARD,
        };
        if ROUTES[sig as usize].swap(code, Ordering::AcqRel) != code {
            apply_route(sig);
        }
    }

    fn set_child_flags(&self, nocldstop: bool, nocldwait: bool) {
        crate::init::ensure_init();
        let mut flags = 0u64;
        if nocldstop {
            flags |= u64::from(g::SA_NOCLDSTOP);
        }
        if nocldwait {
            flags |= u64::from(g::SA_NOCLDWAIT);
        }
        if CHILD_FLAGS.swap(flags, Ordering::AcqRel) != flags {
            apply_route(g::SIGCHLD);
        }
    }

    fn block_arrivals(&self, mask: u64) {
        let t = tcb::current();
        // Never the fault signals (lintel's accessors need them) or the interrupt signal
        // (lintel's own way to end the call); always what waits re-queued on the host.
        let set = (mask & HANDLER_MASK & !bit(INTERRUPT_SIGNAL))
            | t.arrivals.requeued.load(Ordering::Relaxed);
        // SAFETY: sets the calling thread's own mask.
        unsafe { syscall::sigprocmask(g::SIG_SETMASK, &set, core::ptr::null_mut()) };
    }

    fn take_arrival(&self) -> Option<Arrival> {
        let t = tcb::current();
        if let Some(a) = t.arrivals.pop() {
            return Some(a);
        }
        // Every delivery point asks: the common answer (nothing) costs two loads, no RMW.
        if t.arrivals.requeued.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let requeued = t.arrivals.requeued.swap(0, Ordering::Relaxed);
        if requeued != 0 {
            // The ring is empty: let the signals queued back on the host arrive again (the
            // forwarder runs during this call and refills the ring).
            // SAFETY: unblocks signals on the calling thread only.
            unsafe { syscall::sigprocmask(g::SIG_UNBLOCK, &requeued, core::ptr::null_mut()) };
            return t.arrivals.pop();
        }
        None
    }

    unsafe fn resume(&self, ucontext: usize, redeliver: bool) -> ! {
        let t = tcb::current();
        if !redeliver
            && t.arrivals.requeued.load(Ordering::Relaxed) == 0
            && user_resumable(ucontext)
        {
            // SAFETY: the caller's contract; `user_resumable` checked what the routine needs
            // (flags, selectors, an FP area XRSTOR takes); the span is on (the caller's).
            unsafe { arch::lintel_host_resume_user(ucontext, xstate().1) }
        }
        // SAFETY: the caller's contract.
        unsafe { resume_through_kernel(t, ucontext, redeliver) }
    }

    unsafe fn on_delivery_stack(&self, f: extern "C" fn(usize) -> !, arg: usize) -> ! {
        let t = tcb::current();
        let here = &t as *const _ as usize;
        let (lo, hi) = (t.altstack(), t.altstack() + t.altstack_size);
        // The host signal stack; if we are somehow already on it, continue below ourselves.
        let top = if (lo..hi).contains(&here) {
            here - 1024
        } else {
            hi
        };
        // SAFETY: the record's host signal stack is reserved for this thread; host handlers
        // landing meanwhile nest below the new stack pointer (the kernel sees we are on it).
        unsafe { arch::lintel_host_run_on_stack(top, arg, f) }
    }

    fn raise_default(&self, sig: u32) {
        if !(1..=64).contains(&sig) {
            return;
        }
        set_host_action(sig, SIG_DFL);
        let set = bit(sig);
        // SAFETY: unblocks one signal on the calling thread.
        unsafe { syscall::sigprocmask(g::SIG_UNBLOCK, &set, core::ptr::null_mut()) };
        syscall::tgkill(PID.load(Ordering::Relaxed), syscall::gettid(), sig);
        // Still here: the action was to stop (and the process was continued) or to ignore.
        apply_route(sig);
    }

    fn fpstate_size(&self) -> usize {
        xstate().0 + 4
    }

    unsafe fn save_fpstate(&self, dst: usize) {
        let (size, features) = xstate();
        // SAFETY: the caller vouches for `size + 4` writable bytes at the 64-aligned `dst`;
        // XSAVE writes the legacy area, the header and the requested components, all within
        // `size` (CPUID's layout).
        unsafe {
            arch::lintel_host_xsave(dst, features);
            let sw = dst + 464;
            (sw as *mut u32).write(0x4650_5853); // FP_XSTATE_MAGIC1
            ((sw + 4) as *mut u32).write(size as u32 + 4); // extended_size
            ((sw + 8) as *mut u64).write(features); // xfeatures
            ((sw + 16) as *mut u32).write(size as u32); // xstate_size
            core::ptr::write_bytes((sw + 20) as *mut u8, 0, 28); // padding
            ((dst + size) as *mut u32).write(0x4650_5845); // FP_XSTATE_MAGIC2
        }
    }
}

/// [`Delivery::resume`] through the host's `rt_sigreturn` (every register, the FP state and the
/// host mask in one step): when the user-space resume cannot be used, or a kick must be
/// re-raised.
///
/// # Safety
/// As [`Delivery::resume`]; `t` is the calling thread's record.
unsafe fn resume_through_kernel(t: &Tcb, ucontext: usize, redeliver: bool) -> ! {
    // From here to the switch no host handler may run on lintel's code (the hook would
    // build a frame over the stack we stand on): block them all; rt_sigreturn installs the
    // frame's host mask, and what arrived meanwhile is delivered on the resumed context.
    let block = HANDLER_MASK;
    // SAFETY: blocks signals on the calling thread; rt_sigreturn replaces the mask.
    unsafe { syscall::sigprocmask(g::SIG_BLOCK, &block, core::ptr::null_mut()) };
    // The span ends here (Interrupt::leave's job); a kick posted during it is not lost.
    let posted = t.inbox.swap(0, Ordering::Relaxed) != 0;
    t.span.store(0, Ordering::Relaxed);
    if redeliver || posted {
        // A kick that arrives once rt_sigreturn has installed the frame's host mask (which
        // does not block it): the hook then runs on the resumed context.
        t.kick.store(1, Ordering::SeqCst);
        syscall::tgkill(
            PID.load(Ordering::Relaxed),
            syscall::gettid(),
            INTERRUPT_SIGNAL,
        );
    }
    let mask = t.arrivals.requeued.load(Ordering::Relaxed);
    let stack = [t.altstack() as u64, 0, t.altstack_size as u64];
    let mut ok = true;
    // SAFETY: the caller's context, in memory lintel has just read or written; the
    // accessors are fault-tolerant.
    unsafe {
        ok &= HOST
            .write(
                ucontext + core::mem::offset_of!(Ucontext, uc_sigmask),
                &mask.to_ne_bytes(),
            )
            .is_ok();
        let mut b = [0u8; 24];
        for (c, w) in b.chunks_exact_mut(8).zip(stack) {
            c.copy_from_slice(&w.to_ne_bytes());
        }
        ok &= HOST
            .write(ucontext + core::mem::offset_of!(Ucontext, uc_stack), &b)
            .is_ok();
    }
    if !ok {
        // The frame went bad under us: Linux would kill with SIGSEGV.
        HOST.raise_default(g::SIGSEGV);
        syscall::fatal("lintel-host: cannot resume a context\n");
    }
    // SAFETY: the caller's contract; the frame is a Linux rt_sigframe.
    unsafe { arch::lintel_host_resume(ucontext) }
}

/// The user-space resume's way back to the kernel's: a kick was posted while its span was on
/// (`arch::lintel_host_resume_user`, on the delivery stack, with the span on again).
pub(crate) extern "C" fn lintel_host_resume_posted(ucontext: usize) -> ! {
    // SAFETY: the context `resume` was given (and checked), still intact: only the FP state
    // was loaded since, and the kernel's path loads it again.
    unsafe { resume_through_kernel(tcb::current(), ucontext, false) }
}

/// For lintel's own tests only: lets a context with `EFLAGS.TF` resume in user space too, so
/// that a test single-stepping a thread traps at every instruction of the resume routine (in
/// production such a context goes through the kernel, which traps after the context's first
/// instruction, as Linux does).
#[doc(hidden)]
pub static RESUME_TF_FOR_TESTS: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// The user-space resume's window, `[first, last]` instruction addresses, for tests that
/// interrupt a thread at each of them.
#[doc(hidden)]
pub fn resume_window_for_tests() -> (usize, usize) {
    let (open, _, jump) = arch::resume_window();
    (open, jump)
}

/// `EFLAGS.TF`: a context that single-steps resumes through the kernel.
const EFLAGS_TF: u64 = 0x100;
/// Linux's `__USER_CS` and `__USER_DS`.
const USER_CS: u16 = 0x33;
const USER_SS: u16 = 0x2b;
/// The XSAVE area's software-reserved magic words (`FP_XSTATE_MAGIC1`, `FP_XSTATE_MAGIC2`).
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;

/// Whether the context at `ucontext` can be resumed in user space
/// (`arch::lintel_host_resume_user`): no single-step flag, the user code and stack selectors,
/// and either no FP area (a fresh state) or one the kernel's `rt_sigreturn` would take as an
/// XSAVE frame and `XRSTOR` accepts (64-aligned, both magic words for this CPU's frame size, a
/// standard-format header naming only this frame's features, zero reserved header bytes, MXCSR
/// without reserved bits). Anything else goes through the kernel, which applies Linux's own
/// rules to it.
fn user_resumable(ucontext: usize) -> bool {
    use crate::arch::Sigcontext;
    use core::mem::offset_of;
    // The words from `eflags` to `fpstate` (the selectors among them), read at once.
    const FROM: usize = offset_of!(Sigcontext, eflags);
    const LEN: usize = offset_of!(Sigcontext, fpstate) + 8 - FROM;
    let mut b = [0u8; LEN];
    if HOST
        .read(ucontext + offset_of!(Ucontext, uc_mcontext) + FROM, &mut b)
        .is_err()
    {
        return false;
    }
    let word =
        |field: usize| u64::from_ne_bytes(b[field - FROM..][..8].try_into().unwrap_or_default());
    let half =
        |field: usize| u16::from_ne_bytes(b[field - FROM..][..2].try_into().unwrap_or_default());
    let tf = word(offset_of!(Sigcontext, eflags)) & EFLAGS_TF != 0
        && !RESUME_TF_FOR_TESTS.load(Ordering::Relaxed);
    if tf
        || half(offset_of!(Sigcontext, cs)) != USER_CS
        || half(offset_of!(Sigcontext, ss)) != USER_SS
    {
        return false;
    }
    let fp = word(offset_of!(Sigcontext, fpstate)) as usize;
    if fp == 0 {
        return true;
    }
    if fp % 64 != 0 {
        return false;
    }
    let (size, features) = xstate();
    // Word loads (each a single fault-tolerant `mov`; the offsets are 4-aligned).
    let u32_at = |at: usize| HOST.load_u32(at).ok();
    let check = || -> Option<bool> {
        let mxcsr = u32_at(fp.checked_add(24)?)?;
        let magic1 = u32_at(fp.checked_add(464)?)?;
        let sw_size = u32_at(fp.checked_add(464 + 16)?)?;
        let magic2 = u32_at(fp.checked_add(size)?)?;
        let mut header = [0u8; 64];
        HOST.read(fp.checked_add(512)?, &mut header).ok()?;
        let xstate_bv = u64::from_ne_bytes(header[..8].try_into().ok()?);
        Some(
            mxcsr & 0xffff_0000 == 0
                && magic1 == FP_XSTATE_MAGIC1
                && sw_size as usize == size
                && magic2 == FP_XSTATE_MAGIC2
                && xstate_bv & !features == 0
                && header[8..].iter().all(|&x| x == 0),
        )
    };
    check() == Some(true)
}

/// Called by the interrupt hook's runner (`interrupt::run_hook`) before the hook sees `uc`, the
/// context a host handler interrupted on the calling thread `t`: inside the user-space
/// resume's window (after its span ended, up to its jump) the interrupted registers are
/// replaced by those of the context being resumed, so the hook acts as if the jump had been
/// made (the FP state is that context's already). See `arch::resume_x86_64`.
pub(crate) fn resume_window_fixup(t: &Tcb, uc: &mut Ucontext) {
    use crate::arch::Sigcontext;
    let (open, switched, jump) = arch::resume_window();
    let rip = uc.uc_mcontext.rip as usize;
    if !(open..=jump).contains(&rip) {
        return;
    }
    let (pc, rdi) = arch::resume_slots(t);
    let m = &mut uc.uc_mcontext;
    if rip < switched {
        // Still on lintel's stack: rdi holds the address of the resumed `uc_mcontext` (above
        // this handler's frame, or on the program's stack).
        let mut b = [0u8; core::mem::size_of::<Sigcontext>()];
        if HOST.read(m.rdi as usize, &mut b).is_err() {
            return; // not reached: the routine reads the same bytes
        }
        // SAFETY: plain integers.
        let c: Sigcontext = unsafe { core::ptr::read_unaligned(b.as_ptr().cast()) };
        m.r8 = c.r8;
        m.r9 = c.r9;
        m.r10 = c.r10;
        m.r11 = c.r11;
        m.r12 = c.r12;
        m.r13 = c.r13;
        m.r14 = c.r14;
        m.r15 = c.r15;
        m.rsi = c.rsi;
        m.rbp = c.rbp;
        m.rbx = c.rbx;
        m.rdx = c.rdx;
        m.rax = c.rax;
        m.rcx = c.rcx;
        m.rsp = c.rsp;
        m.eflags = c.eflags;
    }
    // After the switch every register but rdi and rip is the resumed context's already.
    m.rdi = rdi;
    m.rip = pc;
}

/// `(xstate_size, features)`, computed once.
fn xstate() -> (usize, u64) {
    let size = XSTATE_SIZE.load(Ordering::Relaxed);
    if size != 0 {
        return (size, XFEATURES.load(Ordering::Relaxed));
    }
    let Some((size, features)) = arch::xstate_geometry() else {
        syscall::fatal("lintel-host: signal frames need a CPU with XSAVE enabled\n");
    };
    XFEATURES.store(features, Ordering::Relaxed);
    XSTATE_SIZE.store(size, Ordering::Relaxed);
    (size, features)
}

/// The calling thread's record, for tests.
#[doc(hidden)]
pub fn arrivals_waiting() -> usize {
    let t: &Tcb = tcb::current();
    t.arrivals
        .tail
        .load(Ordering::Relaxed)
        .wrapping_sub(t.arrivals.head.load(Ordering::Relaxed)) as usize
}
