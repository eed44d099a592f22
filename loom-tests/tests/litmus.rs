//! The `[ORDER]` argument of `futex/src/table.rs` on bare atomics: the store-buffering shape.
//!
//! ```text
//!   waiter                                   waker
//!   waiters += 1               [A]           *uaddr = 1
//!   fence(SeqCst)                            fence(SeqCst)                [B]
//!   r1 = *uaddr                              r2 = waiters
//! ```
//!
//! `r1 == 0 && r2 == 0` is the lost wakeup (the waiter sleeps on the old value, the waker skips
//! the bucket). With both fences loom never produces it; without them it does, which shows the
//! fence pair is necessary (and that loom models this shape). The other models check the same
//! argument on the real code (`wait_wake.rs`).
//!
//! Run: `bash loom-tests/run.sh --test litmus`; quick run: prefix `LOOM_MAX_PREEMPTIONS=1`.
#![cfg(lintel_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};
use std::sync::atomic::AtomicBool as StdAtomicBool;

/// One run of the shape; returns `(r1, r2)`.
fn store_buffering(fences: bool) -> (u32, usize) {
    let waiters = Arc::new(AtomicUsize::new(0));
    let uaddr = Arc::new(AtomicU32::new(0));
    let waiter = {
        let (waiters, uaddr) = (waiters.clone(), uaddr.clone());
        loom::thread::spawn(move || {
            // The real code's RMW is SeqCst; loom models SeqCst accesses as AcqRel, so the
            // fence is what carries the argument, as it does in `Bucket::waiters_inc`.
            waiters.fetch_add(1, Ordering::SeqCst);
            if fences {
                fence(Ordering::SeqCst);
            }
            uaddr.load(Ordering::Acquire)
        })
    };
    uaddr.store(1, Ordering::Release);
    if fences {
        fence(Ordering::SeqCst);
    }
    let r2 = waiters.load(Ordering::Relaxed);
    let r1 = waiter.join().unwrap();
    (r1, r2)
}

#[test]
fn fence_pair_forbids_lost_wakeup() {
    loom::model(|| {
        let (r1, r2) = store_buffering(true);
        assert!(
            r1 == 1 || r2 == 1,
            "lost wakeup: waiter read 0 and waker read no waiters"
        );
    });
}

#[test]
fn without_fences_lost_wakeup_is_reachable() {
    static SEEN: StdAtomicBool = StdAtomicBool::new(false);
    loom::model(|| {
        if store_buffering(false) == (0, 0) {
            SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert!(
        SEEN.load(std::sync::atomic::Ordering::Relaxed),
        "loom never showed the store-buffering outcome"
    );
}
