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

#[cfg(not(lintel_loom))]
use crate::sync::spin_hint;
use crate::sync::{AtomicU32, Ordering};
use lintel_kernel::Threads;

const UNLOCKED: u32 = 0; // free
const LOCKED: u32 = 1; // held

/// Spins this many rounds before yielding the CPU.
#[cfg(not(lintel_loom))]
const SPIN_LIMIT: u32 = 64;

/// The bucket lock of normal builds: spin, then yield.
#[cfg(not(lintel_loom))]
#[derive(Debug)]
pub(crate) struct SpinLock {
    state: AtomicU32,
}

#[cfg(not(lintel_loom))]
impl SpinLock {
    pub(crate) const fn new() -> Self {
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

/// The bucket lock under loom: the same state machine, but a contended locker *parks* instead
/// of spinning. loom cannot bound a spin loop (each round is a yield, and two spinners can
/// alternate forever without a preemption being counted), so a spinning lock would keep models
/// with three lock-taking threads from finishing. The memory-ordering contract is the same:
/// `Acquire` on taking, `Release` on dropping. `state` is only written with read-modify-writes.
#[cfg(lintel_loom)]
#[derive(Debug)]
pub(crate) struct SpinLock {
    state: AtomicU32,
    /// Threads parked on the lock. A std mutex: loom runs one thread at a time and it is never
    /// held across a loom operation.
    parked: std::sync::Mutex<std::vec::Vec<loom::thread::Thread>>,
}

#[cfg(lintel_loom)]
const CONTENDED: u32 = 2; // held, and someone may be parked

#[cfg(lintel_loom)]
impl SpinLock {
    pub(crate) fn new() -> Self {
        SpinLock {
            state: AtomicU32::new(UNLOCKED),
            parked: std::sync::Mutex::new(std::vec::Vec::new()),
        }
    }

    pub(crate) fn lock<K: Threads + ?Sized>(&self, _kernel: &K) {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        loop {
            self.parked.lock().unwrap().push(loom::thread::current());
            if self.state.swap(CONTENDED, Ordering::Acquire) == UNLOCKED {
                return;
            }
            // A stray unpark (a futex notification shares the park token) only costs a loop.
            loom::thread::park();
        }
    }

    pub(crate) fn unlock(&self) {
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            let parked = core::mem::take(&mut *self.parked.lock().unwrap());
            for t in parked {
                t.unpark();
            }
        }
    }
}
