//! The PI lock handoff on the real table (`[PI]` in `futex/src/pi.rs`): `unlock_pi` hands the
//! lock to the first PI waiter, writing `FUTEX_WAITERS | its tid`, and never leaves it free
//! while one is queued; a waiter whose timeout races the handoff owns the lock exactly when the
//! handoff dequeued it first.
//!
//! The lock word is word 0. The main thread is the first owner `A` (`Tid(0)`, Linux tid 1; the
//! word is set to 1 directly), so it never waits: it only unlocks. Every owner runs a critical
//! section on the model's plain memory (a loom cell: loom reports two owners that
//! happens-before does not order) that appends its tid to a log, so the log is the order in
//! which the lock was owned. Unlocks are unconditional `FUTEX_UNLOCK_PI` calls (no user-space
//! `tid -> 0` fast path), so the kernel side of every release is exercised.
//!
//! Run: `bash loom-tests/run.sh --test pi`.
//! Quick run: `LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh --test pi`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Scope};
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Errno, Threads};
use lintel_loom_tests::{Coverage, Model, check};
use loom::sync::atomic::Ordering;

const P: Scope = Scope::Private;
const W: u32 = l::FUTEX_WAITERS;
/// The main thread's Linux tid (`Tid(0)`).
const A: u32 = 1;

/// A model whose lock word (word 0) is owned by `A`, with an empty ownership log.
fn owned_by_a() -> std::sync::Arc<Model> {
    Model::with_bytes(1, &[A], &[0; 4])
}

/// The calling thread's Linux tid.
fn me(m: &Model) -> u32 {
    m.kernel.tid(m.kernel.current()) as u32
}

/// The lock word.
fn word(m: &Model) -> u32 {
    m.kernel.word(0).load(Ordering::Acquire)
}

/// The critical section of the calling thread, which owns the lock: the word names it, and it
/// appends its tid to the log (`[count, tid, tid, ...]` in plain memory).
fn critical(m: &Model) {
    let tid = me(m);
    let w = word(m);
    assert_eq!(
        w & l::FUTEX_TID_MASK,
        tid,
        "owner {tid} but the word is {w:#x}"
    );
    let mut log = [0u8; 4];
    m.kernel.read_bytes(0, &mut log);
    let n = usize::from(log[0]);
    log[0] += 1;
    log[1 + n] = tid as u8;
    m.kernel.write_bytes(0, &log);
}

/// The ownership log: the tids that owned the lock, in order.
fn log(m: &Model) -> Vec<u32> {
    let mut log = [0u8; 4];
    m.kernel.read_bytes(0, &mut log);
    log[1..=usize::from(log[0])]
        .iter()
        .map(|&t| u32::from(t))
        .collect()
}

/// Takes the lock (untimed) and returns the word as the new owner first sees it, runs the
/// critical section and unlocks.
fn lock_use_unlock(m: &Model) -> u32 {
    let w = m.addr(0);
    let t = m.table();
    assert_eq!(t.lock_pi(w, None, false, P), Ok(()));
    let seen = word(m);
    critical(m);
    assert_eq!(t.unlock_pi(w, P), Ok(()));
    seen
}

/// (a) `B` blocks in `lock_pi` (the main thread waits until it sleeps), then `A` unlocks: `B`
/// returns `Ok` owning the lock with the word `FUTEX_WAITERS | B` (the handoff keeps WAITERS
/// although `B` was the last waiter), and `B`'s unlock leaves 0.
#[test]
fn handoff_to_a_sleeping_waiter() {
    check(move || {
        let m = owned_by_a();
        let b = m.spawn(lock_use_unlock);
        let bt = m.kernel.tid(b.tid) as u32;
        critical(&m);
        m.until_waiting(b.tid);
        assert_eq!(word(&m), A | W, "B set WAITERS before sleeping");
        assert_eq!(m.table().unlock_pi(m.addr(0), P), Ok(()));
        assert_eq!(b.join(), W | bt, "the handoff writes WAITERS | B");
        assert_eq!(word(&m), 0);
        assert_eq!(log(&m), [A, bt]);
        assert_eq!(m.table().waiters(), 0);
    });
}

