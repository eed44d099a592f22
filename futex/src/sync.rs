//! The loom facade: every atomic, cell and spin hint the futex engine uses comes from here.
//!
//! Normal builds get `core`'s types. Builds with `RUSTFLAGS="--cfg lintel_loom"` (see
//! `loom-tests/`) get loom's, so the models check this crate's real code, not a copy. The cfg
//! is namespaced (`lintel_loom`, not `loom`) because RUSTFLAGS reach every crate in the build.

#[cfg(not(lintel_loom))]
pub(crate) use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence};
#[cfg(lintel_loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence};

/// One round of a spin-wait loop. (Under loom nothing spins: the bucket lock parks instead,
/// see `lock.rs`.)
#[cfg(not(lintel_loom))]
#[inline]
pub(crate) fn spin_hint() {
    core::hint::spin_loop();
}

/// A pause before trying again (the PI deadlock walk's retry, `[PI-CHAIN]`): a spin hint
/// normally, a yield under loom (so the model lets the other threads run).
#[cfg(not(lintel_loom))]
#[inline]
pub(crate) fn retry_hint() {
    core::hint::spin_loop();
}

/// A pause before trying again: under loom, a yield.
#[cfg(lintel_loom)]
pub(crate) fn retry_hint() {
    loom::thread::yield_now();
}

/// `UnsafeCell` with loom's closure API, so loom can check that every access to lock-protected
/// state really happens under the lock.
#[cfg(not(lintel_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(lintel_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(v: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(v))
    }
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(lintel_loom)]
pub(crate) use loom::cell::UnsafeCell;
