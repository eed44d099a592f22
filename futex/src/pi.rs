//! FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI and UNLOCK_PI: the priority-inheritance lock protocol.
//!
//! The futex word is the lock: 0 free, else the owner's tid, with `FUTEX_WAITERS` (someone
//! waits in the kernel, so the owner must unlock through `UNLOCK_PI`) and `FUTEX_OWNER_DIED`.
//! User space takes a free lock with a `0 -> tid` compare-and-exchange and releases an
//! uncontended one with `tid -> 0`; the kernel is asked only when that fails.
//!
//! lintel keeps Linux's *ownership* protocol exactly (which value the word holds after each
//! step, every errno); it does not boost priorities (the port has no priority hook yet), which
//! docs/abi.md states. The waiters are ordinary nodes of the futex table marked `pi`; plain
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
//! 4. Deadlock detection: only rule 1's own tid. A cycle of PI waiters (A owns L1 and waits
//!    on L2, B owns L2 and waits on L1) is not detected yet (docs/abi.md, known differences).
//! 5. Queue and sleep. Woken by UNLOCK_PI's handoff, the waiter owns the lock.
//! 6. UNLOCK_PI: the word's tid must be the caller's (`EPERM`). With a PI waiter queued, the
//!    word becomes `FUTEX_WAITERS | waiter's tid` — always WAITERS, even for the last waiter —
//!    and that waiter is dequeued and woken: the lock is handed off, never left free. With none,
//!    the word becomes 0 (`EAGAIN` if user space changed it meanwhile).
//! 7. A waiter whose timeout or interruption races the handoff owns the lock
//!    if the handoff dequeued it first (the same `[LIFETIME]` rule as plain waits). LOCK_PI
//!    never returns `EINTR`: an interrupted LOCK_PI is restarted (`ERESTARTNOINTR`).
//!

use crate::table::{Locked, Visit, Waiter, WakeList};
use crate::wait_wake::Slept;
use crate::{FutexError, FutexTable, Restart, Scope};
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Deadline, Errno, Kernel, Passed, SharedWaitError};

/// Whether a PI waiter is queued on `key` in `locked`'s bucket (and whether a plain one is,
/// which makes the futex inconsistent: Linux answers `EINVAL`).
fn queued<T: Copy>(locked: &Locked<'_, T>, key: usize) -> (bool, bool) {
    let (mut pi, mut plain) = (false, false);
    locked.visit(|node| {
        if node.key() == key {
            if node.pi {
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
            top = Some(node.pi);
        }
    });
    top
}

impl<K: Kernel> FutexTable<'_, K> {
    /// `futex(uaddr, FUTEX_LOCK_PI[2][_PRIVATE], 0, deadline, NULL, 0)`, or with `trylock`
    /// `FUTEX_TRYLOCK_PI`: takes the PI lock at `uaddr` for the calling thread, sleeping while
    /// another thread owns it (rules `[PI]` 1–5, 7).
    ///
    /// `EDEADLK` if the caller owns it, `ESRCH`
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
        let node = Waiter::new_pi(key, k.priority(me), me, tid);
        loop {
            k.load_u32(uaddr)?; // fault the word in without the lock held
            bucket.waiters_inc();
            let locked = Locked::lock(bucket, k);
            let step = self.lock_pi_atomic(&locked, uaddr, key, tid as u32);
            if let Ok(Step::Wait) = step {
                if !trylock {
                    locked.enqueue(&node);
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
        let slept = self.sleep(&node, deadline);
        // [PI] 5 and 7: dequeued by the handoff means owning the lock.
        match slept {
            Slept::Woken => Ok(()),
            Slept::TimedOut => Err(Errno::ETIMEDOUT.into()),
            Slept::Interrupted => Err(FutexError::Restart(Restart::NoIntr)),
        }
    }

    /// Rules `[PI]` 1–3, under the bucket lock.
    fn lock_pi_atomic(
        &self,
        locked: &Locked<'_, K::Thread>,
        uaddr: usize,
        key: usize,
        tid: u32,
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
            let newval = (uval & l::FUTEX_OWNER_DIED) | tid;
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
    fn owner_elsewhere(&self, tid: i32) -> FutexError {
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
            let outcome = {
                let locked = Locked::lock(bucket, k);
                self.unlock_pi_locked(&locked, &mut list, uaddr, key, uval)
            };
            list.wake_all();
            match outcome {
                Ok(true) => return Ok(()),
                Ok(false) => continue, // raced with a waiter setting WAITERS: again
                Err(e) => return Err(e),
            }
        }
    }

    /// Rule `[PI]` 6 under the bucket lock: `Ok(false)` means start again.
    fn unlock_pi_locked(
        &self,
        locked: &Locked<'_, K::Thread>,
        list: &mut WakeList<'_, K::Thread>,
        uaddr: usize,
        key: usize,
        uval: u32,
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
        let mut new_tid = 0;
        locked.visit(|node| {
            if new_tid == 0 && node.key() == key && node.pi {
                new_tid = node.tid;
            }
        });
        let newval = l::FUTEX_WAITERS | new_tid as u32;
        // SAFETY: as above: the handoff writes the new owner into the word.
        let seen = unsafe { k.cmpxchg_u32(uaddr, uval, newval) }?;
        if seen != uval {
            // An unconditional unlock raced with a waiter setting WAITERS: again. Anything else
            // is a word user space corrupted.
            return if seen & l::FUTEX_TID_MASK == uval {
                Ok(false)
            } else {
                Err(Errno::EINVAL)
            };
        }
        let mut handed = false;
        locked.drain(list, None, |node| {
            if handed {
                Visit::Stop
            } else if node.key() == key && node.pi {
                handed = true;
                Visit::Wake
            } else {
                Visit::Skip
            }
        });
        Ok(true)
    }
}

/// What `lock_pi_atomic` decided.
enum Step {
    /// The lock is ours.
    Acquired,
    /// Queue and sleep.
    Wait,
    /// The word changed under us: start again.
    Retry,
    /// The word names this tid, no thread of this process (`WAITERS` is set).
    NotHere(i32),
}
