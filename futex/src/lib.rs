//! # lintel-futex: Linux's futex(2), in userspace
//!
//! A futex table that behaves exactly like Linux's `futex(2)` (values, errno, wake counts,
//! restart rules) while using only what a microkernel offers: threads, a per-thread
//! notification and clocks, through [`lintel_kernel`]'s porting traits.
//!
//! ```text
//!  syscall.rs   the ABI edge: futex(uaddr, op, val, utime/val2, uaddr2, val3) -> Result
//!      |        (timespec copy-in and checks, FUTEX_CLOCK_REALTIME, op dispatch)
//!      v
//!  wait_wake.rs WAIT / WAIT_BITSET, WAKE / WAKE_BITSET, WAKE_OP      op.rs: WAKE_OP decoding
//!  requeue.rs   REQUEUE, CMP_REQUEUE
//!  pi.rs        LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI: [PI], deadlock walk [PI-CHAIN]
//!  requeue_pi.rs WAIT_REQUEUE_PI, CMP_REQUEUE_PI: [REQUEUE-PI]
//!  futex2.rs    futex_wake, futex_wait, futex_requeue (454-456): their own argument checks,
//!               then the same wait/wake/requeue
//!      |
//!      v
//!  table.rs     buckets, waiter nodes, queue surgery, [ORDER] [LIFETIME] [LOCKORDER]
//!  lock.rs      the bucket lock          sync.rs: the loom facade
//! ```
//!
//! Design, in the shape of Linux's `kernel/futex/` and parking_lot_core:
//! - **Private futexes** live in a table of hashed, cache-aligned buckets. A waiter's node
//!   lives on the waiting thread's stack: nothing on the wait/wake path allocates.
//! - **Shared futexes** (no `FUTEX_PRIVATE_FLAG`) have waiters in other processes, so the
//!   port's [`lintel_kernel::SharedFutex`] holds them; this crate validates the call as Linux
//!   does and hands the port the operation. Private and shared waiters on one address never see
//!   each other, as on Linux.
//! - **A wake with nobody waiting takes no lock** and never enters the kernel: each bucket
//!   counts its waiters, with the barriers of `[ORDER]` (table.rs).
//! - **Two-phase wake**: dequeue under the bucket lock, notify after unlocking.
//! - **Interruption** (the thread's interrupted flag, set by the signal layer) ends a wait with
//!   [`FutexError::Restart`], never a bare `EINTR`, and only after the node left the queue.
//!
//! Use: build a [`FutexTable`] over a bucket array and a port, and call
//! [`FutexTable::futex`] with the raw syscall arguments, or the typed methods.
//!
//! Callers run each call inside an [`lintel_kernel::Interrupt`] span (`enter`/`leave`) so
//! that the port never runs lintel code from a host signal handler on a thread that holds a
//! bucket lock (the dispatcher does this for every emulated syscall).
#![no_std]

#[cfg(lintel_loom)]
extern crate std;

mod boost;
mod error;
mod futex2;
mod lock;
mod op;
mod pi;
mod requeue;
mod requeue_pi;
mod sync;
mod syscall;
mod table;
mod wait_wake;

pub use boost::PI_INHERITED;
pub use error::{FutexError, Restart, WaitRestart};
pub use op::{Op, WakeOp};
pub use pi::PI_BLOCKED;
pub use table::{Bucket, buckets_for_cpus};

use lintel_kernel::{Errno, Kernel, NORMAL_PRIORITY};
use table::Key;

/// Every bucket of a table, locked across a `fork` ([`FutexTable::prepare_fork`]).
pub struct ForkGuard<'a, K: Kernel> {
    buckets: &'a [Bucket<K::Thread>],
    kernel: &'a K,
}

impl<K: Kernel> core::fmt::Debug for ForkGuard<'_, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ForkGuard")
            .field("buckets", &self.buckets.len())
            .finish()
    }
}

impl<K: Kernel> ForkGuard<'_, K> {
    /// In the child of the fork: every waiter queued in the table belonged to a thread of the
    /// parent, which does not exist here, so the table is emptied, then unlocked.
    pub fn in_child(self) {
        for b in self.buckets {
            // SAFETY: we hold every bucket's lock (prepare_fork); the queued nodes live on the
            // stacks of the parent's other threads, which the child does not have.
            unsafe { b.forget_waiters() };
        }
        // Nobody waits for what the child's thread owns: it inherits nothing (Linux's
        // `sched_fork` starts the child at its normal priority).
        let k = self.kernel;
        k.locals()[boost::PI_INHERITED].store(0, core::sync::atomic::Ordering::Relaxed);
        k.inherit_priority(k.current(), NORMAL_PRIORITY);
        // Dropping unlocks.
    }
}

impl<K: Kernel> Drop for ForkGuard<'_, K> {
    fn drop(&mut self) {
        for b in self.buckets.iter().rev() {
            b.raw_unlock();
        }
        self.buckets[0].pi_boost.unlock();
    }
}

