//! The signal layer wired into the dispatcher: the signal syscalls, and delivery.
//!
//! `lintel-signals` keeps the state (dispositions, masks, pending sets, the siginfo queue) and
//! lays out frames; this module connects it to the calls and to the port:
//!
//! - **Calls** emulated here: `rt_sigaction`, `rt_sigprocmask`, `rt_sigpending`,
//!   `rt_sigsuspend`, `pause`, `rt_sigtimedwait`, `sigaltstack`, and `kill`, `tkill`, `tgkill`,
//!   `rt_sigqueueinfo`, `rt_tgsigqueueinfo` aimed at this process (aimed elsewhere they go to
//!   the port).
//! - **Signals from outside** (`SignalRoute::Forward`): the port records them as arrivals on the
//!   receiving thread; every delivery point first drains them into the pending sets
//!   ([`Lintel::drain_arrivals`]), as Linux's `send_signal` would have queued them.
//! - **Delivery points**: the exit of every call that a front door made with its register
//!   context ([`Entry`]), `rt_sigreturn`, and the port's interrupt hook on a thread running
//!   user code. Each dequeues deliverable signals in Linux's order and, for a handler, writes a
//!   frame ([`lintel_signals::setup_frame`]); the last frame's handler entry is resumed through
//!   the port ([`lintel_kernel::Delivery::resume`]).
//! - **Restarts** (Linux's `arch_do_signal_or_restart`): an interrupted call reports
//!   [`Interrupted`]; with a handler, `ERESTARTSYS` restarts only under `SA_RESTART`,
//!   `ERESTARTNOINTR` always, `ERESTARTNOHAND` and the restart block never (`EINTR`); with no
//!   handler every kind restarts. A restarted call re-enters the front door with its original
//!   registers, so a cancellation handler sees the PC at the door's start, inside musl's
//!   `[__cp_begin, __cp_end)` for a cancellation point.
//!
//! Default actions that terminate, dump core or stop are done by the port natively
//! ([`lintel_kernel::Delivery::raise_default`]), so a parent sees native wait statuses.
//!
//! The layer is *activated* by the first signal call a process makes ([`Lintel::activate`]):
//! until then the host's own dispositions and mask are exactly lintel's (all default, or
//! inherited as ignored), so nothing needs forwarding. Activation imports the host mask and
//! ignored dispositions, routes every other signal to lintel, and clears the host mask.

use core::sync::atomic::{AtomicU8, Ordering};

use lintel_kernel::abi::Sigcontext;
use lintel_kernel::{Errno, Kernel, SignalRoute};
use lintel_signals::action::{DefaultAction, SIG_DFL, SIG_IGN};
use lintel_signals::siginfo::{SigInfo, code};
use lintel_signals::sigset::{SigSet, Signal};
use lintel_signals::{FpSource, KSigaction, Sent, Target, ThreadList, ThreadSignals};
use linux_raw_sys::general as nr;

use crate::Lintel;

/// The process's signal state (one per process, usually a `static`).
pub type ProcessSignals = lintel_signals::Signals<{ lintel_signals::DEFAULT_QUEUE }>;

/// What a front door saved when the program called it (x86_64): the callee-saved registers,
/// the stack pointer at the call (pointing at the return address), the door's first
/// instruction (re-entering there with the same registers makes the call again), and the
/// argument registers as passed. Delivery builds the interrupted context from it.
#[derive(Copy, Clone, Debug, Default)]
#[repr(C)]
pub struct Entry {
    /// `rbx` at the call.
    pub rbx: u64,
    /// `rbp` at the call.
    pub rbp: u64,
    /// `r12` at the call.
    pub r12: u64,
    /// `r13` at the call.
    pub r13: u64,
    /// `r14` at the call.
    pub r14: u64,
    /// `r15` at the call.
    pub r15: u64,
    /// `rsp` at the call: `(rsp)` is the return address.
    pub rsp: u64,
    /// The front door's first instruction.
    pub restart_pc: u64,
    /// `rdi` as passed.
    pub rdi: u64,
    /// `rsi` as passed.
    pub rsi: u64,
    /// `rdx` as passed.
    pub rdx: u64,
    /// `rcx` as passed.
    pub rcx: u64,
    /// `r8` as passed.
    pub r8: u64,
    /// `r9` as passed.
    pub r9: u64,
}

static_assertions::const_assert_eq!(size_of::<Entry>(), 14 * 8);

/// How an interrupted call wants to be finished (Linux's internal restart codes).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// `-ERESTARTSYS`: restart if no handler runs or it has `SA_RESTART`; else `EINTR`.
    Sys,
    /// `-ERESTARTNOINTR`: always restart.
    NoIntr,
    /// `-ERESTARTNOHAND`: restart if no handler runs; else `EINTR`.
    NoHand,
    /// `-ERESTART_RESTARTBLOCK`: the restart block if no handler runs; else `EINTR`.
    Block,
    /// The port refused to start the call (a signal was already waiting): as `NoIntr`, the
    /// signal is delivered first and the call then made.
    NotStarted,
}

/// Linux's `__USER_CS` and `__USER_DS` (the selectors a 64-bit frame carries).
const USER_CS: u16 = 0x33;
const USER_SS: u16 = 0x2b;
/// `EFLAGS` of a context built at a front door (IF and the always-one bit 1).
const EFLAGS_AT_DOOR: u64 = 0x202;

/// The real uid senders put in siginfo: bit 32 says it is known, bits 33.. count uid changes
/// (so a `getuid` answer that raced with a change is not kept), the low 32 bits are the uid.
static UID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
const UID_KNOWN: u64 = 1 << 32;
const UID_EPOCH: u64 = !((1 << 33) - 1);

/// This process's pid, once asked (0: not yet); cleared in a fork child.
pub(crate) static PID: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);

/// Activation state (see the module docs).
static ACTIVE: AtomicU8 = AtomicU8::new(0);
const INACTIVE: u8 = 0;
const ACTIVATING: u8 = 1;
const ACTIVE_DONE: u8 = 2;

/// Whether the signal layer is active in this process.
#[inline]
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::Acquire) == ACTIVE_DONE
}

