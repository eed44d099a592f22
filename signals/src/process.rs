//! The process's signal state and the syscall-edge bookkeeping over it: `rt_sigaction`,
//! `rt_sigprocmask`, `rt_sigpending`, generating a signal, dequeueing one.
//!
//! [`Signals`] holds the disposition table and the process-wide pending queue under one lock
//! (see [`crate::lock`] for the ordering); each thread's blocked mask and thread-directed
//! pending set are in its own port words ([`ThreadSignals`]). Operations that Linux applies to
//! every thread of the process (flushing on `SIG_IGN`, `SIGCONT` vs stop signals, picking a
//! thread for a process-directed signal) walk a [`ThreadList`] the caller supplies.

use crate::action::{Actions, KSigaction};
use crate::lock::SpinLock;
use crate::mask::{How, ThreadSignals};
use crate::pending::{PendingQueue, Queued, SHARED};
use crate::siginfo::SigInfo;
use crate::sigset::{SIGCONT, SigSet, Signal};
use crate::sync::{AtomicBool, AtomicU64, Ordering, fence};
use crate::timer::{Fate, Itimer, Notify, Setting, Sigevent, TimerClock, Timers};
use lintel_kernel::{Errno, UserMemory};

pub use crate::mask::{EXITED, LIVE, REAL_BLOCKED, RESTORE_SAVED, SIGPENDING};

/// Default size of the pending-entry pool (Linux bounds it by `RLIMIT_SIGPENDING`, per user;
/// [`Signals::set_queue_limit`] applies that limit below this size).
pub const DEFAULT_QUEUE: usize = 1024;

/// The size of the kernel's `sigset_t`: every `sigsetsize` argument must equal it.
pub const SIGSET_SIZE: usize = 8;

