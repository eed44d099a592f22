//! lintel's demo: a parallel work queue whose threads synchronise only through futexes.
//!
//! Six raw host threads (made by lintel's Linux host port: bare `clone`, no C-library thread
//! descriptor) take jobs from a queue guarded by a futex mutex and a futex condition variable,
//! count the primes in their job's range, and report back; one of them is detached. The main
//! thread waits for all results with the same condition variable, then joins the workers.
//!
//! The same program runs twice: on lintel's futex (over the host port) and on the host kernel's
//! native `futex(2)`. The results must agree; the futex counters show what lintel did.
//!
//! Run it with `cargo xtask demo`.

use lintel_futex::{Bucket, FutexTable, Scope};
use lintel_host::{HOST, Host, spawn_raw};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::Instant;

const ANY: u32 = u32::MAX;
const WORKERS: usize = 6;
const JOBS: usize = 48;
const JOB_SPAN: u64 = 25_000;

// --- One futex interface, two implementations --------------------------------------------------

static NATIVE: AtomicU32 = AtomicU32::new(0); // 1 while the native run is on

static WAITS: AtomicU64 = AtomicU64::new(0);
static WAKES: AtomicU64 = AtomicU64::new(0);
static WOKEN: AtomicU64 = AtomicU64::new(0);
static REQUEUES: AtomicU64 = AtomicU64::new(0);

fn table() -> &'static FutexTable<'static, Host> {
    static T: OnceLock<FutexTable<'static, Host>> = OnceLock::new();
    T.get_or_init(|| {
        let buckets = Box::leak(
            (0..1024)
                .map(|_| Bucket::new())
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        FutexTable::new(&HOST, buckets)
    })
}

fn addr(w: &AtomicU32) -> usize {
    w as *const AtomicU32 as usize
}

fn native(w: &AtomicU32, op: i32, val: u32, val2: usize, w2: usize) -> i64 {
    // SAFETY: futex on valid words; val2 is an integer for the ops that use this path.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr(w),
            op | libc::FUTEX_PRIVATE_FLAG,
            val,
            val2,
            w2,
            0u32,
        )
    }
}

fn futex_wait(w: &AtomicU32, val: u32) {
    WAITS.fetch_add(1, SeqCst);
    if NATIVE.load(SeqCst) == 1 {
        native(w, libc::FUTEX_WAIT, val, 0, 0);
    } else {
        let _ = table().wait(addr(w), val, ANY, None, Scope::Private);
    }
}

fn futex_wake(w: &AtomicU32, n: i32) {
    WAKES.fetch_add(1, SeqCst);
    let woken = if NATIVE.load(SeqCst) == 1 {
        native(w, libc::FUTEX_WAKE, n as u32, 0, 0).max(0) as u64
    } else {
        u64::from(table().wake(addr(w), n, ANY, Scope::Private).unwrap_or(0))
    };
    WOKEN.fetch_add(woken, SeqCst);
}

/// Wakes one waiter on `from` and moves the rest onto `to` (a condvar broadcast that does not
/// stampede the mutex).
fn futex_requeue(from: &AtomicU32, to: &AtomicU32) {
    REQUEUES.fetch_add(1, SeqCst);
    if NATIVE.load(SeqCst) == 1 {
        native(from, libc::FUTEX_REQUEUE, 1, i32::MAX as usize, addr(to));
    } else {
        let _ = table().requeue(addr(from), addr(to), 1, i32::MAX, None, Scope::Private);
    }
}

// --- A futex mutex (Drepper's "Futexes are tricky", mutex 2) and condition variable -----------

struct Mutex(AtomicU32); // 0 unlocked, 1 locked, 2 locked with waiters

impl Mutex {
    fn lock(&self) {
        if self.0.compare_exchange(0, 1, SeqCst, SeqCst).is_ok() {
            return;
        }
        while self.0.swap(2, SeqCst) != 0 {
            futex_wait(&self.0, 2);
        }
    }
    fn unlock(&self) {
        if self.0.swap(0, SeqCst) == 2 {
            futex_wake(&self.0, 1);
        }
    }
}

struct Condvar(AtomicU32); // a sequence number

impl Condvar {
    fn wait(&self, m: &Mutex) {
        let seq = self.0.load(SeqCst);
        m.unlock();
        futex_wait(&self.0, seq);
        // Requeued waiters come back on the mutex word: take it as contended.
        while m.0.swap(2, SeqCst) != 0 {
            futex_wait(&m.0, 2);
        }
    }
    fn notify_all(&self, m: &Mutex) {
        self.0.fetch_add(1, SeqCst);
        futex_requeue(&self.0, &m.0);
    }
}

// --- The work queue ------------------------------------------------------------------------------

struct Queue {
    lock: Mutex,
    changed: Condvar,
    next: AtomicU32,   // next job to hand out (under `lock`)
    pushed: AtomicU32, // jobs available (under `lock`)
    done: AtomicU32,   // jobs finished (under `lock`)
    closed: AtomicU32, // 1 when no more jobs will come
    results: [AtomicU64; JOBS],
    by_worker: [AtomicU32; WORKERS],
}

