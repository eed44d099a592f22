//! Scaling curves for `cargo xtask bench` (plotted into `docs/bench-*.svg`): lintel's futex on
//! the Linux host port against native `futex(2)` and parking_lot_core, in the same run.
//!
//! - `scale_wake_threads/<impl>/<n>`: `n` threads (1–8) each wake a private word nobody waits
//!   on; one iteration is one wake by every thread (wall time). lintel's wake takes no lock, so
//!   it should scale with CPUs like the syscall.
//! - `scale_wake_all/<impl>/<n>`: `n` waiters (1–8) on one word; one iteration bumps the word,
//!   wakes all, and waits until every waiter has seen the new value (a broadcast round trip).
//! - `scale_addresses/<impl>/<k>`: `k` threads (1–4096) are parked on `k` distinct words; one
//!   iteration is a wake on a word nobody waits on (rotating over 256 such words), which now
//!   shares its bucket with parked waiters: the hash table's cost as it fills. Run pinned to
//!   one CPU by xtask.
//!
//! lintel's table is sized for the machine's CPUs (as `liblintel` does), not for the affinity
//! mask, so that pinning does not change it.
//!
//! Every spawned thread is adopted by the host port before it is used, one thread at a time
//! ([`adopt`]): adoption is not what is measured, and concurrent adoptions by fresh threads
//! have been seen to leave two threads on one record (lost wakeups, a hang in
//! `scale_wake_all`), a host-port bug reported separately.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lintel_futex::{Bucket, FutexTable, Scope};
use lintel_host::Host;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

const ANY: u32 = u32::MAX;

fn table() -> &'static FutexTable<'static, Host> {
    static T: OnceLock<FutexTable<'static, Host>> = OnceLock::new();
    T.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.max(1) as usize;
        let n = lintel_futex::buckets_for_cpus(cpus);
        let buckets = Box::leak(
            (0..n)
                .map(|_| Bucket::new())
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        FutexTable::new(&lintel_host::HOST, buckets)
    })
}

fn native_futex(w: &AtomicU32, op: i32, val: u32) -> i64 {
    // SAFETY: a futex call on a valid word with no timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            w as *const AtomicU32,
            op,
            val,
            0usize,
            0usize,
            0u32,
        )
    }
}

#[derive(Copy, Clone, Debug)]
enum Impl {
    Lintel,
    Native,
    ParkingLot,
}

const IMPLS: [(Impl, &str); 3] = [
    (Impl::Lintel, "lintel"),
    (Impl::Native, "native"),
    (Impl::ParkingLot, "parking_lot_core"),
];

impl Impl {
    /// Blocks while `*w == v` (may return spuriously).
    fn wait(self, w: &AtomicU32, v: u32) {
        match self {
            Impl::Lintel => {
                let _ = table().wait(w as *const AtomicU32 as usize, v, ANY, None, Scope::Private);
            }
            Impl::Native => {
                native_futex(w, libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG, v);
            }
            Impl::ParkingLot => {
                // SAFETY: validate only reads the word; nothing else runs under the bucket lock.
                unsafe {
                    parking_lot_core::park(
                        w as *const AtomicU32 as usize,
                        || w.load(Ordering::SeqCst) == v,
                        || {},
                        |_, _| {},
                        parking_lot_core::DEFAULT_PARK_TOKEN,
                        None,
                    );
                }
            }
        }
    }

    /// Wakes one waiter on `w`, or all of them.
    fn wake(self, w: &AtomicU32, all: bool) {
        let n = if all { i32::MAX } else { 1 };
        match self {
            Impl::Lintel => {
                let _ = table().wake(w as *const AtomicU32 as usize, n, ANY, Scope::Private);
            }
            Impl::Native => {
                native_futex(w, libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, n as u32);
            }
            Impl::ParkingLot => {
                let key = w as *const AtomicU32 as usize;
                // SAFETY: the key is just an address.
                unsafe {
                    if all {
                        parking_lot_core::unpark_all(key, parking_lot_core::DEFAULT_UNPARK_TOKEN);
                    } else {
                        parking_lot_core::unpark_one(key, |_| {
                            parking_lot_core::DEFAULT_UNPARK_TOKEN
                        });
                    }
                }
            }
        }
    }
}

/// Gives the calling thread its host-port record now, one thread at a time (see the module
/// docs); a no-op for the other implementations.
fn adopt(imp: Impl) {
    if let Impl::Lintel = imp {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let _ = lintel_kernel::Threads::current(&lintel_host::HOST);
    }
}

const THREADS: [usize; 4] = [1, 2, 4, 8];

