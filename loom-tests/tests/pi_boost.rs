//! Priority inheritance on the real table (`[PI-BOOST]` in `futex/src/boost.rs`): whatever the
//! interleaving of waiters queuing, timing out and handoffs, once the threads are done every
//! inherited priority is back to none and the port was told so last; while an urgent waiter
//! sleeps, the owner (and along a chain, the owner's owner) inherits its priority.
//!
//! The main thread `A` (`Tid(0)`, Linux tid 1, not real-time) owns the lock words it starts
//! with. Spawned threads set their own priority first (lower is more urgent).
//!
//! Run: `bash loom-tests/run.sh --test pi_boost`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Scope};
use lintel_kernel::{Errno, NORMAL_PRIORITY, Threads};
use lintel_loom_tests::{Coverage, Model, Tid, check};

const P: Scope = Scope::Private;
/// The main thread's Linux tid (`Tid(0)`).
const A: u32 = 1;

/// Makes the calling thread's own priority `prio`.
fn set_priority(m: &Model, prio: i32) {
    m.kernel.set_priority(m.kernel.current(), prio);
}

/// What `t` inherits, as lintel computed it; asserts the port was told the same.
fn inherited(m: &Model, t: Tid) -> i32 {
    let computed = m.table().inherited_priority(t);
    assert_eq!(m.kernel.told_inherited(t), computed, "the port was told");
    computed
}

/// A waiter of priority 10 sleeps on `A`'s lock: `A` inherits 10; `A`'s unlock hands the lock
/// over and both inherit nothing afterwards.
#[test]
fn boost_then_handoff() {
    check(|| {
        let m = Model::new(1, &[A]);
        let w = m.addr(0);
        let b = m.spawn(move |m| {
            set_priority(m, 10);
            let t = m.table();
            assert_eq!(t.lock_pi(w, None, false, P), Ok(()));
            let boosted = inherited(m, m.kernel.current());
            assert_eq!(t.unlock_pi(w, P), Ok(()));
            boosted
        });
        m.until_waiting(b.tid);
        assert_eq!(inherited(&m, Tid(0)), 10, "A inherits B's priority");
        assert_eq!(m.table().unlock_pi(w, P), Ok(()));
        assert_eq!(
            inherited(&m, Tid(0)),
            NORMAL_PRIORITY,
            "undone by the handoff"
        );
        assert_eq!(
            b.join(),
            NORMAL_PRIORITY,
            "B, the new owner, has nobody waiting"
        );
        assert_eq!(inherited(&m, b_tid()), NORMAL_PRIORITY);
    });
}

fn b_tid() -> Tid {
    Tid(1)
}

/// An urgent waiter with a timeout races `A`'s unlock: it takes the lock free, by handoff, or
/// times out. Every outcome ends with nobody inheriting anything and the port told so.
#[test]
fn urgent_waiter_races_unlock_and_timeout() {
    let cov = Coverage::new(&["owned", "timed out", "A saw itself boosted"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[A]);
        let w = m.addr(0);
        let b = m.spawn(move |m| {
            set_priority(m, 10);
            let t = m.table();
            let d = m.kernel.deadline_after(1_000);
            match t.lock_pi(w, Some(d), false, P) {
                Ok(()) => {
                    assert_eq!(t.unlock_pi(w, P), Ok(()));
                    true
                }
                Err(e) if e == FutexError::from(Errno::ETIMEDOUT) => false,
                Err(e) => panic!("unexpected {e:?}"),
            }
        });
        let t = m.table();
        // A scheduling point (the read below is of the port's words, which loom does not
        // see): lets B queue first in some executions.
        loom::thread::yield_now();
        if inherited(&m, Tid(0)) == 10 {
            c.hit("A saw itself boosted");
        }
        loop {
            match t.unlock_pi(w, P) {
                Ok(()) => break,
                // The waiter came and went between A's read and its release: again.
                Err(Errno::EAGAIN) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        c.hit(if b.join() { "owned" } else { "timed out" });
        assert_eq!(inherited(&m, Tid(0)), NORMAL_PRIORITY, "A inherits nothing");
        assert_eq!(
            inherited(&m, b_tid()),
            NORMAL_PRIORITY,
            "B inherits nothing"
        );
        assert_eq!(t.waiters(), 0);
    });
    cov.assert_all();
}

/// A chain: `B` (priority 20) owns lock 1 and sleeps on `A`'s lock 0; `C` (priority 10) queues
/// on lock 1 while `A` releases lock 0. `C`'s boost reaches `A` through `B` unless the handoff
/// came first; in the end `B` (owning both locks, `C` still waiting) inherits 10 and `A`
/// nothing; after `B` releases both, nobody inherits anything.
#[test]
fn chain_boost_races_handoff() {
    let cov = Coverage::new(&["A inherited C's 10 through B", "A inherited B's 20 only"]);
    let c = cov.clone();
    check(move || {
        // Lock 0 owned by A, lock 1 by B (Linux tid 2).
        let m = Model::new(1, &[A, 2]);
        let (w0, w1) = (m.addr(0), m.addr(1));
        let b = m.spawn(move |m| {
            set_priority(m, 20);
            let t = m.table();
            assert_eq!(t.lock_pi(w0, None, false, P), Ok(()));
            // Owns both; once C sleeps on lock 1, B inherits its priority.
            m.until_waiting(Tid(2));
            let boosted = inherited(m, m.kernel.current());
            assert_eq!(t.unlock_pi(w1, P), Ok(()));
            assert_eq!(t.unlock_pi(w0, P), Ok(()));
            boosted
        });
        m.until_waiting(b.tid);
        let cc = m.spawn(move |m| {
            set_priority(m, 10);
            let t = m.table();
            assert_eq!(t.lock_pi(w1, None, false, P), Ok(()));
            assert_eq!(t.unlock_pi(w1, P), Ok(()));
        });
        let t = m.table();
        loom::thread::yield_now(); // as in the model above
        let before = inherited(&m, Tid(0));
        assert_eq!(t.unlock_pi(w0, P), Ok(()));
        c.hit(if before == 10 {
            "A inherited C's 10 through B"
        } else {
            assert_eq!(before, 20, "A inherits at least B's priority");
            "A inherited B's 20 only"
        });
        m.until_waiting(cc.tid);
        assert_eq!(inherited(&m, Tid(0)), NORMAL_PRIORITY, "A owns nothing now");
        let b_boost = b.join();
        assert_eq!(b_boost, 10, "B owned lock 1 with C asleep on it");
        cc.join();
        for t in [Tid(0), Tid(1), Tid(2)] {
            assert_eq!(inherited(&m, t), NORMAL_PRIORITY, "{t:?} inherits nothing");
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}