/// The threads of the process, as the signal layer walks them.
pub trait ThreadList {
    /// Calls `f` once for every live thread of the process.
    fn for_each(&self, f: &mut dyn FnMut(ThreadSignals<'_>));
}

impl ThreadList for [ThreadSignals<'_>] {
    fn for_each(&self, f: &mut dyn FnMut(ThreadSignals<'_>)) {
        for t in self {
            f(*t);
        }
    }
}

/// Where a generated signal goes.
#[derive(Copy, Clone, Debug)]
pub enum Target<'a> {
    /// Thread-directed (`tkill`, `tgkill`, a fault, `SIGEV_THREAD_ID`): that thread's set.
    Thread(ThreadSignals<'a>),
    /// Process-directed (`kill`, `SIGEV_SIGNAL`, from outside): the shared set. The thread is
    /// the one Linux's sender resolved the pid to (its blocked mask decides whether an ignored
    /// signal is discarded) and the first candidate to take it.
    Process(ThreadSignals<'a>),
}

/// The result of generating a signal.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Sent {
    /// Discarded: ignored and not blocked (Linux's `prepare_signal` returning false).
    Ignored,
    /// Made pending (or dropped as already pending); `wake` is the tid of a thread that does
    /// not block it (Linux's `complete_signal` choice), which the caller must interrupt or
    /// kick, or `None` if every thread blocks it or nothing new was queued.
    Pending {
        /// What the queue did.
        queued: Queued,
        /// The thread to notify.
        wake: Option<i32>,
    },
}

struct Inner<const N: usize> {
    actions: Actions,
    queue: PendingQueue<N>,
    timers: Timers,
}

/// The signal state of one process: dispositions and pending queue, `N` queue entries.
pub struct Signals<const N: usize = DEFAULT_QUEUE> {
    inner: SpinLock<Inner<N>>,
    /// A copy of the shared pending set, written under the lock, read without it (a thread's
    /// "anything deliverable?" check at every syscall exit takes no lock).
    shared: AtomicU64,
    /// The signals the dispositions discard ([`Signals::ignored`]), kept in step by
    /// `sigaction` (initially the default-ignore set).
    ignored: AtomicU64,
    /// Set when a timer's next expiry may have moved earlier (see
    /// [`Signals::take_timer_change`]).
    timer_change: AtomicBool,
}

impl<const N: usize> core::fmt::Debug for Signals<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner
            .with(|i| f.debug_struct("Signals").field("queue", &i.queue).finish())
    }
}

impl<const N: usize> Default for Signals<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The signals `SIG_DFL` discards (Linux's default-ignore set, by the same rule as
/// [`Actions::ignores`]).
const fn default_ignored() -> u64 {
    let mut bits = 0u64;
    let mut n = 1;
    while n <= 64 {
        if crate::action::handler_ignores(crate::action::SIG_DFL, Signal::of(n)) {
            bits |= 1 << (n - 1);
        }
        n += 1;
    }
    bits
}

/// Sets `t`'s [`SIGPENDING`] bit (under the lock).
fn mark(t: ThreadSignals<'_>) {
    t.store_state(t.state() | SIGPENDING);
}

/// Linux's `recalc_sigpending` for the shared set (under the lock): `me` keeps looking at the
/// shared set while something there is deliverable to it, and stops once nothing is.
fn recalc(me: ThreadSignals<'_>, shared: SigSet) {
    let state = me.state();
    if state & LIVE == 0 {
        return;
    }
    let want = !shared.minus(me.blocked()).is_empty();
    let has = state & SIGPENDING != 0;
    if want != has {
        me.store_state(state ^ SIGPENDING);
    }
}

/// Flushes `mask` from the shared set and from every thread's pending set (a timer whose
/// signal is flushed is told).
fn flush_all<const N: usize>(i: &mut Inner<N>, threads: &(impl ThreadList + ?Sized), mask: SigSet) {
    let ignored = i.actions.ignored_set();
    let Inner { queue, timers, .. } = i;
    let timer = &mut |tag| timers.flushed(tag, ignored);
    queue.with_shared(|q, s| q.flush(s, SHARED, mask, timer));
    threads.for_each(&mut |t| {
        let mut set = t.pending();
        if !set.intersect(mask).is_empty() {
            queue.flush(&mut set, t.tid(), mask, timer);
            t.store_pending(set);
        }
    });
}

/// Drops the queued entries of thread `tid` (a timer whose signal goes is told).
fn forget_owner<const N: usize>(i: &mut Inner<N>, tid: i32) {
    let ignored = i.actions.ignored_set();
    let Inner { queue, timers, .. } = i;
    queue.forget_owner(tid, &mut |tag| timers.flushed(tag, ignored));
}

/// Linux's `prepare_signal` + `__send_signal_locked` + `complete_signal`'s choice, under the
/// lock (see [`Signals::send`]); `tag` marks a POSIX timer's signal.
fn send_locked<const N: usize>(
    i: &mut Inner<N>,
    shared_copy: &AtomicU64,
    threads: &(impl ThreadList + ?Sized),
    sig: Signal,
    info: &SigInfo,
    target: Target<'_>,
    tag: u32,
) -> Result<Sent, Errno> {
    if SigSet::STOP.contains(sig) {
        flush_all(i, threads, SIGCONT.set());
    } else if sig == SIGCONT {
        flush_all(i, threads, SigSet::STOP);
    }
    let t = match target {
        Target::Thread(t) | Target::Process(t) => t,
    };
    if let Target::Thread(t) = target {
        if t.state() & EXITED != 0 {
            // Exited since the sender found it: the signal dies with the thread, as a dead
            // thread's pending signals do.
            return Ok(Sent::Ignored);
        }
    }
    let real_blocked = t.state() & REAL_BLOCKED != 0 && t.saved_mask().contains(sig);
    if i.actions.ignores(sig) && !t.blocked().contains(sig) && !real_blocked {
        return Ok(Sent::Ignored);
    }
    let queued = match target {
        Target::Thread(t) => {
            let mut set = t.pending();
            let r = i.queue.enqueue_tagged(&mut set, t.tid(), sig, info, tag)?;
            t.store_pending(set);
            r
        }
        Target::Process(_) => {
            let r = i
                .queue
                .with_shared(|q, s| q.enqueue_tagged(s, SHARED, sig, info, tag))?;
            // Published before the masks are read ([MASK] S1): an owner unblocking without
            // the lock reads this copy.
            shared_copy.store(i.queue.shared().bits(), Ordering::Release);
            r
        }
    };
    // [MASK] S2: the pending bit is visible before any blocked mask is read (S3, below).
    fence(Ordering::SeqCst);
    let shared = matches!(target, Target::Process(_));
    let wake = if queued == Queued::AlreadyPending {
        None
    } else if !t.blocked().contains(sig) {
        if shared {
            mark(t);
        }
        Some(t.tid())
    } else if shared {
        let mut found = None;
        threads.for_each(&mut |o| {
            if found.is_none() && !o.blocked().contains(sig) {
                mark(o);
                found = Some(o.tid());
            }
        });
        found
    } else {
        None
    };
    Ok(Sent::Pending { queued, wake })
}

impl<const N: usize> Signals<N> {
    /// Every action `SIG_DFL`, nothing pending. `const`: a process keeps one in a `static`.
    #[cfg(not(lintel_loom))]
    pub const fn new() -> Self {
        Signals {
            inner: SpinLock::new(Inner {
                actions: Actions::new(),
                queue: PendingQueue::new(),
                timers: Timers::new(),
            }),
            shared: AtomicU64::new(0),
            ignored: AtomicU64::new(default_ignored()),
            timer_change: AtomicBool::new(false),
        }
    }

    /// Every action `SIG_DFL`, nothing pending (loom's atomics have no `const` constructor).
    #[cfg(lintel_loom)]
    pub fn new() -> Self {
        Signals {
            inner: SpinLock::new(Inner {
                actions: Actions::new(),
                queue: PendingQueue::new(),
                timers: Timers::new(),
            }),
            shared: AtomicU64::new(0),
            ignored: AtomicU64::new(default_ignored()),
            timer_change: AtomicBool::new(false),
        }
    }

    /// Runs `f` under the lock and refreshes the lock-free copy of the shared set.
    fn locked<R>(&self, f: impl FnOnce(&mut Inner<N>) -> R) -> R {
        self.inner.with(|i| {
            let r = f(i);
            self.shared
                .store(i.queue.shared().bits(), Ordering::Release);
            r
        })
    }

    /// The current action of `sig`.
    pub fn action(&self, sig: Signal) -> KSigaction {
        self.inner.with(|i| i.actions.get(sig))
    }

    /// `do_sigaction`: see [`Actions::sigaction`]; flushes a newly ignored signal from every
    /// pending set under the same lock. Returns the old action.
    pub fn sigaction(
        &self,
        threads: &(impl ThreadList + ?Sized),
        sig: i64,
        act: Option<KSigaction>,
    ) -> Result<KSigaction, Errno> {
        self.locked(|i| {
            let before = i.actions.ignored_set();
            let c = i.actions.sigaction(sig, act)?;
            if !c.flush.is_empty() {
                flush_all(i, threads, c.flush);
            }
            let ignored = i.actions.ignored_set();
            self.ignored.store(ignored.bits(), Ordering::Release);
            let wanted = before.minus(ignored);
            // Linux's `posix_timer_sig_unignore`: parked periodic timers fire again.
            if !wanted.is_empty() && i.timers.unignore(wanted) {
                self.timer_change.store(true, Ordering::Release);
            }
            Ok(c.old)
        })
    }

    /// The `rt_sigaction(sig, act, oact, sigsetsize)` syscall, with Linux's order of checks:
    /// `sigsetsize` (`EINVAL`), reading `act` (`EFAULT`), [`sigaction`](Self::sigaction)
    /// (`EINVAL`), writing `oact` (`EFAULT`, after the new action is installed). `sig` is an
    /// `int`: the upper half of the register is ignored, as Linux does.
    ///
    /// # Safety
    /// `oact` must be what the program passed: lintel writes 32 bytes there.
    pub unsafe fn rt_sigaction<M: UserMemory + ?Sized>(
        &self,
        mem: &M,
        threads: &(impl ThreadList + ?Sized),
        sig: usize,
        act: usize,
        oact: usize,
        sigsetsize: usize,
    ) -> Result<(), Errno> {
        if sigsetsize != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let new = if act != 0 {
            let mut b = [0u8; 32];
            mem.read(act, &mut b)?;
            Some(KSigaction::from_bytes(&b))
        } else {
            None
        };
        let old = self.sigaction(threads, sig as i32 as i64, new)?;
        if oact != 0 {
            // SAFETY: our caller's contract: the program's `oact`.
            unsafe { mem.write(oact, &old.to_bytes())? };
        }
        Ok(())
    }

    /// Sets the calling thread's blocked mask (delivery, `sigreturn`, `sigsuspend`); KILL and
    /// STOP are removed.
    pub fn set_blocked(&self, me: ThreadSignals<'_>, set: SigSet) {
        self.locked(|i| {
            me.store_blocked(set);
            recalc(me, i.queue.shared());
        });
    }

    /// `sigprocmask(how, set)` for the calling thread `me`: returns the old mask. With `set`
    /// `None`, `how` is not checked (Linux).
    pub fn sigprocmask(
        &self,
        me: ThreadSignals<'_>,
        how: i64,
        set: Option<SigSet>,
    ) -> Result<SigSet, Errno> {
        let old = me.blocked();
        if let Some(set) = set {
            let how = How::from_raw(how)?;
            self.locked(|i| {
                me.store_blocked(how.apply(old, set));
                recalc(me, i.queue.shared());
            });
        }
        Ok(old)
    }

    /// The `rt_sigprocmask(how, set, oset, sigsetsize)` syscall for the calling thread, with
    /// Linux's order: `sigsetsize` (`EINVAL`), reading `set` (`EFAULT`), `how` (`EINVAL`, only
    /// with a `set`), the new mask, then writing the *old* mask to `oset` (`EFAULT`, after the
    /// mask changed). `how` is an `int`.
    ///
    /// # Safety
    /// `oset` must be what the program passed: lintel writes 8 bytes there.
    pub unsafe fn rt_sigprocmask<M: UserMemory + ?Sized>(
        &self,
        mem: &M,
        me: ThreadSignals<'_>,
        how: usize,
        set: usize,
        oset: usize,
        sigsetsize: usize,
    ) -> Result<(), Errno> {
        if sigsetsize != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let new = if set != 0 {
            let mut b = [0u8; 8];
            mem.read(set, &mut b)?;
            Some(SigSet::from_bits(u64::from_ne_bytes(b)))
        } else {
            None
        };
        let old = self.sigprocmask(me, how as i32 as i64, new)?;
        if oset != 0 {
            // SAFETY: our caller's contract: the program's `oset`.
            unsafe { mem.write(oset, &old.bits().to_ne_bytes())? };
        }
        Ok(())
    }

    /// `sigprocmask(how, set)` for the calling thread `me` without the lock ([MASK] in
    /// `mask.rs`): returns the old mask once the new one is in place, or `None` when the call
    /// needs the locked path ([`sigprocmask`](Self::sigprocmask)) and nothing was changed (a
    /// new mask stored meanwhile is put back): `me` is not registered, `how` is bad, a pending
    /// process-directed signal becomes blocked (it must be passed on to another thread, Linux's
    /// `retarget_shared_pending`) or a pending signal becomes deliverable (it must be delivered
    /// at the call's exit). With `set` `None`, `how` is not checked (Linux).
    #[inline]
    pub fn sigprocmask_fast(
        &self,
        me: ThreadSignals<'_>,
        how: i64,
        set: Option<SigSet>,
    ) -> Option<SigSet> {
        if me.state() & (LIVE | EXITED) != LIVE {
            return None;
        }
        let old = me.blocked();
        let Some(set) = set else {
            return Some(old);
        };
        let new = How::from_raw(how).ok()?.apply(old, set);
        if new == old {
            return Some(old);
        }
        me.store_blocked_fenced(new); // [MASK] M1, M2
        let shared = SigSet::from_bits(self.shared.load(Ordering::Acquire)); // [MASK] M3
        let retarget = !shared.intersect(new.minus(old)).is_empty();
        let deliver =
            !old.minus(new).is_empty() && !me.pending().union(shared).minus(new).is_empty();
        if retarget || deliver {
            // Undone: the locked path passes the signal on, or delivers it at the call's exit.
            me.store_blocked_owner(old);
            return None;
        }
        Some(old)
    }

    /// `rt_sigpending` for `me`: signals pending for it or the process, and blocked.
    pub fn sigpending(&self, me: ThreadSignals<'_>) -> SigSet {
        self.inner
            .with(|i| me.pending().union(i.queue.shared()).intersect(me.blocked()))
    }

    /// Generates `sig` with `info` (Linux's `prepare_signal` + `__send_signal_locked` +
    /// the thread choice of `complete_signal`):
    /// 1. a stop signal flushes pending `SIGCONT` everywhere; `SIGCONT` flushes pending stop
    ///    signals everywhere (even when the signal itself is then discarded);
    /// 2. a signal that is ignored and not blocked by the target thread is discarded;
    /// 3. it is queued in the target set ([`crate::pending`] rules; `EAGAIN` when a queued
    ///    real-time signal finds the pool full);
    /// 4. the thread to notify is the target (thread-directed) or the first thread, starting
    ///    with the given one, that does not block it.
    pub fn send(
        &self,
        threads: &(impl ThreadList + ?Sized),
        sig: Signal,
        info: &SigInfo,
        target: Target<'_>,
    ) -> Result<Sent, Errno> {
        self.locked(|i| send_locked(i, &self.shared, threads, sig, info, target, 0))
    }

    /// Linux's `dequeue_signal(mask)` for the calling thread `me`: the next signal not in
    /// `mask`, thread-directed before process-directed, each by `next_signal` order; its
    /// siginfo (`si_signo` is the signal).
    ///
    /// A POSIX timer's signal is handed over as Linux's `posixtimer_deliver_signal` does: a
    /// stale one (its timer re-armed or deleted since) is dropped and the next signal taken;
    /// a periodic timer is re-armed past now on its clock, read with `now`.
    pub fn dequeue(
        &self,
        me: ThreadSignals<'_>,
        mask: SigSet,
        now: &mut dyn FnMut(TimerClock) -> Option<u64>,
    ) -> Option<SigInfo> {
        self.locked(|i| {
            let r = loop {
                let mut set = me.pending();
                let (mut info, tag) = if let Some(sig) = SigSet::next_signal(set, mask) {
                    let r = i.queue.collect_tagged(&mut set, me.tid(), sig);
                    me.store_pending(set);
                    r
                } else {
                    match i.queue.with_shared(|q, s| {
                        let sig = SigSet::next_signal(*s, mask)?;
                        Some(q.collect_tagged(s, SHARED, sig))
                    }) {
                        Some(r) => r,
                        None => break None,
                    }
                };
                if tag == 0 {
                    break Some(info);
                }
                let (valid, rearmed) = i.timers.deliver(tag, &mut info, now);
                if rearmed {
                    self.timer_change.store(true, Ordering::Release);
                }
                if valid {
                    break Some(info);
                }
            };
            recalc(me, i.queue.shared());
            r
        })
    }

    /// Whether `me` has a pending signal it does not block (thread or process set). The
    /// thread-set half is lock-free; the shared half takes the lock only if the thread's own
    /// set has nothing.
    pub fn has_deliverable(&self, me: ThreadSignals<'_>) -> bool {
        let blocked = me.blocked();
        if !me.pending().minus(blocked).is_empty() {
            return true;
        }
        me.state() & SIGPENDING != 0
            && !SigSet::from_bits(self.shared.load(Ordering::Acquire))
                .minus(blocked)
                .is_empty()
    }

    /// Makes `t` look at the shared set (a retarget chose it; see [`SIGPENDING`]).
    pub fn mark_sigpending(&self, t: ThreadSignals<'_>) {
        self.locked(|_| mark(t));
    }

    /// The signals whose disposition discards them (`SIG_IGN`, or `SIG_DFL` with a default
    /// action of ignore).
    pub fn ignored(&self) -> SigSet {
        SigSet::from_bits(self.ignored.load(Ordering::Acquire))
    }

    /// The process-wide pending set (lock-free copy).
    pub fn shared_pending(&self) -> SigSet {
        SigSet::from_bits(self.shared.load(Ordering::Acquire))
    }

    /// Whether `me` has a pending signal (thread or process set) in `set`, blocked or not.
    pub fn pending_in(&self, me: ThreadSignals<'_>, set: SigSet) -> bool {
        !me.pending()
            .union(SigSet::from_bits(self.shared.load(Ordering::Acquire)))
            .intersect(set)
            .is_empty()
    }

    /// A thread exited: drop its queued entries (its pending bits die with its words).
    pub fn thread_exited(&self, tid: i32) {
        self.locked(|i| forget_owner(i, tid));
    }

    /// Makes the calling thread `me` take part in delivery, with blocked mask `blocked` (a new
    /// thread's is its creator's; the first thread's is what the process started with). Does
    /// nothing if it already does.
    pub fn register(&self, me: ThreadSignals<'_>, blocked: SigSet) {
        if me.is_live() {
            return;
        }
        self.locked(|i| {
            me.store_blocked(blocked);
            me.store_pending(SigSet::EMPTY);
            me.store_state(LIVE);
            recalc(me, i.queue.shared());
        });
    }

    /// The calling thread `me` is exiting: it stops taking part in delivery and its
    /// thread-directed signals are discarded (Linux). Returns the signals of the shared set
    /// that `me` did not block: for each, some other thread must now be told (Linux's
    /// `retarget_shared_pending`).
    pub fn unregister(&self, me: ThreadSignals<'_>) -> SigSet {
        self.locked(|i| {
            me.store_state(EXITED);
            me.store_pending(SigSet::EMPTY);
            forget_owner(i, me.tid());
            i.queue.shared().minus(me.blocked())
        })
    }

    /// Starts delivering `sig` to the calling thread `me` (Linux's `signal_delivered` and the
    /// `SA_RESETHAND` half of `get_signal`): returns the action to run (read once, under the
    /// lock: the caller acts on this one, whatever another thread installs meanwhile) and the
    /// mask the frame must restore; for an action without a handler nothing else happens, and blocks the action's mask plus `sig` (unless `SA_NODEFER`) and resets
    /// a `SA_RESETHAND` action to `SIG_DFL`, all under the lock. The mask to restore is the
    /// saved one after `sigsuspend` (the [`RESTORE_SAVED`] state bit, cleared here).
    pub fn begin_delivery(&self, me: ThreadSignals<'_>, sig: Signal) -> (KSigaction, SigSet) {
        self.locked(|i| {
            let act = i.actions.get(sig);
            if !act.has_handler() {
                // Ignored or default: no frame, nothing of the thread's changes.
                return (act, me.blocked());
            }
            let state = me.state();
            let restore = if state & RESTORE_SAVED != 0 {
                me.store_state(state & !RESTORE_SAVED);
                me.saved_mask()
            } else {
                me.blocked()
            };
            if act.has_handler() {
                let mut add = act.mask;
                if act.flags & u64::from(linux_raw_sys::general::SA_NODEFER) == 0 {
                    add = add.with(sig);
                }
                me.store_blocked(me.blocked().union(add));
                if act.flags & u64::from(linux_raw_sys::general::SA_RESETHAND) != 0 {
                    i.actions.reset(sig);
                }
            }
            recalc(me, i.queue.shared());
            (act, restore)
        })
    }

    /// Sets the calling thread's mask to `set` and, if `restore_saved`, makes the next frame
    /// restore the current mask instead (`sigsuspend`: the mask while waiting is `set`, the
    /// handler returns to the old one). Returns the old mask.
    pub fn suspend_mask(&self, me: ThreadSignals<'_>, set: SigSet) -> SigSet {
        self.locked(|i| {
            let old = me.blocked();
            me.set_saved_mask(old);
            me.store_state(me.state() | RESTORE_SAVED);
            me.store_blocked(set);
            recalc(me, i.queue.shared());
            old
        })
    }

    /// Undoes [`suspend_mask`](Self::suspend_mask) when no frame took the saved mask (the wait
    /// ended some other way).
    pub fn end_suspend(&self, me: ThreadSignals<'_>) {
        self.locked(|i| {
            let state = me.state();
            if state & RESTORE_SAVED != 0 {
                me.store_state(state & !RESTORE_SAVED);
                me.store_blocked(me.saved_mask());
                recalc(me, i.queue.shared());
            }
        })
    }

    /// Bounds the queued entries (Linux's `RLIMIT_SIGPENDING`; the pool size at most).
    pub fn set_queue_limit(&self, limit: usize) {
        self.locked(|i| i.queue.set_limit(limit));
    }

    /// `sigtimedwait`'s mask for the wait: `set` unblocked, the old mask kept as
    /// [`REAL_BLOCKED`]. Returns the old mask for [`end_wait`](Self::end_wait).
    pub fn begin_wait(&self, me: ThreadSignals<'_>, set: SigSet) -> SigSet {
        self.locked(|i| {
            let old = me.blocked();
            me.set_saved_mask(old);
            me.store_state(me.state() | REAL_BLOCKED);
            me.store_blocked(old.minus(set));
            recalc(me, i.queue.shared());
            old
        })
    }

    /// Ends a [`begin_wait`](Self::begin_wait): the old mask back.
    pub fn end_wait(&self, me: ThreadSignals<'_>, old: SigSet) {
        self.locked(|i| {
            me.store_state(me.state() & !REAL_BLOCKED);
            me.store_blocked(old);
            recalc(me, i.queue.shared());
        })
    }

    /// `timer_create` once the caller checked the clock and read the `sigevent` (`None`: the
    /// NULL default, `SIGALRM` to the process with the timer id as value): takes an id, checks
    /// the event (`EINVAL` after the id is consumed, as Linux), and creates the timer
    /// disarmed. The caller writes the id out and deletes the timer if that faults.
    /// `is_ours(tid)` says whether a `SIGEV_THREAD_ID` target is a thread of this process (one
    /// just created counts, before it runs).
    pub fn timer_create(
        &self,
        is_ours: impl FnOnce(i32) -> bool,
        clock: TimerClock,
        event: Option<Sigevent>,
    ) -> Result<i32, Errno> {
        self.locked(|i| {
            let id = i.timers.take_id()?;
            let (notify, sig, value) = match event {
                None => (
                    Notify::Process,
                    Signal::of(linux_raw_sys::general::SIGALRM),
                    id as u32 as u64,
                ),
                Some(e) => {
                    let (notify, sig) = e.check(is_ours)?;
                    (notify, sig, e.value)
                }
            };
            i.timers.insert(id, clock, notify, sig, value);
            Ok(id)
        })
    }

    /// The clock of timer `id` (`EINVAL`: no such timer).
    pub fn timer_clock(&self, id: i32) -> Result<TimerClock, Errno> {
        self.inner.with(|i| i.timers.clock_of(id))
    }

    /// `timer_settime` of timer `id` (on `clock`, from [`timer_clock`](Self::timer_clock), now
    /// at `now`): returns the old setting.
    pub fn timer_settime(
        &self,
        id: i32,
        absolute: bool,
        new: Setting,
        now: u64,
    ) -> Result<Setting, Errno> {
        let r = self.locked(|i| i.timers.settime(id, absolute, new, now));
        self.timer_change.store(true, Ordering::Release);
        r
    }

    /// `timer_gettime` of timer `id`, now at `now` on its clock.
    pub fn timer_gettime(&self, id: i32, now: u64) -> Result<Setting, Errno> {
        self.inner.with(|i| i.timers.gettime(id, now))
    }

    /// `timer_getoverrun`.
    pub fn timer_getoverrun(&self, id: i32) -> Result<i32, Errno> {
        self.inner.with(|i| i.timers.getoverrun(id))
    }

    /// `timer_delete`.
    pub fn timer_delete(&self, id: i32) -> Result<(), Errno> {
        self.locked(|i| i.timers.delete(id))
    }

    /// `setitimer(which)`, now at `now` on its clock: returns the old setting.
    pub fn setitimer(&self, which: Itimer, new: Setting, now: u64) -> Setting {
        let r = self.locked(|i| i.timers.setitimer(which, new, now));
        self.timer_change.store(true, Ordering::Release);
        r
    }

    /// `getitimer(which)`, now at `now` on its clock.
    pub fn getitimer(&self, which: Itimer, now: u64) -> Setting {
        self.inner.with(|i| i.timers.getitimer(which, now))
    }

    /// Whether a timer's next expiry may have moved earlier since the last call (a timer was
    /// armed, re-armed at delivery, or un-parked): whoever runs the timers must look again.
    pub fn take_timer_change(&self) -> bool {
        self.timer_change.load(Ordering::Relaxed)
            && self.timer_change.swap(false, Ordering::Acquire)
    }

    /// The earliest expiry of a running timer on wall clock `clock`.
    pub fn next_timer_expiry(&self, clock: lintel_kernel::ClockId) -> Option<u64> {
        self.inner.with(|i| i.timers.next_expiry(clock))
    }

    /// Whether a running timer is on a CPU-time clock (sampled, see [`Timers`]).
    pub fn cpu_timers_running(&self) -> bool {
        self.inner.with(|i| i.timers.cpu_timers_running())
    }

    /// Generates the signals of the timers that are due (at `now` on their clocks) for the
    /// process whose leader's tid is `pid`, under one lock. The tids of threads to notify are
    /// put in `wake`; returns how many, and whether more timers may be due (`wake` was full).
    pub fn fire_timers(
        &self,
        threads: &(impl ThreadList + ?Sized),
        pid: i32,
        now: &mut dyn FnMut(TimerClock) -> Option<u64>,
        wake: &mut [i32],
    ) -> (usize, bool) {
        self.locked(|i| {
            let mut n = 0;
            while n < wake.len() {
                let Some(e) = i.timers.next_due(now) else {
                    return (n, false);
                };
                let mut sent = Err(Errno::ESRCH);
                let send = |i: &mut Inner<N>, t: ThreadSignals<'_>, process: bool| {
                    let target = if process {
                        Target::Process(t)
                    } else {
                        Target::Thread(t)
                    };
                    send_locked(i, &self.shared, threads, e.sig, &e.info, target, e.tag)
                };
                match e.notify {
                    Notify::Thread(tid) => threads.for_each(&mut |t| {
                        if t.tid() == tid && sent.is_err() {
                            sent = send(i, t, false);
                        }
                    }),
                    _ => {
                        // The leader first, as a kill of the pid would; else any thread.
                        threads.for_each(&mut |t| {
                            if t.tid() == pid && sent.is_err() {
                                sent = send(i, t, true);
                            }
                        });
                        threads.for_each(&mut |t| {
                            if sent.is_err() {
                                sent = send(i, t, true);
                            }
                        });
                    }
                }
                let fate = match sent {
                    Ok(Sent::Ignored) => Fate::Ignored,
                    Ok(Sent::Pending { wake: w, .. }) => {
                        if let Some(tid) = w {
                            wake[n] = tid;
                            n += 1;
                        }
                        Fate::Queued
                    }
                    Err(_) => Fate::Lost,
                };
                let at = now(e.clock).unwrap_or(0);
                i.timers.fired(&e, fate, at);
            }
            (n, true)
        })
    }

    /// Holds the lock across a `fork`; see [`ForkGuard`].
    pub fn prepare_fork(&self) -> ForkGuard<'_, N> {
        self.inner.lock_raw();
        ForkGuard { signals: self }
    }
}

