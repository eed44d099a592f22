//! # lintel: the syscall dispatcher
//!
//! A Linux x86_64 syscall arrives as a number and six arguments; [`Lintel::syscall`] returns
//! what Linux would (a value, or `-errno`). The calls lintel emulates go to its layers: `futex`
//! to [`lintel_futex`]; `gettid`, `set_tid_address`, the robust-list calls and a thread's `exit`
//! to [`lintel_clone`]; `arch_prctl` to [`lintel_tls`]; the signal calls to the signal layer
//! ([`signal`], over `lintel_signals`); `fork`, `exit_group` and `execve`'s signal hand-over are
//! the dispatcher's own. Everything else goes to the port's
//! [`Passthrough`](lintel_kernel::Passthrough). How the call arrived (musl's lintel arch calling
//! `__lintel_syscall`, or later a trapped `syscall` instruction) is not this crate's business:
//! the front doors live elsewhere (`musl/liblintel` for musl). [`table::route`] says where each
//! number goes.
//!
//! Every call runs inside the port's [`Interrupt`](lintel_kernel::Interrupt) span, so a host
//! interrupt never re-enters lintel while it holds a lock. A call made by a front door that
//! saved the caller's registers ([`Lintel::syscall_from`] with an [`Entry`]) is a signal
//! *delivery point* at both ends: a signal that became deliverable while the thread ran user code
//! is delivered before the call starts (checked once per call, and at most 6 rounds before one
//! call, counted in the thread's entry mark; the call is then made), and what arrived during the
//! call is delivered at its end, where handlers' frames are built and the thread continues in
//! the last handler ([`signal`] has the details). Without a front-door context
//! ([`Lintel::syscall`]) nothing is delivered: signals stay pending.
//!
//! ## Restarts
//! An interrupted call reports Linux's restart code ([`Interrupted`]: `-ERESTARTSYS`,
//! `-ERESTARTNOINTR`, `-ERESTARTNOHAND` or `-ERESTART_RESTARTBLOCK`; a passed-through call the
//! port refused to start is `NotStarted`, treated as `-ERESTARTNOINTR`), never a bare `EINTR`,
//! and its delivery point decides as Linux's `arch_do_signal_or_restart`: when no handler runs the
//! call is made again (an untimed wait unchanged, a timed one through its restart block with the
//! original absolute deadline, a passed-through call the port abandoned or never started as
//! it was); when a handler runs, the handler's frame holds either the call's restart (the front
//! door's first instruction with the call's registers) or its return with `EINTR`, by the code
//! and `SA_RESTART`. The interrupted flag is cleared first, so a restarted call can block.
//!
//! ## Exits
//! `exit` ends the calling thread (it leaves signal delivery, walks its robust list, clears its
//! tid). `exit_group` is Linux's: every other thread ends itself first, at its next delivery
//! point, through the same path ([`Lintel::group_exit_pending`]); then the port ends the process.
#![no_std]

pub mod signal;
pub mod signalfd;
pub mod stats;
pub mod timer;

pub use signal::{Entry, Interrupted, ProcessSignals};
pub use timer::TimerService;

use lintel_futex::{Bucket, FutexError, FutexTable, Restart, WaitRestart};
use lintel_kernel::{Errno, Kernel, Passed};
use linux_raw_sys::general as nr;

/// Which calls lintel emulates, and how each other call is handled.
pub mod table {
    use super::nr;

    /// How the dispatcher handles a syscall number.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub enum Route {
        /// Emulated by a lintel layer.
        Emulated,
        /// A signal call: emulated by the signal layer when the dispatcher has one (a
        /// `kill`/`tkill`/... aimed at another process still goes to the port).
        Signal,
        /// A timer call: emulated with the timer service when the dispatcher has one
        /// ([`Lintel::with_timers`](crate::Lintel::with_timers)).
        Timer,
        /// Handled as another call (`vfork` is done as `fork`: a C-call front door cannot
        /// share the parent's stack with the child).
        As(usize),
        /// Refused with this errno (cannot work through a function-call front door).
        Refused(lintel_kernel::Errno),
        /// Passed to the port unchanged.
        Passthrough,
    }

    /// Whether syscall `n` is one Linux ends with `EINTR` when a signal's handler runs, even with
    /// `SA_RESTART` (`ERESTARTNOHAND` and `ERESTART_RESTARTBLOCK` calls that may block): on the
    /// host port a forwarded signal runs a host handler, so those calls need lintel's mask on
    /// the host while they wait (`Delivery::block_arrivals`).
    pub fn ends_on_any_signal(n: usize) -> bool {
        matches!(
            n as u32,
            nr::__NR_nanosleep
                | nr::__NR_clock_nanosleep
                | nr::__NR_poll
                | nr::__NR_ppoll
                | nr::__NR_select
                | nr::__NR_pselect6
                | nr::__NR_epoll_wait
                | nr::__NR_epoll_pwait
                | nr::__NR_epoll_pwait2
                | nr::__NR_semtimedop
                | nr::__NR_io_getevents
                | nr::__NR_io_pgetevents
                | nr::__NR_msgrcv
                | nr::__NR_msgsnd
                | nr::__NR_semop
        )
    }

    /// For a relative sleep (`nanosleep`, `clock_nanosleep` without `TIMER_ABSTIME`): the
    /// indexes of its requested and remaining-time arguments. Such a sleep that something
    /// other than a signal ended goes on for the time that remains.
    pub fn sleep_args(n: usize, a: &[usize; 6]) -> Option<(usize, usize)> {
        match n as u32 {
            nr::__NR_nanosleep => Some((0, 1)),
            nr::__NR_clock_nanosleep if a[1] as u32 & nr::TIMER_ABSTIME == 0 => Some((2, 3)),
            _ => None,
        }
    }

    /// The index of the signal-mask argument of the calls that take one for their duration
    /// (`ppoll`, `pselect6`: the pointer to its `{mask, size}` pair, `epoll_pwait`,
    /// `epoll_pwait2`); the size follows it (except for `pselect6`).
    pub fn temporary_mask_arg(n: usize) -> Option<usize> {
        match n as u32 {
            nr::__NR_ppoll => Some(3),
            nr::__NR_pselect6 => Some(5),
            nr::__NR_epoll_pwait | nr::__NR_epoll_pwait2 => Some(4),
            _ => None,
        }
    }

    /// The route of syscall `n`.
    pub fn route(n: usize) -> Route {
        match n as u32 {
            nr::__NR_futex
            | nr::__NR_futex_wake
            | nr::__NR_futex_wait
            | nr::__NR_futex_requeue
            | nr::__NR_futex_waitv
            | nr::__NR_gettid
            | nr::__NR_set_tid_address
            | nr::__NR_exit
            | nr::__NR_set_robust_list
            | nr::__NR_get_robust_list
            | nr::__NR_arch_prctl
            | nr::__NR_exit_group
            | nr::__NR_fork
            | nr::__NR_clone => Route::Emulated,
            nr::__NR_rt_sigaction
            | nr::__NR_rt_sigprocmask
            | nr::__NR_rt_sigpending
            | nr::__NR_rt_sigsuspend
            | nr::__NR_rt_sigtimedwait
            | nr::__NR_pause
            | nr::__NR_sigaltstack
            | nr::__NR_tkill
            | nr::__NR_tgkill
            | nr::__NR_kill
            | nr::__NR_rt_sigqueueinfo
            | nr::__NR_rt_tgsigqueueinfo
            | nr::__NR_signalfd
            | nr::__NR_signalfd4 => Route::Signal,
            nr::__NR_timer_create
            | nr::__NR_timer_settime
            | nr::__NR_timer_gettime
            | nr::__NR_timer_getoverrun
            | nr::__NR_timer_delete
            | nr::__NR_setitimer
            | nr::__NR_getitimer
            | nr::__NR_alarm => Route::Timer,
            nr::__NR_vfork => Route::As(nr::__NR_fork as usize),
            // rt_sigreturn needs %rsp at the signal frame: it cannot be a function call. musl's
            // lintel arch reaches it through `__lintel_sigreturn` instead.
            nr::__NR_rt_sigreturn => Route::Refused(lintel_kernel::Errno::ENOSYS),
            // clone3 starts the child on the caller's registers with a new stack: not a
            // function call either. musl never issues it; a C library that does (glibc)
            // falls back to clone on ENOSYS, which musl's lintel arch reaches through
            // `__lintel_clone`.
            nr::__NR_clone3 => Route::Refused(lintel_kernel::Errno::ENOSYS),
            _ => Route::Passthrough,
        }
    }
}

