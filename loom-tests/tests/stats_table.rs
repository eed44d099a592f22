//! The `[STATS-TABLE]` argument of `lintel/src/stats.rs` on the real `AddrTable`: threads that
//! record waits on addresses at once never put one address in two slots, never lose a wait
//! (it is in its address's row or in the untracked totals), and an address that found a slot
//! has all of its waits there. Tables of 2 slots, so every address probes every slot and
//! claims race for the same ones.
//!
//! Run: `bash loom-tests/run.sh --test stats_table`; quick run: prefix `LOOM_MAX_PREEMPTIONS=1`.
#![cfg(lintel_loom)]

use lintel::stats::{AddrStats, AddrTable};
use lintel_loom_tests::check;
use loom::sync::Arc;

const A: usize = 0x1000;
const B: usize = 0x2004;
const C: usize = 0x3008;

/// Runs `work[i]` (addresses to record, in order) on thread `i` (the last on the model's main
/// thread) over one 2-slot table; returns the table's rows and untracked waits.
fn run(work: &'static [&'static [usize]]) -> (Vec<AddrStats>, u64) {
    let t = Arc::new(AddrTable::<2>::new());
    let (last, others) = work.split_last().unwrap();
    let hs: Vec<_> = others
        .iter()
        .map(|&addrs| {
            let t = t.clone();
            loom::thread::spawn(move || {
                for &a in addrs {
                    t.record(a, 1);
                }
            })
        })
        .collect();
    for &a in *last {
        t.record(a, 1);
    }
    for h in hs {
        h.join().unwrap();
    }
    let mut rows = [AddrStats::default(); 2];
    let n = t.top(&mut rows);
    let (untracked, ns) = t.untracked();
    assert_eq!(ns, untracked);
    (rows[..n].to_vec(), untracked)
}

/// Every row's address is unique, every wait is somewhere, and a row has all of its address's
/// waits (`want(addr)`).
fn assert_consistent(rows: &[AddrStats], untracked: u64, total: u64, want: impl Fn(usize) -> u64) {
    for (i, r) in rows.iter().enumerate() {
        assert!(rows[..i].iter().all(|o| o.addr != r.addr), "{rows:?}");
        assert_eq!(r.waits, want(r.addr), "{rows:?}");
        assert_eq!(r.total_ns, r.waits);
        assert_eq!(r.max_ns, 1);
    }
    assert_eq!(rows.iter().map(|r| r.waits).sum::<u64>() + untracked, total);
}

#[test]
fn racing_claims_of_one_address_share_its_slot() {
    check(|| {
        // Both threads claim A (and B) at once, in opposite orders: two slots, two addresses,
        // so both always fit, each in one row with both of its waits.
        let (rows, untracked) = run(&[&[A, B], &[B, A]]);
        assert_eq!(untracked, 0);
        assert_eq!(rows.len(), 2);
        assert_consistent(&rows, 0, 4, |_| 2);
    });
}

#[test]
fn a_full_table_reports_what_it_could_not_place() {
    check(|| {
        // Three addresses, two slots: whichever loses is untracked, for both of its waits if
        // it is C (recorded by both threads).
        let (rows, untracked) = run(&[&[A, C], &[B, C]]);
        assert_eq!(rows.len(), 2);
        assert_consistent(&rows, untracked, 4, |a| if a == C { 2 } else { 1 });
    });
}
