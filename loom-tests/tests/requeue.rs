//! FUTEX_REQUEUE on the real table: a waiter on A, moved to B while it is woken on B or times
//! out on its own.
//!
//! With two buckets, A and B are placed in different buckets ([`Model::word_in_bucket`]), so
//! the requeue moves the waiter's node between buckets under it. A waiter that times out at the
//! same moment loads its node's bucket, locks it, and must notice that the node has moved
//! meanwhile (the re-check in `unqueue`, `[LIFETIME]` in `futex/src/table.rs`).
//!
//! Each model ends with a cleanup that makes every waiter return: `*A = 1` (a waiter that has
//! not queued yet gets `EAGAIN`), then one wake on A and one on B. So every run terminates
//! unless a node is lost (queued but not counted, or counted in the wrong bucket); and since
//! each waiter can be woken once, the wake counts add up exactly to the waiters that returned
//! `Ok`.
//!
//! Run: `bash loom-tests/run.sh --test requeue`.
//! Quick run: `LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh --test requeue`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Scope};
use lintel_kernel::Errno;
use lintel_loom_tests::{ANY, Coverage, Model, check};
use loom::sync::atomic::Ordering;
use std::sync::Arc;

const P: Scope = Scope::Private;

/// A model with words A and B: in different buckets if `buckets == 2`, in the same one if 1.
/// Returns the model and the word indices.
fn setup(buckets: usize) -> (Arc<Model>, usize, usize) {
    let m = Model::new(buckets, &[0; 8]);
    let a = m.word_in_bucket(0, None);
    let b = m.word_in_bucket(buckets - 1, Some(a));
    (m, a, b)
}

/// `*A = 1; wake(A, 1) + wake(B, 1)`: catches the waiter wherever it is, or makes it fail
/// with `EAGAIN` if it has not queued yet.
fn cleanup(m: &Model, a: usize, b: usize) -> u32 {
    let t = m.table();
    m.kernel.word(a).store(1, Ordering::Release);
    t.wake(m.addr(a), 1, ANY, P).unwrap() + t.wake(m.addr(b), 1, ANY, P).unwrap()
}

/// Waiter `wait(A, 0)`, left to fall asleep; then, racing: main `requeue(A -> B, 0 woken,
/// 1 moved)` and a third thread `wake(B, 1)`.
///
/// The waiter queues alone ([`Model::until_waiting`]: three threads all taking bucket locks
/// do not terminate under loom); its enqueue racing the requeue is `requeue_vs_timeout`'s job.
fn requeue_vs_wake(buckets: usize) {
    let cov = Coverage::new(&["woken by the wake on B", "woken by the cleanup"]);
    let cov2 = cov.clone();
    check(move || {
        let (m, a, b) = setup(buckets);
        let (aa, ab) = (m.addr(a), m.addr(b));
        let waiter = m.spawn(move |m| m.table().wait(aa, 0, ANY, None, P));
        m.until_waiting(waiter.tid);
        let waker = m.spawn(move |m| m.table().wake(ab, 1, ANY, P).unwrap());
        let moved = m.table().requeue(aa, ab, 0, 1, None, P).unwrap();
        let n = waker.join();
        let c = cleanup(&m, a, b);
        assert_eq!(waiter.join(), Ok(()));
        assert_eq!(moved, 1, "the waiter was queued on A");
        assert_eq!(n + c, 1, "woken once: wake(B) {n}, cleanup {c}");
        assert_eq!(m.table().waiters(), 0);
        cov2.hit(if n == 1 {
            "woken by the wake on B"
        } else {
            "woken by the cleanup"
        });
    });
    cov.assert_all();
}

#[test]
fn requeue_vs_wake_two_buckets() {
    requeue_vs_wake(2);
}

#[test]
fn requeue_vs_wake_one_bucket() {
    requeue_vs_wake(1);
}

