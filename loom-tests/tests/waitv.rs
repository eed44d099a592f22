//! `futex_waitv` (syscall 449) against wakes on the real table: the waiter queues one node per
//! entry, each only if its word still holds its value (`[ORDER]` per entry), sleeps until any is
//! dequeued, then takes every node off its queue and returns the highest index a waker dequeued
//! (Linux's `futex_unqueue_multiple`). No wakeup is lost and none is counted twice: a wake that
//! returns 1 is always the one the waiter reports.
//!
//! The `struct futex_waitv` array (and the timeout's timespec) live in the model's plain
//! memory; the futex words are words 0 and 1.
//!
//! Run: `bash loom-tests/run.sh --test waitv`.
#![cfg(lintel_loom)]

use lintel_futex::{FutexError, Scope};
use lintel_kernel::Errno;
use lintel_kernel::abi::linux;
use lintel_loom_tests::{ANY, BYTES_BASE, Coverage, Model, check};
use loom::sync::atomic::Ordering;

const P: Scope = Scope::Private;
/// `sizeof(struct futex_waitv)`.
const WAITV: usize = 24;

/// Plain memory holding a `struct futex_waitv` for words 0 and 1 (both expecting 0, private,
/// 32-bit), then an absolute `CLOCK_MONOTONIC` timespec `ns` after virtual time 0.
fn waitv_bytes(m_words: [usize; 2], ns: u64) -> Vec<u8> {
    let mut b = Vec::new();
    for uaddr in m_words {
        b.extend_from_slice(&0u64.to_ne_bytes()); // val
        b.extend_from_slice(&(uaddr as u64).to_ne_bytes()); // uaddr
        b.extend_from_slice(&(linux::FUTEX2_SIZE_U32 | linux::FUTEX2_PRIVATE).to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes()); // __reserved
    }
    b.extend_from_slice(&((ns / 1_000_000_000) as i64).to_ne_bytes());
    b.extend_from_slice(&((ns % 1_000_000_000) as i64).to_ne_bytes());
    b
}

/// A model with words 0 and 1 (both 0) and the waitv array for them, in `buckets` buckets.
fn model(buckets: usize, timeout_ns: u64) -> std::sync::Arc<Model> {
    let probe = Model::new(buckets, &[0, 0]);
    let words = [probe.addr(0), probe.addr(1)];
    Model::with_bytes(buckets, &[0, 0], &waitv_bytes(words, timeout_ns))
}

/// `futex_waitv` on both entries, with the timeout if `timed`.
fn waitv(m: &Model, timed: bool) -> Result<Option<usize>, FutexError> {
    let timeout = if timed { BYTES_BASE + 2 * WAITV } else { 0 };
    let clock = linux::CLOCK_MONOTONIC as usize;
    // SAFETY: the array and the timespec are in the model's plain memory, read by the port.
    unsafe { m.table().futex_waitv2(BYTES_BASE, 2, 0, timeout, clock) }
}

/// The waker changes word 1 and wakes it while the waiter queues both entries: either the
/// waiter saw the change while queuing entry 1 (`EAGAIN`, and the wake found nobody), or it
/// slept and the wake dequeued it (index 1, and the wake returned 1). Nothing else; the model
/// ends (no lost wakeup) with nobody counted in the table.
fn change_and_wake(buckets: usize) {
    let cov = Coverage::new(&["woken on entry 1", "saw the change (EAGAIN)"]);
    let c = cov.clone();
    check(move || {
        let m = model(buckets, 0);
        let waiter = m.spawn(|m| waitv(m, false));
        m.kernel.word(1).store(1, Ordering::Release);
        let woken = m.table().wake(m.addr(1), 1, ANY, P).unwrap();
        match waiter.join() {
            Ok(Some(1)) => {
                assert_eq!(woken, 1, "the waiter reports the wake that dequeued it");
                c.hit("woken on entry 1");
            }
            Err(e) if e == FutexError::from(Errno::EAGAIN) => {
                assert_eq!(woken, 0, "a waiter that did not sleep was not woken");
                c.hit("saw the change (EAGAIN)");
            }
            other => panic!("unexpected {other:?} (wake returned {woken})"),
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

#[test]
fn change_and_wake_one_bucket() {
    change_and_wake(1);
}

#[test]
fn change_and_wake_two_buckets() {
    change_and_wake(2);
}

/// Two wakers wake entries 0 and 1 (words unchanged) while the waiter has a timeout: the
/// waiter returns the highest index whose wake dequeued it, or times out if neither did; the
/// wakes' counts add up to what the waiter saw (a node dequeued by a wake is never also
/// reported as a timeout, and a timeout never hides a wake that returned 1, except that the
/// waiter reports only the highest of two).
#[test]
fn two_wakes_and_a_timeout() {
    let cov = Coverage::new(&["woken on 0", "woken on 1", "timed out"]);
    let c = cov.clone();
    check(move || {
        let m = model(1, 1_000);
        let waiter = m.spawn(|m| waitv(m, true));
        let other = m.spawn(|m| m.table().wake(m.addr(0), 1, ANY, P).unwrap());
        let w1 = m.table().wake(m.addr(1), 1, ANY, P).unwrap();
        let w0 = other.join();
        let r = waiter.join();
        match r {
            Ok(Some(1)) => {
                assert_eq!(w1, 1);
                c.hit("woken on 1");
            }
            Ok(Some(0)) => {
                assert_eq!((w0, w1), (1, 0), "entry 1's wake would be the one reported");
                c.hit("woken on 0");
            }
            Err(e) if e == FutexError::from(Errno::ETIMEDOUT) => {
                assert_eq!((w0, w1), (0, 0), "a dequeued node is a wake, not a timeout");
                c.hit("timed out");
            }
            other => panic!("unexpected {other:?} (wakes {w0}, {w1})"),
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}