/// The process's threads that take part in delivery, as the signal layer walks them.
pub(crate) struct Walk<'k, K: Kernel>(pub(crate) &'k K);

impl<'k, K: Kernel> Walk<'k, K> {
    /// Calls `f` with every live thread's handle and signal words.
    fn for_each_thread(&self, f: &mut dyn FnMut(K::Thread, ThreadSignals<'k>)) {
        let k = self.0;
        k.for_each_thread(&mut |t| {
            let v = ThreadSignals::new(k.locals_of(t), k.tid(t));
            if v.is_live() {
                f(t, v);
            }
        });
    }

    /// The live thread with Linux tid `tid`.
    fn find(&self, tid: i32) -> Option<K::Thread> {
        let mut found = None;
        self.for_each_thread(&mut |t, v| {
            if found.is_none() && v.tid() == tid {
                found = Some(t);
            }
        });
        found
    }
}

impl<K: Kernel> ThreadList for Walk<'_, K> {
    fn for_each(&self, f: &mut dyn FnMut(ThreadSignals<'_>)) {
        self.for_each_thread(&mut |_, v| f(v));
    }
}

/// The action a dequeued signal gets.
enum Disposition {
    /// Nothing happens (ignored, or a default action of ignore or continue).
    Nothing,
    /// The port's native default action (terminate, core, stop).
    Native,
    /// A handler frame.
    Handler(KSigaction, SigSet),
}

impl<'a, K: Kernel> Lintel<'a, K> {
    /// The signal state, if this dispatcher has one.
    fn sig(&self) -> Option<&'a ProcessSignals> {
        self.signals
    }

