//! Requeue-PI on the real table (`[REQUEUE-PI]` in `futex/src/requeue_pi.rs`): a
//! `FUTEX_WAIT_REQUEUE_PI` waiter whose timeout races the `FUTEX_CMP_REQUEUE_PI` that takes
//! the PI lock for it or moves it onto the PI futex, and then the owner's handoff. Whatever
//! the interleaving, the waiter returns 0 exactly when it owns the lock (the word names it),
//! `ETIMEDOUT` otherwise, never leaves a node queued, and the lock ends free.
//!
//! Word 0 is the condition variable's futex, word 1 the PI lock; the main thread is `A` (Linux
//! tid 1), the waiter `B` (tid 2). The waiter's deadline is the port's nondeterministic timer:
//! it may fire before, between or after the requeuer's steps.
//!
//! Run: `bash loom-tests/run.sh --test requeue_pi`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Scope};
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Errno, Notify};
use lintel_loom_tests::{Coverage, Model, check};
use loom::sync::atomic::Ordering;

const P: Scope = Scope::Private;
const W: u32 = l::FUTEX_WAITERS;
const A: u32 = 1;
const B: u32 = 2;

fn word(m: &Model, i: usize) -> u32 {
    m.kernel.word(i).load(Ordering::Acquire)
}

/// `B` waits (timed) on word 0 for word 1; on 0 it checks that it owns word 1 and unlocks it.
/// Returns whether it got the lock.
fn waiter(m: &Model) -> bool {
    let t = m.table();
    let d = m.kernel.deadline_after(1_000);
    match t.wait_requeue_pi(m.addr(0), 0, Some(d), m.addr(1), P) {
        Ok(()) => {
            let w = word(m, 1);
            assert_eq!(
                w & l::FUTEX_TID_MASK,
                B,
                "B returned 0 without owning the lock"
            );
            assert_eq!(t.unlock_pi(m.addr(1), P), Ok(()));
            true
        }
        Err(e) if e == FutexError::from(Errno::ETIMEDOUT) => {
            assert_ne!(
                word(m, 1) & l::FUTEX_TID_MASK,
                B,
                "B timed out owning the lock"
            );
            false
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
}

/// `A` owns word 1 and requeues `B` onto it, then unlocks: `B` is requeued (the requeue
/// returns 1) and then handed the lock, or times out before the requeue (0) or after it (the
/// unlock then finds nobody and frees the word).
#[test]
fn requeue_vs_timeout_then_handoff() {
    let cov = Coverage::new(&[
        "timed out before the requeue",
        "requeued, then timed out",
        "requeued, then handed the lock",
    ]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(2, &[0, A]);
        let b = m.spawn(waiter);
        let t = m.table();
        let n = t
            .cmp_requeue_pi(m.addr(0), m.addr(1), 1, 1, 0, P)
            .expect("cmp_requeue_pi");
        assert!(n <= 1);
        if n == 1 {
            assert_eq!(word(&m, 1), W | A, "requeued: WAITERS set, A still owns it");
        }
        assert_eq!(t.unlock_pi(m.addr(1), P), Ok(()));
        let got = b.join();
        c.hit(match (n, got) {
            (0, false) => "timed out before the requeue",
            (1, false) => "requeued, then timed out",
            (1, true) => "requeued, then handed the lock",
            _ => panic!("requeue {n}, waiter got the lock {got}"),
        });
        assert_eq!(word(&m, 1), 0);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// Word 1 is free: the requeue takes it for `B` (returns 1, `B` woken owning it) unless `B`
/// timed out first (0, the word stays free).
#[test]
fn proxy_acquisition_vs_timeout() {
    let cov = Coverage::new(&["taken for B", "timed out first"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(2, &[0, 0]);
        let b = m.spawn(waiter);
        let t = m.table();
        let n = t
            .cmp_requeue_pi(m.addr(0), m.addr(1), 1, 1, 0, P)
            .expect("cmp_requeue_pi");
        let got = b.join();
        assert_eq!(n == 1, got, "requeue {n}, waiter got the lock {got}");
        c.hit(if got {
            "taken for B"
        } else {
            "timed out first"
        });
        assert_eq!(word(&m, 1), 0);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// `[REQUEUE-PI]` 6, the deadlock walk of a requeued waiter against a LOCK_PI closing the same
/// cycle: `W` (tid 2) owns word 2 and sleeps in WAIT_REQUEUE_PI on word 0 for word 1 (untimed);
/// `C` (tid 3) owns word 1 and locks word 2 (untimed) while the main thread requeues `W` onto
/// word 1. Whatever the interleaving, the cycle is never left unreported (loom reports the
/// deadlock of two sleepers if it is): the LOCK_PI is refused (`W` was requeued first; `C`
/// releases word 1, which is handed to `W`), or the requeue is (`EDEADLK`, `W` still on word
/// 0; the main thread interrupts it, it is restarted, and it releases word 2 to `C`), or both.
/// Every word ends free with nobody queued.
#[test]
fn requeue_deadlock_walk_vs_lock_pi() {
    const WT: u32 = 2;
    const CT: u32 = 3;
    let cov = Coverage::new(&["requeue refused", "lock_pi refused"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[0, CT, WT]);
        let w = m.spawn(|m| {
            let t = m.table();
            let r = t.wait_requeue_pi(m.addr(0), 0, None, m.addr(1), P);
            let got = match r {
                Ok(()) => {
                    assert_eq!(word(m, 1) & l::FUTEX_TID_MASK, WT, "W returned 0 unowned");
                    assert_eq!(t.unlock_pi(m.addr(1), P), Ok(()));
                    true
                }
                Err(FutexError::Restart(_)) => {
                    assert!(m.kernel.take_interrupt(), "restarted without an interrupt");
                    false
                }
                Err(e) => panic!("W: unexpected {e:?}"),
            };
            assert_eq!(t.unlock_pi(m.addr(2), P), Ok(()));
            got
        });
        m.until_waiting(w.tid);
        let cc = m.spawn(|m| {
            let t = m.table();
            let ok = match t.lock_pi(m.addr(2), None, false, P) {
                Ok(()) => {
                    assert_eq!(word(m, 2) & l::FUTEX_TID_MASK, CT);
                    assert_eq!(t.unlock_pi(m.addr(2), P), Ok(()));
                    true
                }
                Err(e) if e == FutexError::from(Errno::EDEADLK) => false,
                Err(e) => panic!("C: unexpected {e:?}"),
            };
            assert_eq!(t.unlock_pi(m.addr(1), P), Ok(()));
            ok
        });
        let t = m.table();
        let requeue = t.cmp_requeue_pi(m.addr(0), m.addr(1), 1, 1, 0, P);
        match requeue {
            Ok(n) => assert_eq!(n, 1, "W was waiting"),
            Err(e) => {
                assert_eq!(e, FutexError::from(Errno::EDEADLK));
                m.kernel.interrupt(w.tid);
            }
        }
        let (w_got, c_ok) = (w.join(), cc.join());
        assert_eq!(
            w_got,
            requeue.is_ok(),
            "W owns word 1 exactly when it was requeued"
        );
        if requeue.is_err() {
            c.hit("requeue refused");
        }
        if !c_ok {
            c.hit("lock_pi refused");
        }
        assert!(requeue.is_err() || !c_ok, "a cycle nobody was told of");
        for i in 0..3 {
            assert_eq!(word(&m, i), 0, "word {i}");
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}
