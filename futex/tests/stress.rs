//! Stress: many threads run a random mix of futex operations over a few words for a bounded
//! time. Checks: every waiter returns; every successful wait is accounted for by exactly one
//! counted wake (sum of woken counts == successful waits); the table is empty at the end.

mod support;

use lintel_futex::{Bucket, FutexError, FutexTable, Scope};
use lintel_kernel::{ClockId, Deadline, Kernel};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const THREADS: usize = 8;
const WORDS: usize = 4;
const RUN: Duration = Duration::from_millis(1500);
const ANY: u32 = u32::MAX;

struct Shared<K: Kernel + 'static> {
    port: &'static K,
    table: FutexTable<'static, K>,
    words: [AtomicU32; WORDS],
    stop: AtomicBool,
    ok_waits: AtomicU64,
    woken: AtomicU64,
    timeouts: AtomicU64,
    restarts: AtomicU64,
    eagain: AtomicU64,
    finished: AtomicUsize,
    threads: Mutex<Vec<K::Thread>>,
}

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn worker<K: Kernel>(s: &Shared<K>, id: usize) {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (id as u64 + 1).wrapping_mul(0x1234_5678_9abc_def1);
    let t = &s.table;
    let addr = |i: u64| &s.words[i as usize % WORDS] as *const AtomicU32 as usize;
    while !s.stop.load(Ordering::Relaxed) {
        let r = rng(&mut seed);
        let (a, b) = (addr(r >> 8), addr(r >> 16));
        // Threads 0 and 1 never wait, so someone is always there to wake the others.
        let op = if id < 2 { 4 + r % 6 } else { r % 10 };
        match op {
            0..=3 => {
                let w = a;
                // SAFETY: `w` is one of our words.
                let val = unsafe { &*(w as *const AtomicU32) }.load(Ordering::SeqCst);
                let deadline = (r >> 24) % 2 == 0;
                let deadline = deadline.then(|| {
                    Deadline::after(
                        ClockId::Monotonic,
                        s.port.now(ClockId::Monotonic),
                        (r >> 32) % 2_000_000,
                    )
                });
                let bitset = if (r >> 40) % 4 == 0 {
                    1 << ((r >> 44) % 3)
                } else {
                    ANY
                };
                match t.wait(w, val, bitset, deadline, Scope::Private) {
                    Ok(()) => s.ok_waits.fetch_add(1, Ordering::Relaxed),
                    Err(FutexError::Errno(e)) if e == lintel_kernel::Errno::ETIMEDOUT => {
                        s.timeouts.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(FutexError::Errno(e)) if e == lintel_kernel::Errno::EAGAIN => {
                        s.eagain.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(FutexError::Restart(_)) => s.restarts.fetch_add(1, Ordering::Relaxed),
                    Err(e) => panic!("unexpected {e:?}"),
                };
                s.port.take_interrupt();
            }
            4 | 5 => {
                let n = t
                    .wake(
                        a,
                        ((r >> 24) % 3) as i32,
                        if (r >> 30) % 3 == 0 {
                            1 << ((r >> 34) % 3)
                        } else {
                            ANY
                        },
                        Scope::Private,
                    )
                    .unwrap();
                s.woken.fetch_add(u64::from(n), Ordering::Relaxed);
            }
            6 => {
                s.words[(r >> 8) as usize % WORDS].fetch_add(1, Ordering::SeqCst);
                let n = t.wake(a, i32::MAX, ANY, Scope::Private).unwrap();
                s.woken.fetch_add(u64::from(n), Ordering::Relaxed);
            }
            7 => {
                let nr_wake = ((r >> 24) % 2) as i32;
                // SAFETY: `a` is one of our words.
                let cur = unsafe { &*(a as *const AtomicU32) }.load(Ordering::SeqCst);
                let expected = if (r >> 28) % 2 == 0 { Some(cur) } else { None };
                if let Ok(n) = t.requeue(
                    a,
                    b,
                    nr_wake,
                    ((r >> 32) % 3) as i32,
                    expected,
                    Scope::Private,
                ) {
                    s.woken
                        .fetch_add(u64::from(n.min(nr_wake as u32)), Ordering::Relaxed);
                }
            }
            8 => {
                // ADD 1 to b, wake one on a, and one on b if b's old value was even... (cmp EQ 0
                // on the low bits is not expressible; use GE 0 / LT 0 on the signed value).
                let cmp = (r >> 24) % 6;
                let op = (1 << 28) | ((cmp as u32) << 24) | (1 << 12);
                // SAFETY: `b` is one of the test's words, meant to be modified.
                let n = unsafe { t.wake_op(a, b, 1, 1, op, Scope::Private) }.unwrap();
                s.woken.fetch_add(u64::from(n), Ordering::Relaxed);
            }
            _ => {
                let threads = s.threads.lock().unwrap();
                if let Some(&victim) = threads.get((r >> 8) as usize % THREADS) {
                    s.port.interrupt(victim);
                }
            }
        }
    }
    s.finished.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn random_ops_on_the_host_port() {
    stress(&lintel_host::HOST);
}

#[test]
fn random_ops_on_the_std_test_port() {
    stress(&support::KERNEL);
}

fn stress<K: Kernel>(port: &'static K) {
    let buckets = Box::leak(
        (0..4)
            .map(|_| Bucket::new())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let s = Arc::new(Shared {
        port,
        table: FutexTable::new(port, buckets),
        words: Default::default(),
        stop: AtomicBool::new(false),
        ok_waits: AtomicU64::new(0),
        woken: AtomicU64::new(0),
        timeouts: AtomicU64::new(0),
        restarts: AtomicU64::new(0),
        eagain: AtomicU64::new(0),
        finished: AtomicUsize::new(0),
        threads: Mutex::new(Vec::new()),
    });
    let handles: Vec<_> = (0..THREADS)
        .map(|id| {
            let s = s.clone();
            thread::spawn(move || {
                s.threads.lock().unwrap().push(s.port.current());
                worker(&s, id)
            })
        })
        .collect();
    thread::sleep(RUN);
    s.stop.store(true, Ordering::SeqCst);
    // Release every waiter still blocked: change every word, wake everything, until all exit.
    let start = Instant::now();
    while s.finished.load(Ordering::SeqCst) < THREADS {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "waiters did not return: {} of {THREADS} finished",
            s.finished.load(Ordering::SeqCst)
        );
        for w in &s.words {
            w.fetch_add(1, Ordering::SeqCst);
            let n = s
                .table
                .wake(
                    w as *const AtomicU32 as usize,
                    i32::MAX,
                    ANY,
                    Scope::Private,
                )
                .unwrap();
            s.woken.fetch_add(u64::from(n), Ordering::Relaxed);
        }
        thread::sleep(Duration::from_millis(1));
    }
    for h in handles {
        h.join().unwrap();
    }
    let ok = s.ok_waits.load(Ordering::SeqCst);
    let woken = s.woken.load(Ordering::SeqCst);
    eprintln!(
        "stress: {ok} woken waits, {} timeouts, {} restarts, {} EAGAIN",
        s.timeouts.load(Ordering::SeqCst),
        s.restarts.load(Ordering::SeqCst),
        s.eagain.load(Ordering::SeqCst)
    );
    assert_eq!(
        ok, woken,
        "every successful wait must match exactly one counted wake"
    );
    assert!(
        ok > 100,
        "the stress test should block and wake many times (got {ok})"
    );
    assert_eq!(s.table.waiters(), 0, "the table must be empty at the end");
}
