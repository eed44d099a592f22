//! The loom facade: the atomics and the spin hint of the signal lock and the shared-set copy,
//! and the fence of the mask fast path (`[MASK]` in `mask.rs`).
//!
//! Normal builds get `core`'s types; builds with `RUSTFLAGS="--cfg lintel_loom"`
//! (`loom-tests/`) get loom's, so the models run this crate's real lock. Under loom a waiter
//! yields instead of spinning (loom runs one thread at a time: a spin would never end).

#[cfg(not(lintel_loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
#[cfg(lintel_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};

/// One round of a spin-wait loop.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(not(lintel_loom))]
    core::hint::spin_loop();
    #[cfg(lintel_loom)]
    loom::thread::yield_now();
}