/// The dispatcher: a port, the process's futex table and (optionally) its signal state.
pub struct Lintel<'a, K: Kernel> {
    kernel: &'a K,
    futex: FutexTable<'a, K>,
    signals: Option<&'a ProcessSignals>,
    timers: Option<&'a TimerService>,
}

impl<K: Kernel> Clone for Lintel<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: Kernel> Copy for Lintel<'_, K> {}

impl<K: Kernel> core::fmt::Debug for Lintel<'_, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lintel")
            .field("futex", &self.futex)
            .finish()
    }
}

impl<'a, K: Kernel> Lintel<'a, K> {
    /// A dispatcher over `kernel` with the futex buckets `buckets` (every thread of the process
    /// must use the same ones; see [`lintel_futex::buckets_for_cpus`]). Cheap: a view.
    pub fn new(kernel: &'a K, buckets: &'a [Bucket<K::Thread>]) -> Self {
        Lintel {
            kernel,
            futex: FutexTable::new(kernel, buckets),
            signals: None,
            timers: None,
        }
    }

    /// The same dispatcher with the process's signal state: the signal calls are emulated and
    /// signals delivered (see [`signal`]). Every thread must use the same `signals`.
    pub fn with_signals(mut self, signals: &'a ProcessSignals) -> Self {
        self.signals = Some(signals);
        // The timer service runs with a copy of this dispatcher: attach it again (with
        // `with_timers`, which requires references that live for the whole process).
        self.timers = None;
        self
    }

