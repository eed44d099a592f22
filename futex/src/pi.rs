//! FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI and UNLOCK_PI: the priority-inheritance lock protocol.
//!
//! The futex word is the lock: 0 free, else the owner's tid, with `FUTEX_WAITERS` (someone
//! waits in the kernel, so the owner must unlock through `UNLOCK_PI`) and `FUTEX_OWNER_DIED`.
//! User space takes a free lock with a `0 -> tid` compare-and-exchange and releases an
//! uncontended one with `tid -> 0`; the kernel is asked only when that fails.
//!
//! lintel keeps Linux's *ownership* protocol exactly (which value the word holds after each
//! step, every errno) and, on ports that report priorities, priority inheritance
//! (futex/src/boost.rs, `[PI-BOOST]`): waiters queue by their effective priority and the
//! owner inherits the most urgent one's. The waiters are ordinary nodes of the futex table marked `pi`; plain
//! wakes and requeues refuse to touch them with `EINVAL`, as Linux's do.
//!
//! `[PI]` Rules (Linux `kernel/futex/pi.c`, `futex_lock_pi_atomic` and `attach_to_pi_owner`,
//! in that order):
//! 1. LOCK_PI reads the word under the bucket lock (`EFAULT`). Its own tid: `EDEADLK`.
//! 2. A waiter already queued on the word (the first in queue order, Linux's `top_waiter`): a
//!    plain one is `EINVAL`; a PI one means the lock is contended: queue behind it, writing
//!    nothing.
//! 3. Nobody queued, tid 0: take it, keeping `OWNER_DIED` (`newval = (uval & OWNER_DIED) |
//!    tid`). Otherwise set `FUTEX_WAITERS` with a compare-and-exchange, also when the bit is
//!    already set (`lock_pi_update_atomic`: a read-only word is `EFAULT` here, whoever owns
//!    it); a changed word means: start again. Then the owner (`attach_to_pi_owner`): a thread
//!    of this process; a task of another process is `EPERM` for a private futex (probed on
//!    6.18: pid 1, kthreadd, a parent, a child and a child's thread alike); a tid no task
//!    has is `ESRCH` once the word is re-read unchanged (`handle_exit_race`). TRYLOCK_PI then
//!    fails with `EAGAIN`, leaving `WAITERS` set.
//! 4. Deadlock detection (Linux's rt_mutex chain walk, `[PI-CHAIN]` below): a LOCK_PI about to
//!    sleep follows "the owner sleeps on a PI futex, whose owner sleeps on ..." and fails with
//!    `EDEADLK` if the chain comes back to the caller (or to the futex it waits on), or is longer
//!    than Linux's `max_lock_depth` (1024), before the timeout is looked at. TRYLOCK_PI does
//!    not walk.
//! 5. Queue and sleep. Woken by UNLOCK_PI's handoff, the waiter owns the lock.
//! 6. UNLOCK_PI: the word's tid must be the caller's (`EPERM`). With a PI waiter queued, the
//!    word becomes `FUTEX_WAITERS | waiter's tid` — always WAITERS, even for the last waiter —
//!    and that waiter is dequeued and woken: the lock is handed off, never left free. With none,
//!    the word becomes 0 (`EAGAIN` if user space changed it meanwhile).
//! 7. A waiter whose timeout, interruption or deadlock verdict races the handoff owns the lock
//!    if the handoff dequeued it first (the same `[LIFETIME]` rule as plain waits). LOCK_PI
//!    never returns `EINTR`: an interrupted LOCK_PI is restarted (`ERESTARTNOINTR`).
//!
//! `[PI-CHAIN]` The deadlock walk, and why it never reports a cycle that is not there.
//!
//! State. A thread sleeping in LOCK_PI on a private futex publishes that futex's address in its
//! port word [`PI_BLOCKED`] (`Threads::locals`). Every change of "who sleeps on which PI
//! futex" is a *change*, made under the bucket lock of that futex, between `pi_change_begin`
//! and `pi_change_end`, which move the process-wide PI epoch (`Bucket::pi_epoch` of bucket 0;
//! its low half counts changes in progress, its high half completed ones, so every begin and
//! every end makes it larger): queuing a LOCK_PI waiter together with its publication;
//! UNLOCK_PI's handoff together with the word's new owner and the clearing of the new owner's
//! publication; a waiter that leaves on its own (timeout, interruption, deadlock verdict)
//! together with clearing its publication. So outside changes, a thread publishes `L` exactly
//! while its node is queued on `L`; and a publishing thread is inside lintel, so it can neither
//! release a lock it owns nor take one (only a handoff gives it `L`, and that is a change).
//!
//! The walk (`pi_walk`, from the caller `me` already queued on `uaddr`) reads no lock: the tid
//! in `uaddr`'s word, that thread's publication `L2`, the tid in `L2`'s word, ... A cycle (the
//! chain reaches `me` or `uaddr`, or is deeper than 1024) counts only when *confirmed*: the
//! epoch read with `Acquire` before the walk (`w0`, no change in progress) and again, after an
//! `Acquire` fence, with a read-modify-write (`w1`) are equal. Writers: `fetch_add` (begin),
//! `fence(Release)`, the stores, `fetch_add` with `Release` (end).
//!
//! Why a confirmed cycle is real. (a) Every change whose end precedes `w0`'s source in the
//! epoch's modification order happens-before the walk: the epoch is only ever changed by
//! read-modify-writes, so `w0`'s source is in the release sequence of each earlier end. (b) No
//! store of a change that began after `w0`'s source is seen by the walk: if a walk load read
//! one, that change's release fence synchronises with the walk's acquire fence, its begin
//! happens-before the `w1` read-modify-write, which therefore reads it or a later value: `w1 >
//! w0` (every begin and end makes the epoch larger). (c) No change was in progress at `w0`. So the
//! walk saw the publications and queues exactly as they stood, unchanged, from `w0` to `w1`:
//! each thread `T` it passed through published its futex during the whole walk, i.e. slept in
//! LOCK_PI. The word of a futex named `T`: `T` wrote it before publishing (its own `0 -> T`,
//! or a handoff, which is a change: (a)), and (a) makes every write `T` made before publishing
//! visible to the walk, so the walk cannot read an owner `T` that `T` had released already;
//! while `T` publishes, only `T` (or a handoff to `T`, a change) could change that tid.
//! Hence at the instant of `w1` every step of the chain holds at once: each thread sleeps on a
//! futex the next one owns, and the last futex is `me`'s or `uaddr`: a deadlock Linux's walk,
//! made at that instant under its locks, reports too. (A word user space rewrites behind the
//! protocol's back can mislead the walk, as it misleads Linux's `attach_to_pi_state`.)
//!
//! Why a true cycle is reported. Take the threads of a cycle and the one whose publishing
//! change ends last in the epoch's order. Its walk starts after that end, so by (a) it sees
//! every other member's publication and words; those never change while the cycle stands, so
//! each walk it makes finds the cycle, and the first one with no change anywhere in the
//! process confirms it. A walk that sees no cycle returns at once (no confirmation needed:
//! the last member's walk is the one that must see it). After [`CONFIRM_TRIES`] walks that saw
//! a cycle without confirming it (PI futexes of other threads changing all the time) the
//! caller sleeps without a verdict: a missed report, never a false one (docs/abi.md).
//!
//! `[PI-EXIT]` An owner's exit and a waiter queuing at the same time. At exit a thread hands
//! each private PI futex it owns with waiters to the first one ([`FutexTable::exit_pi_state`],
//! Linux's `exit_pi_state_list`), scanning the buckets one by one; a waiter that queues in a
//! bucket the scan has already passed would sleep forever. So the exiting thread first marks
//! itself (its port word `PI_EXITING`), then a full fence, then scans; a LOCK_PI waiter, once
//! queued, reads its owner's mark, and if it is set leaves the queue (or finds the scan handed
//! it the lock), waits until the owner is dead and starts again (Linux's `attach_to_pi_owner`
//! answers `EBUSY` for an exiting owner and the waiter waits in `wait_for_owner_exiting`):
//! the word then names a dead thread (`ESRCH`) or, after a robust walk, nobody (the lock is
//! taken). Why no waiter is missed: if the scan locks the waiter's bucket after the waiter
//! queued, it finds the node; if before, the mark (stored before the scan) happens-before the
//! waiter's read through that bucket lock; and a bucket the scan skips as empty without locking
//! it is the store-buffering pair of the mark, fence, count load against the waiter's `[ORDER]`
//! A (count increment, full barrier) and its later read of the mark: one of them sees the
//! other.
//!
//! The pi_mutex false cycle of the first walk (9398acf, reverted) cannot happen: it read an
//! owner, which then released the lock (a handoff: a change) and queued behind the caller
//! again (a change), so `w1 != w0`. Shared PI futexes are the port's (the host kernel walks its
//! own chains); a chain through one is not followed. loom `pi_deadlock`.
//!

