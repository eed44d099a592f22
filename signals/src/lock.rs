//! The process signal lock: a small spin lock usable from any thread, no allocation, no kernel.
//!
//! Linux serialises dispositions, blocked masks and pending sets with one lock per process
//! (`sighand->siglock`); lintel does the same. Critical sections are short and bounded (a
//! table write, a scan of the fixed entry pool), so spinning is cheaper than any port
//! primitive, and the lock never needs a kernel object.
//!
//! **Memory ordering** (the one place it is decided): acquiring is an `Acquire` swap and
//! releasing a `Release` store, so everything written under the lock (the action table, the
//! shared set, the entry pool, and the blocked and pending words of every thread) is visible to
//! the next holder. Per-thread words are additionally stored with `Release` and loaded with
//! `Acquire` so that their owner may read them *without* the lock (its "is anything
//! deliverable?" check at a delivery point); a sender that sets a pending bit then notifies or
//! kicks the owner, so a stale lock-free read is always followed by another delivery point.
//!
//! **Reentrancy**: a thread must not be interrupted into lintel while holding the lock. The
//! dispatcher runs every call inside the port's `Interrupt` span, where a host interrupt is
//! only posted; callers outside a span must not take the lock.

use crate::sync::{AtomicBool, Ordering, spin_hint};
use core::cell::UnsafeCell;

pub(crate) struct SpinLock<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock gives exclusive access to `value`, so sharing the lock between threads only
// ever moves `&mut T` from one thread to another, which `T: Send` permits.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    #[cfg(not(lintel_loom))]
    pub(crate) const fn new(value: T) -> Self {
        SpinLock {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    #[cfg(lintel_loom)]
    pub(crate) fn new(value: T) -> Self {
        SpinLock {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock without a guard (a fork holds it across the host's fork; see
    /// [`crate::process::ForkGuard`]).
    pub(crate) fn lock_raw(&self) {
        while self
            .held
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spin_hint();
        }
    }

    /// Releases a [`lock_raw`](Self::lock_raw).
    pub(crate) fn unlock_raw(&self) {
        self.held.store(false, Ordering::Release);
    }

    /// The value, for a caller that holds the lock through [`lock_raw`](Self::lock_raw).
    ///
    /// # Safety
    /// The caller holds the lock and keeps no other reference to the value.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn get_locked(&self) -> &mut T {
        // SAFETY: our caller holds the lock.
        unsafe { &mut *self.value.get() }
    }

    /// Runs `f` with the lock held.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        while self
            .held
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.held.load(Ordering::Relaxed) {
                spin_hint();
            }
        }
        struct Unlock<'a>(&'a AtomicBool);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _unlock = Unlock(&self.held);
        // SAFETY: `held` was false and we set it: we are the only holder until `_unlock` drops,
        // and the `Acquire` above orders us after the previous holder's `Release`.
        f(unsafe { &mut *self.value.get() })
    }
}
