//! PI deadlock detection on the real table (`[PI]` 4 and `[PI-CHAIN]` in `futex/src/pi.rs`):
//! a thread about to sleep in `lock_pi` has published the futex it waits on in its port word
//! `PI_BLOCKED` (in the same epoch change as its enqueue), then walks "owner, the futex that
//! owner waits on, its owner, ...": a chain that comes back to the caller is `EDEADLK` only if
//! the PI epoch did not move during the walk.
//!
//! What the models check: two threads that each own one PI word and lock the other's never
//! both sleep (loom reports a deadlock if they do): at least one gets `EDEADLK`, releases its
//! own word, and the other gets it by handoff; the history that gave the reverted lock-free
//! walk its false cycle (a walker reads the owner, the owner hands the lock over and queues on
//! the same futex again) never gives `EDEADLK`; and a publication left behind by a thread
//! that has just been handed its futex never makes the next locker see a cycle.
//!
//! The port keeps `Threads::locals` in std atomics that loom does not track (kernel state read
//! in schedule order, see the crate doc): the epoch (a bucket word) and the futex words are
//! loom atomics, so the models explore the walk against the epoch's changes, the table's
//! locks, wakeups and words; the publication words' own ordering rides on the epoch's release
//! and acquire, as argued at `[PI-CHAIN]`.
//!
//! Run: `bash loom-tests/run.sh --test pi_deadlock`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Scope};
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Errno, Threads};
use lintel_loom_tests::{Coverage, Model, check};
use loom::sync::atomic::Ordering;

const P: Scope = Scope::Private;
const W: u32 = l::FUTEX_WAITERS;
/// The Linux tids of the first and second spawned threads (`Tid(1)`, `Tid(2)`).
const B: u32 = 2;
const C: u32 = 3;

/// The calling thread's Linux tid.
fn me(m: &Model) -> u32 {
    m.kernel.tid(m.kernel.current()) as u32
}

fn word(m: &Model, i: usize) -> u32 {
    m.kernel.word(i).load(Ordering::Acquire)
}

