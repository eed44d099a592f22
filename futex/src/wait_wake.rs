//! FUTEX_WAIT / WAIT_BITSET, FUTEX_WAKE / WAKE_BITSET and FUTEX_WAKE_OP.
//!
//! The memory-ordering argument for all of them is `[ORDER]` in table.rs; node lifetime is
//! `[LIFETIME]`.

use crate::table::{Key, Locked, Visit, Waiter, WakeList, lock_pair};
use crate::{FutexError, FutexTable, Restart, Scope, WaitRestart, WakeOp};
use lintel_kernel::{Deadline, Errno, Kernel, SharedWaitError, Wakeup};

impl<K: Kernel> FutexTable<'_, K> {
    /// `futex(uaddr, FUTEX_WAIT_BITSET[_PRIVATE], val, deadline, NULL, bitset)`: sleeps while
    /// `*uaddr == val` until woken by a wake whose bitset intersects `bitset`, the absolute
    /// `deadline` passes (`ETIMEDOUT`), or the thread is interrupted
    /// ([`FutexError::Restart`]).
    ///
    /// `EINVAL` for a zero bitset or misaligned `uaddr`, `EFAULT` for an unreadable word,
    /// `EAGAIN` if `*uaddr != val`. `Ok` means woken, whatever else happened meanwhile (a
    /// wake wins over a simultaneous timeout or interrupt, as on Linux).
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/waitwake.c` (`futex_wait`, `__futex_wait`).
    pub fn wait(
        &self,
        uaddr: usize,
        val: u32,
        bitset: u32,
        deadline: Option<Deadline>,
        scope: Scope,
    ) -> Result<(), FutexError> {
        if bitset == 0 {
            return Err(Errno::EINVAL.into());
        }
        let key = self.key(uaddr)?;
        self.wait_keyed(uaddr, key, val, bitset, deadline, scope)
    }

    /// [`wait`](Self::wait) once the arguments are checked and the key is known (futex2's
    /// `futex_wait` derives its key by its own rules: `FUTEX2_NUMA`).
    pub(crate) fn wait_keyed(
        &self,
        uaddr: usize,
        key: Key,
        val: u32,
        bitset: u32,
        deadline: Option<Deadline>,
        scope: Scope,
    ) -> Result<(), FutexError> {
        // An interrupted wait that was not woken. Linux decides woken, then timed out, then
        // interrupted (`__futex_wait`): a wait whose deadline passed before the thread ran
        // again is ETIMEDOUT even with a signal pending.
        let interrupted = || match deadline {
            None => FutexError::Restart(Restart::Syscall),
            Some(d) if self.kernel.now(d.clock) >= d.ns => Errno::ETIMEDOUT.into(),
            Some(deadline) => FutexError::Restart(Restart::Block(WaitRestart {
                uaddr,
                val,
                bitset,
                scope,
                deadline,
            })),
        };
        if scope == Scope::Shared {
            return match self.kernel.shared_wait(uaddr, val, bitset, deadline) {
                Ok(()) => Ok(()),
                Err(SharedWaitError::Errno(e)) => Err(e.into()),
                // The port may have given up before its value check (an interrupt was already
                // pending): Linux checks the value before it looks at signals, so a mismatch
                // or a fault is the answer then, as the restarted call would give. The shared
                // key comes before the value: memory with no shared key (a read-only anonymous
                // page, say) is EFAULT although it can be read, and the port resolves it.
                Err(SharedWaitError::Interrupted) => match self
                    .shared_key(uaddr)
                    .and_then(|()| self.kernel.load_u32(uaddr))
                {
                    Err(e) => Err(e.into()),
                    Ok(v) if v != val => Err(Errno::EAGAIN.into()),
                    Ok(_) => Err(interrupted()),
                },
            };
        }

        let k = self.kernel;
        // Touch the word before taking the bucket lock, so a page fault (or an EFAULT) is taken
        // without the lock held. Linux instead disables page faults under the lock and retries;
        // a port cannot do that, and the word is almost always hot anyway.
        k.load_u32(uaddr)?;
        let bucket = self.bucket(key);
        let me = k.current();
        let node = Waiter::new(key, bitset, k.priority(me), me);
        self.queue_if_value(bucket, uaddr, val, &node)?;
        match self.sleep(&node, deadline) {
            Slept::Woken => Ok(()),
            Slept::TimedOut => Err(Errno::ETIMEDOUT.into()),
            Slept::Interrupted => Err(interrupted()),
        }
    }

    /// The waiter's side of `[ORDER]`: counts a waiter in on `bucket` (barrier A), then, under
    /// the bucket lock, queues `node` if the word at `uaddr` still holds `val`; otherwise
    /// counts it out again and returns `EAGAIN` (or the fault reading the word).
    pub(crate) fn queue_if_value(
        &self,
        bucket: &crate::Bucket<K::Thread>,
        uaddr: usize,
        val: u32,
        node: &Waiter<K::Thread>,
    ) -> Result<(), Errno> {
        let k = self.kernel;
        bucket.waiters_inc(); // [ORDER] A
        let locked = Locked::lock(bucket, k);
        let check = match k.load_u32(uaddr) {
            Ok(v) if v == val => Ok(()),
            Ok(_) => Err(Errno::EAGAIN),
            Err(e) => Err(e),
        };
        if let Err(e) = check {
            drop(locked);
            bucket.waiters_dec();
            return Err(e);
        }
        locked.enqueue(node);
        Ok(())
    }

    /// Sleeps on the calling thread's notification until `node` (queued by the caller) is
    /// dequeued by a waker, the deadline passes or the thread is interrupted; in the last two
    /// cases the node is taken off its queue first. A waker that got there first wins
    /// (`[LIFETIME]`): the result is then `Woken`, whatever else happened.
    pub(crate) fn sleep(&self, node: &Waiter<K::Thread>, deadline: Option<Deadline>) -> Slept {
        self.sleep_then(node, deadline, |n| self.unqueue(n))
    }

    /// [`sleep`](Self::sleep) with the way a waiter that stops on its own leaves its queue:
    /// `unqueue(node)` takes it off and says whether it was still queued (false: a waker
    /// dequeued it first).
    #[inline]
    pub(crate) fn sleep_then(
        &self,
        node: &Waiter<K::Thread>,
        deadline: Option<Deadline>,
        unqueue: impl Fn(&Waiter<K::Thread>) -> bool,
    ) -> Slept {
        loop {
            let gave_up = match self.kernel.wait(deadline) {
                Wakeup::Notified if node.is_woken() => return Slept::Woken,
                // A token without a dequeue is stale or spurious: sleep again.
                Wakeup::Notified => continue,
                Wakeup::TimedOut => Slept::TimedOut,
                Wakeup::Interrupted => Slept::Interrupted,
            };
            return if unqueue(node) { gave_up } else { Slept::Woken };
        }
    }

    /// Resumes a timed wait that was interrupted, with its original absolute deadline (Linux's
    /// `futex_wait_restart`).
    pub fn restart_wait(&self, r: &WaitRestart) -> Result<(), FutexError> {
        self.wait(r.uaddr, r.val, r.bitset, Some(r.deadline), r.scope)
    }

    /// Takes `node` off whatever queue it is on, on its own thread's behalf. Returns `false`
    /// if a waker dequeued it first (the wait then counts as woken). `[LIFETIME]`
    pub(crate) fn unqueue(&self, node: &Waiter<K::Thread>) -> bool {
        loop {
            let b = node.bucket.load(crate::sync::Ordering::Acquire);
            if b.is_null() {
                return false;
            }
            // SAFETY: `bucket` only ever points into this table's bucket array, which outlives
            // every call on the table.
            let locked = Locked::lock(unsafe { &*b }, self.kernel);
            // A requeue may have moved the node between our load and the lock: re-check.
            if node.bucket.load(crate::sync::Ordering::Relaxed) == b {
                locked.remove_self(node);
                return true;
            }
        }
    }

    /// `futex(uaddr, FUTEX_WAKE_BITSET[_PRIVATE], nr_wake, NULL, NULL, bitset)`: wakes up to
    /// `nr_wake` waiters on `uaddr` whose bitset intersects `bitset`, first by priority then
    /// first-come; returns how many. As on Linux, `nr_wake <= 0` wakes one.
    ///
    /// `EINVAL` for a zero bitset or misaligned `uaddr`. A private wake never reads the word
    /// (unmapped memory: 0 woken); a shared one asks the port (unmapped: `EFAULT`).
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/waitwake.c` (`futex_wake`).
    pub fn wake(
        &self,
        uaddr: usize,
        nr_wake: i32,
        bitset: u32,
        scope: Scope,
    ) -> Result<u32, Errno> {
        if bitset == 0 {
            return Err(Errno::EINVAL);
        }
        let key = self.key(uaddr)?;
        if scope == Scope::Shared {
            return self.kernel.shared_wake(uaddr, nr_wake, bitset);
        }
        self.wake_private(key, nr_wake, bitset)
    }

    /// The private half of [`wake`](Self::wake), once the arguments are checked.
    #[inline]
    pub(crate) fn wake_private(&self, key: Key, nr_wake: i32, bitset: u32) -> Result<u32, Errno> {
        let bucket = self.bucket(key);
        if !bucket.waiters_pending() {
            // [ORDER] B
            return Ok(0);
        }
        self.wake_locked(bucket, key, nr_wake, bitset)
    }

    /// The lock-free half of a private `FUTEX_WAKE`: `Some(0)` when `uaddr` is a valid futex
    /// address and no thread waits in its bucket (Linux returns 0 without taking the bucket
    /// lock then), `None` when the full [`wake`](Self::wake) must run (waiters may be queued,
    /// or the address is invalid: the full call reports the errno). Takes no lock and changes
    /// nothing, so a caller may run it outside the port's span.
    #[inline]
    pub fn wake_no_waiters(&self, uaddr: usize) -> Option<u32> {
        let key = self.key(uaddr).ok()?;
        if self.bucket(key).waiters_pending() {
            return None;
        }
        // [ORDER] B
        Some(0)
    }

    #[cold]
    fn wake_locked(
        &self,
        bucket: &crate::Bucket<K::Thread>,
        key: usize,
        nr_wake: i32,
        bitset: u32,
    ) -> Result<u32, Errno> {
        let k = self.kernel;
        let notify = |t| k.signal(t);
        let mut list = WakeList::new(&notify);
        let woken = {
            let locked = Locked::lock(bucket, k);
            wake_matching(&locked, &mut list, key, nr_wake, bitset)
        };
        list.wake_all();
        woken
    }

    /// `futex(uaddr, FUTEX_WAKE_OP[_PRIVATE], nr_wake, nr_wake2, uaddr2, encoded_op)`:
    /// atomically applies the op to `*uaddr2`, wakes up to `nr_wake` waiters on `uaddr`, and
    /// if the comparison of `*uaddr2`'s old value holds, up to `nr_wake2` on `uaddr2`; returns
    /// the total woken. Both wakes ignore bitsets and wake at least one if any wait.
    ///
    /// `ENOSYS` for an unknown op (nothing written) or comparison (written, nobody woken);
    /// `EFAULT` if `*uaddr2` is not writable.
    ///
    /// # Safety
    /// `uaddr2` is written: the program must have handed it to lintel to modify (as the
    /// `FUTEX_WAKE_OP` syscall does), so that writing it breaks nothing the caller does not own.
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/waitwake.c` (`futex_wake_op`, `futex_atomic_op_inuser`).
    pub unsafe fn wake_op(
        &self,
        uaddr: usize,
        uaddr2: usize,
        nr_wake: i32,
        nr_wake2: i32,
        encoded_op: u32,
        scope: Scope,
    ) -> Result<u32, Errno> {
        let key1 = self.key(uaddr)?;
        let key2 = self.second_key(uaddr, scope, self.key(uaddr2))?;
        if scope == Scope::Shared {
            return self
                .kernel
                .shared_wake_op(uaddr, uaddr2, nr_wake, nr_wake2, encoded_op);
        }
        let op = WakeOp::decode(encoded_op)?;
        let k = self.kernel;
        // Fault the target in for writing before the locks are taken (Linux's
        // `fault_in_user_writeable`): an atomic no-op on the word's current value.
        let cur = k.load_u32(uaddr2)?;
        // SAFETY: the caller handed us `uaddr2` to modify; this write stores what is there.
        unsafe { k.cmpxchg_u32(uaddr2, cur, cur) }?;
        let notify = |t| k.signal(t);
        let mut list = WakeList::new(&notify);
        let woken = {
            let (l1, l2) = lock_pair(self.bucket(key1), self.bucket(key2), k);
            // SAFETY: the caller handed us `uaddr2` to modify.
            let old = unsafe { op.apply_user(k, uaddr2) }?;
            let cond = op.compare(old)?;
            // A PI waiter on either word ends the walk with EINVAL (Linux: `goto out_unlock`),
            // after which the nodes already taken are still woken.
            wake_matching(&l1, &mut list, key1, nr_wake, u32::MAX).and_then(|woken| {
                if !cond {
                    return Ok(woken);
                }
                let l2 = l2.as_ref().unwrap_or(&l1);
                Ok(woken + wake_matching(l2, &mut list, key2, nr_wake2, u32::MAX)?)
            })
        };
        list.wake_all();
        woken
    }
}

/// How [`FutexTable::sleep`] ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Slept {
    /// A waker dequeued the node.
    Woken,
    /// The deadline passed; the node is off the queue.
    TimedOut,
    /// The thread was interrupted; the node is off the queue.
    Interrupted,
}

/// Dequeues up to `max(nr_wake, 1)` nodes waiting on `key` with a bitset that intersects
/// `bitset` onto `list`; returns how many. Linux: `if (++ret >= nr_wake) break;`.
///
/// A `FUTEX_LOCK_PI` waiter on `key` stops the walk with `EINVAL`, as in Linux's `futex_wake`
/// (`this->pi_state`); the nodes already taken are still woken by the caller.
pub(crate) fn wake_matching<T: Copy>(
    locked: &Locked<'_, T>,
    list: &mut WakeList<'_, T>,
    key: usize,
    nr_wake: i32,
    bitset: u32,
) -> Result<u32, Errno> {
    let limit = nr_wake.max(1) as u32;
    let mut woken = 0u32;
    let mut pi = false;
    locked.drain(list, None, |node| {
        if woken == limit {
            Visit::Stop
        } else if node.key() != key {
            Visit::Skip
        } else if node.refuses_plain() {
            pi = true;
            Visit::Stop
        } else if node.bitset & bitset != 0 {
            woken += 1;
            Visit::Wake
        } else {
            Visit::Skip
        }
    });
    if pi { Err(Errno::EINVAL) } else { Ok(woken) }
}
