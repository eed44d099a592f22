//! The bucket lock.
//!
//! A test-and-test-and-set spin lock that yields to the port's scheduler after a short spin, so
//! a preempted holder gets the CPU back. Holders run a few dozen instructions (queue surgery and
//! one user-memory load) and never block or signal a thread while holding it, except the rare
//! overflow of a wake list (see `WakeList`).
//!
//! Reentrancy: a thread must never take a bucket lock from a host signal handler that
//! interrupted it while it held one. The dispatcher guarantees this by running every emulated
//! call inside an [`lintel_kernel::Interrupt`] span (`enter`/`leave`), during which the port
//! only posts interrupts to a per-thread inbox.

use crate::sync::{AtomicU32, Ordering, spin_hint};
use lintel_kernel::Threads;

const UNLOCKED: u32 = 0; // free
const LOCKED: u32 = 1; // held

/// Spins this many rounds before yielding the CPU.
const SPIN_LIMIT: u32 = 64;

#[derive(Debug)]
pub(crate) struct SpinLock {
    state: AtomicU32,
}

impl SpinLock {
    #[cfg(not(lintel_loom))]
    pub(crate) const fn new() -> Self {
        SpinLock {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    #[cfg(lintel_loom)]
    pub(crate) fn new() -> Self {
        SpinLock {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// Takes the lock. `Acquire` pairs with `unlock`'s `Release`: everything the previous holder
    /// did under the lock is visible to the next one.
    #[inline]
    pub(crate) fn lock<K: Threads + ?Sized>(&self, kernel: &K) {
        if self
            .state
            .compare_exchange_weak(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended(kernel);
        }
    }

    #[cold]
    fn lock_contended<K: Threads + ?Sized>(&self, kernel: &K) {
        let mut spins = 0;
        loop {
            // Spin on a plain load so the line stays shared while the holder works.
            while self.state.load(Ordering::Relaxed) != UNLOCKED {
                if spins < SPIN_LIMIT {
                    spins += 1;
                    spin_hint();
                } else {
                    kernel.yield_now();
                    #[cfg(lintel_loom)]
                    spin_hint();
                }
            }
            if self
                .state
                .compare_exchange_weak(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    #[inline]
    pub(crate) fn unlock(&self) {
        self.state.store(UNLOCKED, Ordering::Release);
    }
}