/// Whether a futex is private to this process (`FUTEX_PRIVATE_FLAG`) or may be shared with
/// others.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `FUTEX_PRIVATE_FLAG` set: lintel's own table.
    Private,
    /// No `FUTEX_PRIVATE_FLAG`: the port's shared futexes.
    Shared,
}

/// A futex table: a view over a bucket array and a port. Cheap to build; every thread of a
/// process must use the same buckets.
pub struct FutexTable<'a, K: Kernel> {
    kernel: &'a K,
    buckets: &'a [Bucket<K::Thread>],
    mask: usize,
}

impl<K: Kernel> Clone for FutexTable<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: Kernel> Copy for FutexTable<'_, K> {}

impl<K: Kernel> core::fmt::Debug for FutexTable<'_, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FutexTable")
            .field("buckets", &self.buckets.len())
            .finish()
    }
}

impl<'a, K: Kernel> FutexTable<'a, K> {
    /// A table over `buckets` (at least one; only the largest power-of-two prefix is used,
    /// see [`buckets_for_cpus`]).
    ///
    /// # Panics
    /// If `buckets` is empty.
    pub fn new(kernel: &'a K, buckets: &'a [Bucket<K::Thread>]) -> Self {
        assert!(
            !buckets.is_empty(),
            "a futex table needs at least one bucket"
        );
        let len = 1usize << (usize::BITS - 1 - buckets.len().leading_zeros());
        FutexTable {
            kernel,
            buckets: &buckets[..len],
            mask: len - 1,
        }
    }

    /// The port.
    pub fn kernel(&self) -> &'a K {
        self.kernel
    }

    /// Number of threads queued (or about to queue) on private futexes, summed over buckets.
    /// Zero when the table is idle.
    pub fn waiters(&self) -> usize {
        self.buckets.iter().map(Bucket::waiter_count).sum()
    }

    /// Locks every bucket, in `[LOCKORDER]`, for a `fork`: no bucket can then be half-changed
    /// in the child (a thread of the parent holding a bucket lock at the fork would leave it
    /// locked forever in the child, where that thread does not exist). Call
    /// [`ForkGuard::in_child`] in the child; dropping the guard (in the parent) unlocks.
    pub fn prepare_fork(&self) -> ForkGuard<'a, K> {
        // The boost lock comes before every bucket lock (`[PI-BOOST]`, futex/src/boost.rs).
        self.buckets[0].pi_boost.lock(self.kernel);
        for b in self.buckets {
            b.raw_lock(self.kernel);
        }
        ForkGuard {
            buckets: self.buckets,
            kernel: self.kernel,
        }
    }

    #[inline]
    fn bucket(&self, key: Key) -> &'a Bucket<K::Thread> {
        &self.buckets[table::hash(key, self.mask)]
    }

    /// Linux's `get_futex_key` checks for a private key: `EINVAL` for a misaligned address,
    /// then `EFAULT` past the end of user space (`access_ok`). The word itself is not touched:
    /// a private wake on unmapped memory returns 0, as on Linux.
    #[inline]
    fn key(&self, uaddr: usize) -> Result<Key, Errno> {
        if uaddr % 4 != 0 {
            return Err(Errno::EINVAL);
        }
        if !self.kernel.access_ok(uaddr, 4) {
            return Err(Errno::EFAULT);
        }
        Ok(uaddr)
    }

    /// The second key of a two-address command (REQUEUE, CMP_REQUEUE, WAKE_OP, futex2's
    /// requeue), in Linux's order: `get_futex_key(uaddr2)` runs only once `uaddr`'s key is
    /// complete, and for a shared futex that includes the page lookup (`EFAULT` for memory
    /// with no shared key: unmapped, `PROT_NONE`, a read-only anonymous page, the end of user
    /// space). lintel leaves that lookup to the port, so when `uaddr2`'s own checks fail with
    /// something else (`EINVAL`: misaligned), the port resolves `uaddr`'s key first: a requeue
    /// of nobody from `uaddr` to itself does exactly `get_futex_key(uaddr)` twice and nothing
    /// else (probed on 6.18: `futex(8, FUTEX_REQUEUE, 1, 1, <misaligned>, 0)` is `EFAULT`, and
    /// so is a read-only anonymous `uaddr`).
    fn second_key(
        &self,
        uaddr: usize,
        scope: Scope,
        key2: Result<Key, Errno>,
    ) -> Result<Key, Errno> {
        match key2 {
            Err(Errno::EINVAL) if scope == Scope::Shared => {
                self.shared_key(uaddr)?;
                Err(Errno::EINVAL)
            }
            k => k,
        }
    }

    /// Has the port resolve `uaddr`'s shared key, as Linux's `get_futex_key` does for a shared
    /// futex (the page lookup: `EFAULT` for memory with no shared key) and nothing else: a
    /// requeue of nobody from `uaddr` to itself. A port without shared requeues (`ENOSYS`)
    /// cannot tell: `Ok`.
    fn shared_key(&self, uaddr: usize) -> Result<(), Errno> {
        match self.kernel.shared_requeue(uaddr, uaddr, 0, 0, None) {
            Ok(_) | Err(Errno::ENOSYS) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