/// The calling thread owns word `own` and locks word `want` (untimed). On `EDEADLK` it
/// releases `own` and reports `false`; else it owns `want` too, checks the word names it, and
/// releases both.
fn lock_other(m: &Model, own: usize, want: usize) -> bool {
    let t = m.table();
    match t.lock_pi(m.addr(want), None, false, P) {
        Ok(()) => {
            assert_eq!(word(m, want) & l::FUTEX_TID_MASK, me(m), "owner of {want}");
            assert_eq!(t.unlock_pi(m.addr(want), P), Ok(()));
            assert_eq!(t.unlock_pi(m.addr(own), P), Ok(()));
            true
        }
        Err(e) if e == FutexError::from(Errno::EDEADLK) => {
            assert_eq!(t.unlock_pi(m.addr(own), P), Ok(()));
            false
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
}

/// `B` owns word 0 and locks word 1; `C` owns word 1 and locks word 0. Whatever the
/// interleaving, one of them is refused with `EDEADLK` (never both asleep), and the other
/// then owns both words in turn; both words end free with nobody queued.
#[test]
fn two_thread_cycle() {
    let cov = Coverage::new(&["B refused", "C refused", "refused after the other slept"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(2, &[B, C]);
        let b = m.spawn(|m| lock_other(m, 0, 1));
        let cc = m.spawn(|m| lock_other(m, 1, 0));
        let (btid, ctid) = (b.tid, cc.tid);
        let (b_ok, c_ok) = (b.join(), cc.join());
        assert!(
            !(b_ok && c_ok),
            "both locked the other's word: a deadlock was missed"
        );
        if !b_ok {
            c.hit("B refused");
        }
        if !c_ok {
            c.hit("C refused");
        }
        if (!b_ok && m.kernel.waits(ctid) > 0) || (!c_ok && m.kernel.waits(btid) > 0) {
            c.hit("refused after the other slept");
        }
        assert_eq!(word(&m, 0), 0);
        assert_eq!(word(&m, 1), 0);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// The false cycle of the reverted walk (`tests-c/pi_mutex.c`, 1 run in 2): the main thread
/// `A` owns word 0 and `C` sleeps on it; `B` locks it (queues behind `C`, walks from the owner
/// `A`) while `A` unlocks (the handoff makes `C` the owner) and locks word 0 again (queuing
/// behind `B` and publishing word 0). A walk of `B`'s that read the owner `A` before the
/// handoff and `A`'s publication after it sees "`A` owns word 0 and waits on it, the futex `B`
/// waits on": no cycle (the walk stops at an owner that waits on its own futex, and the epoch
/// moved anyway). Everyone gets the lock; never `EDEADLK`.
#[test]
fn owner_that_hands_over_and_queues_again_is_no_cycle() {
    const A: u32 = 1;
    let cov = Coverage::new(&["A queued again", "B slept"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[A]);
        let lock_unlock = |m: &Model| {
            let t = m.table();
            let r = t.lock_pi(m.addr(0), None, false, P);
            assert_eq!(r, Ok(()), "thread {}: a false cycle?", me(m));
            assert_eq!(word(m, 0) & l::FUTEX_TID_MASK, me(m));
            assert_eq!(t.unlock_pi(m.addr(0), P), Ok(()));
        };
        let cc = m.spawn(lock_unlock);
        m.until_waiting(cc.tid);
        let b = m.spawn(lock_unlock);
        let t = m.table();
        // A: unlock (the handoff to C), lock again, unlock.
        assert_eq!(t.unlock_pi(m.addr(0), P), Ok(()));
        let waits = m.kernel.waits(m.kernel.current());
        lock_unlock(&m);
        if m.kernel.waits(m.kernel.current()) > waits {
            c.hit("A queued again");
        }
        let btid = b.tid;
        cc.join();
        b.join();
        if m.kernel.waits(btid) > 0 {
            c.hit("B slept");
        }
        assert_eq!(word(&m, 0), 0);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// The same stale owner across two futexes, which no check of the chain's shape catches: `A`
/// owns word 0 and `C` sleeps on it; `B` owns word 1 and locks word 0 (queues behind `C`,
/// walks from the owner `A`) while `A` unlocks word 0 (the handoff makes `C` the owner) and
/// locks word 1 (sleeping on `B`). A walk of `B`'s that read the owner `A` before the handoff
/// and `A`'s publication after it sees "`A` owns word 0 and waits on word 1, which `B` owns":
/// a cycle that never existed (`C` owns word 0 and runs). The epoch moved: no verdict. Everyone
/// gets the locks; never `EDEADLK`. (With the confirmation removed, `pi_chain_closes` taking
/// the first walk's answer, this model fails: `B` gets `EDEADLK`.)
#[test]
fn stale_owner_across_two_futexes_is_no_cycle() {
    const A: u32 = 1;
    let cov = Coverage::new(&["A slept on B", "B slept"]);
    let c = cov.clone();
    check(move || {
        // `C` is spawned first (Linux tid 2), `B` second (tid 3), which owns word 1.
        let m = Model::new(1, &[A, 3]);
        let cc = m.spawn(|m| {
            let t = m.table();
            assert_eq!(t.lock_pi(m.addr(0), None, false, P), Ok(()));
            assert_eq!(t.unlock_pi(m.addr(0), P), Ok(()));
        });
        m.until_waiting(cc.tid);
        let b = m.spawn(|m| {
            let t = m.table();
            let r = t.lock_pi(m.addr(0), None, false, P);
            assert_eq!(r, Ok(()), "B: a false cycle?");
            assert_eq!(word(m, 0) & l::FUTEX_TID_MASK, me(m));
            assert_eq!(t.unlock_pi(m.addr(0), P), Ok(()));
            assert_eq!(t.unlock_pi(m.addr(1), P), Ok(()));
        });
        // Let B start (a yield, not a preemption: the walk's preemption is then within the
        // CI budget of 2).
        loom::thread::yield_now();
        let t = m.table();
        assert_eq!(t.unlock_pi(m.addr(0), P), Ok(()));
        let waits = m.kernel.waits(m.kernel.current());
        let r = t.lock_pi(m.addr(1), None, false, P);
        assert_eq!(r, Ok(()), "A: a false cycle?");
        if m.kernel.waits(m.kernel.current()) > waits {
            c.hit("A slept on B");
        }
        assert_eq!(t.unlock_pi(m.addr(1), P), Ok(()));
        let btid = b.tid;
        cc.join();
        b.join();
        if m.kernel.waits(btid) > 0 {
            c.hit("B slept");
        }
        assert_eq!(word(&m, 0), 0);
        assert_eq!(word(&m, 1), 0);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// A stale publication: the main thread `A` owns word 0; `C` sleeps in `lock_pi` on it
/// (publishing word 0); `A` unlocks (the handoff makes `C` the owner, `WAITERS | C`), then `B`
/// locks word 0, racing `C`'s return from `lock_pi` (which clears `C`'s publication) and
/// `C`'s unlock. `B`'s walk may read `C`'s publication of word 0 while `C` already owns it:
/// that is no cycle. `B` gets the lock (asleep until `C`'s unlock hands it over, or free),
/// never `EDEADLK`.
#[test]
fn stale_publication_after_handoff() {
    const A: u32 = 1;
    let cov = Coverage::new(&["B slept", "B took it free"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(1, &[A]);
        let owner_then_unlock = |m: &Model| {
            let t = m.table();
            assert_eq!(t.lock_pi(m.addr(0), None, false, P), Ok(()));
            let seen = word(m, 0);
            assert_eq!(seen & l::FUTEX_TID_MASK, me(m));
            assert_eq!(t.unlock_pi(m.addr(0), P), Ok(()));
            seen
        };
        let cc = m.spawn(owner_then_unlock);
        m.until_waiting(cc.tid);
        assert_eq!(m.table().unlock_pi(m.addr(0), P), Ok(()));
        let b = m.spawn(owner_then_unlock);
        let (btid, ct) = (b.tid, m.kernel.tid(cc.tid) as u32);
        assert_eq!(cc.join(), W | ct, "C owned word 0 by handoff");
        let seen = b.join();
        c.hit(if m.kernel.waits(btid) > 0 {
            let bt = m.kernel.tid(btid) as u32;
            assert_eq!(seen, W | bt, "B slept: it owned word 0 by handoff");
            "B slept"
        } else {
            "B took it free"
        });
        assert_eq!(word(&m, 0), 0);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}