/// (a) without the wait: `B`'s `lock_pi` races `A`'s unlock. `B` either takes the lock free
/// (the word `B`) or by handoff (`WAITERS | B`); `A`'s unlock may find `B`'s WAITERS appear
/// after it read the word and start again. `A`'s unlock never fails, the lock is owned by `A`
/// then `B`, and ends free.
#[test]
fn lock_races_unlock() {
    let cov = Coverage::new(&["handed off", "taken free", "unlock started again"]);
    let c = cov.clone();
    check(move || {
        let m = owned_by_a();
        let b = m.spawn(lock_use_unlock);
        let bt = m.kernel.tid(b.tid) as u32;
        critical(&m);
        assert_eq!(m.table().unlock_pi(m.addr(0), P), Ok(()));
        let seen = b.join();
        assert!(
            seen == W | bt || seen == bt,
            "B owns with the word {seen:#x}"
        );
        c.hit(if seen & W != 0 {
            "handed off"
        } else {
            "taken free"
        });
        if m.kernel.reads(m.kernel.current()) > 1 {
            c.hit("unlock started again");
        }
        assert_eq!(word(&m), 0);
        assert_eq!(log(&m), [A, bt]);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// (b) `B`'s `lock_pi` is timed (the port's nondeterministic timer) and races `A`'s unlock.
///
/// What the real code must give: `B` either owns the lock (`Ok`: taken free, or handed off —
/// also when its timer fired after the handoff dequeued it) and releases it, or times out
/// (`ETIMEDOUT`) without ever owning it; never both. If `B` timed out, it took itself off the
/// queue before `A`'s unlock looked, so that unlock found no waiter and wrote 0 (clearing the
/// WAITERS bit `B` left): `A`'s unlock returning leaves the word 0. One more outcome is
/// Linux's: if `A` read its word before `B` set WAITERS and `B` timed out before `A` took the
/// bucket lock, the word changed under an unlock with nobody queued, so `FUTEX_UNLOCK_PI`
/// fails with `EAGAIN` ("let user space handle it", `kernel/futex/pi.c`) and `A` still owns
/// `A | WAITERS`; `A` then unlocks again. In every case the lock ends free, and the log
/// names each owner once, in order.
#[test]
fn timed_lock_vs_unlock() {
    let cov = Coverage::new(&[
        "handed off",
        "taken free",
        "timed out",
        "timer fired but the handoff won",
        "unlock EAGAIN after a waiter came and went",
    ]);
    let c = cov.clone();
    check(move || {
        let m = owned_by_a();
        let w = m.addr(0);
        let b = m.spawn(move |m| {
            let t = m.table();
            let d = m.kernel.deadline_after(1_000);
            match t.lock_pi(w, Some(d), false, P) {
                Ok(()) => {
                    let seen = word(m);
                    critical(m);
                    assert_eq!(t.unlock_pi(w, P), Ok(()));
                    Some(seen)
                }
                Err(e) if e == FutexError::from(Errno::ETIMEDOUT) => None,
                Err(e) => panic!("unexpected {e:?}"),
            }
        });
        let btid = b.tid;
        let bt = m.kernel.tid(btid) as u32;
        critical(&m);
        let t = m.table();
        let mut eagain = false;
        let after = loop {
            match t.unlock_pi(w, P) {
                Ok(()) => break word(&m),
                Err(Errno::EAGAIN) => {
                    assert!(!eagain, "a second EAGAIN: nobody else writes the word");
                    eagain = true;
                    assert_eq!(word(&m), A | W, "after EAGAIN A still owns, WAITERS set");
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        };
        let seen = b.join();
        match seen {
            None => {
                c.hit("timed out");
                assert_eq!(after, 0, "B timed out: A's unlock found no waiter");
                assert_eq!(log(&m), [A]);
            }
            Some(seen) => {
                assert!(!eagain, "EAGAIN only after the waiter left the queue");
                assert!(
                    seen == W | bt || seen == bt,
                    "B owns with the word {seen:#x}"
                );
                c.hit(if seen == bt {
                    "taken free"
                } else if m.kernel.timeouts(btid) > 0 {
                    "timer fired but the handoff won"
                } else {
                    "handed off"
                });
                assert_eq!(log(&m), [A, bt]);
            }
        }
        if eagain {
            c.hit("unlock EAGAIN after a waiter came and went");
        }
        assert_eq!(word(&m), 0, "the lock ends free");
        assert_eq!(t.waiters(), 0);
    });
    cov.assert_all();
}

/// (c) Two contenders `B` and `C` both asleep in `lock_pi` (in either queue order), then `A`
/// unlocks: the first queued owns the lock (`WAITERS | it`), and the other gets it by handoff
/// when that one unlocks (`WAITERS | it` again: the last waiter's handoff keeps WAITERS); the
/// last unlock leaves 0. The log is `A`, then the two in queue order, and loom checks that each
/// owner's critical section happens-before the next one's.
#[test]
fn two_contenders_in_turn() {
    let cov = Coverage::new(&["B first", "C first"]);
    let c = cov.clone();
    check(move || {
        let m = owned_by_a();
        let b = m.spawn(lock_use_unlock);
        let cc = m.spawn(lock_use_unlock);
        let (bt, ct) = (m.kernel.tid(b.tid) as u32, m.kernel.tid(cc.tid) as u32);
        critical(&m);
        m.until_waiting(b.tid);
        m.until_waiting(cc.tid);
        assert_eq!(m.table().unlock_pi(m.addr(0), P), Ok(()));
        assert_eq!(b.join(), W | bt, "B owned it by handoff");
        assert_eq!(cc.join(), W | ct, "C owned it by handoff");
        let log = log(&m);
        assert!(
            log == [A, bt, ct] || log == [A, ct, bt],
            "ownership log {log:?}"
        );
        c.hit(if log[1] == bt { "B first" } else { "C first" });
        assert_eq!(word(&m), 0);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// (c) with a late contender: `B` is asleep in `lock_pi` when `A` unlocks, and `C`'s `lock_pi`
/// races both unlocks. `A`'s unlock hands the lock to `B` (the only waiter, or the first one:
/// FIFO among equal priorities); `C` queues behind `B`, or while `B` owns the lock (the word
/// then names a live owner), or finds it free after `B`'s unlock. The log is `A`, `B`, `C`.
#[test]
fn late_contender() {
    let cov = Coverage::new(&["C handed off", "C took it free"]);
    let c = cov.clone();
    check(move || {
        let m = owned_by_a();
        let b = m.spawn(lock_use_unlock);
        critical(&m);
        m.until_waiting(b.tid);
        let cc = m.spawn(lock_use_unlock);
        let (bt, ct) = (m.kernel.tid(b.tid) as u32, m.kernel.tid(cc.tid) as u32);
        assert_eq!(m.table().unlock_pi(m.addr(0), P), Ok(()));
        assert_eq!(b.join(), W | bt, "B owned it by handoff");
        let seen = cc.join();
        assert!(
            seen == W | ct || seen == ct,
            "C owns with the word {seen:#x}"
        );
        c.hit(if seen == ct {
            "C took it free"
        } else {
            "C handed off"
        });
        assert_eq!(log(&m), [A, bt, ct]);
        assert_eq!(word(&m), 0);
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// (d) The owner dies (`exit_pi_state`, Linux's `exit_pi_state_list`) while `B`'s timed
/// `lock_pi` races it: `B` either owns the lock with the word `OWNER_DIED | WAITERS | B` (the
/// dead owner's futex was handed to it) or, having left first, times out and the word still
/// names the dead owner; `B` never owns a lock whose word does not name it.
#[test]
fn owner_death_vs_timeout() {
    let cov = Coverage::new(&["handed over at the owner's death", "timed out first"]);
    let c = cov.clone();
    check(move || {
        let m = owned_by_a();
        let w = m.addr(0);
        let b = m.spawn(move |m| {
            let d = m.kernel.deadline_after(1_000);
            match m.table().lock_pi(w, Some(d), false, P) {
                Ok(()) => {
                    let seen = word(m);
                    assert_eq!(m.table().unlock_pi(w, P), Ok(()));
                    Some(seen)
                }
                Err(e) if e == FutexError::from(Errno::ETIMEDOUT) => None,
                Err(e) => panic!("unexpected {e:?}"),
            }
        });
        let bt = m.kernel.tid(b.tid) as u32;
        m.until_waiting(b.tid);
        m.table().exit_pi_state();
        match b.join() {
            Some(seen) => {
                c.hit("handed over at the owner's death");
                assert_eq!(seen, l::FUTEX_OWNER_DIED | W | bt);
                assert_eq!(word(&m), 0);
            }
            None => {
                c.hit("timed out first");
                assert_eq!(word(&m), A | W, "nobody to hand it to: the word is left");
            }
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

/// (e) `[PI-EXIT]`: the owner `B` exits (`exit_pi_state`, then the thread ends) while `C` takes
/// the lock with an untimed `lock_pi`. `C` either queued before `B`'s scan passed its bucket
/// (handed the lock: `OWNER_DIED | WAITERS | C`), or sees `B` exiting, waits for its end and
/// finds a dead owner (`ESRCH`, the word still naming `B`), or came after `B` was dead
/// (`ESRCH`). `C` never sleeps forever (loom reports a deadlock if it does: it did before
/// `[PI-EXIT]`, when `C` queued behind the scan).
#[test]
fn owner_exit_vs_lock() {
    let cov = Coverage::new(&["handed over at the owner's exit", "ESRCH"]);
    let c = cov.clone();
    check(move || {
        // Word 0 owned by B (Linux tid 2, the first spawned thread).
        let m = Model::new(1, &[2]);
        let w = m.addr(0);
        let b = m.spawn(|m| {
            m.table().exit_pi_state();
            // SAFETY: nothing of this thread's is referenced by others.
            unsafe { m.kernel.exit_current(0, 0) }
        });
        let cc = m.spawn(move |m| {
            let r = m.table().lock_pi(w, None, false, P);
            let seen = word(m);
            if r.is_ok() {
                assert_eq!(m.table().unlock_pi(w, P), Ok(()));
            }
            (r, seen)
        });
        b.join_exited();
        let (r, seen) = cc.join();
        let ct = 3;
        match r {
            Ok(()) => {
                c.hit("handed over at the owner's exit");
                assert_eq!(seen, l::FUTEX_OWNER_DIED | W | ct);
            }
            Err(e) => {
                assert_eq!(e, FutexError::from(Errno::ESRCH));
                c.hit("ESRCH");
                assert_eq!(seen & l::FUTEX_TID_MASK, 2, "the word still names B");
            }
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}
