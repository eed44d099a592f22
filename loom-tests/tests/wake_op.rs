//! FUTEX_WAKE_OP on the real table: the op on the second word and the wakes are one atomic
//! step for a waiter on that word.
//!
//! A waiter sleeps on B while `*B == 0`; main runs `wake_op(A, B, 1, 1, SET *B = 1, if old ==
//! 0)`. The op is applied under both bucket locks, so the waiter either queued before (and is
//! woken: counted 1) or reads `*B == 1` under its lock (`EAGAIN`: counted 0). A waiter that
//! queued on the old value after the wakes were done would sleep forever, and loom would report
//! the deadlock.
//!
//! Run: `bash loom-tests/run.sh --test wake_op`.
//! Quick run: `LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh --test wake_op`.
#![cfg(lintel_loom)]

use lintel_futex::Scope;
use lintel_kernel::Errno;
use lintel_kernel::abi::linux::{FUTEX_OP_CMP_EQ, FUTEX_OP_CMP_NE, FUTEX_OP_SET};
use lintel_loom_tests::{ANY, Coverage, Model, check};
use loom::sync::atomic::Ordering;

const P: Scope = Scope::Private;

/// `FUTEX_OP(op, oparg, cmp, cmparg)` from futex(2).
const fn futex_op(op: u32, oparg: u32, cmp: u32, cmparg: u32) -> u32 {
    (op << 28) | (cmp << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff)
}

/// Waiter on B; `wake_op(A, B, ...)` with A in bucket `bucket_a` and B in `bucket_b` of
/// `buckets` buckets (so both lock orders of `lock_pair`, and the single-lock case, are run).
fn wake_op_vs_waiter(buckets: usize, bucket_a: usize, bucket_b: usize) {
    let cov = Coverage::new(&["woken", "EAGAIN"]);
    let c = cov.clone();
    check(move || {
        let m = Model::new(buckets, &[0; 8]);
        let a = m.word_in_bucket(bucket_a, None);
        let b = m.word_in_bucket(bucket_b, Some(a));
        let (aa, ab) = (m.addr(a), m.addr(b));
        let waiter = m.spawn(move |m| m.table().wait(ab, 0, ANY, None, P));
        let op = futex_op(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0);
        // SAFETY: B is a word of the model, meant to be modified.
        let n = unsafe { m.table().wake_op(aa, ab, 1, 1, op, P) }.unwrap();
        let r = waiter.join();
        assert_eq!(m.kernel.word(b).load(Ordering::Acquire), 1);
        match r {
            Ok(()) => {
                assert_eq!(n, 1, "woken, yet wake_op counted {n}");
                c.hit("woken");
            }
            Err(e) => {
                assert_eq!(e, Errno::EAGAIN.into());
                assert_eq!(n, 0, "saw the new value, yet wake_op counted {n}");
                c.hit("EAGAIN");
            }
        }
        assert_eq!(m.table().waiters(), 0);
    });
    cov.assert_all();
}

#[test]
fn wake_op_one_bucket() {
    wake_op_vs_waiter(1, 0, 0);
}

#[test]
fn wake_op_two_buckets() {
    wake_op_vs_waiter(2, 0, 1);
}

#[test]
fn wake_op_two_buckets_reversed() {
    wake_op_vs_waiter(2, 1, 0);
}

/// The comparison fails (`old != 0` is false), so nobody on B is woken, but the op is still
/// applied atomically: a waiter on B either queued first (and stays queued until the cleanup
/// wake) or sees 1.
#[test]
fn wake_op_failed_compare_still_applies_op() {
    check(|| {
        let m = Model::new(2, &[0; 8]);
        let a = m.word_in_bucket(0, None);
        let b = m.word_in_bucket(1, Some(a));
        let (aa, ab) = (m.addr(a), m.addr(b));
        let waiter = m.spawn(move |m| m.table().wait(ab, 0, ANY, None, P));
        let op = futex_op(FUTEX_OP_SET, 1, FUTEX_OP_CMP_NE, 0);
        // SAFETY: B is a word of the model, meant to be modified.
        let n = unsafe { m.table().wake_op(aa, ab, 1, 1, op, P) }.unwrap();
        assert_eq!(n, 0);
        let c = m.table().wake(ab, 1, ANY, P).unwrap();
        let r = waiter.join();
        match r {
            Ok(()) => assert_eq!(c, 1),
            Err(e) => {
                assert_eq!(e, Errno::EAGAIN.into());
                assert_eq!(c, 0);
            }
        }
        assert_eq!(m.table().waiters(), 0);
    });
}
