//! lintel's futex on the Linux host port, against native `futex(2)` and parking_lot_core, in the
//! same run.
//!
//! - `wake_no_waiters`: a wake on a word nobody waits on (lintel: no lock, no kernel entry).
//! - `ping_pong_pinned`: two threads hand a token back and forth through one futex word, both
//!   pinned to CPU 0: the software cost of a blocking handoff, without cross-CPU wakeup latency
//!   (20–50 µs and tenfold noise on these 2-vCPU VMs).
//! - `ping_pong_unpinned`: the same across CPUs, for reference; noisy by nature.
//!
//! Run with `cargo xtask bench` (writes docs/benchmarks.md) or `cargo bench -p lintel-benches`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lintel_futex::{Bucket, FutexTable, Scope};
use lintel_host::Host;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

const ANY: u32 = u32::MAX;

fn table() -> &'static FutexTable<'static, Host> {
    static T: OnceLock<FutexTable<'static, Host>> = OnceLock::new();
    T.get_or_init(|| {
        let n =
            lintel_futex::buckets_for_cpus(thread::available_parallelism().map_or(1, |n| n.get()));
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

fn wake_no_waiters(c: &mut Criterion) {
    let mut g = c.benchmark_group("wake_no_waiters");
    let w = AtomicU32::new(0);
    let a = &w as *const AtomicU32 as usize;
    let t = table();
    g.bench_function("lintel", |b| {
        b.iter(|| t.wake(black_box(a), 1, ANY, Scope::Private))
    });
    g.bench_function("lintel_abi", |b| {
        // SAFETY: a FUTEX_WAKE on our own word; nothing is written.
        b.iter(|| unsafe {
            t.futex(
                black_box(a),
                (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as u32,
                1,
                0,
                0,
                0,
            )
        })
    });
    g.bench_function("native", |b| {
        b.iter(|| {
            native_futex(
                black_box(&w),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            )
        })
    });
    g.bench_function("parking_lot_core", |b| {
        // SAFETY: unpark_one with a key nobody parks on.
        b.iter(|| unsafe {
            parking_lot_core::unpark_one(black_box(a), |_| parking_lot_core::DEFAULT_UNPARK_TOKEN)
        })
    });
    g.finish();
}

/// One blocking primitive, three implementations: wait while `*w == v`, wake one.
#[derive(Copy, Clone, Debug)]
enum Impl {
    Lintel,
    Native,
    ParkingLot,
}

impl Impl {
    fn wait(self, w: &AtomicU32, v: u32) {
        match self {
            Impl::Lintel => {
                let _ = table().wait(w as *const AtomicU32 as usize, v, ANY, None, Scope::Private);
            }
            Impl::Native => {
                native_futex(w, libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG, v);
            }
            Impl::ParkingLot => {
                let key = w as *const AtomicU32 as usize;
                // SAFETY: validate only reads the word; nothing else runs under the bucket lock.
                unsafe {
                    parking_lot_core::park(
                        key,
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

    fn wake(self, w: &AtomicU32) {
        match self {
            Impl::Lintel => {
                let _ = table().wake(w as *const AtomicU32 as usize, 1, ANY, Scope::Private);
            }
            Impl::Native => {
                native_futex(w, libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, 1);
            }
            Impl::ParkingLot => {
                // SAFETY: key is just an address.
                unsafe {
                    parking_lot_core::unpark_one(w as *const AtomicU32 as usize, |_| {
                        parking_lot_core::DEFAULT_UNPARK_TOKEN
                    });
                }
            }
        }
    }
}

fn pin_to_cpu0(pin: bool) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity on the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if pin {
            libc::CPU_SET(0, &mut set);
        } else {
            for cpu in 0..thread::available_parallelism().map_or(1, |n| n.get()) {
                libc::CPU_SET(cpu, &mut set);
            }
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// `iters` round trips: main sets the word to 1 and wakes the partner, the partner sets it back
/// to 0 and wakes main.
fn ping_pong(imp: Impl, iters: u64, pin: bool) -> Duration {
    let w = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(2));
    pin_to_cpu0(pin);
    let partner = {
        let (w, stop, ready) = (w.clone(), stop.clone(), ready.clone());
        thread::spawn(move || {
            pin_to_cpu0(pin);
            ready.wait();
            loop {
                while w.load(Ordering::SeqCst) == 0 {
                    imp.wait(&w, 0);
                }
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                w.store(0, Ordering::SeqCst);
                imp.wake(&w);
            }
        })
    };
    ready.wait();
    let start = Instant::now();
    for _ in 0..iters {
        w.store(1, Ordering::SeqCst);
        imp.wake(&w);
        while w.load(Ordering::SeqCst) == 1 {
            imp.wait(&w, 1);
        }
    }
    let elapsed = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    w.store(1, Ordering::SeqCst);
    imp.wake(&w);
    partner.join().unwrap();
    pin_to_cpu0(false);
    elapsed
}

fn ping_pongs(c: &mut Criterion) {
    for (group, pin) in [("ping_pong_pinned", true), ("ping_pong_unpinned", false)] {
        let mut g = c.benchmark_group(group);
        if !pin {
            g.sample_size(20).measurement_time(Duration::from_secs(4));
        }
        for imp in [Impl::Lintel, Impl::Native, Impl::ParkingLot] {
            let name = match imp {
                Impl::Lintel => "lintel",
                Impl::Native => "native",
                Impl::ParkingLot => "parking_lot_core",
            };
            g.bench_with_input(BenchmarkId::from_parameter(name), &imp, |b, &imp| {
                b.iter_custom(|iters| ping_pong(imp, iters, pin))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, wake_no_waiters, ping_pongs);
criterion_main!(benches);