/// Waiter `wait(A, 0, deadline)` (its timer may fire at any point); main
/// `requeue(A -> B, 0, 1)`, then the cleanup.
fn requeue_vs_timeout(buckets: usize) {
    let cov = Coverage::new(&[
        "EAGAIN",
        "timed out on A",
        "timed out on B",
        "woken",
        "timer fired but the waker won",
    ]);
    let cov2 = cov.clone();
    check(move || {
        let (m, a, b) = setup(buckets);
        let (aa, ab) = (m.addr(a), m.addr(b));
        let waiter = m.spawn(move |m| {
            let d = m.kernel.deadline_after(1_000);
            m.table().wait(aa, 0, ANY, Some(d), P)
        });
        let tid = waiter.tid;
        let moved = m.table().requeue(aa, ab, 0, 1, None, P).unwrap();
        let c = cleanup(&m, a, b);
        let r = waiter.join();
        assert!(moved <= 1 && c <= 1);
        match r {
            Ok(()) => {
                assert_eq!(c, 1, "returned Ok without being woken");
                cov2.hit(if m.kernel.timeouts(tid) == 0 {
                    "woken"
                } else {
                    "timer fired but the waker won"
                });
            }
            Err(FutexError::Errno(e)) if e == Errno::ETIMEDOUT => {
                assert_eq!(c, 0, "timed out, yet a wake counted it");
                cov2.hit(if moved == 1 {
                    "timed out on B"
                } else {
                    "timed out on A"
                });
            }
            Err(FutexError::Errno(e)) if e == Errno::EAGAIN => {
                assert_eq!((moved, c), (0, 0), "never queued, yet counted");
                cov2.hit("EAGAIN");
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

#[test]
fn requeue_vs_timeout_two_buckets() {
    requeue_vs_timeout(2);
}

#[test]
fn requeue_vs_timeout_one_bucket() {
    requeue_vs_timeout(1);
}

/// The node moves under a waiter whose timer fired: the waiter is let fall asleep first (so
/// loom spends no preemption on its enqueue), then `requeue(A -> B)` races its timeout. The
/// interleaving that matters: the waiter loads its node's bucket (A), the requeue moves the
/// node to B, the waiter locks A and must see, re-checking under the lock, that the node is
/// no longer there (`unqueue` in `futex/src/wait_wake.rs`).
#[test]
fn requeue_moves_a_timing_out_waiter() {
    let cov = Coverage::new(&["timed out on A", "timed out on B", "woken"]);
    let cov2 = cov.clone();
    check(move || {
        let (m, a, b) = setup(2);
        let (aa, ab) = (m.addr(a), m.addr(b));
        let waiter = m.spawn(move |m| {
            let d = m.kernel.deadline_after(1_000);
            m.table().wait(aa, 0, ANY, Some(d), P)
        });
        m.until_waiting(waiter.tid);
        let moved = m.table().requeue(aa, ab, 0, 1, None, P).unwrap();
        let c = cleanup(&m, a, b);
        let r = waiter.join();
        match r {
            Ok(()) => {
                assert_eq!(c, 1, "returned Ok without being woken");
                cov2.hit("woken");
            }
            Err(FutexError::Errno(e)) if e == Errno::ETIMEDOUT => {
                assert_eq!(c, 0, "timed out, yet a wake counted it");
                cov2.hit(if moved == 1 {
                    "timed out on B"
                } else {
                    "timed out on A"
                });
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// All three at once, across two buckets: a timed waiter on A (queued alone first, as in
/// `requeue_vs_wake`; its timer may fire at any point after), `requeue(A -> B)` on main and
/// `wake(B, 1)` on a third thread.
///
/// All three threads take bucket locks; this works because under loom the bucket lock parks
/// instead of spinning (`futex/src/lock.rs`).
#[test]
fn requeue_vs_wake_and_timeout() {
    check(|| {
        let (m, a, b) = setup(2);
        let (aa, ab) = (m.addr(a), m.addr(b));
        let waiter = m.spawn(move |m| {
            let d = m.kernel.deadline_after(1_000);
            m.table().wait(aa, 0, ANY, Some(d), P)
        });
        m.until_waiting(waiter.tid);
        let waker = m.spawn(move |m| m.table().wake(ab, 1, ANY, P).unwrap());
        let moved = m.table().requeue(aa, ab, 0, 1, None, P).unwrap();
        let n = waker.join();
        let c = cleanup(&m, a, b);
        let r = waiter.join();
        match r {
            Ok(()) => assert_eq!(n + c, 1),
            Err(FutexError::Errno(e)) if e == Errno::ETIMEDOUT => assert_eq!(n + c, 0),
            Err(FutexError::Errno(e)) if e == Errno::EAGAIN => assert_eq!((moved, n, c), (0, 0, 0)),
            Err(e) => panic!("unexpected {e:?}"),
        }
        assert_eq!(m.table().waiters(), 0);
    });
}
