//! Signal delivery: what the port does so that lintel can be the process's signal layer.
//!
//! lintel keeps every signal disposition, mask and pending set itself (the `signals` crate).
//! The port supplies what lintel cannot do alone:
//!
//! 1. **Signals from outside** (another process's `kill`, `SIGCHLD`, `SIGPIPE`, a fault in the
//!    program's own code): [`route_signal`](Delivery::route_signal) says what the port does
//!    when one arrives. With [`SignalRoute::Forward`] the port records it as an *arrival* on
//!    the receiving thread ([`take_arrival`](Delivery::take_arrival)), sets that thread's
//!    interrupted flag ([`crate::Notify::interrupt`]) so that a blocking wait ends, and, if the
//!    thread is running user code (outside an [`crate::Interrupt`] span), runs the interrupt
//!    hook on it at once, exactly as a kick would.
//! 2. **Resuming a saved context** ([`resume`](Delivery::resume)): `rt_sigreturn` and entering
//!    a handler both end with "load every register from this frame and continue there".
//! 3. **Default actions** ([`raise_default`](Delivery::raise_default)): terminating, dumping
//!    core and stopping are done by the underlying kernel, so a parent sees the native wait
//!    status (`WTERMSIG`, `WCOREDUMP`, `WSTOPSIG`).
//! 4. **The machine's signal-frame geometry**: the size of the FP area a frame carries.
//! 5. **What only the underlying kernel can apply**: `SIGCHLD`'s `SA_NOCLDSTOP`/`SA_NOCLDWAIT`
//!    ([`set_child_flags`](Delivery::set_child_flags)), and holding back signals lintel blocks
//!    while a blocking passed-through call waits ([`block_arrivals`](Delivery::block_arrivals)).
//!
//! On x86_64 the context format is Linux's own `struct ucontext` with an XSAVE-layout FP area
//! ([`crate::abi::Sigcontext`]), so a lintel frame is byte-for-byte a Linux `rt_sigframe`.

use crate::Threads;

/// What the port does with a signal that arrives from outside lintel.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SignalRoute {
    /// The underlying kernel's default action (the program has not asked lintel to manage it).
    Default,
    /// Discarded by the underlying kernel (`SIG_IGN`; for `SIGCHLD` that also means Linux's
    /// automatic reaping of children).
    Ignore,
    /// Recorded as an arrival for lintel (see the module docs).
    Forward,
}

/// A signal that arrived from outside lintel: its number and its 128-byte `siginfo_t`, as the
/// sender (or the kernel, for a fault) filled it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// The signal number (1..=64).
    pub sig: u32,
    /// The raw `siginfo_t`.
    pub info: [u8; 128],
}

/// Signal delivery support (see the module docs).
///
/// # Safety
/// Implementors guarantee:
/// - an arrival of a [`SignalRoute::Forward`]ed signal is never lost (it is returned by a later
///   [`take_arrival`](Delivery::take_arrival) on the receiving thread), except that a port may
///   merge a standard signal (1..=31) with an identical one still waiting there;
/// - after an arrival is recorded, the receiving thread's interrupted flag is set, and if that
///   thread is outside an `Interrupt` span the interrupt hook runs on it with the interrupted
///   registers before it executes another instruction of user code;
/// - [`resume`](Delivery::resume) restores every register of the context, including the FP
///   state the context points at (or a fresh FP state if it points at none), atomically with
///   respect to the port's own use of host signals.
pub unsafe trait Delivery: Threads {
    /// Sets what happens when `sig` (1..=64) arrives from outside. Signals the port reserves
    /// for itself are left alone.
    fn route_signal(&self, sig: u32, route: SignalRoute);

    /// How the underlying kernel treats this process's children, from the `SIGCHLD` action
    /// (Linux's `SA_NOCLDSTOP`: no `SIGCHLD` when a child stops or continues; `SA_NOCLDWAIT`:
    /// children are reaped without becoming zombies). The kernel that owns the children applies
    /// them, whatever the route of `SIGCHLD`.
    fn set_child_flags(&self, nocldstop: bool, nocldwait: bool);

    /// While the calling thread makes a blocking passed-through call that a signal would end
    /// with `EINTR` even when no handler of the program runs (Linux's `nanosleep`, `poll`,
    /// `epoll_wait`: `ERESTARTNOHAND` and `ERESTART_RESTARTBLOCK` calls), signals from outside
    /// that lintel's mask blocks (`mask`, a Linux `sigset_t`) must not reach the thread: the
    /// port keeps them pending instead (for a process-directed one, another thread may take
    /// it). `block_arrivals(0)` ends this; what was held back then arrives normally. A port
    /// whose blocking calls are not ended by such signals does nothing.
    fn block_arrivals(&self, mask: u64);

    /// The oldest arrival still waiting on the calling thread, if any.
    fn take_arrival(&self) -> Option<Arrival>;

    /// Continues the calling thread in the context saved at `ucontext` (x86_64: a Linux
    /// `struct ucontext`, whose `uc_mcontext.fpstate` points at an XSAVE-layout area with both
    /// magic markers, or is 0 for a fresh FP state). `uc_sigmask` and `uc_stack` are not
    /// applied: the mask is lintel's business and is already set; the port may overwrite
    /// both fields with its own values.
    ///
    /// The calling thread's [`crate::Interrupt`] span ends with the switch: no hook runs on
    /// lintel's code in between. With `redeliver`, or if a kick was posted during the span,
    /// the thread is kicked as it resumes, so that the interrupt hook runs on the resumed
    /// context before its first instruction (how `rt_sigreturn` delivers a signal its mask
    /// change unblocked).
    ///
    /// # Safety
    /// The context must be one the program may continue in (a signal handler's entry, or a
    /// frame the program's handler returned through); the calling thread's stack below the
    /// context's stack pointer is abandoned.
    unsafe fn resume(&self, ucontext: usize, redeliver: bool) -> !;

    /// Switches the calling thread to a stack of the port's that lintel may use while it
    /// writes signal frames onto the thread's own stack (where lintel's own call frames are),
    /// and calls `f(arg)` there. The stack is per thread and unused at this point; host signal
    /// handlers may nest below `f`'s frames.
    ///
    /// # Safety
    /// Nothing on the old stack below the current stack pointer may be used after the switch,
    /// except through `arg` until `f` has copied what it needs.
    unsafe fn on_delivery_stack(&self, f: extern "C" fn(usize) -> !, arg: usize) -> !;

    /// Performs the default action of `sig` on the process natively (terminate, dump core,
    /// stop). Returns only if the process was stopped and continued, or if the action was to
    /// ignore.
    fn raise_default(&self, sig: u32);

    /// Bytes of the FP area of a signal frame, including the 4-byte trailing magic (Linux's
    /// `xstate_sigframe_size`).
    fn fpstate_size(&self) -> usize;

    /// Saves the calling thread's current FP state (XSAVE layout, with the software bytes and
    /// both magic markers, as Linux writes it in a frame) at `dst`, which is 64-byte aligned and
    /// [`fpstate_size`](Delivery::fpstate_size) bytes long.
    ///
    /// # Safety
    /// `dst` must be writable for that many bytes (a fault is the caller's problem).
    unsafe fn save_fpstate(&self, dst: usize);
}
