//! Interrupt against wake on the real table: `Notify::interrupt` ends a wait with
//! `FutexError::Restart`, and then the wait was not counted by any wake; or the wait was woken
//! (`Ok`, counted once). Never both, never neither.
//!
//! The interrupter is a third thread that only calls `Notify::interrupt` (it takes no bucket
//! lock, so the model stays within what loom can explore; see the crate doc).
//!
//! Run: `bash loom-tests/run.sh --test interrupt`.
//! Quick run: `LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh --test interrupt`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Restart, Scope};
use lintel_kernel::{Errno, Notify};
use lintel_loom_tests::{ANY, Coverage, Model, check};

const P: Scope = Scope::Private;

/// An untimed waiter, an interrupter and `wake(w, 1)`:
/// `(Ok, 1)` or `(Restart(Syscall), 0)`; the interrupted flag stays set for the caller.
#[test]
fn interrupt_vs_wake() {
    let cov = Coverage::new(&["woken", "interrupted", "interrupted but the waker won"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[0]);
        let w = m.addr(0);
        let waiter = m.spawn(move |m| {
            let r = m.table().wait(w, 0, ANY, None, P);
            (r, m.kernel.take_interrupt())
        });
        let target = waiter.tid;
        let interrupter = m.spawn(move |m| m.kernel.interrupt(target));
        let n = m.table().wake(w, 1, ANY, P).unwrap();
        interrupter.join();
        let (r, flag) = waiter.join();
        match r {
            Ok(()) => {
                assert_eq!(n, 1, "woken, yet the wake counted {n}");
                c.hit(if flag {
                    "interrupted but the waker won"
                } else {
                    "woken"
                });
            }
            Err(FutexError::Restart(Restart::Syscall)) => {
                assert_eq!(n, 0, "interrupted, yet the wake counted {n}");
                assert!(flag, "interrupted without the flag set");
                c.hit("interrupted");
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// The same with a timed waiter: woken (`Ok`, counted), or interrupted
/// (`Restart::Block` carrying the original call, not counted), or timed out (not counted).
#[test]
fn interrupt_vs_wake_timed() {
    let cov = Coverage::new(&["woken", "interrupted", "timed out"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[0]);
        let w = m.addr(0);
        let waiter = m.spawn(move |m| {
            let d = m.kernel.deadline_after(1_000);
            (m.table().wait(w, 0, ANY, Some(d), P), d)
        });
        let target = waiter.tid;
        let interrupter = m.spawn(move |m| m.kernel.interrupt(target));
        let n = m.table().wake(w, 1, ANY, P).unwrap();
        interrupter.join();
        let (r, d) = waiter.join();
        match r {
            Ok(()) => {
                assert_eq!(n, 1);
                c.hit("woken");
            }
            Err(FutexError::Restart(Restart::Block(rb))) => {
                assert_eq!(n, 0);
                assert_eq!(
                    (rb.uaddr, rb.val, rb.bitset, rb.scope, rb.deadline),
                    (w, 0, ANY, P, d)
                );
                c.hit("interrupted");
            }
            Err(e) if e == Errno::ETIMEDOUT.into() => {
                assert_eq!(n, 0);
                c.hit("timed out");
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}
