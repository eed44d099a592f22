//! Timeout against wake on the real table: a wake is delivered-and-counted or
//! not-delivered-and-not-counted, never both, never neither (`[LIFETIME]` in
//! `futex/src/table.rs`).
//!
//! The port's timed wait is a nondeterministic timer (see the crate doc): it may fire before the
//! waker runs, after it dequeued the node but before it sent the token, or not at all.
//!
//! Run: `bash loom-tests/run.sh --test timeout`.
//! Quick run: `LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh --test timeout`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Scope};
use lintel_kernel::Errno;
use lintel_loom_tests::{ANY, Coverage, Model, check};

const P: Scope = Scope::Private;

fn timed_out(r: Result<(), FutexError>) -> bool {
    match r {
        Ok(()) => false,
        Err(e) if e == Errno::ETIMEDOUT.into() => true,
        Err(e) => panic!("unexpected {e:?}"),
    }
}

/// A timed waiter and `wake(w, 1)`: `(Ok, 1)` or `(ETIMEDOUT, 0)`.
#[test]
fn timeout_vs_wake() {
    let cov = Coverage::new(&["woken", "timed out", "timer fired but the waker won"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[0]);
        let w = m.addr(0);
        let waiter = m.spawn(move |m| {
            let d = m.kernel.deadline_after(1_000);
            m.table().wait(w, 0, ANY, Some(d), P)
        });
        let tid = waiter.tid;
        let n = m.table().wake(w, 1, ANY, P).unwrap();
        let timed_out = timed_out(waiter.join());
        c.hit(match (timed_out, m.kernel.timeouts(tid)) {
            (true, _) => "timed out",
            (false, 0) => "woken",
            (false, _) => "timer fired but the waker won",
        });
        assert_eq!(
            (timed_out, n),
            if timed_out { (true, 0) } else { (false, 1) },
            "timed out: {timed_out}, wake counted {n}"
        );
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// The waiter waits twice in a row; one `wake(w, 1)`. If the first wait times out just after
/// the waker dequeued it (so it returns `Ok`), the waker's token arrives late and the second
/// wait must treat it as stale (its own node was not dequeued) and not return `Ok` for it.
/// The wake count equals the number of `Ok`s.
#[test]
fn stale_token_is_not_a_wakeup() {
    let cov = Coverage::new(&["first woken", "second woken", "neither", "stale token"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[0]);
        let w = m.addr(0);
        let waiter = m.spawn(move |m| {
            let t = m.table();
            let d = m.kernel.deadline_after(1_000);
            let r1 = t.wait(w, 0, ANY, Some(d), P);
            let d = m.kernel.deadline_after(1_000);
            let r2 = t.wait(w, 0, ANY, Some(d), P);
            (r1, r2)
        });
        let tid = waiter.tid;
        let n = m.table().wake(w, 1, ANY, P).unwrap();
        let (r1, r2) = waiter.join();
        let (t1, t2) = (timed_out(r1), timed_out(r2));
        let ok = u32::from(!t1) + u32::from(!t2);
        assert_eq!(n, ok, "wake counted {n}, {ok} waits returned Ok");
        assert_eq!(m.table().waiters(), 0);
        c.hit(match (t1, t2) {
            (false, _) => "first woken",
            (true, false) => "second woken",
            (true, true) => "neither",
        });
        // Two port waits per futex wait at most, and one more when a token was stale.
        if m.kernel.waits(tid) == 3 {
            c.hit("stale token");
        }
    });
    cov.assert_all();
}

/// A timed waiter queued behind an untimed one (so its timeout unlinks it from the middle or
/// the tail of a queue that a waker is walking), against `*w = 1; wake(w, 1); wake(w, 1)`.
/// The untimed waiter is queued first, alone (see `Model::until_waiting`). The wake counts add
/// up to the waits that returned `Ok`; the untimed waiter is always woken (FIFO: the first
/// wake takes it).
#[test]
fn timeout_with_a_neighbour() {
    let cov = Coverage::new(&["woken", "timed out", "EAGAIN"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[0]);
        let w = m.addr(0);
        let first = m.spawn(move |m| m.table().wait(w, 0, ANY, None, P));
        m.until_waiting(first.tid);
        let timed = m.spawn(move |m| {
            let d = m.kernel.deadline_after(1_000);
            m.table().wait(w, 0, ANY, Some(d), P)
        });
        m.kernel
            .word(0)
            .store(1, loom::sync::atomic::Ordering::Release);
        let t = m.table();
        let n1 = t.wake(w, 1, ANY, P).unwrap();
        let n2 = t.wake(w, 1, ANY, P).unwrap();
        assert_eq!(first.join(), Ok(()));
        assert_eq!(n1, 1, "FIFO: the first wake takes the first waiter");
        let (ok, outcome) = match timed.join() {
            Ok(()) => (1, "woken"),
            Err(e) if e == Errno::ETIMEDOUT.into() => (0, "timed out"),
            Err(e) if e == Errno::EAGAIN.into() => (0, "EAGAIN"),
            Err(e) => panic!("unexpected {e:?}"),
        };
        c.hit(outcome);
        assert_eq!(n2, ok, "second wake counted {n2}, timed waiter woken: {ok}");
        assert_eq!(t.waiters(), 0);
    });
    cov.assert_all();
}
