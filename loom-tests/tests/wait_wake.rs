//! FUTEX_WAIT against FUTEX_WAKE on the real table: no lost wakeup, exact counts.
//!
//! `no_lost_wakeup` is the `[ORDER]` store-buffering litmus of `futex/src/table.rs` run on the
//! real code: the waiter sleeps only while the word is 0, the waker sets it to 1 and wakes. If
//! the waiter could queue on the old value while the waker's lock-free fast path reads "no
//! waiters", the waiter would sleep forever and loom would report the deadlock (the main thread
//! joins it). `litmus.rs` shows the same shape on bare atomics.
//!
//! Run: `bash loom-tests/run.sh --test wait_wake`.
//! Quick run: `LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh --test wait_wake`.
#![cfg(lintel_loom)]

use lintel_futex::Scope;
use lintel_kernel::Errno;
use lintel_loom_tests::{ANY, Coverage, Model, check};
use loom::sync::atomic::Ordering;

const P: Scope = Scope::Private;

/// Waiter: `while *w == 0 { futex_wait(w, 0) }`. Waker: `*w = 1; futex_wake(w, 1)`.
/// The model must terminate, the waiter counted out of the table.
fn no_lost_wakeup(buckets: usize) {
    let cov = Coverage::new(&["slept and woken", "never slept"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(buckets, &[0]);
        let w = m.addr(0);
        let waiter = m.spawn(move |m| {
            let t = m.table();
            while m.kernel.word(0).load(Ordering::Acquire) == 0 {
                match t.wait(w, 0, ANY, None, P) {
                    Ok(()) => {}
                    Err(e) => assert_eq!(e, Errno::EAGAIN.into()),
                }
            }
        });
        m.kernel.word(0).store(1, Ordering::Release);
        let woken = m.table().wake(w, 1, ANY, P).unwrap();
        assert!(woken <= 1);
        waiter.join();
        assert_eq!(m.table().waiters(), 0);
        c.hit(if woken == 1 {
            "slept and woken"
        } else {
            "never slept"
        });
    });
    cov.assert_all();
}

#[test]
fn no_lost_wakeup_one_bucket() {
    no_lost_wakeup(1);
}

/// Two waiters (each one `futex_wait(w, 0)`) against `*w = 1; wake(w, 1); wake(w, 1)`.
///
/// Every waiter returns (`Ok` if woken, `EAGAIN` if it saw 1); the two wake counts add up to
/// the number of waiters that returned `Ok`; nobody is left counted in the table.
///
/// All three threads take the bucket lock (under loom it parks instead of spinning, so the
/// exploration is bounded).
#[test]
fn two_waiters_two_wakes_exact_counts() {
    let cov = Coverage::new(&["0 woken", "1 woken", "2 woken"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[0]);
        let w = m.addr(0);
        let waiters: Vec<_> = (0..2)
            .map(|_| m.spawn(move |m| m.table().wait(w, 0, ANY, None, P)))
            .collect();
        m.kernel.word(0).store(1, Ordering::Release);
        let t = m.table();
        let n1 = t.wake(w, 1, ANY, P).unwrap();
        let n2 = t.wake(w, 1, ANY, P).unwrap();
        assert!(n1 <= 1 && n2 <= 1);
        let mut ok = 0;
        for h in waiters {
            match h.join() {
                Ok(()) => ok += 1,
                Err(e) => assert_eq!(e, Errno::EAGAIN.into()),
            }
        }
        assert_eq!(n1 + n2, ok, "wakes counted {n1} + {n2}, {ok} waiters woken");
        assert_eq!(t.waiters(), 0);
        c.hit(["0 woken", "1 woken", "2 woken"][ok as usize]);
    });
    cov.assert_all();
}
