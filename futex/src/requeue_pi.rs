//! FUTEX_WAIT_REQUEUE_PI and FUTEX_CMP_REQUEUE_PI: a condition variable's waiters moved onto
//! the PI mutex they will own (glibc's condvars over PI mutexes).
//!
//! `[REQUEUE-PI]` Rules (Linux `kernel/futex/requeue.c`, each probed on 6.18):
//! 1. WAIT_REQUEUE_PI(uaddr, val, timeout, uaddr2): `uaddr == uaddr2` is `EINVAL`; then
//!    `uaddr2`'s key (`EINVAL` misaligned, `EFAULT`), then `uaddr`'s, then the value under the
//!    bucket lock (`EAGAIN`), then the waiter queues on `uaddr` as a plain waiter that only
//!    CMP_REQUEUE_PI takes (plain wakes and requeues, and LOCK_PI/UNLOCK_PI on `uaddr`, refuse
//!    it: `EINVAL`). The timeout is absolute, `CLOCK_MONOTONIC` unless `FUTEX_CLOCK_REALTIME`.
//! 2. CMP_REQUEUE_PI(uaddr, 1, nr_requeue, uaddr2, val3): `nr_wake` or `nr_requeue` negative,
//!    `uaddr == uaddr2`, `nr_wake != 1`: `EINVAL`; the keys; under both bucket locks `*uaddr
//!    != val3` is `EAGAIN`; `*uaddr2` is read (`EFAULT`). No waiter on `uaddr`: 0. The first
//!    waiter must be a WAIT_REQUEUE_PI waiter for `uaddr2` (`EINVAL`). The lock is then taken
//!    *for it* with LOCK_PI's rules (`futex_lock_pi_atomic`: its own tid in the word is
//!    `EDEADLK`, `ESRCH`/`EPERM` for an owner that is not here): a free lock becomes its
//!    (`FUTEX_WAITERS` added when `nr_requeue > 0`) and it is woken owning it; else the word
//!    gets `FUTEX_WAITERS`. Then waiters on `uaddr` are requeued to `uaddr2` as PI waiters,
//!    while `woken_or_requeued - 1 < nr_requeue` (so one more than `nr_requeue` when the lock
//!    was not free), each checked as the first was (`EINVAL` stops the loop; what was done
//!    stays done). The result is how many were woken or requeued.
//! 3. A requeued waiter is a LOCK_PI waiter on `uaddr2` (UNLOCK_PI hands it the lock; it
//!    publishes `uaddr2` for the deadlock walk, `[PI-CHAIN]`), queued by priority behind the
//!    waiters already there.
//! 4. The waiter's end (Linux's `futex_requeue_pi_wakeup_sync` state machine): a waiter that
//!    was dequeued by the requeuer's acquisition or by a handoff owns `uaddr2`: 0. One that
//!    leaves on its own removes itself from whichever queue it is on, under that bucket's lock
//!    (a requeue moves it only under both locks, `[LIFETIME]`), and its answer depends on where
//!    it was: still on `uaddr`, `ETIMEDOUT` or, interrupted, a restart (`ERESTARTNOINTR`: the
//!    call is made again, as on Linux); requeued, `ETIMEDOUT` or, interrupted, `EAGAIN` (Linux
//!    does not restart a requeued waiter). A passed deadline wins over an interruption.
//!
//! 5. Shared (no `FUTEX_PRIVATE_FLAG`; one flag covers both addresses, so there is no mixed
//!    form): lintel makes the checks before the keys' page lookups (the `EINVAL`s of 1 and 2,
//!    alignment, `access_ok`, in Linux's order, with `second_key`'s rule for a misaligned
//!    address after a shared one) and hands the call to the port
//!    ([`lintel_kernel::SharedFutex::shared_wait_requeue_pi`], `shared_cmp_requeue_pi`), which
//!    does the rest with Linux's semantics; an interrupted shared waiter still on `uaddr` is
//!    restarted, a requeued one answers `EAGAIN` (the port's contract). A private waiter and a
//!    shared requeuer (or the reverse) never meet, as on Linux.
//! 6. The deadlock walk of a requeued waiter (Linux's `rt_mutex_start_proxy_lock`): when the
//!    lock was not free, each waiter about to be requeued is first published on `uaddr2` and
//!    run through the `[PI-CHAIN]` walk from `uaddr2` (its own tid in the word is a cycle at
//!    once). A cycle (probed on 6.18): the publication is withdrawn, that waiter stays asleep
//!    on `uaddr` in its place, the loop stops (the waiters requeued before it stay requeued)
//!    and the requeuer gets `EDEADLK`, whatever it had done; `uaddr2` keeps `FUTEX_WAITERS`. A
//!    lock taken for the first waiter needs no walk: its new owner sleeps on nothing.
//!    The publication before the move is the one exception to `[PI-CHAIN]`'s "a thread
//!    publishes `L` exactly while queued on `L`": during the walk the waiter publishes
//!    `uaddr2` while still queued on `uaddr`. The argument holds as written, because what it
//!    needs of a publishing thread holds of this one too: it sleeps inside lintel and cannot
//!    leave (it needs `uaddr`'s bucket lock, which the requeuer holds) or take or release a
//!    lock, and its publication begins and ends in changes. Other walks see it as a waiter
//!    on `uaddr2`, as Linux's walks see the rt_mutex waiter that `rt_mutex_start_proxy_lock`
//!    enqueues before its own walk and removes on `EDEADLK`; a LOCK_PI racing the requeue may
//!    therefore be refused for that cycle too, as on Linux. The requeuer's walk runs with no
//!    change of its own in progress (the confirmation needs none anywhere), under both bucket
//!    locks; a thread inside a change never waits for a bucket lock, so the walk's wait for
//!    the epoch to settle always ends. (`[PI-BOOST]`'s `pi_reposition`, which looks for a
//!    publishing thread's node under `uaddr2`'s bucket lock, finds it moved or not there: a
//!    node gone, whose event makes its own update.) loom `requeue_pi`
//!    `requeue_deadlock_walk_vs_lock_pi`.
//!
//! A requeued waiter takes its effective priority (its own or the one it inherits, as it is at
//! the requeue) and boosts the PI futex's owner (`[PI-BOOST]`, futex/src/boost.rs).