    /// The calling thread's signal words, registering the thread on first use (a thread lintel
    /// did not create starts with the host's mask).
    pub(crate) fn me(&self) -> ThreadSignals<'a> {
        let me = self.my_words();
        if !me.is_live() && me.state() & lintel_signals::process::EXITED == 0 {
            if let Some(s) = self.sig() {
                s.register(me, self.host_mask());
            }
        }
        me
    }

    /// The calling thread's signal words, as they are (no registration).
    #[inline]
    fn my_words(&self) -> ThreadSignals<'a> {
        let k = self.kernel;
        let t = k.current();
        ThreadSignals::new(k.locals_of(t), k.tid(t))
    }

    /// The per-thread words a thread created by the calling one starts with (for
    /// `lintel_clone::CloneRequest::child_words`): the creator's blocked mask, and the mark
    /// that makes it take part in delivery at once.
    pub fn signal_mask_for_child(&self) -> [Option<(usize, usize)>; 3] {
        if self.sig().is_none() {
            return [None; 3];
        }
        let me = self.me();
        [
            Some((ThreadSignals::BLOCKED_WORD, me.blocked().bits() as usize)),
            // A thread sharing the address space starts without an alternate stack (Linux's
            // sas_ss_reset in copy_process).
            Some((ThreadSignals::ALT_FLAGS_WORD, nr::SS_DISABLE as usize)),
            Some((ThreadSignals::STATE_WORD, lintel_signals::process::LIVE)),
        ]
    }

    /// The host's blocked mask of the calling thread (what an adopted thread starts with).
    fn host_mask(&self) -> SigSet {
        let mut old = 0u64;
        // SAFETY: rt_sigprocmask with a NULL set only writes the 8-byte `old`.
        let r = unsafe {
            self.kernel.passthrough(
                nr::__NR_rt_sigprocmask as usize,
                [0, 0, &mut old as *mut u64 as usize, 8, 0, 0],
            )
        };
        match r {
            lintel_kernel::Passed::Done(0) => SigSet::from_bits(old),
            _ => SigSet::EMPTY,
        }
    }

    /// Activates the signal layer (once per process; see the module docs).
    pub fn activate(&self) {
        let Some(s) = self.sig() else { return };
        if ACTIVE.load(Ordering::Acquire) == ACTIVE_DONE {
            return;
        }
        if ACTIVE
            .compare_exchange(INACTIVE, ACTIVATING, Ordering::Acquire, Ordering::Acquire)
            .is_err()
        {
            while ACTIVE.load(Ordering::Acquire) != ACTIVE_DONE {
                self.kernel.yield_now();
            }
            return;
        }
        let me = self.me();
        let walk = Walk(self.kernel);
        for n in 1..=64u32 {
            let sig = Signal::of(n);
            if SigSet::UNBLOCKABLE.contains(sig) {
                continue;
            }
            let mut old = [0u8; 32];
            // SAFETY: a query of the host's action into our 32-byte buffer.
            let r = unsafe {
                self.kernel.passthrough(
                    nr::__NR_rt_sigaction as usize,
                    [n as usize, 0, old.as_mut_ptr() as usize, 8, 0, 0],
                )
            };
            let ignored = r == lintel_kernel::Passed::Done(0)
                && KSigaction::from_bytes(&old).handler == SIG_IGN;
            if ignored {
                let act = KSigaction {
                    handler: SIG_IGN,
                    ..KSigaction::DEFAULT
                };
                let _ = s.sigaction(&walk, i64::from(n), Some(act));
                self.kernel.route_signal(n, SignalRoute::Ignore);
            } else {
                self.kernel.route_signal(n, SignalRoute::Forward);
            }
        }
        // Linux bounds queued signals by RLIMIT_SIGPENDING.
        let mut lim = [0u64; 2];
        // SAFETY: prlimit64(0, RLIMIT_SIGPENDING, NULL, &old) writes 16 bytes to `lim`.
        let r = unsafe {
            self.kernel.passthrough(
                nr::__NR_prlimit64 as usize,
                [
                    0,
                    nr::RLIMIT_SIGPENDING as usize,
                    0,
                    lim.as_mut_ptr() as usize,
                    0,
                    0,
                ],
            )
        };
        if r == lintel_kernel::Passed::Done(0) {
            s.set_queue_limit(usize::try_from(lim[0]).unwrap_or(usize::MAX));
        }
        // The host mask now lives in lintel (`me` imported it); the host blocks nothing, so
        // every arrival reaches the forwarder.
        let empty = 0u64;
        // SAFETY: sets the calling thread's host mask from our 8-byte buffer.
        let _ = unsafe {
            self.kernel.passthrough(
                nr::__NR_rt_sigprocmask as usize,
                [
                    nr::SIG_SETMASK as usize,
                    &empty as *const u64 as usize,
                    0,
                    8,
                    0,
                    0,
                ],
            )
        };
        let _ = me;
        ACTIVE.store(ACTIVE_DONE, Ordering::Release);
        // Linux keeps the interval timers across exec: those the previous program left.
        self.import_itimers();
    }

    /// Moves the calling thread's arrivals (signals from outside) into the pending sets.
    pub(crate) fn drain_arrivals(&self) {
        let Some(s) = self.sig() else { return };
        while let Some(a) = self.kernel.take_arrival() {
            let Some(sig) = Signal::new(i64::from(a.sig)) else {
                continue;
            };
            let info = SigInfo::from_bytes(&a.info);
            let me = self.me();
            // A fault, a tkill from outside and the kernel's own SIGPIPE (SI_USER from this
            // very process: a write to a broken pipe) are the receiving thread's; anything
            // else (kill, sigqueue, SIGCHLD, a timer) is the process's.
            // A SIGEV_THREAD_ID timer (musl's SIGEV_THREAD timers use one) carries SI_TIMER as
            // a SIGEV_SIGNAL one does; the host prefers the thread-group leader for the latter,
            // so one that reached another thread is taken as aimed at it. (SI_QUEUE is always
            // the process's: a sigqueue to the process is far more common than an
            // rt_tgsigqueueinfo to one of its threads from outside, and the host spreads the
            // former over the threads under load.)
            let pid = self.pid();
            let thread_directed = (SigSet::SYNCHRONOUS.contains(sig) && info.code > 0)
                || info.code == code::SI_TKILL
                || (a.sig == nr::SIGPIPE && info.code == code::SI_USER && info.pid() == pid)
                || (info.code == code::SI_TIMER && me.tid() != pid);
            if SigSet::SYNCHRONOUS.contains(sig) && info.code > 0 {
                // Linux's force_sig_info: a blocked or ignored fault is forced to the default.
                if me.blocked().contains(sig) || s.action(sig).handler == SIG_IGN {
                    self.kernel.raise_default(a.sig);
                }
            }
            let target = if thread_directed {
                Target::Thread(me)
            } else {
                Target::Process(self.leader(pid).unwrap_or(me))
            };
            if let Ok(Sent::Pending {
                wake: Some(tid), ..
            }) = s.send(&Walk(self.kernel), sig, &info, target)
            {
                self.notify(tid);
            }
        }
        self.signalfd_sync();
    }

    /// Tells some other thread that does not block `sig` that the process has it pending
    /// (Linux's `retarget_shared_pending`, one signal).
    pub(crate) fn retarget(&self, sig: Signal) {
        let Some(s) = self.sig() else { return };
        let k = self.kernel;
        let me = k.current();
        let mut target = None;
        Walk(k).for_each_thread(&mut |t, v| {
            if target.is_none() && t != me && !v.blocked().contains(sig) {
                s.mark_sigpending(v);
                target = Some(t);
            }
        });
        if let Some(t) = target {
            k.interrupt(t);
            k.kick(t);
        }
    }

    /// `rt_sigprocmask(how, set, oset, 8)` of the calling thread without the lock, span or
    /// delivery point ([`Lintel::fast_call`]): see [`sigprocmask_fast_for`].
    #[inline]
    pub(crate) fn sigprocmask_fast(&self, a: &[usize; 6]) -> Option<isize> {
        let s = self.sig()?;
        mask_fast(self.kernel, s, self.my_words(), a)
    }

    /// In a fork child: the parent's other threads (copied records of threads that do not
    /// exist here) stop taking part in delivery.
    pub(crate) fn forget_other_threads(&self) {
        let me = self.kernel.current();
        Walk(self.kernel).for_each_thread(&mut |t, v| {
            if t != me {
                v.store_state(0);
            }
        });
    }

    /// Calls `f` with every thread that takes part in signal delivery.
    pub(crate) fn for_each_live_thread(&self, f: &mut dyn FnMut(K::Thread)) {
        Walk(self.kernel).for_each_thread(&mut |t, _| f(t));
    }

    /// Linux's `retarget_shared_pending` after the calling thread's mask went from `old` to
    /// `new`: a process-directed signal it now blocks may have been aimed at it (a sender picks
    /// one thread that did not block it), so another thread that does not block it is told.
    pub(crate) fn retarget_newly_blocked(&self, old: SigSet, new: SigSet) {
        let Some(s) = self.sig() else { return };
        let which = s.shared_pending().intersect(new.minus(old));
        for sig in which.iter() {
            self.retarget(sig);
        }
    }

    /// Tells thread `tid` that it has a deliverable signal: ends a blocking wait and makes a
    /// thread running user code enter its delivery point. Nothing for the calling thread (it
    /// is at a delivery point already).
    pub(crate) fn notify(&self, tid: i32) {
        let k = self.kernel;
        if tid == k.tid(k.current()) {
            return;
        }
        if let Some(t) = Walk(k).find(tid) {
            k.interrupt(t);
            k.kick(t);
        }
    }

    /// Generates `sig` with `info` for thread `tid` of this process (`None`: the process).
    fn generate(&self, sig: Signal, info: &SigInfo, tid: Option<i32>) -> Result<(), Errno> {
        let Some(s) = self.sig() else {
            return Err(Errno::ENOSYS);
        };
        self.activate();
        let walk = Walk(self.kernel);
        let me = self.me();
        let target = match tid {
            None => Target::Process(self.leader(self.pid()).unwrap_or(me)),
            Some(t) if t == me.tid() => Target::Thread(me),
            Some(t) => {
                let th = walk.find(t).ok_or(Errno::ESRCH)?;
                Target::Thread(ThreadSignals::new(self.kernel.locals_of(th), t))
            }
        };
        if let Sent::Pending {
            wake: Some(tid), ..
        } = s.send(&walk, sig, info, target)?
        {
            self.notify(tid);
        }
        self.signalfd_sync();
        Ok(())
    }

    /// This process's pid.
    pub(crate) fn pid(&self) -> i32 {
        let cached = PID.load(Ordering::Relaxed);
        if cached > 0 {
            return cached;
        }
        // SAFETY: getpid takes no arguments.
        let pid = unsafe { self.passthrough(nr::__NR_getpid as usize, [0; 6]) as i32 };
        PID.store(pid, Ordering::Relaxed);
        pid
    }

    /// The thread a process-directed signal tries first: the one the pid names (the thread
    /// group leader, whose tid is the pid), as Linux's `complete_signal` does, if it takes part
    /// in delivery.
    fn leader(&self, pid: i32) -> Option<ThreadSignals<'a>> {
        let k = self.kernel;
        Walk(k)
            .find(pid)
            .map(|t| ThreadSignals::new(k.locals_of(t), pid))
    }

    /// The calling process's pid and real uid, as a sender's siginfo carries them. The uid is
    /// asked of the port once and kept until a call that may change it
    /// ([`forget_uid`](Self::forget_uid)).
    fn sender_ids(&self) -> (i32, u32) {
        let cached = UID.load(Ordering::Acquire);
        let uid = if cached & UID_KNOWN != 0 {
            cached as u32
        } else {
            // SAFETY: getuid takes no arguments.
            let r = unsafe { self.passthrough(nr::__NR_getuid as usize, [0; 6]) };
            if r >= 0 {
                // Kept only if no uid change ran meanwhile (it would have bumped the epoch).
                let _ = UID.compare_exchange(
                    cached,
                    UID_KNOWN | (cached & UID_EPOCH) | u64::from(r as u32),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
            }
            r as u32
        };
        (self.pid(), uid)
    }

    /// After a call that may change the real uid (`setuid`, `setreuid`, `setresuid`): the next
    /// sender asks the port again.
    pub(crate) fn forget_uid(n: usize) {
        if matches!(
            n as u32,
            nr::__NR_setuid | nr::__NR_setreuid | nr::__NR_setresuid
        ) {
            let v = UID.load(Ordering::Relaxed);
            UID.store(
                (v & UID_EPOCH).wrapping_add(1 << 33) & UID_EPOCH,
                Ordering::Release,
            );
        }
    }

    /// Whether `tid` names a live thread of this process.
    fn is_our_thread(&self, tid: i32) -> bool {
        tid > 0 && Walk(self.kernel).find(tid).is_some()
    }

    /// The signal syscalls; `None` if `n` is not one (or is aimed at another process, which
    /// the caller passes through).
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    pub(crate) unsafe fn signal_call(
        &self,
        n: usize,
        a: [usize; 6],
        entry: Option<&Entry>,
    ) -> Option<Result<isize, Interrupted>> {
        let s = self.sig()?;
        let k = self.kernel;
        let r = match n as u32 {
            nr::__NR_rt_sigaction => {
                self.activate();
                let sig = a[0] as i32;
                // SAFETY: the program's pointers, as rt_sigaction defines them.
                let r = unsafe { s.rt_sigaction(k, &Walk(k), a[0], a[1], a[2], a[3]) };
                if r.is_ok() && a[1] != 0 && (1..=64).contains(&sig) {
                    let sig = Signal::of(sig as u32);
                    let route = if s.action(sig).handler == SIG_IGN {
                        SignalRoute::Ignore
                    } else {
                        SignalRoute::Forward
                    };
                    k.route_signal(sig.get(), route);
                    if sig.get() == nr::SIGCHLD {
                        let f = s.action(sig).flags;
                        k.set_child_flags(
                            f & u64::from(nr::SA_NOCLDSTOP) != 0,
                            f & u64::from(nr::SA_NOCLDWAIT) != 0,
                        );
                    }
                }
                r.map(|()| 0)
            }
            nr::__NR_rt_sigprocmask => {
                self.activate();
                let me = self.me();
                let old = me.blocked();
                // SAFETY: the program's pointers.
                let r = unsafe { s.rt_sigprocmask(k, me, a[0], a[1], a[2], a[3]) }.map(|()| 0);
                self.retarget_newly_blocked(old, me.blocked());
                r
            }
            nr::__NR_rt_sigpending => {
                self.activate();
                if a[1] > 8 {
                    Err(Errno::EINVAL)
                } else {
                    let set = s.sigpending(self.me()).bits().to_ne_bytes();
                    // SAFETY: the program's output pointer, `a[1]` bytes as Linux copies.
                    unsafe { k.write(a[0], &set[..a[1]]) }.map(|()| 0)
                }
            }
            nr::__NR_rt_sigsuspend => {
                self.activate();
                if a[1] != 8 {
                    Err(Errno::EINVAL)
                } else {
                    let mut b = [0u8; 8];
                    match k.read(a[0], &mut b) {
                        Err(e) => Err(e),
                        Ok(()) => {
                            let me = self.me();
                            let old = s.suspend_mask(me, SigSet::from_bits(u64::from_ne_bytes(b)));
                            self.retarget_newly_blocked(old, me.blocked());
                            self.wait_for_signal(me);
                            return Some(Err(Interrupted::NoHand));
                        }
                    }
                }
            }
            nr::__NR_pause => {
                self.activate();
                self.wait_for_signal(self.me());
                return Some(Err(Interrupted::NoHand));
            }
            nr::__NR_rt_sigtimedwait => {
                self.activate();
                // SAFETY: the program's pointers.
                unsafe { self.sigtimedwait(a) }
            }
            nr::__NR_sigaltstack => {
                self.activate();
                let sp = entry.map_or(0, |e| e.rsp as usize);
                // SAFETY: the program's pointers.
                unsafe { self.sigaltstack(a[0], a[1], sp) }.map(|()| 0)
            }
            nr::__NR_tkill | nr::__NR_tgkill => {
                let (tgid, tid, sig) = if n as u32 == nr::__NR_tkill {
                    (None, a[0] as i32, a[1] as i32)
                } else {
                    (Some(a[0] as i32), a[1] as i32, a[2] as i32)
                };
                let (pid, uid) = self.sender_ids();
                if tid <= 0 || tgid.is_some_and(|g| g <= 0) {
                    Err(Errno::EINVAL)
                } else if tgid.is_some_and(|g| g != pid) || !self.is_our_thread(tid) {
                    return None; // another process's thread: the port's business
                } else if sig == 0 {
                    Ok(0)
                } else {
                    match Signal::new(i64::from(sig)) {
                        None => Err(Errno::EINVAL),
                        Some(sg) => {
                            let info = SigInfo::kill(sg, code::SI_TKILL, pid, uid);
                            self.generate(sg, &info, Some(tid)).map(|()| 0)
                        }
                    }
                }
            }
            nr::__NR_kill => {
                let (pid, uid) = self.sender_ids();
                if a[0] as i32 != pid {
                    return None; // a process group, or another process
                }
                let sig = a[1] as i32;
                if sig == 0 {
                    Ok(0)
                } else {
                    match Signal::new(i64::from(sig)) {
                        None => Err(Errno::EINVAL),
                        Some(sg) => {
                            let info = SigInfo::kill(sg, code::SI_USER, pid, uid);
                            self.generate(sg, &info, None).map(|()| 0)
                        }
                    }
                }
            }
            nr::__NR_signalfd4 => {
                self.activate();
                self.signalfd4(a, a[3])
            }
            nr::__NR_signalfd => {
                self.activate();
                self.signalfd4(a, 0)
            }
            nr::__NR_rt_sigqueueinfo | nr::__NR_rt_tgsigqueueinfo => {
                let tg = n as u32 == nr::__NR_rt_tgsigqueueinfo;
                let (pid, _) = self.sender_ids();
                let (tgid, tid, sig, uinfo) = if tg {
                    (a[0] as i32, Some(a[1] as i32), a[2] as i32, a[3])
                } else {
                    (a[0] as i32, None, a[1] as i32, a[2])
                };
                if tgid != pid || tid.is_some_and(|t| !self.is_our_thread(t)) {
                    return None;
                }
                let me = k.tid(k.current());
                match self.read_user_siginfo(sig, uinfo) {
                    Err(e) => Err(e),
                    Ok(_) if tid.is_some_and(|t| t <= 0) => Err(Errno::EINVAL),
                    // Not even root may pretend to be the kernel, kill() or tgkill(): those
                    // codes only to the caller's own thread id (Linux compares the pid or tid
                    // argument with the caller's tid).
                    Ok(info)
                        if (info.code >= 0 || info.code == code::SI_TKILL)
                            && tid.unwrap_or(tgid) != me =>
                    {
                        Err(Errno::EPERM)
                    }
                    Ok(_) if sig == 0 => Ok(0),
                    Ok(mut info) => match Signal::new(i64::from(sig)) {
                        None => Err(Errno::EINVAL),
                        Some(sg) => {
                            info.signo = sig;
                            self.generate(sg, &info, tid).map(|()| 0)
                        }
                    },
                }
            }
            _ => return None,
        };
        // A sigaction may have un-parked a timer (its signal no longer ignored).
        self.poke_timers();
        Some(Ok(match r {
            Ok(v) => v,
            Err(e) => e.to_ret(),
        }))
    }

    /// A `siginfo_t` from the program, as Linux's `copy_siginfo_from_user` reads it: the 48
    /// bytes of the kernel's siginfo (`EFAULT`), and for an `si_code` of no known layout the
    /// rest, which must be zero (`E2BIG`; `EFAULT` if unreadable).
    fn read_user_siginfo(&self, sig: i32, uinfo: usize) -> Result<SigInfo, Errno> {
        const KERNEL_SIGINFO: usize = 48;
        let k = self.kernel;
        let mut b = [0u8; 128];
        k.read(uinfo, &mut b[..KERNEL_SIGINFO])?;
        let info = SigInfo::from_bytes(&b);
        let c = info.code;
        // Linux's known_siginfo_layout, for the signal the call names: a positive code up to
        // the signal's own last code (sig_sicodes: SIGILL 11, SIGFPE 15, SIGSEGV 10, SIGBUS 5,
        // SIGTRAP, SIGCHLD, SIGPOLL 6, SIGSYS 2) or NSIGPOLL (6) for the others; SI_KERNEL;
        // SI_DETHREAD ..= SI_USER; SI_ASYNCNL.
        let limit = match sig as u32 {
            nr::SIGILL => 11,
            nr::SIGFPE => 15,
            nr::SIGSEGV => 10,
            nr::SIGBUS => 5,
            nr::SIGSYS => 2,
            _ => 6,
        };
        let known = c == code::SI_KERNEL
            || (c > code::SI_USER && c <= limit)
            || (-7..=0).contains(&c)
            || c == -60;
        if !known {
            k.read(uinfo + KERNEL_SIGINFO, &mut b[KERNEL_SIGINFO..])?;
            if b[KERNEL_SIGINFO..].iter().any(|&x| x != 0) {
                return Err(Errno::E2BIG);
            }
        }
        Ok(info)
    }

    /// Dequeues the calling thread's next signal outside `mask` (a POSIX timer's is handed over:
    /// a stale one dropped, a periodic timer re-armed, and the timer service told).
    pub(crate) fn take_signal(&self, me: ThreadSignals<'_>, mask: SigSet) -> Option<SigInfo> {
        let s = self.sig()?;
        let r = s.dequeue(me, mask, &mut |c| self.timer_now(c));
        self.poke_timers();
        self.signalfd_sync();
        r
    }

    /// Blocks until the calling thread has a deliverable signal (sigsuspend, pause).
    fn wait_for_signal(&self, me: ThreadSignals<'_>) {
        let Some(s) = self.sig() else { return };
        loop {
            self.drain_arrivals();
            if s.has_deliverable(me) || self.group_exit_pending().is_some() {
                return;
            }
            let _ = self.kernel.wait(None);
            self.kernel.take_interrupt();
        }
    }

    /// `rt_sigtimedwait(set, info, timeout, sigsetsize)`.
    ///
    /// # Safety
    /// The program's pointers.
    unsafe fn sigtimedwait(&self, a: [usize; 6]) -> Result<isize, Errno> {
        self.sig().ok_or(Errno::ENOSYS)?;
        let k = self.kernel;
        if a[3] != 8 {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; 8];
        k.read(a[0], &mut b)?;
        let set = SigSet::from_bits(u64::from_ne_bytes(b)).minus(SigSet::UNBLOCKABLE);
        let deadline = if a[2] != 0 {
            let mut t = [0u8; 16];
            k.read(a[2], &mut t)?;
            let sec = i64::from_ne_bytes(t[..8].try_into().unwrap_or_default());
            let nsec = i64::from_ne_bytes(t[8..].try_into().unwrap_or_default());
            if sec < 0 || !(0..lintel_kernel::abi::NSEC_PER_SEC).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
            let rel = (sec as u64)
                .saturating_mul(lintel_kernel::abi::NSEC_PER_SEC as u64)
                .saturating_add(nsec as u64);
            let now = k.now(lintel_kernel::ClockId::Monotonic);
            Some(lintel_kernel::Deadline::after(
                lintel_kernel::ClockId::Monotonic,
                now,
                rel,
            ))
        } else {
            None
        };
        let me = self.me();
        self.drain_arrivals();
        if let Some(info) = self.take_signal(me, SigSet::FULL.minus(set)) {
            return self.sigtimedwait_done(a[1], &info);
        }
        if deadline.is_some_and(|d| d.ns <= k.now(lintel_kernel::ClockId::Monotonic)) {
            return Err(Errno::EAGAIN);
        }
        let info = self.wait_dequeue(set, deadline)?;
        self.sigtimedwait_done(a[1], &info)
    }

    /// Waits until a signal of `set` is pending for the calling thread and dequeues it, as
    /// Linux's `sigtimedwait` does: the waited-for signals are unblocked meanwhile (so a
    /// process-directed one picks this thread), the mask before the wait stays "blocked" for
    /// the ignore rule (Linux's `real_blocked`: a waited-for SIGCHLD with SIG_DFL is queued,
    /// not discarded), and the mask is restored before returning. `EAGAIN` at `deadline`;
    /// `EINTR` when another deliverable signal or a group exit ends the wait.
    pub(crate) fn wait_dequeue(
        &self,
        set: SigSet,
        deadline: Option<lintel_kernel::Deadline>,
    ) -> Result<SigInfo, Errno> {
        let s = self.sig().ok_or(Errno::ENOSYS)?;
        let k = self.kernel;
        let me = self.me();
        let found = |this: &Self| {
            this.drain_arrivals();
            this.take_signal(me, SigSet::FULL.minus(set))
        };
        let old = s.begin_wait(me, set);
        let r = loop {
            if let Some(info) = found(self) {
                break Ok(info);
            }
            if s.has_deliverable(me) {
                // One of ours may have become pending since `found` looked (the waited-for
                // signals are unblocked now): Linux dequeues again after every wakeup.
                break found(self).ok_or(Errno::EINTR);
            }
            if self.group_exit_pending().is_some() {
                break Err(Errno::EINTR); // the delivery point ends the thread
            }
            match k.wait(deadline) {
                lintel_kernel::Wakeup::TimedOut => break Err(Errno::EAGAIN),
                _ => {
                    k.take_interrupt();
                }
            }
        };
        let waiting = me.blocked();
        s.end_wait(me, old);
        self.retarget_newly_blocked(waiting, old);
        r
    }

    fn sigtimedwait_done(&self, uinfo: usize, info: &SigInfo) -> Result<isize, Errno> {
        if uinfo != 0 {
            // SAFETY: the program's siginfo pointer.
            unsafe { self.kernel.write(uinfo, info.as_bytes()) }?;
        }
        Ok(info.signo as isize)
    }

    /// `sigaltstack(ss, oss)` for a thread whose stack pointer is `sp` (Linux's
    /// `do_sigaltstack` with `MINSIGSTKSZ`).
    ///
    /// # Safety
    /// The program's pointers.
    unsafe fn sigaltstack(&self, ss: usize, oss: usize, sp: usize) -> Result<(), Errno> {
        use lintel_signals::deliver::{altstack_flags, on_altstack};
        use lintel_signals::frame::StackT;
        let k = self.kernel;
        let me = self.me();
        let cur = me.altstack();
        let old = StackT::new(cur.0, altstack_flags(sp, cur), cur.1);
        if ss != 0 {
            let mut b = [0u8; 24];
            k.read(ss, &mut b)?;
            let ss_sp = usize::from_ne_bytes(b[..8].try_into().unwrap_or_default());
            let flags = i32::from_ne_bytes(b[8..12].try_into().unwrap_or_default());
            let size = usize::from_ne_bytes(b[16..].try_into().unwrap_or_default());
            if on_altstack(sp, cur) {
                return Err(Errno::EPERM);
            }
            let mode = flags & !(nr::SS_AUTODISARM as i32);
            if mode != nr::SS_DISABLE as i32 && mode != nr::SS_ONSTACK as i32 && mode != 0 {
                return Err(Errno::EINVAL);
            }
            // Linux stores the flags as given (a frame's uc_stack shows them).
            if mode == nr::SS_DISABLE as i32 {
                me.set_altstack(0, 0, flags);
            } else {
                if size < nr::MINSIGSTKSZ as usize {
                    return Err(Errno::ENOMEM);
                }
                me.set_altstack(ss_sp, size, flags);
            }
        }
        if oss != 0 {
            // SAFETY: plain data viewed as bytes.
            let bytes =
                unsafe { core::slice::from_raw_parts((&old as *const StackT).cast::<u8>(), 24) };
            // SAFETY: the program's output pointer.
            unsafe { k.write(oss, bytes) }?;
        }
        Ok(())
    }

    /// What happens to a dequeued signal (starting its delivery if a handler runs).
    fn disposition(&self, me: ThreadSignals<'_>, info: &SigInfo) -> Disposition {
        let Some(s) = self.sig() else {
            return Disposition::Nothing;
        };
        crate::stats::count_signal(info.signo as u32);
        let sig = Signal::of(info.signo as u32);
        // The action is read once, where the handler's mask is applied: another thread may
        // change it at any time, and the delivery acts on what was read.
        let before = me.blocked();
        let (act, restore) = s.begin_delivery(me, sig);
        match act.handler {
            SIG_IGN => Disposition::Nothing,
            SIG_DFL => match DefaultAction::of(sig) {
                DefaultAction::Ignore | DefaultAction::Continue => Disposition::Nothing,
                _ => Disposition::Native,
            },
            _ => {
                self.retarget_newly_blocked(before, me.blocked());
                Disposition::Handler(act, restore)
            }
        }
    }

    /// The delivery point at the exit of a call made through a front door. Returns if no
    /// handler is to run (the caller then finishes the call: its value, or a restart); else
    /// delivers on the port's delivery stack and resumes the handler.
    // Kept out of `syscall_from`'s frame (its delivery record is large): lintel runs on the
    // calling thread's stack, which may be as small as PTHREAD_STACK_MIN.
    #[inline(never)]
    pub(crate) fn deliver_at_exit(
        &self,
        entry: &Entry,
        out: Result<isize, Interrupted>,
        me: ThreadSignals<'_>,
    ) {
        let Some(s) = self.sig() else { return };
        self.drain_arrivals();
        while s.has_deliverable(me) {
            let Some(info) = self.take_signal(me, me.blocked()) else {
                break;
            };
            match self.disposition(me, &info) {
                Disposition::Nothing => continue,
                Disposition::Native => {
                    self.kernel.raise_default(info.signo as u32);
                    continue;
                }
                Disposition::Handler(act, restore) => {
                    let start = ExitDelivery {
                        lintel: *self,
                        entry: *entry,
                        out,
                        info,
                        act,
                        restore,
                    };
                    // SAFETY: `exit_delivery` copies `start` first; nothing on this stack is
                    // used afterwards (the thread resumes in a handler or the program).
                    unsafe {
                        self.kernel.on_delivery_stack(
                            exit_delivery::<K>,
                            &start as *const ExitDelivery<'_, K> as usize,
                        )
                    }
                }
            }
        }
    }

    /// Builds frames for the signal already started (`first`) and every other deliverable one,
    /// on top of `ctx`, and leaves `ctx` at the last handler's entry. `Err` if a frame could
    /// not be written (the caller forces SIGSEGV).
    fn deliver_frames(
        &self,
        me: ThreadSignals<'_>,
        ctx: &mut Sigcontext,
        mut fp: FpSource,
        first: Option<(SigInfo, KSigaction, SigSet)>,
    ) -> Result<bool, ()> {
        let Some(s) = self.sig() else {
            return Ok(false);
        };
        let mut built = false;
        let mut next = first;
        loop {
            if let Some((info, act, restore)) = next.take() {
                // SAFETY: `ctx` is the calling thread's own context; frames go on its stack.
                unsafe {
                    lintel_signals::setup_frame(self.kernel, me, ctx, fp, &info, &act, restore)
                }
                .map_err(|_| ())?;
                fp = FpSource::Fresh;
                built = true;
            }
            self.drain_arrivals();
            if !s.has_deliverable(me) {
                return Ok(built);
            }
            let Some(info) = self.take_signal(me, me.blocked()) else {
                return Ok(built);
            };
            match self.disposition(me, &info) {
                Disposition::Nothing => {}
                Disposition::Native => self.kernel.raise_default(info.signo as u32),
                Disposition::Handler(act, restore) => next = Some((info, act, restore)),
            }
        }
    }

    /// Resumes `ctx` (a handler's entry, fresh FP state) from a `ucontext` built on the
    /// calling (delivery) stack.
    fn resume_context(&self, ctx: &Sigcontext, redeliver: bool) -> ! {
        use lintel_signals::frame::{UC_FLAGS, Ucontext};
        // On the port's delivery stack (where exit delivery runs): nothing of the program's is
        // written beyond the frames Linux would write.
        let mut uc = Ucontext {
            uc_flags: UC_FLAGS,
            uc_mcontext: *ctx,
            ..Ucontext::default()
        };
        let at = &mut uc as *mut Ucontext as usize;
        // The span ends inside `resume`, atomically with the switch.
        // SAFETY: a handler's entry context in our own (delivery-stack) memory, alive until the
        // switch, which never returns.
        unsafe { self.kernel.resume(at, redeliver) }
    }

    /// Linux's `force_sigsegv`: a frame could not be written.
    fn force_segv(&self) -> ! {
        self.kernel.raise_default(nr::SIGSEGV);
        // SAFETY: ends the process (raise_default of SIGSEGV does not return in practice).
        unsafe { self.passthrough(nr::__NR_exit_group as usize, [139, 0, 0, 0, 0, 0]) };
        loop {
            self.kernel.yield_now();
        }
    }

    /// The interrupt hook's delivery point: the thread was interrupted running user code with
    /// context `regs`; writes frames for what is deliverable and edits `regs` to enter the
    /// last handler.
    ///
    /// During a group exit the thread is sent to `exit_entry` instead (on its own stack, below
    /// the interrupted frame): it must end with [`Lintel::exit_thread`].
    pub fn deliver_interrupted(
        &self,
        regs: &mut dyn lintel_kernel::Registers,
        exit_entry: extern "C" fn() -> !,
    ) {
        if self.sig().is_none() {
            return;
        }
        if self.my_words().state() & lintel_signals::process::EXITED != 0 {
            return; // already on its way out
        }
        if self.group_exit_pending().is_some() {
            let sp = (regs.sp().wrapping_sub(256) & !15).wrapping_sub(8);
            regs.set_sp(sp);
            regs.set_pc(exit_entry as usize);
            return;
        }
        let k = self.kernel;
        k.enter();
        k.take_interrupt();
        let me = self.me();
        if !me.is_live() {
            // An exiting thread takes no more signals.
            let _ = k.leave();
            return;
        }
        if let Some(mc) = regs.machine() {
            let mut ctx = *mc;
            let fp = if ctx.fpstate == 0 {
                FpSource::Fresh
            } else {
                FpSource::At(ctx.fpstate as usize)
            };
            match self.deliver_frames(me, &mut ctx, fp, None) {
                Ok(true) => *mc = ctx,
                Ok(false) => {}
                Err(()) => self.force_segv(),
            }
        }
        if k.leave() {
            // A kick or arrival landed meanwhile: the thread's next delivery point (this hook
            // again, if the port re-raises, or its next call) takes it.
        }
    }

    /// `rt_sigreturn` with the frame's `ucontext` at `uc`: restores the mask (and the alternate
    /// stack settings) from it and resumes it; signals the new mask unblocks are delivered on
    /// the resumed context.
    pub fn sigreturn(&self, uc: usize) -> ! {
        use lintel_signals::frame::Ucontext;
        let k = self.kernel;
        k.enter();
        let me = self.me();
        let mut b = [0u8; 8];
        if k.read(uc + core::mem::offset_of!(Ucontext, uc_sigmask), &mut b)
            .is_err()
        {
            self.force_segv();
        }
        if let Some(s) = self.sig() {
            let before = me.blocked();
            s.set_blocked(me, SigSet::from_bits(u64::from_ne_bytes(b)));
            self.retarget_newly_blocked(before, me.blocked());
            let mut st = [0u8; 24];
            if k.read(uc + core::mem::offset_of!(Ucontext, uc_stack), &mut st)
                .is_ok()
            {
                // Linux's restore_altstack: errors other than EFAULT are ignored.
                // SAFETY: our own copy of the frame's stack_t.
                let _ = unsafe { self.sigaltstack(st.as_ptr() as usize, 0, uc) };
            }
            self.drain_arrivals();
        }
        let redeliver = self.sig().is_some_and(|s| s.has_deliverable(me));
        // The span ends inside `resume`, atomically with the switch.
        // SAFETY: the frame the program's handler returned through.
        unsafe { k.resume(uc, redeliver) }
    }
}

