//! `lintel_loom_tests::bucket_of` (a copy of the table's private hash) agrees with the real
//! table: a waiter on a word is counted in the bucket `bucket_of` names. The requeue and
//! wake_op models rely on it to put their two words in different buckets.
//!
//! Run: `bash loom-tests/run.sh --test hash`; quick run: prefix `LOOM_MAX_PREEMPTIONS=1`.
#![cfg(lintel_loom)]

use lintel_futex::Scope;
use lintel_loom_tests::{ANY, Model, bucket_of, check};

#[test]
fn bucket_of_matches_the_table() {
    check(|| {
        let m = Model::new(2, &[0; 4]);
        let a = m.word_in_bucket(0, None);
        let b = m.word_in_bucket(1, None);
        let (aa, ab) = (m.addr(a), m.addr(b));
        assert_eq!((bucket_of(aa, 2), bucket_of(ab, 2)), (0, 1));
        let w = m.spawn(move |m| {
            let t = m.table();
            (
                t.wait(aa, 0, ANY, None, Scope::Private),
                t.wait(ab, 0, ANY, None, Scope::Private),
            )
        });
        let t = m.table();
        for (round, addr, bucket) in [(1, aa, 0), (2, ab, 1)] {
            // Once the waiter is asleep it is queued, and counted in its bucket only.
            while m.kernel.waits(w.tid) < round {
                loom::thread::yield_now();
            }
            assert_eq!(m.buckets[bucket].waiter_count(), 1);
            assert_eq!(m.buckets[1 - bucket].waiter_count(), 0);
            assert_eq!(t.wake(addr, 1, ANY, Scope::Private), Ok(1));
        }
        assert_eq!(w.join(), (Ok(()), Ok(())));
        assert_eq!(t.waiters(), 0);
    });
}