static Q: Queue = Queue {
    lock: Mutex(AtomicU32::new(0)),
    changed: Condvar(AtomicU32::new(0)),
    next: AtomicU32::new(0),
    pushed: AtomicU32::new(0),
    done: AtomicU32::new(0),
    closed: AtomicU32::new(0),
    results: [const { AtomicU64::new(0) }; JOBS],
    by_worker: [const { AtomicU32::new(0) }; WORKERS],
};

fn count_primes(lo: u64, hi: u64) -> u64 {
    (lo.max(2)..hi)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

/// A worker: runs on a raw thread, so it uses atomics and futexes only (no std, no allocation).
fn worker(id: usize) {
    loop {
        Q.lock.lock();
        while Q.next.load(SeqCst) == Q.pushed.load(SeqCst) && Q.closed.load(SeqCst) == 0 {
            Q.changed.wait(&Q.lock);
        }
        if Q.next.load(SeqCst) == Q.pushed.load(SeqCst) {
            Q.lock.unlock();
            return;
        }
        let job = Q.next.fetch_add(1, SeqCst) as usize;
        Q.lock.unlock();

        let lo = job as u64 * JOB_SPAN;
        Q.results[job].store(count_primes(lo, lo + JOB_SPAN), SeqCst);

        Q.lock.lock();
        Q.by_worker[id].fetch_add(1, SeqCst);
        Q.done.fetch_add(1, SeqCst);
        Q.changed.notify_all(&Q.lock);
        Q.lock.unlock();
    }
}

fn reset() {
    for a in [
        &Q.next,
        &Q.pushed,
        &Q.done,
        &Q.closed,
        &Q.lock.0,
        &Q.changed.0,
    ] {
        a.store(0, SeqCst);
    }
    for r in &Q.results {
        r.store(0, SeqCst);
    }
    for w in &Q.by_worker {
        w.store(0, SeqCst);
    }
    for c in [&WAITS, &WAKES, &WOKEN, &REQUEUES] {
        c.store(0, SeqCst);
    }
}

struct Run {
    total: u64,
    results: Vec<u64>,
    by_worker: Vec<u32>,
    millis: f64,
    counters: [u64; 4],
}

fn run(native: bool) -> Run {
    reset();
    NATIVE.store(u32::from(native), SeqCst);
    let start = Instant::now();
    let mut joinable = Vec::new();
    let mut detached = None;
    for id in 0..WORKERS {
        let t = spawn_raw(worker, id).expect("spawn a raw thread");
        if id == WORKERS - 1 {
            detached = Some(t); // never joined: we only wait for its work, as for a detached thread
        } else {
            joinable.push(t);
        }
    }
    // Hand out the jobs in three batches, broadcasting each.
    for batch in 0..3 {
        Q.lock.lock();
        Q.pushed.store(((batch + 1) * JOBS / 3) as u32, SeqCst);
        Q.changed.notify_all(&Q.lock);
        Q.lock.unlock();
    }
    Q.lock.lock();
    Q.closed.store(1, SeqCst);
    Q.changed.notify_all(&Q.lock);
    while Q.done.load(SeqCst) < JOBS as u32 {
        Q.changed.wait(&Q.lock);
    }
    Q.lock.unlock();
    for t in joinable {
        t.join();
    }
    let millis = start.elapsed().as_secs_f64() * 1e3;
    // The detached worker finishes on its own; wait for it only so the next run starts clean.
    if let Some(t) = detached {
        t.join();
    }
    let results: Vec<u64> = Q.results.iter().map(|r| r.load(SeqCst)).collect();
    Run {
        total: results.iter().sum(),
        results,
        by_worker: Q.by_worker.iter().map(|w| w.load(SeqCst)).collect(),
        millis,
        counters: [&WAITS, &WAKES, &WOKEN, &REQUEUES].map(|c| c.load(SeqCst)),
    }
}

fn main() {
    println!(
        "lintel demo: a work queue of {JOBS} jobs on {WORKERS} raw threads, synchronised by futexes"
    );
    println!(
        "(a futex mutex, and a condition variable whose broadcast requeues waiters onto the mutex)\n"
    );
    let lintel = run(false);
    let native = run(true);
    for (name, r) in [("lintel", &lintel), ("native futex(2)", &native)] {
        println!(
            "{name:>16}: {} primes below {}, in {:.1} ms",
            r.total,
            JOBS as u64 * JOB_SPAN,
            r.millis
        );
        println!(
            "{:>16}  jobs per worker {:?} (the last worker is detached)",
            "", r.by_worker
        );
        let [waits, wakes, woken, requeues] = r.counters;
        println!(
            "{:>16}  futex waits {waits}, wakes {wakes} (threads woken {woken}), requeues {requeues}",
            ""
        );
    }
    assert_eq!(lintel.results, native.results, "lintel and native disagree");
    assert_eq!(lintel.by_worker.iter().sum::<u32>(), JOBS as u32);
    assert_eq!(
        table().waiters(),
        0,
        "lintel's futex table must be empty at the end"
    );
    println!("\nresults identical; lintel's futex table is empty.");
}