    /// The futex table.
    pub fn futex_table(&self) -> &FutexTable<'a, K> {
        &self.futex
    }

    /// `syscall(n, args...)` with Linux x86_64 numbering; returns Linux's raw result (a value,
    /// or `-errno`). With no front-door context no signal handler can be entered: signals stay
    /// pending, interrupted calls restart (or report `EINTR` if they would have to wait for a
    /// signal that is already deliverable).
    ///
    /// # Safety
    /// The arguments must be what the program passed to the syscall: lintel and the port read
    /// and write memory they point to, as Linux would.
    pub unsafe fn syscall(&self, n: usize, args: [usize; 6]) -> isize {
        // SAFETY: our caller's contract.
        unsafe { self.syscall_from(None, n, args) }
    }

    /// The calls a front door answers without entering the dispatcher (no span, no delivery
    /// point): each takes no lock and changes nothing of lintel's but the calling thread's own
    /// mask, so a signal that comes meanwhile is handled as for user code, by the port's
    /// interrupt. `None`: make the call
    /// with [`syscall_from`](Self::syscall_from). Front doors try this first; Linux's answer
    /// for these calls never needs more:
    /// - a private `FUTEX_WAKE` when nobody waits on the word (Linux returns 0 without taking
    ///   the bucket lock then);
    /// - `clock_gettime` on `CLOCK_MONOTONIC` or `CLOCK_REALTIME`, from the port's clock (the
    ///   vDSO's job on Linux); a bad pointer is `EFAULT`, as Linux's.
    /// - `rt_sigprocmask` of a registered thread when no signal must be delivered or passed on
    ///   because of it (see [`signal`]'s `sigprocmask_fast`): the mask changes lock-free,
    ///   which a concurrent sender sees by the `[MASK]` argument, so no delivery point is
    ///   missed. A front door whose thread shares another's lintel record (a `vfork` child)
    ///   must not call this.
    // Always inlined into the front door: the wake and the clock are a few nanoseconds, a call
    // of its own is a measurable part of them. The rarer cases are a call away.
    #[inline(always)]
    pub fn fast_call(&self, n: usize, args: &[usize; 6]) -> Option<isize> {
        const WAKE_PRIVATE: usize = (nr::FUTEX_WAKE | nr::FUTEX_PRIVATE_FLAG) as usize;
        if stats::ENABLED.load(Relaxed) {
            return None;
        }
        match n as u32 {
            nr::__NR_futex if args[1] as u32 as usize == WAKE_PRIVATE => {
                self.futex.wake_no_waiters(args[0]).map(|n| n as isize)
            }
            nr::__NR_clock_gettime if args[0] <= 1 => {
                Some(self.clock_gettime_fast(args[0], args[1]))
            }
            nr::__NR_clock_gettime | nr::__NR_rt_sigprocmask => self.fast_call_more(n, args),
            _ => None,
        }
    }

    /// [`fast_call`](Self::fast_call)'s cases that are not inlined into the front door.
    #[inline(never)]
    fn fast_call_more(&self, n: usize, args: &[usize; 6]) -> Option<isize> {
        match n as u32 {
            // The CPU-time clocks of this process and its threads, from the port.
            nr::__NR_clock_gettime => self.clock_gettime_cpu(args[0] as i32, args[1]),
            // The calling thread's mask, lock-free ([MASK] in lintel-signals' mask.rs).
            nr::__NR_rt_sigprocmask => self.sigprocmask_fast(args),
            _ => None,
        }
    }

    /// `clock_gettime(clock, ts)` for `CLOCK_REALTIME` (0) and `CLOCK_MONOTONIC` (1) (any other
    /// `clock` is taken as monotonic: callers check), from the port's clock; `EFAULT` for a
    /// bad `ts`. A front door may call it directly (see [`fast_call`](Self::fast_call)).
    // Always inlined: the front door's clock shortcut calls it, and the statistics check must
    // not turn it into a call of its own.
    #[inline(always)]
    pub fn clock_gettime_fast(&self, clock: usize, ts: usize) -> isize {
        if stats::enabled() {
            stats::count_syscall(nr::__NR_clock_gettime as usize);
        }
        let clock = if clock as u32 == nr::CLOCK_REALTIME {
            lintel_kernel::ClockId::Realtime
        } else {
            lintel_kernel::ClockId::Monotonic
        };
        let ns = self.kernel.now(clock);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(ns / 1_000_000_000).to_ne_bytes());
        b[8..].copy_from_slice(&(ns % 1_000_000_000).to_ne_bytes());
        // SAFETY: the program's timespec pointer, written as Linux would.
        match unsafe { self.kernel.write(ts, &b) } {
            Ok(()) => 0,
            Err(e) => e.to_ret(),
        }
    }

    /// [`syscall`](Self::syscall) made by a front door that saved the caller's registers in
    /// `entry`: the exit of the call is a delivery point, where pending signals are delivered
    /// to their handlers (so this may not return: the thread continues in a handler, and
    /// reaches the call's return, or its restart, through `rt_sigreturn`).
    ///
    /// # Safety
    /// As [`syscall`](Self::syscall); `entry` describes the calling thread's own call.
    pub unsafe fn syscall_from(&self, entry: Option<&Entry>, n: usize, args: [usize; 6]) -> isize {
        if stats::enabled() {
            stats::count_syscall(n);
        }
        let mut block: Option<WaitRestart> = None;
        let mut first = true;
        // The calling thread's signal words, looked up once for the whole call.
        let me = match self.signals {
            Some(_) if signal::is_active() => Some(self.me()),
            _ => None,
        };
        loop {
            self.kernel.enter();
            // A signal that became deliverable while the thread ran user code is Linux's to
            // deliver before the call starts (the sender's IPI brings the thread into the
            // kernel first): a delivery point with the call's restart as the context. The
            // thread's entry mark (the call's stack pointer, with a count in its low bits)
            // makes this once per call, and bounds the deliveries before a call the port
            // refuses to start: a flood of signals must not starve it. exit/exit_group never
            // wait for handlers.
            let attempts = match (entry, me) {
                (Some(e), Some(me)) => {
                    let mark = me.entry_mark();
                    if mark & !ENTRY_COUNT == e.rsp as usize {
                        mark & ENTRY_COUNT
                    } else {
                        0
                    }
                }
                _ => 0,
            };
            let before = first
                && attempts == 0
                && n as u32 != nr::__NR_exit
                && n as u32 != nr::__NR_exit_group
                && entry.zip(me).is_some_and(|(e, me)| {
                    self.drain_arrivals();
                    let deliver = self.signals.is_some_and(|s| s.has_deliverable(me));
                    if deliver {
                        me.set_entry_mark(e.rsp as usize | 1);
                    }
                    deliver
                });
            first = false;
            if let Some(code) = self.group_exit_pending() {
                // SAFETY: the process is ending; this thread's part is its own exit.
                unsafe { self.exit_thread(code) }
            }
            let mut out = match block.take() {
                _ if before => Err(Interrupted::NoIntr),
                Some(w) => self.futex_restart(&w, &mut block),
                // SAFETY: our caller's contract.
                None => unsafe { self.dispatch(n, args, entry, &mut block) },
            };
            if out == Err(Interrupted::NotStarted) {
                if attempts >= ENTRY_COUNT - 1 {
                    // Enough handlers ran before this call: it is made now (the signals that
                    // keep coming are delivered at its exit, as Linux would).
                    self.kernel.take_interrupt();
                    let _ = self.kernel.leave();
                    continue;
                }
                if let (Some(e), Some(me)) = (entry, me) {
                    me.set_entry_mark(e.rsp as usize | (attempts + 1).max(1));
                }
            } else if let (Some(e), Some(me)) = (entry, me) {
                if attempts != 0
                    && out != Err(Interrupted::NoIntr)
                    && me.entry_mark() & !ENTRY_COUNT == e.rsp as usize
                {
                    me.set_entry_mark(0);
                }
            }
            if out == Err(Interrupted::NotStarted) {
                out = Err(Interrupted::NoIntr);
            }
            // The delivery point, still inside the span: the interruption is handled here.
            loop {
                if self.kernel.is_interrupted() {
                    // A plain load first: the locked clear is for the rare interrupted call.
                    self.kernel.take_interrupt();
                }
                if let Some(code) = self.group_exit_pending() {
                    // SAFETY: the process is ending; this thread's part is its own exit.
                    unsafe { self.exit_thread(code) }
                }
                if signal::is_active() {
                    match (entry, me) {
                        (Some(e), Some(me)) => self.deliver_at_exit(e, out, me),
                        _ => self.drain_arrivals(),
                    }
                }
                if !self.kernel.leave() {
                    break;
                }
                self.kernel.enter();
            }
            match out {
                Ok(v) => return v,
                Err(kind) => {
                    // No handler ran: Linux restarts every kind of interrupted call. The
                    // bookkeeping takes the signal lock: inside a span, where no hook can run.
                    self.kernel.enter();
                    let deliverable = self.signals.is_some_and(|s| s.has_deliverable(self.me()));
                    if kind == Interrupted::NoHand {
                        if let Some(s) = self.signals {
                            let me = self.me();
                            let before = me.blocked();
                            s.end_suspend(me);
                            self.retarget_newly_blocked(before, me.blocked());
                        }
                    }
                    let _ = self.kernel.leave();
                    if entry.is_none()
                        && deliverable
                        && matches!(kind, Interrupted::NoHand | Interrupted::Block)
                    {
                        // Without a context nothing can be delivered: report what a handler
                        // would have made of it instead of waiting forever.
                        return Errno::EINTR.to_ret();
                    }
                }
            }
        }
    }

    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn dispatch(
        &self,
        n: usize,
        args: [usize; 6],
        entry: Option<&Entry>,
        block: &mut Option<WaitRestart>,
    ) -> Result<isize, Interrupted> {
        match table::route(n) {
            // SAFETY: our caller's contract.
            table::Route::Emulated => unsafe { self.emulated(n, args, block) },
            // SAFETY: as the original call (vfork takes no arguments).
            table::Route::As(other) => unsafe { self.dispatch(other, [0; 6], entry, block) },
            table::Route::Refused(e) => Ok(e.to_ret()),
            // SAFETY: our caller's contract.
            table::Route::Timer => match unsafe { self.timer_call(n, args) } {
                Some(r) => Ok(r),
                // SAFETY: our caller's contract.
                None => unsafe { self.passthrough_once(n, args) },
            },
            // SAFETY: our caller's contract.
            table::Route::Signal => match unsafe { self.signal_call(n, args, entry) } {
                Some(r) => r,
                // SAFETY: our caller's contract.
                None => unsafe { self.passthrough_once(n, args) },
            },
            // SAFETY: our caller's contract.
            table::Route::Passthrough => unsafe { self.passthrough_once(n, args) },
        }
    }

    /// The emulated calls.
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn emulated(
        &self,
        n: usize,
        args: [usize; 6],
        block: &mut Option<WaitRestart>,
    ) -> Result<isize, Interrupted> {
        if n as u32 == nr::__NR_futex {
            // SAFETY: our caller's contract.
            return unsafe { self.futex(args, block) };
        }
        if matches!(
            n as u32,
            nr::__NR_futex_wake
                | nr::__NR_futex_wait
                | nr::__NR_futex_requeue
                | nr::__NR_futex_waitv
        ) {
            // SAFETY: our caller's contract.
            return unsafe { self.futex2(n, args, block) };
        }
        // SAFETY: our caller's contract.
        Ok(unsafe { self.emulated_simple(n, args) })
    }

    /// The emulated calls that are never interrupted.
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn emulated_simple(&self, n: usize, args: [usize; 6]) -> isize {
        match n as u32 {
            nr::__NR_gettid => lintel_clone::gettid(self.kernel) as isize,
            nr::__NR_arch_prctl => {
                // SAFETY: the program's arguments (ARCH_GET_FS writes through `args[1]`).
                match unsafe { lintel_tls::arch_prctl(self.kernel, args[0], args[1]) } {
                    Ok(lintel_tls::ArchPrctl::Done(v)) => v as isize,
                    // SAFETY: our caller's contract.
                    Ok(lintel_tls::ArchPrctl::PassThrough) => unsafe { self.passthrough(n, args) },
                    Err(e) => e.to_ret(),
                }
            }
            nr::__NR_set_tid_address => {
                lintel_clone::set_tid_address(self.kernel, args[0]) as isize
            }
            nr::__NR_set_robust_list => {
                match lintel_clone::robust::set_robust_list(self.kernel, args[0], args[1]) {
                    Ok(()) => {
                        // Also tell the port (the host kernel, on the host port): then a thread
                        // killed outside lintel's control (a host SIGKILL) still releases its
                        // pshared robust mutexes. lintel's own walk at exit runs first and
                        // leaves nothing owned for the port's.
                        // SAFETY: the same arguments, which Linux's ABI defines.
                        // (Made again if the port did not start it: an interrupt was pending.)
                        let _ = unsafe { self.passthrough(n, args) };
                        0
                    }
                    Err(e) => e.to_ret(),
                }
            }
            nr::__NR_get_robust_list => {
                let me = lintel_clone::gettid(self.kernel);
                if args[0] as i32 == 0 || args[0] as i32 == me {
                    // SAFETY: the program's output pointers.
                    match unsafe {
                        lintel_clone::robust::get_robust_list(self.kernel, args[1], args[2])
                    } {
                        Ok(()) => 0,
                        Err(e) => e.to_ret(),
                    }
                } else {
                    // Another thread's list: the port knows it (every list is also registered
                    // there, see set_robust_list).
                    // SAFETY: our caller's contract.
                    unsafe { self.passthrough(n, args) }
                }
            }
            // SAFETY: fork takes no arguments.
            nr::__NR_fork => unsafe { self.fork() },
            // A raw clone through a function call: only the fork-like form can work (the child of
            // a clone with a new stack, or sharing memory, would return into lintel's frames on a
            // stack that is not theirs). musl creates threads through `__lintel_clone` instead.
            nr::__NR_clone => {
                let fork_like = args[0] as u64 & !0xff == 0 && args[1] == 0;
                if fork_like && args[0] as u32 & 0xff == nr::SIGCHLD {
                    // SAFETY: clone(SIGCHLD, 0) is fork, which takes no arguments.
                    unsafe { self.fork() }
                } else {
                    Errno::ENOSYS.to_ret()
                }
            }
            nr::__NR_exit_group => {
                // SAFETY: our caller's contract (the process ends).
                unsafe { self.exit_group(args[0] as i32) }
            }
            // SAFETY: the program asked this thread to end.
            nr::__NR_exit => unsafe { self.exit_thread(args[0] as i32) },
            _ => Errno::ENOSYS.to_ret(),
        }
    }

    /// `exit(code)` of the calling thread: its statistics, its signals (arrivals drained, a
    /// process-directed signal only it could take retargeted), its robust list, its PI futexes
    /// handed to their waiters, then the clone layer's exit (clear-tid store and wake once off
    /// the stack).
    ///
    /// # Safety
    /// As the `exit` syscall: nothing on this thread's stack may be referenced by others except
    /// through the clear-tid protocol.
    pub unsafe fn exit_thread(&self, code: i32) -> ! {
        // The list was also registered with the port (see set_robust_list); lintel walks it
        // now, so the port must not walk it again after the clear-tid store, when the joiner
        // may already have reused that memory.
        self.forget_port_robust_list();
        // The thread stops taking signals; a process-directed one only it could have taken
        // goes to another thread (Linux's retarget_shared_pending).
        if let Some(s) = self.signals {
            // From now on signals from outside go to other threads; those the host already
            // handed this one are the process's business first.
            self.kernel.block_arrivals(u64::MAX);
            self.drain_arrivals();
            let me = self.me();
            for sig in s.unregister(me).iter() {
                self.retarget(sig);
            }
            if self.last_thread_out() {
                // The last thread: the process ends (the timer service would keep it alive).
                lintel_clone::robust::exit_robust_list(self.kernel);
                self.print_stats();
                // SAFETY: the process ends with this thread's code, as Linux's last exit.
                unsafe {
                    self.passthrough(nr::__NR_exit_group as usize, [code as usize, 0, 0, 0, 0, 0])
                };
            }
        }
        // Linux's futex_cleanup: the robust list (which then reads as unset, so the clone
        // layer's exit walks nothing), then the PI futexes still owned go to their waiters.
        lintel_clone::robust::exit_robust_list(self.kernel);
        self.futex.exit_pi_state();
        if self.group_exit_pending().is_some() {
            // Ended by a group exit: on Linux every thread dies at once and no code of the
            // process runs after its clear-tid store; here the others still run until their
            // next delivery point, and musl's clear-tid word is `__thread_list_lock`, held by
            // the thread that exits normally (on the one shared `__unmapself` stack, for a
            // detached one). Storing 0 to it would let a second thread onto that stack while
            // the first still stands on it. The process is ending: the store is left out.
            lintel_clone::set_tid_address(self.kernel, 0);
        }
        // The thread ends here: close the span first (nothing is delivered to a thread that is
        // exiting), then leave through the clone layer's exit.
        let _ = self.kernel.leave();
        // SAFETY: our caller's contract.
        unsafe { lintel_clone::exit_thread(self.kernel, code) }
    }

    /// `exit_group(code)`: Linux stops every other thread first, and each one's death walks
    /// its robust list and clears its tid. lintel asks every other thread to exit
    /// ([`group_exit_pending`]: each does at its next delivery point, interrupted out of any
    /// wait), waits for them (bounded: a thread that does not come is left to the port's exit),
    /// walks the caller's own list, and then has the port end the process.
    ///
    /// # Safety
    /// As the `exit_group` syscall.
    unsafe fn exit_group(&self, code: i32) -> isize {
        self.print_stats();
        let k = self.kernel;
        if self.signals.is_some()
            && GROUP_EXIT
                .compare_exchange(0, code as u32 as u64 | GROUP_EXIT_SET, Relaxed, Relaxed)
                .is_ok()
        {
            let me = k.current();
            let others = |f: &mut dyn FnMut(K::Thread)| {
                self.for_each_live_thread(&mut |t| {
                    if t != me && !k.is_dead(t) {
                        f(t);
                    }
                })
            };
            others(&mut |t| {
                k.interrupt(t);
                k.kick(t);
            });
            let deadline = k.now(lintel_kernel::ClockId::Monotonic) + GROUP_EXIT_WAIT_NS;
            loop {
                let mut left = 0;
                others(&mut |_| left += 1);
                if left == 0 || k.now(lintel_kernel::ClockId::Monotonic) >= deadline {
                    break;
                }
                k.yield_now();
            }
            lintel_clone::robust::exit_robust_list(k);
            self.forget_port_robust_list();
        }
        // SAFETY: our caller's contract (the process ends).
        unsafe { self.passthrough(nr::__NR_exit_group as usize, [code as usize, 0, 0, 0, 0, 0]) }
    }

    /// `LINTEL_STATS`: the report to stderr, once per process ([`stats::report_once`]).
    fn print_stats(&self) {
        if !stats::enabled() {
            return;
        }
        stats::report_once(&mut |mut b: &[u8]| {
            while !b.is_empty() {
                // SAFETY: a write of the report's own bytes to stderr.
                let r = unsafe {
                    self.passthrough(
                        nr::__NR_write as usize,
                        [2, b.as_ptr() as usize, b.len(), 0, 0, 0],
                    )
                };
                if r <= 0 {
                    break;
                }
                b = &b[(r as usize).min(b.len())..];
            }
        });
    }

    /// Drops the calling thread's robust-list registration with the port (lintel walks the
    /// list itself; see `set_robust_list`).
    fn forget_port_robust_list(&self) {
        // SAFETY: set_robust_list(NULL, 24) only forgets the registration.
        let _ = unsafe { self.passthrough(nr::__NR_set_robust_list as usize, [0, 24, 0, 0, 0, 0]) };
    }

    /// The exit code of a group exit that another thread started, if any: the calling thread
    /// must end (with [`exit_thread`](Self::exit_thread)) at its next delivery point.
    pub fn group_exit_pending(&self) -> Option<i32> {
        let v = GROUP_EXIT.load(Relaxed);
        (v & GROUP_EXIT_SET != 0).then_some(v as u32 as i32)
    }

    /// `fork()`: every futex bucket is locked across the host fork, so that no bucket is left
    /// half-changed (or locked by a thread that does not exist) in the child; the child then
    /// empties the table (its waiters were the parent's other threads), lets the port forget
    /// those threads, and drops the parent thread's clear-tid address and robust list, as
    /// Linux's child has neither.
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn fork(&self) -> isize {
        self.kernel.before_fork();
        if self.signals.is_some() {
            let _ = self.me(); // registered before the lock is taken
        }
        let sig_guard = self.signals.map(|s| s.prepare_fork());
        let guard = self.futex.prepare_fork();
        let sfd_guard = signalfd::ForkGuard::new();
        // SAFETY: fork takes no arguments.
        let r = unsafe { self.passthrough(nr::__NR_fork as usize, [0; 6]) };
        drop(sfd_guard);
        if r == 0 {
            self.kernel.after_fork();
            if stats::enabled() {
                stats::reset(); // the child's report covers its own life
            }
            GROUP_EXIT.store(0, Relaxed);
            signal::PID.store(0, Relaxed);
            guard.in_child();
            if let Some(t) = self.timers {
                // The child has no timers (cleared with its signal state) and no service.
                t.forget();
            }
            if let Some(g) = sig_guard {
                // The child's only thread (with a new tid) keeps its mask; pending signals go,
                // and the parent's other threads stop taking part in delivery (their records
                // are copies of threads that do not exist here).
                self.forget_other_threads();
                g.in_child(self.me());
            }
            lintel_clone::after_fork(self.kernel);
            // Its signalfds get descriptors of their own (their pending sets are its own).
            self.signalfd_after_fork();
        }
        r
    }

    /// A passed-through call; a call the port abandoned before it committed is reported as
    /// interrupted (`ERESTARTSYS`: the delivery point decides between restart and `EINTR`).
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn passthrough_once(&self, n: usize, args: [usize; 6]) -> Result<isize, Interrupted> {
        if n as u32 == nr::__NR_execve || n as u32 == nr::__NR_execveat {
            // SAFETY: our caller's contract.
            return Ok(unsafe { self.execve(n, args) });
        }
        match n as u32 {
            nr::__NR_read => {
                if let Some(r) = self.signalfd_read(args) {
                    return r;
                }
            }
            nr::__NR_close => self.signalfd_close(args[0] as i32),
            // The clear-tid address is lintel's (`set_tid_address`, `CLONE_CHILD_CLEARTID`),
            // not the port's: Linux's prctl_get_tid_address, a put_user of it (no other
            // argument is looked at).
            nr::__NR_prctl if args[0] as u32 == linux_raw_sys::prctl::PR_GET_TID_ADDRESS => {
                let a = lintel_clone::tid_address(self.kernel);
                // SAFETY: the program's pointer, written as Linux would (EFAULT if bad).
                return Ok(
                    match unsafe { self.kernel.write(args[1], &a.to_ne_bytes()) } {
                        Ok(()) => 0,
                        Err(e) => e.to_ret(),
                    },
                );
            }
            _ => {}
        }
        if signal::is_active() {
            if let Some(at) = table::temporary_mask_arg(n) {
                // SAFETY: our caller's contract.
                if let Some(r) = unsafe { self.with_temporary_mask(n, args, at) } {
                    return r;
                }
            }
        }
        // Calls that any signal ends with EINTR (handler or not, on the host) must not be
        // ended by one lintel blocks: the port holds those back while the call waits.
        let hold = signal::is_active() && table::ends_on_any_signal(n);
        if hold {
            // Also the signals lintel discards (a default-ignored SIGCHLD must not end a
            // nanosleep either): they arrive, and are dropped, after the call.
            // Not those a signalfd watches: they must reach lintel to make it readable.
            let ignored = self
                .signals
                .map_or(lintel_signals::SigSet::EMPTY, |s| s.ignored());
            let held = self
                .me()
                .blocked()
                .union(ignored)
                .minus(signalfd::watched());
            self.kernel.block_arrivals(held.bits());
        }
        let mut a = args;
        // A relative sleep always gets a buffer for the remaining time (ours if the program
        // passed none), so that it can go on after an interruption that was not a signal.
        let mut rem = [0u64; 2];
        let mut req;
        let sleep = if hold { table::sleep_args(n, &a) } else { None };
        if let Some((_, rem_at)) = sleep {
            if a[rem_at] == 0 {
                a[rem_at] = rem.as_mut_ptr() as usize;
            }
        }
        let r = loop {
            // SAFETY: our caller's contract (a retry passes our own timespecs, see below).
            let r = unsafe { self.kernel.passthrough(n, a) };
            if !hold || r != Passed::Done(Errno::EINTR.to_ret()) {
                break Ok(r);
            }
            // The host ended the call with EINTR: the port's own interrupt or kick did, as
            // every signal lintel holds back is blocked on the host meanwhile. If one of the
            // program's signals is now deliverable, that is Linux's ERESTARTNOHAND /
            // ERESTART_RESTARTBLOCK case (EINTR after a handler): the delivery point decides.
            self.drain_arrivals();
            let deliverable = self.group_exit_pending().is_some()
                || self.signals.is_some_and(|s| s.has_deliverable(self.me()));
            if deliverable {
                break Err(Interrupted::NoHand);
            }
            // Otherwise no signal of the program's was involved: Linux would not have stopped
            // the call, so it goes on (a sleep for the time that remains).
            self.kernel.take_interrupt();
            if let Some((req_at, rem_at)) = sleep {
                let mut b = [0u8; 16];
                if self.kernel.read(a[rem_at], &mut b).is_err() {
                    break Ok(r);
                }
                req = [
                    u64::from_ne_bytes(b[..8].try_into().unwrap_or_default()),
                    u64::from_ne_bytes(b[8..].try_into().unwrap_or_default()),
                ];
                a[req_at] = req.as_ptr() as usize;
            }
        };
        if hold {
            self.kernel.block_arrivals(0);
        }
        Self::forget_uid(n);
        match r? {
            Passed::Done(r) => {
                if r >= 0 {
                    self.signalfd_replaced(n, args);
                    self.priority_changed(n, args);
                }
                Ok(r)
            }
            Passed::Interrupted => Err(Interrupted::Sys),
            // The signal came first: delivered before the call, which is then made.
            Passed::NotStarted => Err(Interrupted::NotStarted),
        }
    }

    /// After a successful `sched_setscheduler`, `sched_setparam` or `sched_setattr` of a thread
    /// of this process: a PI waiter's new priority moves it in its queue and along its chain
    /// (Linux's `rt_mutex_adjust_pi`, `[PI-BOOST]`).
    fn priority_changed(&self, n: usize, args: [usize; 6]) {
        if matches!(
            n as u32,
            nr::__NR_sched_setscheduler | nr::__NR_sched_setparam | nr::__NR_sched_setattr
        ) {
            self.futex.priority_changed(args[0] as i32);
        }
    }

    /// `ppoll`, `pselect6`, `epoll_pwait(2)` with a signal mask: the mask is lintel's, so it is
    /// applied here for the duration of the call (as `sigsuspend` does: a handler that ends the
    /// call returns to the old mask through its frame; any other outcome restores it at once,
    /// Linux's `restore_saved_sigmask_unless(ret == -EINTR)`), and the port gets the call
    /// without it. An interrupted call is `ERESTARTNOHAND`: `EINTR` after a handler.
    ///
    /// # Safety
    /// As [`Lintel::syscall`]; `at` is the index of the call's mask argument.
    unsafe fn with_temporary_mask(
        &self,
        n: usize,
        args: [usize; 6],
        at: usize,
    ) -> Option<Result<isize, Interrupted>> {
        let s = self.signals?;
        let mut host = args;
        let (ptr, size) = if n as u32 == nr::__NR_pselect6 {
            // The sixth argument points at { const sigset_t *ss; size_t ss_len }.
            if args[5] == 0 {
                (0, 8)
            } else {
                let mut b = [0u8; 16];
                if let Err(e) = self.kernel.read(args[5], &mut b) {
                    return Some(Ok(e.to_ret()));
                }
                let w = |i: usize| {
                    usize::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default())
                };
                (w(0), w(1))
            }
        } else {
            (args[at], args[at + 1])
        };
        if ptr == 0 {
            // No mask: an ordinary blocking call.
            return None;
        }
        if size != 8 {
            return Some(Ok(Errno::EINVAL.to_ret()));
        }
        let mut b = [0u8; 8];
        if let Err(e) = self.kernel.read(ptr, &mut b) {
            return Some(Ok(e.to_ret()));
        }
        host[at] = 0;
        let me = self.me();
        let old = s.suspend_mask(me, lintel_signals::SigSet::from_bits(u64::from_ne_bytes(b)));
        self.retarget_newly_blocked(old, me.blocked());
        let zero = lintel_kernel::abi::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let pending = s.has_deliverable(me);
        if pending {
            // The zero timeout below must not hide a bad one: Linux reads and checks the
            // caller's first (EFAULT, EINVAL).
            let at = match n as u32 {
                nr::__NR_ppoll => Some(2),
                nr::__NR_pselect6 => Some(4),
                nr::__NR_epoll_pwait2 => Some(3),
                _ => None,
            };
            if let Some(ptr) = at.map(|i| args[i]).filter(|&p| p != 0) {
                let mut t = [0u8; 16];
                let bad = match self.kernel.read(ptr, &mut t) {
                    Err(e) => Some(e),
                    Ok(()) => lintel_kernel::time::timespec_to_ns(&lintel_kernel::abi::Timespec {
                        tv_sec: i64::from_ne_bytes(t[..8].try_into().unwrap_or_default()),
                        tv_nsec: i64::from_ne_bytes(t[8..].try_into().unwrap_or_default()),
                    })
                    .err(),
                };
                if let Some(e) = bad {
                    let during = me.blocked();
                    s.end_suspend(me);
                    self.retarget_newly_blocked(during, me.blocked());
                    return Some(Ok(e.to_ret()));
                }
            }
            // Already pending and unblocked by the call's mask: Linux's wait does not sleep,
            // but ready descriptors still win over the signal (do_poll checks them first).
            match n as u32 {
                nr::__NR_epoll_pwait => host[3] = 0,
                nr::__NR_ppoll => host[2] = &zero as *const _ as usize,
                _ => {
                    host[if n as u32 == nr::__NR_pselect6 { 4 } else { 3 }] =
                        &zero as *const _ as usize
                }
            }
        }
        let ignored = s.ignored();
        let held = me.blocked().union(ignored).minus(signalfd::watched());
        self.kernel.block_arrivals(held.bits());
        // SAFETY: the program's call without its mask argument.
        let r = unsafe { self.kernel.passthrough(n, host) };
        self.kernel.block_arrivals(0);
        Some(match r {
            Passed::Interrupted | Passed::NotStarted => Err(Interrupted::NoHand),
            Passed::Done(r) if r == Errno::EINTR.to_ret() => Err(Interrupted::NoHand),
            Passed::Done(0) if pending => Err(Interrupted::NoHand),
            Passed::Done(r) => {
                let during = me.blocked();
                s.end_suspend(me);
                self.retarget_newly_blocked(during, me.blocked());
                Ok(r)
            }
        })
    }

    /// `execve`: the new program inherits the blocked mask (Linux keeps it across exec), so the
    /// host gets lintel's mask for the call and loses it again if the call fails.
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn execve(&self, n: usize, args: [usize; 6]) -> isize {
        let mask = match self.signals {
            Some(_) if signal::is_active() => Some(self.me().blocked().bits()),
            _ => None,
        };
        let set = |m: u64| {
            // SAFETY: sets the calling thread's host mask from our 8-byte buffer.
            let _ = unsafe {
                self.kernel.passthrough(
                    nr::__NR_rt_sigprocmask as usize,
                    [
                        nr::SIG_SETMASK as usize,
                        &m as *const u64 as usize,
                        0,
                        8,
                        0,
                        0,
                    ],
                )
            };
        };
        if let Some(m) = mask {
            set(m);
            self.export_pending();
        }
        // Linux keeps the interval timers (and so alarm) across exec: hand them to the port.
        let itimers = self.export_itimers(false);
        // SAFETY: our caller's contract.
        let r = unsafe { self.passthrough(n, args) };
        if mask.is_some() {
            set(0);
        }
        if itimers {
            self.export_itimers(true);
        }
        r
    }

    /// Before `execve`: Linux keeps pending signals across exec, so the calling thread's
    /// pending signals (its own and the process's, all blocked here) are queued on the port,
    /// with their siginfo, where the host mask now blocks them. If the exec fails, they come
    /// back as arrivals.
    fn export_pending(&self) {
        if self.signals.is_none() {
            return;
        }
        let me = self.me();
        let blocked = me.blocked();
        let pid = self.pid() as usize;
        while let Some(info) = self.take_signal(me, lintel_signals::SigSet::FULL.minus(blocked)) {
            // SAFETY: a siginfo of ours, queued to this very thread (any si_code is allowed
            // when the target is the caller's own process).
            let _ = unsafe {
                self.kernel.passthrough(
                    nr::__NR_rt_tgsigqueueinfo as usize,
                    [
                        pid,
                        me.tid() as usize,
                        info.signo as usize,
                        info.as_bytes().as_ptr() as usize,
                        0,
                        0,
                    ],
                )
            };
        }
    }

    /// A passed-through call, made again if the port abandoned it before it committed.
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    pub unsafe fn passthrough(&self, n: usize, args: [usize; 6]) -> isize {
        loop {
            // SAFETY: our caller's contract.
            match unsafe { self.kernel.passthrough(n, args) } {
                Passed::Done(r) => return r,
                Passed::Interrupted | Passed::NotStarted => {
                    self.kernel.take_interrupt();
                }
            }
        }
    }

    /// `futex(2)`. An interrupted wait comes back as the restart Linux would ask for; a timed
    /// wait leaves its restart block in `block`.
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn futex(
        &self,
        a: [usize; 6],
        block: &mut Option<WaitRestart>,
    ) -> Result<isize, Interrupted> {
        let r = stats::futex_call(self.kernel, stats::Op::Futex(a[1] as u32), a[0], || {
            // SAFETY: the arguments are the program's, as futex(2) defines them.
            unsafe {
                self.futex
                    .futex(a[0], a[1] as u32, a[2] as u32, a[3], a[4], a[5] as u32)
            }
        });
        self.futex_outcome(r, block)
    }

    /// The futex2 calls: `futex_wake`, `futex_wait`, `futex_requeue`, `futex_waitv`. An
    /// interrupted `futex_wait` or `futex_waitv` is `ERESTARTSYS`, timed or not (Linux's have
    /// no restart block: their deadlines are absolute, so the call is simply made again). A
    /// `futex_waitv` whose entries are all shared goes to the port whole.
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn futex2(
        &self,
        n: usize,
        a: [usize; 6],
        block: &mut Option<WaitRestart>,
    ) -> Result<isize, Interrupted> {
        let t = &self.futex;
        let (k, op) = (self.kernel, stats::Op::Futex2(n));
        let r = match n as u32 {
            nr::__NR_futex_wake => stats::futex_call(k, op, a[0], || {
                // SAFETY: the program's arguments, as the syscall defines them.
                unsafe { t.futex_wake2(a[0], a[1], a[2], a[3]) }
            }),
            nr::__NR_futex_wait => stats::futex_call(k, op, a[0], || {
                // SAFETY: the program's arguments, as the syscall defines them.
                unsafe { t.futex_wait2(a[0], a[1], a[2], a[3], a[4], a[5]) }
            }),
            nr::__NR_futex_requeue => stats::futex_call(k, op, a[0], || {
                // SAFETY: the program's arguments, as the syscall defines them.
                unsafe { t.futex_requeue2(a[0], a[1], a[2], a[3]) }
            }),
            _ => {
                let r = stats::futex_call(k, op, 0, || {
                    // SAFETY: the program's arguments, as the syscall defines them.
                    unsafe { t.futex_waitv2(a[0], a[1], a[2], a[3], a[4]) }
                });
                match r {
                    Ok(Some(index)) => Ok(index),
                    // SAFETY: the program's call, unchanged.
                    Ok(None) => return unsafe { self.passthrough_once(n, a) },
                    Err(e) => Err(e),
                }
            }
        };
        self.futex_outcome(r, block)
    }

    /// A timed wait resumed through its restart block (the original absolute deadline).
    fn futex_restart(
        &self,
        w: &WaitRestart,
        block: &mut Option<WaitRestart>,
    ) -> Result<isize, Interrupted> {
        let r = stats::futex_call(self.kernel, stats::Op::Restart, w.uaddr, || {
            self.futex.restart_wait(w).map(|()| 0)
        });
        self.futex_outcome(r, block)
    }

    fn futex_outcome(
        &self,
        r: Result<usize, FutexError>,
        block: &mut Option<WaitRestart>,
    ) -> Result<isize, Interrupted> {
        match r {
            Ok(v) => Ok(v as isize),
            Err(FutexError::Errno(e)) => Ok(e.to_ret()),
            Err(FutexError::Restart(Restart::Syscall)) => Err(Interrupted::Sys),
            Err(FutexError::Restart(Restart::NoIntr)) => Err(Interrupted::NoIntr),
            Err(FutexError::Restart(Restart::Block(w))) => {
                *block = Some(w);
                Err(Interrupted::Block)
            }
        }
    }
}

/// The low bits of a thread's entry mark: how many times signals were delivered before the
/// call it names (the rest is the call's stack pointer, 8-aligned).
const ENTRY_COUNT: usize = 7;

/// A group exit in progress: the exit code (low 32 bits) and [`GROUP_EXIT_SET`].
static GROUP_EXIT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// The flag bit of [`GROUP_EXIT`].
const GROUP_EXIT_SET: u64 = 1 << 32;
/// How long `exit_group` waits for the other threads to end themselves.
const GROUP_EXIT_WAIT_NS: u64 = 200_000_000;
use core::sync::atomic::Ordering::Relaxed;

/// The errno of a raw result, if it is one (for tests and front doors).
pub fn errno_of(r: isize) -> Option<Errno> {
    Errno::from_ret(r).err()
}