use crate::sync::{AtomicUsize, Ordering, fence, retry_hint};
use crate::table::{Locked, Visit, Waiter, WakeList};
use crate::wait_wake::Slept;
use crate::{FutexError, FutexTable, Restart, Scope};
use core::cell::Cell;
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Deadline, Errno, Kernel, NORMAL_PRIORITY, Passed, SharedWaitError};

/// Whether a PI waiter is queued on `key` in `locked`'s bucket (and whether a plain one is,
/// which makes the futex inconsistent: Linux answers `EINVAL`).
fn queued<T: Copy>(locked: &Locked<'_, T>, key: usize) -> (bool, bool) {
    let (mut pi, mut plain) = (false, false);
    locked.visit(|node| {
        if node.key() == key {
            if node.is_pi() {
                pi = true;
            } else {
                plain = true;
            }
        }
    });
    (pi, plain)
}

/// The first waiter queued on `key` in `locked`'s bucket, if any (Linux's `futex_top_waiter`):
/// whether it is a PI waiter.
fn top_waiter<T: Copy>(locked: &Locked<'_, T>, key: usize) -> Option<bool> {
    let mut top = None;
    locked.visit(|node| {
        if top.is_none() && node.key() == key {
            top = Some(node.is_pi());
        }
    });
    top
}