use crate::pi::{PI_BLOCKED, Step};
use crate::sync::Ordering;
use crate::table::{Key, Locked, Visit, Waiter, WakeList, lock_pair};
use crate::{FutexError, FutexTable, Restart, Scope};
use core::sync::atomic::AtomicUsize;
use lintel_kernel::abi::linux::FUTEX_TID_MASK;
use lintel_kernel::{Deadline, Errno, Kernel, NORMAL_PRIORITY, SharedWaitError, Wakeup};

/// What a CMP_REQUEUE_PI pass under the locks decided.
enum Pass {
    /// Done: this many woken or requeued.
    Done(u32),
    /// A word changed under us: take the locks again.
    Retry,
    /// The lock's owner is no thread of this process (`ESRCH`/`EPERM`, asked without locks).
    NotHere(i32),
}

impl<K: Kernel> FutexTable<'_, K> {
    /// `futex(uaddr, FUTEX_WAIT_REQUEUE_PI[_PRIVATE], val, deadline, uaddr2, _)`: waits on
    /// `uaddr` until a `FUTEX_CMP_REQUEUE_PI` gives it the PI lock at `uaddr2` (rules
    /// `[REQUEUE-PI]` 1, 4, 5). `Ok` means the caller owns `uaddr2`.
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/requeue.c` (`futex_wait_requeue_pi`).
    pub fn wait_requeue_pi(
        &self,
        uaddr: usize,
        val: u32,
        deadline: Option<Deadline>,
        uaddr2: usize,
        scope: Scope,
    ) -> Result<(), FutexError> {
        if uaddr == uaddr2 {
            return Err(Errno::EINVAL.into());
        }
        let key2 = self.key(uaddr2)?;
        // For a shared futex `uaddr2`'s key includes the page lookup, before `uaddr`'s
        // alignment is looked at (see `second_key`).
        let key1 = self.second_key(uaddr2, scope, self.key(uaddr))?;
        let k = self.kernel;
        if scope == Scope::Shared {
            // [REQUEUE-PI] 5.
            return match k.shared_wait_requeue_pi(uaddr, val, deadline, uaddr2) {
                Ok(()) => Ok(()),
                Err(SharedWaitError::Errno(e)) => Err(e.into()),
                // The port may have given up before its checks (an interrupt was already
                // pending): Linux makes them before it looks at signals, so a key without a
                // shared page (`EFAULT`, `uaddr2`'s first) or a changed value (`EAGAIN`) is the
                // answer then, as the restarted call would give (see `wait_keyed`).
                Err(SharedWaitError::Interrupted) => match self
                    .shared_key(uaddr2)
                    .and_then(|()| self.shared_key(uaddr))
                    .and_then(|()| k.load_u32(uaddr))
                {
                    Err(e) => Err(e.into()),
                    Ok(v) if v != val => Err(Errno::EAGAIN.into()),
                    Ok(_) => Err(FutexError::Restart(Restart::NoIntr)),
                },
            };
        }
        k.load_u32(uaddr)?; // fault the word in without the lock held (see `wait`)
        let bucket = self.bucket(key1);
        let me = k.current();
        let node = Waiter::new_requeue_pi(key1, key2, k.priority(me), me, k.tid(me));
        self.queue_if_value(bucket, uaddr, val, &node)?;
        loop {
            let timed_out = match k.wait(deadline) {
                Wakeup::Notified if node.is_woken() => return Ok(()),
                // A token without a dequeue is stale or spurious: sleep again.
                Wakeup::Notified => continue,
                Wakeup::TimedOut => true,
                // Linux looks at the timer before the signal.
                Wakeup::Interrupted => deadline.is_some_and(|d| k.now(d.clock) >= d.ns),
            };
            // [REQUEUE-PI] 4.
            let owner = core::cell::Cell::new(0);
            let left = self.unqueue_requeue_pi(&node, key2, &owner);
            if left == Some(true) && node.prio() < NORMAL_PRIORITY {
                // [PI-BOOST]: an urgent waiter left the PI futex's queue.
                self.pi_boost_left(owner.get());
            }
            return match left {
                None => Ok(()),
                Some(_) if timed_out => Err(Errno::ETIMEDOUT.into()),
                Some(false) => Err(FutexError::Restart(Restart::NoIntr)),
                Some(true) => Err(Errno::EAGAIN.into()),
            };
        }
    }

    /// Takes the caller's requeue-PI waiter off whatever queue it is on: `None` if a waker
    /// dequeued it first (it owns the PI lock), else whether it had been requeued to `key2`
    /// (then its publication ends in the same `[PI-CHAIN]` change, and `owner` is set to the
    /// tid `key2`'s word named then, for `[PI-BOOST]`).
    fn unqueue_requeue_pi(
        &self,
        node: &Waiter<K::Thread>,
        key2: Key,
        owner: &core::cell::Cell<u32>,
    ) -> Option<bool> {
        loop {
            let b = node.bucket.load(Ordering::Acquire);
            if b.is_null() {
                return None;
            }
            // SAFETY: `bucket` only ever points into this table's bucket array, which outlives
            // every call on the table.
            let locked = Locked::lock(unsafe { &*b }, self.kernel);
            // A requeue may have moved the node between our load and the lock: re-check.
            if node.bucket.load(Ordering::Relaxed) == b {
                let requeued = node.key() == key2;
                if requeued {
                    self.pi_change_begin();
                    locked.remove_self(node);
                    self.kernel.locals()[PI_BLOCKED].store(0, Ordering::Relaxed);
                    self.pi_change_end();
                    let word = self.kernel.load_u32(key2).unwrap_or(0);
                    owner.set(word & FUTEX_TID_MASK);
                } else {
                    locked.remove_self(node);
                }
                return Some(requeued);
            }
        }
    }

    /// `futex(uaddr, FUTEX_CMP_REQUEUE_PI[_PRIVATE], nr_wake, nr_requeue, uaddr2, val3)`:
    /// takes the PI lock at `uaddr2` for the first WAIT_REQUEUE_PI waiter on `uaddr` if it is
    /// free (waking it), and requeues waiters onto `uaddr2` (rules `[REQUEUE-PI]` 2, 3, 5, 6).
    /// Returns how many were woken or requeued.
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/requeue.c` (`futex_requeue` with `requeue_pi`,
    /// `futex_proxy_trylock_atomic`).
    pub fn cmp_requeue_pi(
        &self,
        uaddr: usize,
        uaddr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        cmpval: u32,
        scope: Scope,
    ) -> Result<u32, FutexError> {
        if nr_wake < 0 || nr_requeue < 0 || uaddr == uaddr2 || nr_wake != 1 {
            return Err(Errno::EINVAL.into());
        }
        let key1 = self.key(uaddr)?;
        let key2 = self.second_key(uaddr, scope, self.key(uaddr2))?;
        let k = self.kernel;
        if scope == Scope::Shared {
            // [REQUEUE-PI] 5.
            return k
                .shared_cmp_requeue_pi(uaddr, uaddr2, nr_wake, nr_requeue, cmpval)
                .map_err(Into::into);
        }
        k.load_u32(uaddr)?; // fault the word in without the locks held
        let (b1, b2) = (self.bucket(key1), self.bucket(key2));
        let notify = |t| k.signal(t);
        let mut list = WakeList::new(&notify);
        b2.waiters_inc(); // [ORDER] A, for waiters about to land on b2
        let mut urgent = false;
        let pass = loop {
            let (l1, l2) = lock_pair(b1, b2, k);
            let lk2 = l2.as_ref().unwrap_or(&l1);
            let pass = self.cmp_requeue_pi_locked(
                &l1,
                lk2,
                &mut list,
                (uaddr, key1),
                (uaddr2, key2),
                nr_requeue,
                cmpval,
                &mut urgent,
            );
            if !matches!(pass, Ok(Pass::Retry)) {
                break pass;
            }
        };
        list.wake_all();
        b2.waiters_dec();
        if urgent {
            // [PI-BOOST]: urgent waiters were requeued onto `uaddr2`: its owner inherits.
            self.pi_boost_owner_of(uaddr2);
        }
        match pass {
            Ok(Pass::Done(n)) => Ok(n),
            Ok(Pass::NotHere(owner)) => Err(self.owner_elsewhere(owner)),
            Ok(Pass::Retry) => unreachable!("the loop above retries"),
            Err(e) => Err(e.into()),
        }
    }

    /// Rules `[REQUEUE-PI]` 2 and 6 under both bucket locks (`lk2` is `l1` when both keys share
    /// a bucket). Sets `urgent` if it requeued a waiter more urgent than [`NORMAL_PRIORITY`]
    /// (`[PI-BOOST]`).
    #[allow(clippy::too_many_arguments)]
    fn cmp_requeue_pi_locked(
        &self,
        l1: &Locked<'_, K::Thread>,
        lk2: &Locked<'_, K::Thread>,
        list: &mut WakeList<'_, K::Thread>,
        (uaddr, key1): (usize, Key),
        (uaddr2, key2): (usize, Key),
        nr_requeue: i32,
        cmpval: u32,
        urgent: &mut bool,
    ) -> Result<Pass, Errno> {
        let k = self.kernel;
        if k.load_u32(uaddr)? != cmpval {
            return Err(Errno::EAGAIN);
        }
        k.load_u32(uaddr2)?;
        let mut top = None;
        l1.visit(|node| {
            if top.is_none() && node.key() == key1 {
                top = Some((node.requeue_pi, node.tid));
            }
        });
        let Some((target, tid)) = top else {
            return Ok(Pass::Done(0));
        };
        if target != Some(key2) {
            return Err(Errno::EINVAL);
        }
        // [PI-CHAIN]: the word's new owner and the dequeue are one change.
        self.pi_change_begin();
        let step = self.lock_pi_atomic(lk2, uaddr2, key2, tid as u32, nr_requeue != 0);
        let acquired = matches!(step, Ok(Step::Acquired));
        if acquired {
            let mut first = true;
            l1.drain(list, None, |node| {
                if !first {
                    Visit::Stop
                } else if node.key() == key1 {
                    first = false;
                    Visit::Wake
                } else {
                    Visit::Skip
                }
            });
        }
        self.pi_change_end();
        match step? {
            Step::Acquired | Step::Wait => {}
            Step::Retry => return Ok(Pass::Retry),
            Step::NotHere(owner) => return Ok(Pass::NotHere(owner)),
        }
        // The owner of `uaddr2` when it was not free: it sets no word while FUTEX_WAITERS is
        // set and we hold `uaddr2`'s bucket lock, so it stays the owner during the requeue.
        let owner = if acquired {
            0
        } else {
            k.load_u32(uaddr2)? & FUTEX_TID_MASK
        };
        let mut count = i64::from(acquired);
        let (mut refused, mut deadlock, mut open) = (false, false, false);
        // Moved onto `lk2` even within one bucket, so that a requeued waiter queues behind
        // the PI waiters already there, as in Linux's plist.
        l1.drain(list, Some((Some(lk2), key2)), |node| {
            if open {
                // The previous waiter's move is done: its change ends.
                self.pi_change_end();
                open = false;
            }
            if count > i64::from(nr_requeue) {
                return Visit::Stop;
            } else if node.key() != key1 {
                return Visit::Skip;
            } else if node.requeue_pi != Some(key2) {
                refused = true;
                return Visit::Stop;
            }
            let blocked = &k.locals_of(node.thread)[PI_BLOCKED];
            // [REQUEUE-PI] 6: onto a lock someone else owns, the waiter is published first
            // and then run through the deadlock walk.
            if !acquired && self.proxy_closes(blocked, node.tid as u32, owner, uaddr2) {
                deadlock = true;
                return Visit::Stop;
            }
            // [PI-CHAIN]: the move and the publication are one change (ended above, or
            // after the drain, once the move is done).
            self.pi_change_begin();
            open = true;
            blocked.store(uaddr2, Ordering::Relaxed);
            // A PI waiter queues with its effective priority (`[PI-BOOST]`; Linux's proxy lock
            // takes the task's priority as it is now).
            let prio = self.effective_priority(node.thread);
            node.set_prio(prio);
            *urgent |= prio < NORMAL_PRIORITY;
            count += 1;
            Visit::Move
        });
        if open {
            self.pi_change_end();
        }
        if refused {
            Err(Errno::EINVAL)
        } else if deadlock {
            Err(Errno::EDEADLK)
        } else {
            Ok(Pass::Done(count as u32))
        }
    }

    /// Rule `[REQUEUE-PI]` 6 for one waiter (tid `tid`, its publication word `blocked`) about
    /// to be requeued onto `uaddr2`, owned by `owner`: whether it would close a cycle of PI
    /// waiters (Linux's `rt_mutex_start_proxy_lock`, whose chain walk enqueues the waiter
    /// first and takes it off again on `EDEADLK`). It owns `uaddr2` itself: yes. Otherwise it
    /// publishes `uaddr2` in one `[PI-CHAIN]` change, the walk runs from `uaddr2` as for a
    /// LOCK_PI waiter (confirmed by an unchanged epoch), and on a cycle the publication is
    /// withdrawn in another change. While published and not yet moved it is still asleep on
    /// `uaddr` under our lock, so it can neither take nor release a lock: for every other
    /// walk it is a waiter on `uaddr2`, as Linux's enqueued rt_mutex waiter is for its walks.
    fn proxy_closes(&self, blocked: &AtomicUsize, tid: u32, owner: u32, uaddr2: usize) -> bool {
        if tid == owner {
            return true;
        }
        self.pi_change_begin();
        blocked.store(uaddr2, Ordering::Relaxed);
        self.pi_change_end();
        if !self.pi_chain_closes(tid, uaddr2) {
            return false;
        }
        self.pi_change_begin();
        blocked.store(0, Ordering::Relaxed);
        self.pi_change_end();
        true
    }
}
