//! A `futex_waitv` mixing private and shared entries on the real table (`waitv_mixed` in
//! `futex/src/futex2.rs`): the private entry is queued in lintel's table, then the port waits
//! on the shared one and on the thread's notification (`SharedFutex::shared_waitv`, modelled by
//! the loom port). Whatever the interleaving, a private wake and a shared wake each reach the
//! waiter (it never sleeps through one: loom reports the deadlock), it returns the highest
//! index woken, a timeout racing a wake loses to it, and nothing stays queued.
//!
//! Word 0 is the private futex, word 1 the shared one; the waiter is `W` (tid 2).
//!
//! Run: `bash loom-tests/run.sh --test waitv_mixed`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Scope};
use lintel_kernel::Errno;
use lintel_kernel::abi::linux as l;
use lintel_loom_tests::{Coverage, Model, check};

/// `struct futex_waitv` entries for words 0 (private) and 1 (shared), value 0, then (at byte
/// 48) an absolute `CLOCK_MONOTONIC` timespec of `deadline_ns`.
fn layout(m: &Model, deadline_ns: u64) {
    let mut bytes = Vec::new();
    for (i, private) in [(0, true), (1, false)] {
        bytes.extend_from_slice(&0u64.to_ne_bytes());
        bytes.extend_from_slice(&(m.addr(i) as u64).to_ne_bytes());
        let flags = l::FUTEX2_SIZE_U32 | if private { l::FUTEX2_PRIVATE } else { 0 };
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
    }
    bytes.extend_from_slice(&((deadline_ns / 1_000_000_000) as i64).to_ne_bytes());
    bytes.extend_from_slice(&((deadline_ns % 1_000_000_000) as i64).to_ne_bytes());
    m.kernel.write_bytes(0, &bytes);
}

/// `W`'s `futex_waitv` on both words, with the timeout at byte 48 if `timed`.
fn waitv(m: &Model, timed: bool) -> Result<usize, FutexError> {
    let t = m.table();
    let ts = if timed { m.kernel.bytes_addr(48) } else { 0 };
    // SAFETY: the model's own plain memory and words.
    let r = unsafe {
        t.futex_waitv2(
            m.kernel.bytes_addr(0),
            2,
            0,
            ts,
            l::CLOCK_MONOTONIC as usize,
        )
    };
    r.map(|i| i.expect("a mixed call stays in lintel"))
}

/// `W` waits untimed; the main thread makes a private wake of word 0 and a shared wake of
/// word 1, in either order. `W` returns 0 or 1, the index of a wake that woke it (1 if both
/// did), and neither wake is lost: `W` returns at all.
#[test]
fn private_and_shared_wakes_reach_a_mixed_waitv() {
    let cov = Coverage::new(&["woken by the private wake", "woken by the shared wake"]);
    let c = cov.clone();
    for private_first in [true, false] {
        let c = c.clone();
        check(move || {
            let m = Model::with_bytes(1, &[0, 0], &[0; 64]);
            layout(&m, 0);
            let w = m.spawn(|m| waitv(m, false));
            m.until_waiting(w.tid);
            let t = m.table();
            let private = || t.wake(m.addr(0), 1, u32::MAX, Scope::Private).unwrap();
            let shared = || t.wake(m.addr(1), 1, u32::MAX, Scope::Shared).unwrap();
            let (p, s) = if private_first {
                let p = private();
                (p, shared())
            } else {
                let s = shared();
                (private(), s)
            };
            let r = w.join().expect("woken");
            assert!(p + s >= 1, "W returned {r} but no wake woke it");
            match r {
                0 => {
                    assert_eq!((p, s), (1, 0), "index 0 without only the private wake");
                    c.hit("woken by the private wake");
                }
                1 => {
                    assert_eq!(s, 1, "index 1 without the shared wake");
                    c.hit("woken by the shared wake");
                }
                _ => panic!("index {r}"),
            }
            assert_eq!(m.table().waiters(), 0);
            assert_eq!(t.wake(m.addr(1), 8, u32::MAX, Scope::Shared), Ok(0));
        });
    }
    cov.assert_all();
}

/// `W` waits with a timeout (the port's nondeterministic timer) while the main thread makes
/// one private wake of word 0: `W` returns 0 exactly when that wake woke it, `ETIMEDOUT`
/// otherwise.
#[test]
fn private_wake_vs_timeout_of_a_mixed_waitv() {
    let cov = Coverage::new(&["woken", "timed out"]);
    let c = cov.clone();
    check(move || {
        let m = Model::with_bytes(1, &[0, 0], &[0; 64]);
        let d = m.kernel.deadline_after(1_000);
        layout(&m, d.ns);
        let w = m.spawn(|m| waitv(m, true));
        m.until_waiting(w.tid);
        let t = m.table();
        let p = t.wake(m.addr(0), 1, u32::MAX, Scope::Private).unwrap();
        match w.join() {
            Ok(0) => {
                assert_eq!(p, 1);
                c.hit("woken");
            }
            Err(e) if e == FutexError::from(Errno::ETIMEDOUT) => {
                assert_eq!(p, 0, "the wake woke W, which timed out");
                c.hit("timed out");
            }
            r => panic!("unexpected {r:?}"),
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}