/// The port word ([`lintel_kernel::Threads::locals`]) in which a thread publishes the private
/// PI futex it sleeps on (`[PI-CHAIN]`), 0 when none: the word the port's slot table gives the
/// futex layer ([`lintel_kernel::thread::slots::FUTEX`]).
pub const PI_BLOCKED: usize = lintel_kernel::thread::slots::FUTEX.start;

/// The port word in which a thread marks that it has begun handing its PI futexes over at exit
/// (`[PI-EXIT]`), 0 before.
const PI_EXITING: usize = lintel_kernel::thread::slots::FUTEX.start + 2;

/// Linux's `max_lock_depth`: a PI chain longer than this is `EDEADLK`.
pub(crate) const MAX_LOCK_DEPTH: usize = 1024;

/// `[PI-CHAIN]` epoch: one change in progress (low half).
const ACTIVE_ONE: usize = 1;
/// `[PI-CHAIN]` epoch: the changes in progress.
const ACTIVE_MASK: usize = (1 << (usize::BITS / 2)) - 1;
/// `[PI-CHAIN]` epoch: one change completed (high half).
const EPOCH_ONE: usize = 1 << (usize::BITS / 2);

/// `[PI-CHAIN]`: how many walks may see a cycle the epoch does not confirm (or find a change
/// in progress) before the caller sleeps without a verdict.
#[cfg(not(lintel_loom))]
const CONFIRM_TRIES: usize = 64;
/// Under loom, few: each try multiplies the interleavings.
#[cfg(lintel_loom)]
const CONFIRM_TRIES: usize = 3;