/// The signal lock held across a `fork` (so the child never inherits it held by a thread that
/// does not exist there). Dropping it in the parent releases the lock; in the child,
/// [`in_child`](ForkGuard::in_child) first clears what Linux does not pass to a child: the
/// pending signals (thread-directed and shared) and their queue entries. Dispositions and the
/// calling thread's mask are inherited.
pub struct ForkGuard<'a, const N: usize> {
    signals: &'a Signals<N>,
}

impl<const N: usize> core::fmt::Debug for ForkGuard<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ForkGuard").finish_non_exhaustive()
    }
}

impl<const N: usize> ForkGuard<'_, N> {
    /// In the child, on its only thread `me`: empties every pending set and the queue.
    pub fn in_child(self, me: ThreadSignals<'_>) {
        // SAFETY: this guard holds the lock (taken by `prepare_fork`, inherited by the child).
        let i = unsafe { self.signals.inner.get_locked() };
        let limit = i.queue.limit();
        i.queue = PendingQueue::new();
        i.queue.set_limit(limit);
        i.timers.clear();
        self.signals.shared.store(0, Ordering::Release);
        me.store_pending(SigSet::EMPTY);
        // `self` drops here and releases the lock.
    }
}

impl<const N: usize> Drop for ForkGuard<'_, N> {
    fn drop(&mut self) {
        self.signals.inner.unlock_raw();
    }
}
