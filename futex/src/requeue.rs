//! FUTEX_REQUEUE and FUTEX_CMP_REQUEUE.
//!
//! Ordering: the target bucket is counted in before the locks are taken, so a wake on the
//! target that races with the requeue does not skip the lock (`[ORDER]` in table.rs, as
//! Linux's `futex_hb_waiters_inc(hb2)`).

use crate::table::{Key, Visit, WakeList, lock_pair};
use crate::{FutexTable, Scope};
use lintel_kernel::{Errno, Kernel};

impl<K: Kernel> FutexTable<'_, K> {
    /// `futex(uaddr, FUTEX_CMP_REQUEUE[_PRIVATE], nr_wake, nr_requeue, uaddr2, expected)`
    /// (or `FUTEX_REQUEUE` when `expected` is `None`): wakes up to `nr_wake` waiters on
    /// `uaddr` and moves up to `nr_requeue` more to wait on `uaddr2`; returns woken + moved.
    ///
    /// `EINVAL` for a negative count or a misaligned address; `EFAULT` if `*uaddr` cannot be
    /// read (CMP only); `EAGAIN` if `*uaddr != expected`. Unlike `FUTEX_WAKE`, `nr_wake == 0`
    /// wakes nobody, and `nr_wake == nr_requeue == 0` does nothing (Linux's loop stops when
    /// `task_count - nr_wake >= nr_requeue`).
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/requeue.c` (`futex_requeue`, `requeue_futex`).
    pub fn requeue(
        &self,
        uaddr: usize,
        uaddr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        expected: Option<u32>,
        scope: Scope,
    ) -> Result<u32, Errno> {
        if nr_wake < 0 || nr_requeue < 0 {
            return Err(Errno::EINVAL);
        }
        let key1 = self.key(uaddr)?;
        let key2 = self.second_key(uaddr, scope, self.key(uaddr2))?;
        self.requeue_keyed(
            (uaddr, key1),
            (uaddr2, key2),
            nr_wake,
            nr_requeue,
            expected,
            scope,
        )
    }

    /// [`requeue`](Self::requeue) once the counts are checked and both keys are known (futex2's
    /// `futex_requeue` derives its keys by its own rules: `FUTEX2_NUMA`). `from` and `to` are
    /// each an address and its key.
    pub(crate) fn requeue_keyed(
        &self,
        (uaddr, key1): (usize, Key),
        (uaddr2, key2): (usize, Key),
        nr_wake: i32,
        nr_requeue: i32,
        expected: Option<u32>,
        scope: Scope,
    ) -> Result<u32, Errno> {
        if scope == Scope::Shared {
            return self
                .kernel
                .shared_requeue(uaddr, uaddr2, nr_wake, nr_requeue, expected);
        }

        let k = self.kernel;
        if expected.is_some() {
            // Fault the word in before the locks are taken (see `wait`).
            k.load_u32(uaddr)?;
        }
        let (b1, b2) = (self.bucket(key1), self.bucket(key2));
        let notify = |t| k.signal(t);
        let mut list = WakeList::new(&notify);
        b2.waiters_inc(); // [ORDER] A, for waiters about to land on b2
        let result = (|| {
            let (l1, l2) = lock_pair(b1, b2, k);
            if let Some(expected) = expected {
                if k.load_u32(uaddr)? != expected {
                    return Err(Errno::EAGAIN);
                }
            }
            let (nr_wake, nr_requeue) = (i64::from(nr_wake), i64::from(nr_requeue));
            let mut count: i64 = 0;
            let mut pi = false;
            l1.drain(&mut list, Some((l2.as_ref(), key2)), |node| {
                if count - nr_wake >= nr_requeue {
                    return Visit::Stop;
                }
                if node.key() != key1 {
                    return Visit::Skip;
                }
                if node.refuses_plain() {
                    // Linux: a PI waiter cannot be requeued by a plain requeue (EINVAL); what
                    // was woken or moved before it stays so.
                    pi = true;
                    return Visit::Stop;
                }
                count += 1;
                if count <= nr_wake {
                    Visit::Wake
                } else {
                    Visit::Move
                }
            });
            if pi {
                Err(Errno::EINVAL)
            } else {
                Ok(count as u32)
            }
        })();
        list.wake_all();
        b2.waiters_dec();
        result
    }
}
