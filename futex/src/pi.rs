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
//! `[PI]` Rules (Linux `kernel/futex/pi.c`):
//! 1. LOCK_PI reads the word under the bucket lock. Its own tid: `EDEADLK`. Tid 0 and nobody
//!    queued: take it, keeping `OWNER_DIED` (`newval = (uval & OWNER_DIED) | tid`).
//! 2. Otherwise set `FUTEX_WAITERS` (a changed word means: start again). If nobody was queued
//!    yet, the owner must exist (`ESRCH` for a tid nobody has, re-checked against a changed
//!    word); TRYLOCK_PI then fails with `EAGAIN`, leaving `WAITERS` set.
//! 3. Queue and sleep. Woken by UNLOCK_PI's handoff, the waiter owns the lock.
//! 4. UNLOCK_PI: the word's tid must be the caller's (`EPERM`). With a PI waiter queued, the
//!    word becomes `FUTEX_WAITERS | waiter's tid` — always WAITERS, even for the last waiter —
//!    and that waiter is dequeued and woken: the lock is handed off, never left free. With none,
//!    the word becomes 0 (`EAGAIN` if user space changed it meanwhile).
//! 5. A waiter whose timeout or interruption races the handoff owns the lock if the handoff
//!    dequeued it first (the same `[LIFETIME]` rule as plain waits). LOCK_PI never returns
//!    `EINTR`: an interrupted LOCK_PI is restarted (`ERESTARTNOINTR`).

use crate::table::{Locked, Visit, Waiter, WakeList};
use crate::wait_wake::Slept;
use crate::{FutexError, FutexTable, Restart, Scope};
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Deadline, Errno, Kernel, SharedWaitError};

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

impl<K: Kernel> FutexTable<'_, K> {
    /// `futex(uaddr, FUTEX_LOCK_PI[2][_PRIVATE], 0, deadline, NULL, 0)`, or with `trylock`
    /// `FUTEX_TRYLOCK_PI`: takes the PI lock at `uaddr` for the calling thread, sleeping while
    /// another thread owns it (rules `[PI]` 1–3, 5).
    ///
    /// `EDEADLK` if the caller owns it, `ESRCH` for an owner tid nobody has, `EAGAIN` for a
    /// failed trylock, `ETIMEDOUT`, `EINVAL` (misaligned, or plain waiters on the word),
    /// `EFAULT`; an interruption is [`Restart::NoIntr`]. A shared PI futex is the port's
    /// ([`lintel_kernel::SharedFutex::shared_lock_pi`]).
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/pi.c` (`futex_lock_pi`, `futex_lock_pi_atomic`).
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
            match self.lock_pi_atomic(&locked, uaddr, key, tid as u32) {
                Ok(Step::Acquired) => {
                    drop(locked);
                    bucket.waiters_dec();
                    return Ok(());
                }
                Ok(Step::Retry) => {
                    drop(locked);
                    bucket.waiters_dec();
                    continue;
                }
                Ok(Step::Wait) if trylock => {
                    drop(locked);
                    bucket.waiters_dec();
                    return Err(Errno::EAGAIN.into());
                }
                Ok(Step::Wait) => {
                    locked.enqueue(&node);
                }
                Err(e) => {
                    drop(locked);
                    bucket.waiters_dec();
                    return Err(e.into());
                }
            }
            break;
        }
        // [PI] 3 and 5: dequeued by the handoff means owning the lock.
        match self.sleep(&node, deadline) {
            Slept::Woken => Ok(()),
            Slept::TimedOut => Err(Errno::ETIMEDOUT.into()),
            Slept::Interrupted => Err(FutexError::Restart(Restart::NoIntr)),
        }
    }

    /// Rules `[PI]` 1–2, under the bucket lock.
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
        let (pi_queued, plain_queued) = queued(locked, key);
        if plain_queued {
            return Err(Errno::EINVAL);
        }
        if !pi_queued && uval & l::FUTEX_TID_MASK == 0 {
            let newval = (uval & l::FUTEX_OWNER_DIED) | tid;
            // SAFETY: the caller asked to take the PI lock at `uaddr`: writing it is the call.
            let seen = unsafe { k.cmpxchg_u32(uaddr, uval, newval) }?;
            return Ok(if seen == uval {
                Step::Acquired
            } else {
                Step::Retry
            });
        }
        if uval & l::FUTEX_WAITERS == 0 {
            // SAFETY: as above.
            let seen = unsafe { k.cmpxchg_u32(uaddr, uval, uval | l::FUTEX_WAITERS) }?;
            if seen != uval {
                return Ok(Step::Retry);
            }
        }
        if !pi_queued {
            // First waiter: the owner must exist (Linux's attach_to_pi_owner).
            let owner = (uval & l::FUTEX_TID_MASK) as i32;
            if owner == 0 || !k.tid_alive(owner) {
                // Linux's handle_exit_race: a changed word means try again.
                let now = k.load_u32(uaddr)?;
                return if now != uval | l::FUTEX_WAITERS {
                    Ok(Step::Retry)
                } else {
                    Err(Errno::ESRCH)
                };
            }
        }
        Ok(Step::Wait)
    }

    /// `futex(uaddr, FUTEX_UNLOCK_PI[_PRIVATE], 0, NULL, NULL, 0)`: releases the PI lock the
    /// caller owns, handing it to the first PI waiter if there is one (rule `[PI]` 4).
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

    /// Rule `[PI]` 4 under the bucket lock: `Ok(false)` means start again.
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
}