/// `n` threads, `iters` wakes each on their own words; wall time from a common start.
fn wake_threads(imp: Impl, n: usize, iters: u64) -> Duration {
    let start = Arc::new(Barrier::new(n + 1));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let start = start.clone();
            thread::spawn(move || {
                // One cache line each, so the threads share nothing.
                #[repr(align(64))]
                struct Line(AtomicU32);
                let w = Line(AtomicU32::new(0));
                adopt(imp);
                imp.wake(&w.0, false); // first-use costs out of the timing
                start.wait();
                for _ in 0..iters {
                    imp.wake(black_box(&w.0), false);
                }
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    t.elapsed()
}

/// A broadcast round trip with `n` waiters, `iters` times.
fn wake_all(imp: Impl, n: usize, iters: u64) -> Duration {
    let word = Arc::new(AtomicU32::new(0));
    let acks = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(n + 1));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (word, acks, stop, ready) =
                (word.clone(), acks.clone(), stop.clone(), ready.clone());
            thread::spawn(move || {
                adopt(imp);
                let mut seen = 0;
                ready.wait();
                loop {
                    let mut v = word.load(Ordering::SeqCst);
                    while v == seen {
                        imp.wait(&word, v);
                        v = word.load(Ordering::SeqCst);
                    }
                    seen = v;
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if acks.fetch_add(1, Ordering::SeqCst) + 1 == n as u32 {
                        imp.wake(&acks, false);
                    }
                }
            })
        })
        .collect();
    ready.wait();
    let t = Instant::now();
    for _ in 0..iters {
        acks.store(0, Ordering::SeqCst);
        word.fetch_add(1, Ordering::SeqCst);
        imp.wake(&word, true);
        loop {
            let a = acks.load(Ordering::SeqCst);
            if a >= n as u32 {
                break;
            }
            imp.wait(&acks, a);
        }
    }
    let elapsed = t.elapsed();
    stop.store(true, Ordering::SeqCst);
    word.fetch_add(1, Ordering::SeqCst);
    imp.wake(&word, true);
    for h in handles {
        h.join().unwrap();
    }
    elapsed
}

fn threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale_wake_threads");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for &(imp, name) in &IMPLS {
        for n in THREADS {
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_custom(|iters| wake_threads(imp, n, iters))
            });
        }
    }
    g.finish();
    let mut g = c.benchmark_group("scale_wake_all");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for &(imp, name) in &IMPLS {
        for n in THREADS {
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_custom(|iters| wake_all(imp, n, iters))
            });
        }
    }
    g.finish();
}

const ADDRESSES: [usize; 7] = [1, 4, 16, 64, 256, 1024, 4096];
const PROBES: usize = 256;

/// `k` threads parked on `k` distinct words, released on drop.
struct Parked {
    imp: Impl,
    words: Arc<Vec<AtomicU32>>,
    handles: Vec<thread::JoinHandle<()>>,
}

impl Parked {
    fn new(imp: Impl, k: usize) -> Self {
        let words: Arc<Vec<AtomicU32>> = Arc::new((0..k).map(|_| AtomicU32::new(0)).collect());
        let parked = Arc::new(AtomicUsize::new(0));
        let handles = (0..k)
            .map(|i| {
                let (words, parked) = (words.clone(), parked.clone());
                thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn(move || {
                        adopt(imp);
                        parked.fetch_add(1, Ordering::SeqCst);
                        while words[i].load(Ordering::SeqCst) == 0 {
                            imp.wait(&words[i], 0);
                        }
                    })
                    .expect("spawn a parked thread")
            })
            .collect();
        while parked.load(Ordering::SeqCst) < k {
            thread::sleep(Duration::from_millis(1));
        }
        // Each has said it is about to wait; give the last ones time to get there.
        thread::sleep(Duration::from_millis(50));
        Parked {
            imp,
            words,
            handles,
        }
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        for w in self.words.iter() {
            w.store(1, Ordering::SeqCst);
            self.imp.wake(w, false);
        }
        for h in self.handles.drain(..) {
            h.join().unwrap();
        }
    }
}

fn addresses(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale_addresses");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    #[repr(align(64))]
    struct Line(AtomicU32);
    let probes: Vec<Line> = (0..PROBES).map(|_| Line(AtomicU32::new(0))).collect();
    for &(imp, name) in &IMPLS {
        for k in ADDRESSES {
            let parked = Parked::new(imp, k);
            g.bench_with_input(BenchmarkId::new(name, k), &k, |b, _| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % PROBES;
                    imp.wake(black_box(&probes[i].0), false)
                })
            });
            drop(parked);
        }
    }
    g.finish();
}

criterion_group!(benches, threads, addresses);
criterion_main!(benches);
