//! Rough per-call costs of the host port's primitives (not a benchmark suite: see `benches/`).
//!
//! `cargo run --release -p lintel-host --example costs`

use std::hint::black_box;
use std::time::Instant;

use lintel_host::{HOST, Host, raw_syscall6, spawn_raw};
use lintel_kernel::{
    Clock, ClockId, Deadline, Interrupt, Notify, Passthrough, Threads, UserMemory, Wakeup,
};

fn per_call(name: &str, n: u32, mut f: impl FnMut()) {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{name:<40} {:>8.1} ns",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}

static PEER: std::sync::OnceLock<lintel_host::Thread> = std::sync::OnceLock::new();

fn ponger(n: usize) {
    let main = *PEER.get().unwrap();
    for _ in 0..n {
        if HOST.wait(None) != Wakeup::Notified {
            return;
        }
        HOST.signal(main);
    }
}

fn main() {
    Host::init();
    println!(
        "fsgsbase: {}, vdso clock: {}",
        Host::has_fsgsbase(),
        lintel_host::clock::uses_vdso()
    );
    per_call("Threads::current", 10_000_000, || {
        black_box(HOST.current());
    });
    per_call("Clock::now(Monotonic)", 2_000_000, || {
        black_box(HOST.now(ClockId::Monotonic));
    });
    per_call("Interrupt::enter + leave", 10_000_000, || {
        HOST.enter();
        black_box(HOST.leave());
    });
    let w = std::sync::atomic::AtomicU32::new(3);
    per_call("UserMemory::load_u32", 10_000_000, || {
        black_box(HOST.load_u32(w.as_ptr() as usize).unwrap());
    });
    per_call("UserMemory::cmpxchg_u32", 10_000_000, || {
        // SAFETY: our own word.
        black_box(unsafe { HOST.cmpxchg_u32(w.as_ptr() as usize, 3, 3) }.unwrap());
    });
    per_call("raw getppid", 1_000_000, || {
        // SAFETY: no arguments.
        black_box(unsafe { raw_syscall6(110, [0; 6]) });
    });
    per_call("Passthrough getppid (window)", 1_000_000, || {
        // SAFETY: no arguments.
        black_box(unsafe { HOST.passthrough(110, [0; 6]) });
    });
    per_call("Notify::signal self + wait", 1_000_000, || {
        HOST.signal(HOST.current());
        black_box(HOST.wait(Some(Deadline {
            clock: ClockId::Monotonic,
            ns: u64::MAX >> 1,
        })));
    });
    const ROUNDS: u32 = 100_000;
    PEER.set(HOST.current()).unwrap();
    let t = spawn_raw(ponger, ROUNDS as usize).unwrap();
    let peer = t.thread();
    per_call("notify round trip with a raw thread", ROUNDS, || {
        HOST.signal(peer);
        HOST.wait(None);
    });
    t.join();
}