/// `rt_sigprocmask(how, set, oset, 8)` of the calling thread without the lock, span or
/// delivery point, for a front door that found the thread's port words (`Threads::locals`)
/// and tid itself, in a cheaper way than the port's `current()` ([`Lintel::fast_call`] uses
/// the same path): the new mask, one barrier, a look at the pending sets (`[MASK]` in
/// `lintel-signals`' `mask.rs`). `None`: make the call through the dispatcher (statistics
/// on, the layer not active yet, the thread not registered, a bad size, `how` or `set` (the
/// dispatcher reports it in Linux's order), a shared pending signal newly blocked, or a pending
/// signal that the new mask unblocks: delivered at that call's exit). An `oset` that faults is
/// `EFAULT` after the mask changed, as on Linux.
#[inline]
pub fn sigprocmask_fast_for<K: Kernel>(
    kernel: &K,
    signals: &ProcessSignals,
    words: &[core::sync::atomic::AtomicUsize; lintel_kernel::LOCAL_WORDS],
    tid: i32,
    a: &[usize; 6],
) -> Option<isize> {
    if crate::stats::ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    mask_fast(kernel, signals, ThreadSignals::new(words, tid), a)
}

#[inline]
fn mask_fast<K: Kernel>(
    k: &K,
    s: &ProcessSignals,
    me: ThreadSignals<'_>,
    a: &[usize; 6],
) -> Option<isize> {
    if a[3] != lintel_signals::SIGSET_SIZE || !is_active() {
        return None;
    }
    let set = match a[1] {
        0 => None,
        // Two word loads: a byte copy to the stack and a wide load from it would stall.
        p if p % 4 == 0 => {
            let lo = k.load_u32(p).ok()?;
            let hi = k.load_u32(p.checked_add(4)?).ok()?;
            Some(SigSet::from_bits(u64::from(lo) | (u64::from(hi) << 32)))
        }
        p => {
            let mut b = [0u8; 8];
            k.read(p, &mut b).ok()?;
            Some(SigSet::from_bits(u64::from_ne_bytes(b)))
        }
    };
    let old = s.sigprocmask_fast(me, a[0] as i32 as i64, set)?;
    if a[2] != 0 {
        // SAFETY: the program's `oset`, 8 bytes as Linux writes.
        if let Err(e) = unsafe { k.write(a[2], &old.bits().to_ne_bytes()) } {
            return Some(e.to_ret());
        }
    }
    Some(0)
}