impl<K: Kernel> FutexTable<'_, K> {
    /// `futex(uaddr, FUTEX_LOCK_PI[2][_PRIVATE], 0, deadline, NULL, 0)`, or with `trylock`
    /// `FUTEX_TRYLOCK_PI`: takes the PI lock at `uaddr` for the calling thread, sleeping while
    /// another thread owns it (rules `[PI]` 1–5, 7).
    ///
    /// `EDEADLK` if the caller owns it or sleeping would close a cycle of PI waiters, `ESRCH`
    /// for an owner tid nobody has, `EPERM` for one of another process, `EAGAIN` for a failed
    /// trylock, `ETIMEDOUT`, `EINVAL` (misaligned, or a plain waiter first on the word),
    /// `EFAULT` (also for a read-only word another thread owns); an interruption is
    /// [`Restart::NoIntr`]. A shared PI futex is the port's
    /// ([`lintel_kernel::SharedFutex::shared_lock_pi`]).
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/pi.c` (`futex_lock_pi`, `futex_lock_pi_atomic`,
    /// `attach_to_pi_owner`), `kernel/locking/rtmutex.c` (`rt_mutex_adjust_prio_chain`).
    pub fn lock_pi(
        &self,
        uaddr: usize,
        deadline: Option<Deadline>,
        trylock: bool,
        scope: Scope,
    ) -> Result<(), FutexError> {
        let key = self.key(uaddr)?;
        let k = self.kernel;
        if scope == Scope::Shared {
            return match k.shared_lock_pi(uaddr, deadline, trylock) {
                Ok(()) => Ok(()),
                Err(SharedWaitError::Errno(e)) => Err(e.into()),
                Err(SharedWaitError::Interrupted) => Err(FutexError::Restart(Restart::NoIntr)),
            };
        }
        let me = k.current();
        let tid = k.tid(me);
        let bucket = self.bucket(key);
        // [PI-BOOST]: queued with its effective priority (its own or the one it inherits).
        let prio = self.effective_priority(me);
        let node = Waiter::new_pi(key, prio, me, tid);
        let left_owner = Cell::new(0);
        'attempt: loop {
            loop {
                k.load_u32(uaddr)?; // fault the word in without the lock held
                bucket.waiters_inc();
                let locked = Locked::lock(bucket, k);
                let step = self.lock_pi_atomic(&locked, uaddr, key, tid as u32, false);
                if let Ok(Step::Wait) = step {
                    if !trylock {
                        // [PI-CHAIN]: queued and published in one change.
                        self.pi_change_begin();
                        locked.enqueue(&node);
                        k.locals()[PI_BLOCKED].store(uaddr, Ordering::Relaxed);
                        self.pi_change_end();
                        break;
                    }
                }
                drop(locked);
                bucket.waiters_dec();
                match step {
                    Ok(Step::Acquired) => return Ok(()),
                    Ok(Step::Retry) => {}
                    Ok(Step::Wait) => return Err(Errno::EAGAIN.into()),
                    Ok(Step::NotHere(owner)) => return Err(self.owner_elsewhere(owner)),
                    Err(e) => return Err(e.into()),
                }
            }
            // [PI-EXIT]: an owner that has begun handing its PI futexes over at exit may have
            // passed us by; Linux's `attach_to_pi_owner` makes the waiter wait for the exit to end
            // (`wait_for_owner_exiting`) and start again.
            if let Some(owner) = self.owner_exiting(uaddr) {
                if !self.unqueue_pi(&node, &left_owner) {
                    return Ok(()); // its exit handed the lock to us
                }
                if node.prio() < NORMAL_PRIORITY {
                    self.pi_boost_left(left_owner.get());
                }
                while !k.is_dead(owner) {
                    if deadline.is_some_and(|d| k.now(d.clock) >= d.ns) {
                        return Err(Errno::ETIMEDOUT.into());
                    }
                    k.yield_now();
                }
                continue 'attempt;
            }
            // [PI] 4, [PI-CHAIN].
            let slept = if self.pi_chain_closes(tid as u32, uaddr) {
                // Linux: a deadlock verdict stands unless the lock was handed over meanwhile.
                if self.unqueue_pi(&node, &left_owner) {
                    if node.prio() < NORMAL_PRIORITY {
                        // [PI-BOOST]: an update may have counted us meanwhile.
                        self.pi_boost_left(left_owner.get());
                    }
                    return Err(Errno::EDEADLK.into());
                }
                Slept::Woken
            } else {
                self.pi_boost_queued(me, prio);
                self.sleep_pi(&node, deadline, &left_owner)
            };
            if slept != Slept::Woken && node.prio() < NORMAL_PRIORITY {
                // [PI-BOOST]: an urgent waiter left (the node is off its queue: its priority is
                // ours to read again).
                self.pi_boost_left(left_owner.get());
            }
            // [PI] 5 and 7: dequeued by the handoff means owning the lock.
            return match slept {
                Slept::Woken => Ok(()),
                Slept::TimedOut => Err(Errno::ETIMEDOUT.into()),
                Slept::Interrupted => Err(FutexError::Restart(Restart::NoIntr)),
            };
        }
    }

    /// `[PI-EXIT]`: the owner the word at `uaddr` names, if it is a thread of this process that
    /// has begun [`FutexTable::exit_pi_state`] (never the caller, which is not exiting, though
    /// a handoff may have made it the owner meanwhile).
    fn owner_exiting(&self, uaddr: usize) -> Option<K::Thread> {
        let k = self.kernel;
        self.pi_owner(uaddr)
            .filter(|&t| k.locals_of(t)[PI_EXITING].load(Ordering::Relaxed) != 0)
    }

    /// The thread of this process the word of `uaddr` names as owner, if any.
    pub(crate) fn pi_owner(&self, uaddr: usize) -> Option<K::Thread> {
        let word = self.kernel.load_u32(uaddr).ok()?;
        self.thread_with_tid(word & l::FUTEX_TID_MASK)
    }

    /// `[PI-CHAIN]`: the PI epoch (bucket 0's word).
    fn pi_epoch(&self) -> &AtomicUsize {
        &self.buckets[0].pi_epoch
    }

    /// `[PI-CHAIN]`: a change begins. Called under the bucket lock of the futex whose queue
    /// changes (so none is in progress while `prepare_fork` holds every lock).
    pub(crate) fn pi_change_begin(&self) {
        self.pi_epoch().fetch_add(ACTIVE_ONE, Ordering::Relaxed);
        // Orders the begin before the change's stores, for a walk's acquire fence (`[PI-CHAIN]`
        // (b)).
        fence(Ordering::Release);
    }

    /// `[PI-CHAIN]`: the change ends (`Release`: its stores happen-before a walk that reads
    /// this or a later epoch, (a)).
    pub(crate) fn pi_change_end(&self) {
        self.pi_epoch()
            .fetch_add(EPOCH_ONE - ACTIVE_ONE, Ordering::Release);
    }

    /// Rule `[PI]` 4: whether the calling thread (tid `me`, queued on `uaddr` and publishing
    /// it; or a requeue-PI waiter published on `uaddr`, `[REQUEUE-PI]` 6) would close a cycle
    /// of PI waiters by sleeping: a walk that sees one, confirmed by an unchanged epoch
    /// (`[PI-CHAIN]`).
    #[inline(never)]
    pub(crate) fn pi_chain_closes(&self, me: u32, uaddr: usize) -> bool {
        let epoch = self.pi_epoch();
        for _ in 0..CONFIRM_TRIES {
            let w0 = epoch.load(Ordering::Acquire);
            if w0 & ACTIVE_MASK != 0 {
                retry_hint();
                continue;
            }
            if !self.pi_walk(me, uaddr) {
                return false;
            }
            fence(Ordering::Acquire);
            // A read-modify-write reads the latest epoch: (b) needs only that it is not older
            // than a begin the fence ordered before it, and a model (loom, which does not see
            // the port's publication words) gets the same guarantee from it.
            if epoch.fetch_add(0, Ordering::Relaxed) == w0 {
                return true;
            }
            retry_hint();
        }
        false
    }

    /// One walk of `[PI-CHAIN]` from `uaddr` (which `me` sleeps on), taking no lock: owner,
    /// the futex that owner publishes, its owner, ... `true` if it comes back to `me` or to
    /// `uaddr`, or goes deeper than `max_lock_depth` (Linux's `rt_mutex_adjust_prio_chain`
    /// with deadlock detection). Only an unchanged epoch makes `true` a verdict.
    fn pi_walk(&self, me: u32, uaddr: usize) -> bool {
        let k = self.kernel;
        let mut lock = uaddr;
        for _ in 0..MAX_LOCK_DEPTH {
            let Ok(word) = k.load_u32(lock) else {
                return false;
            };
            let owner = word & l::FUTEX_TID_MASK;
            if owner == me {
                // Our own futex naming us: handed over meanwhile (a change), no cycle.
                return lock != uaddr;
            }
            let Some(thread) = self.thread_with_tid(owner) else {
                return false;
            };
            // Under loom the port's words are std atomics loom does not see: a load of a loom
            // atomic here lets the models preempt the walk between the owner and its
            // publication (loom-tests/tests/pi_deadlock.rs).
            #[cfg(lintel_loom)]
            let _ = self.pi_epoch().load(Ordering::Relaxed);
            let next = k.locals_of(thread)[PI_BLOCKED].load(Ordering::Relaxed);
            if next == 0 || next == lock {
                // Not asleep in LOCK_PI; or asleep on the futex it owns, which only a walk
                // overlapping a handoff sees (a change): no cycle either way.
                return false;
            }
            if next == uaddr {
                return true;
            }
            lock = next;
        }
        true
    }

    /// The thread of this process whose tid is `tid`, if there is one.
    pub(crate) fn thread_with_tid(&self, tid: u32) -> Option<K::Thread> {
        if tid == 0 {
            return None;
        }
        let k = self.kernel;
        let mut found = None;
        k.for_each_thread(&mut |t| {
            if found.is_none() && k.tid(t) as u32 == tid {
                found = Some(t);
            }
        });
        found
    }

    /// [`FutexTable::sleep`] for a PI waiter: leaving on its own (timeout, interruption) takes
    /// the node off its queue with [`FutexTable::unqueue_pi`].
    fn sleep_pi(
        &self,
        node: &Waiter<K::Thread>,
        deadline: Option<Deadline>,
        left_owner: &Cell<u32>,
    ) -> Slept {
        self.sleep_then(node, deadline, |n| self.unqueue_pi(n, left_owner))
    }

    /// [`FutexTable::unqueue`] for the caller's PI waiter: takes it off its queue and clears
    /// the caller's publication in one `[PI-CHAIN]` change. `false` if the handoff dequeued it
    /// first (the lock is ours; the handoff cleared the publication). Sets `owner` to the tid
    /// the word named when the node left (`[PI-BOOST]`: that thread's update).
    fn unqueue_pi(&self, node: &Waiter<K::Thread>, owner: &Cell<u32>) -> bool {
        loop {
            let b = node.bucket.load(Ordering::Acquire);
            if b.is_null() {
                return false;
            }
            // SAFETY: `bucket` only ever points into this table's bucket array, which outlives
            // every call on the table.
            let locked = Locked::lock(unsafe { &*b }, self.kernel);
            if node.bucket.load(Ordering::Relaxed) == b {
                self.pi_change_begin();
                locked.remove_self(node);
                self.kernel.locals()[PI_BLOCKED].store(0, Ordering::Relaxed);
                self.pi_change_end();
                let word = self.kernel.load_u32(node.key()).unwrap_or(0);
                owner.set(word & l::FUTEX_TID_MASK);
                return true;
            }
        }
    }

    /// Rules `[PI]` 1–3, under the bucket lock.
    ///
    /// `tid` takes the lock: the caller, or for `FUTEX_CMP_REQUEUE_PI` the waiter it takes the
    /// lock for (Linux's `futex_proxy_trylock_atomic`), which sets `FUTEX_WAITERS` along with a
    /// free lock when `set_waiters` (more waiters are to be requeued behind it).
    pub(crate) fn lock_pi_atomic(
        &self,
        locked: &Locked<'_, K::Thread>,
        uaddr: usize,
        key: usize,
        tid: u32,
        set_waiters: bool,
    ) -> Result<Step, Errno> {
        let k = self.kernel;
        let uval = k.load_u32(uaddr)?;
        if uval & l::FUTEX_TID_MASK == tid {
            return Err(Errno::EDEADLK);
        }
        match top_waiter(locked, key) {
            // Linux's attach_to_pi_state: lintel keeps no PI state to check the word against.
            Some(true) => return Ok(Step::Wait),
            Some(false) => return Err(Errno::EINVAL),
            None => {}
        }
        if uval & l::FUTEX_TID_MASK == 0 {
            let forced = if set_waiters { l::FUTEX_WAITERS } else { 0 };
            let newval = (uval & l::FUTEX_OWNER_DIED) | tid | forced;
            // SAFETY: the caller asked to take the PI lock at `uaddr`: writing it is the call.
            let seen = unsafe { k.cmpxchg_u32(uaddr, uval, newval) }?;
            return Ok(if seen == uval {
                Step::Acquired
            } else {
                Step::Retry
            });
        }
        // First waiter: WAITERS, written even when it is set (Linux's lock_pi_update_atomic).
        let newval = uval | l::FUTEX_WAITERS;
        // SAFETY: as above.
        let seen = unsafe { k.cmpxchg_u32(uaddr, uval, newval) }?;
        if seen != uval {
            return Ok(Step::Retry);
        }
        // Linux's attach_to_pi_owner: the owner must exist.
        let owner = uval & l::FUTEX_TID_MASK;
        if k.tid_alive(owner as i32) {
            return Ok(Step::Wait);
        }
        // Linux's handle_exit_race: a changed word means try again.
        if k.load_u32(uaddr)? != newval {
            return Ok(Step::Retry);
        }
        Ok(Step::NotHere(owner as i32))
    }

    /// The answer for a PI owner `tid` that is no thread of this process (rule `[PI]` 3):
    /// `EPERM` if some task has it (Linux finds it with `find_get_task_by_vpid` and refuses it
    /// for a private futex), `ESRCH` if none does. The port answers through
    /// `sched_getscheduler(tid)`, which looks a task up by id and nothing else; a port that
    /// cannot (`ENOSYS`) gives `ESRCH`. An interruption before it answered restarts the call.
    #[cold]
    pub(crate) fn owner_elsewhere(&self, tid: i32) -> FutexError {
        let nr = l::__NR_sched_getscheduler as usize;
        // SAFETY: sched_getscheduler takes a pid and touches no memory.
        match unsafe { self.kernel.passthrough(nr, [tid as usize, 0, 0, 0, 0, 0]) } {
            Passed::Done(r) if r >= 0 || r == Errno::EPERM.to_ret() => Errno::EPERM.into(),
            Passed::Done(_) => Errno::ESRCH.into(),
            Passed::Interrupted | Passed::NotStarted => FutexError::Restart(Restart::NoIntr),
        }
    }

    /// `futex(uaddr, FUTEX_UNLOCK_PI[_PRIVATE], 0, NULL, NULL, 0)`: releases the PI lock the
    /// caller owns, handing it to the first PI waiter if there is one (rule `[PI]` 6).
    ///
    /// `EPERM` if the word's tid is not the caller's (checked before alignment, as Linux reads
    /// the word first), `EFAULT`, `EINVAL` (misaligned; plain waiters on the word; a word user
    /// space corrupted during a handoff), `EAGAIN` if the word changed while it was being
    /// released with nobody waiting. A shared PI futex is the port's.
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/pi.c` (`futex_unlock_pi`, `wake_futex_pi`).
    pub fn unlock_pi(&self, uaddr: usize, scope: Scope) -> Result<(), Errno> {
        let k = self.kernel;
        let tid = k.tid(k.current()) as u32;
        loop {
            // Linux's get_user: any alignment.
            let mut raw = [0u8; 4];
            k.read(uaddr, &mut raw)?;
            let uval = u32::from_ne_bytes(raw);
            if uval & l::FUTEX_TID_MASK != tid {
                return Err(Errno::EPERM);
            }
            let key = self.key(uaddr)?;
            if scope == Scope::Shared {
                return k.shared_unlock_pi(uaddr);
            }
            let bucket = self.bucket(key);
            let notify = |t| k.signal(t);
            let mut list = WakeList::new(&notify);
            let mut urgent = None;
            let outcome = {
                let locked = Locked::lock(bucket, k);
                self.unlock_pi_locked(&locked, &mut list, uaddr, key, uval, &mut urgent)
            };
            list.wake_all();
            if let Some(new_owner) = urgent {
                self.pi_boost_handoff(k.current(), new_owner);
            }
            match outcome {
                Ok(true) => return Ok(()),
                Ok(false) => continue, // raced with a waiter setting WAITERS: again
                Err(e) => return Err(e),
            }
        }
    }

    /// Rule `[PI]` 6 under the bucket lock: `Ok(false)` means start again. A handoff in a
    /// queue that held an urgent waiter sets `urgent` to the new owner (`[PI-BOOST]`).
    fn unlock_pi_locked(
        &self,
        locked: &Locked<'_, K::Thread>,
        list: &mut WakeList<'_, K::Thread>,
        uaddr: usize,
        key: usize,
        uval: u32,
        urgent: &mut Option<K::Thread>,
    ) -> Result<bool, Errno> {
        let k = self.kernel;
        let (pi_queued, plain_queued) = queued(locked, key);
        if plain_queued {
            return Err(Errno::EINVAL);
        }
        if !pi_queued {
            // SAFETY: the caller owns the lock at `uaddr` and asked to release it.
            let seen = unsafe { k.cmpxchg_u32(uaddr, uval, 0) }?;
            return if seen == uval {
                Ok(true)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        self.hand_to_top(locked, list, uaddr, key, uval, 0, urgent)
    }

    /// The handoff of rule `[PI]` 6 to the first PI waiter on `key` (there is one): the word
    /// `uval` becomes `FUTEX_WAITERS | extra | waiter's tid` and that waiter is dequeued, its
    /// publication cleared, in one `[PI-CHAIN]` change.
    /// `Ok(false)`: the word changed, start again. Sets `urgent` as `unlock_pi_locked` does.
    #[allow(clippy::too_many_arguments)]
    fn hand_to_top(
        &self,
        locked: &Locked<'_, K::Thread>,
        list: &mut WakeList<'_, K::Thread>,
        uaddr: usize,
        key: usize,
        uval: u32,
        extra: u32,
        urgent: &mut Option<K::Thread>,
    ) -> Result<bool, Errno> {
        let (mut new_owner, mut most_urgent) = (None, NORMAL_PRIORITY);
        locked.visit(|node| {
            if node.key() == key && node.is_pi() {
                if new_owner.is_none() {
                    new_owner = Some((node.tid, node.thread));
                }
                most_urgent = most_urgent.min(node.prio());
            }
        });
        let Some((new_tid, new_thread)) = new_owner else {
            return Err(Errno::EINVAL); // the caller saw one queued
        };
        let newval = l::FUTEX_WAITERS | extra | new_tid as u32;
        let k = self.kernel;
        // [PI-CHAIN]: the new owner, its dequeue and the end of its publication are one change.
        self.pi_change_begin();
        let handed = (|| {
            // SAFETY: the caller owns the lock at `uaddr` (or, exiting, holds a word its robust
            // walk left without owner) and hands it over: the word gets the new owner.
            let seen = unsafe { k.cmpxchg_u32(uaddr, uval, newval) }?;
            if seen != uval {
                // An unconditional unlock raced with a waiter setting WAITERS: again. Anything
                // else is a word user space corrupted.
                return if seen & l::FUTEX_TID_MASK == uval {
                    Ok(false)
                } else {
                    Err(Errno::EINVAL)
                };
            }
            let mut first = true;
            locked.drain(list, None, |node| {
                if !first {
                    Visit::Stop
                } else if node.key() == key && node.is_pi() {
                    first = false;
                    k.locals_of(node.thread)[PI_BLOCKED].store(0, Ordering::Relaxed);
                    Visit::Wake
                } else {
                    Visit::Skip
                }
            });
            Ok(true)
        })();
        self.pi_change_end();
        if matches!(handed, Ok(true)) && most_urgent < NORMAL_PRIORITY {
            *urgent = Some(new_thread);
        }
        handed
    }

    /// Linux's `exit_pi_state_list`, for the calling thread, which is exiting (after its robust
    /// list was walked): every private PI futex whose word names it, or names nobody with
    /// `FUTEX_OWNER_DIED` set (what the robust walk leaves), and has PI waiters queued goes to
    /// its first waiter, which is woken owning it with the word `FUTEX_OWNER_DIED |
    /// FUTEX_WAITERS | its tid` (probed on 6.18: robust or not, the waiter's `LOCK_PI` returns
    /// 0 and the word says the owner died). Other waiters stay queued behind the new owner.
    ///
    /// # References
    /// Linux `kernel/futex/core.c` (`futex_cleanup`, `exit_pi_state_list`), `kernel/futex/pi.c`
    /// (`__fixup_pi_state_owner`: `OWNER_DIED` when the PI state has no owner).
    pub fn exit_pi_state(&self) {
        let k = self.kernel;
        let me = k.current();
        let tid = k.tid(me) as u32;
        // [PI-EXIT]: the mark before the scan (the fence pairs with the waiter's `[ORDER]` A
        // barrier, for the buckets the scan skips as empty).
        k.locals()[PI_EXITING].store(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        for bucket in self.buckets {
            // A word user space keeps rewriting could make this loop forever: bounded.
            for _ in 0..MAX_LOCK_DEPTH {
                if bucket.waiter_count() == 0 {
                    break;
                }
                let notify = |t| k.signal(t);
                let mut list = WakeList::new(&notify);
                let mut urgent = None;
                let handed = {
                    let locked = Locked::lock(bucket, k);
                    let mut found = None;
                    locked.visit(|node| {
                        if found.is_some() || !node.is_pi() {
                            return;
                        }
                        let Ok(uval) = k.load_u32(node.key()) else {
                            return;
                        };
                        let owner = uval & l::FUTEX_TID_MASK;
                        if owner == tid || (owner == 0 && uval & l::FUTEX_OWNER_DIED != 0) {
                            found = Some((node.key(), uval));
                        }
                    });
                    found.map(|(key, uval)| {
                        self.hand_to_top(
                            &locked,
                            &mut list,
                            key,
                            key,
                            uval,
                            l::FUTEX_OWNER_DIED,
                            &mut urgent,
                        )
                    })
                };
                list.wake_all();
                if let Some(new_owner) = urgent {
                    self.pi_boost_handoff(me, new_owner);
                }
                if handed.is_none() {
                    break;
                }
            }
        }
    }
}

/// What `lock_pi_atomic` decided.
pub(crate) enum Step {
    /// The lock is ours.
    Acquired,
    /// Queue and sleep.
    Wait,
    /// The word changed under us: start again.
    Retry,
    /// The word names this tid, no thread of this process (`WAITERS` is set).
    NotHere(i32),
}