/// What [`exit_delivery`] needs, handed over on the old stack.
struct ExitDelivery<'a, K: Kernel> {
    lintel: Lintel<'a, K>,
    entry: Entry,
    out: Result<isize, Interrupted>,
    info: SigInfo,
    act: KSigaction,
    restore: SigSet,
}

/// The syscall-exit delivery, on the port's delivery stack: the interrupted context is the
/// call's return (or its restart), the first frame is for the signal already started.
extern "C" fn exit_delivery<K: Kernel>(arg: usize) -> ! {
    // SAFETY: `deliver_at_exit` passed an `ExitDelivery` on the old stack, intact until here;
    // copied out before anything is written to that stack.
    let start = unsafe { core::ptr::read(arg as *const ExitDelivery<'_, K>) };
    // The dispatcher is a view (references to the port and to statics), copied here.
    let this = &start.lintel;
    let e = start.entry;
    let flags = start.act.flags;
    let restart = match start.out {
        Ok(_) => false,
        Err(Interrupted::NoIntr | Interrupted::NotStarted) => true,
        Err(Interrupted::Sys) => flags & u64::from(nr::SA_RESTART) != 0,
        Err(Interrupted::NoHand | Interrupted::Block) => false,
    };
    let mut ctx = Sigcontext {
        rbx: e.rbx,
        rbp: e.rbp,
        r12: e.r12,
        r13: e.r13,
        r14: e.r14,
        r15: e.r15,
        rdi: e.rdi,
        rsi: e.rsi,
        rdx: e.rdx,
        rcx: e.rcx,
        r8: e.r8,
        r9: e.r9,
        eflags: EFLAGS_AT_DOOR,
        cs: USER_CS,
        ss: USER_SS,
        ..Sigcontext::default()
    };
    if restart {
        ctx.rip = e.restart_pc;
        ctx.rsp = e.rsp;
    } else {
        let mut ret = [0u8; 8];
        if this.kernel.read(e.rsp as usize, &mut ret).is_err() {
            this.force_segv();
        }
        ctx.rip = u64::from_ne_bytes(ret);
        ctx.rsp = e.rsp + 8;
        ctx.rax = match start.out {
            Ok(v) => v as u64,
            Err(_) => Errno::EINTR.to_ret() as u64,
        };
    }
    let me = this.me();
    match this.deliver_frames(
        me,
        &mut ctx,
        FpSource::Live,
        Some((start.info, start.act, start.restore)),
    ) {
        Ok(_) => this.resume_context(&ctx, false),
        Err(()) => this.force_segv(),
    }
}
