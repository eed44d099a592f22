//! Kicks: the hook runs on the kicked thread with its registers (and its writes are honoured);
//! a kick inside an enter/leave span is only posted.
//!
//! The hook is process-global, so these tests take turns (`SERIAL`).

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicIsize, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use lintel_host::{HOST, RawThread, spawn_raw};
use lintel_kernel::{Interrupt, Registers, Threads};
use linux_raw_sys::general as g;

static SERIAL: Mutex<()> = Mutex::new(());

/// What the hook does: 0 record, 1 also redirect the thread to `landing`.
static MODE: AtomicU32 = AtomicU32::new(0);
static HOOK_RUNS: AtomicU32 = AtomicU32::new(0);
static HOOK_TID: AtomicI32 = AtomicI32::new(0);
static HOOK_PC: AtomicUsize = AtomicUsize::new(0);
static HOOK_SP: AtomicUsize = AtomicUsize::new(0);
static LANDING_SP: AtomicUsize = AtomicUsize::new(0);
static LANDED: AtomicU32 = AtomicU32::new(0);

fn hook(regs: &mut dyn Registers) {
    HOOK_TID.store(gettid(), Ordering::Relaxed);
    HOOK_PC.store(regs.pc(), Ordering::Relaxed);
    HOOK_SP.store(regs.sp(), Ordering::Relaxed);
    if MODE.load(Ordering::Relaxed) == 1 {
        regs.set_sp(LANDING_SP.load(Ordering::Relaxed));
        regs.set_pc(landing as *const () as usize);
    }
    HOOK_RUNS.fetch_add(1, Ordering::Release);
}

/// Where a redirected thread resumes: as if called (rsp ≡ 8 mod 16), never returns.
extern "C" fn landing() -> ! {
    LANDED.store(1, Ordering::Release);
    // SAFETY: nothing on this thread's stacks is referenced elsewhere.
    unsafe { HOST.exit_current(0, 0) }
}

fn setup(mode: u32) -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    HOST.set_interrupt_hook(hook);
    MODE.store(mode, Ordering::Relaxed);
    HOOK_RUNS.store(0, Ordering::Relaxed);
    HOOK_TID.store(0, Ordering::Relaxed);
    g
}

static STOP: AtomicU32 = AtomicU32::new(0);
static SPINS: AtomicUsize = AtomicUsize::new(0);

fn spinner(_: usize) {
    while STOP.load(Ordering::Relaxed) == 0 {
        SPINS.fetch_add(1, Ordering::Relaxed);
    }
}

fn start_spinner() -> RawThread {
    STOP.store(0, Ordering::Relaxed);
    SPINS.store(0, Ordering::Relaxed);
    let t = spawn_raw(spinner, 0).unwrap();
    assert!(eventually(Duration::from_secs(5), || SPINS
        .load(Ordering::Relaxed)
        > 1000));
    t
}

fn stop(t: RawThread) {
    STOP.store(1, Ordering::Relaxed);
    t.join_timeout_ns(JOIN_NS).expect("raw thread did not exit");
}

#[test]
fn kick_runs_the_hook_on_a_spinning_raw_thread_with_its_registers() {
    let _g = setup(0);
    let t = start_spinner();
    let (lo, hi) = t.stack();
    HOST.kick(t.thread());
    assert!(eventually(Duration::from_secs(5), || HOOK_RUNS
        .load(Ordering::Acquire)
        == 1));
    assert_eq!(
        HOOK_TID.load(Ordering::Relaxed),
        HOST.tid(t.thread()),
        "hook ran on the target"
    );
    let sp = HOOK_SP.load(Ordering::Relaxed);
    assert!(
        (lo..hi).contains(&sp),
        "sp {sp:#x} is on the spinner's stack {lo:#x}..{hi:#x}"
    );
    let pc = HOOK_PC.load(Ordering::Relaxed);
    let (s, e) = lintel_host::syscall_section();
    assert!(
        pc != 0 && !(s..e).contains(&pc),
        "pc {pc:#x} is in user code"
    );
    stop(t);
    assert_eq!(
        HOOK_RUNS.load(Ordering::Acquire),
        1,
        "one kick, one hook run"
    );
}

#[test]
fn the_hooks_pc_and_sp_writes_are_honoured() {
    let _g = setup(1);
    LANDED.store(0, Ordering::Relaxed);
    let alt = mmap(64 * 1024, g::PROT_READ | g::PROT_WRITE);
    LANDING_SP.store(alt + 64 * 1024 - 8, Ordering::Relaxed);
    let t = start_spinner();
    HOST.kick(t.thread());
    // The spinner never sees STOP: it must leave through `landing`.
    let h = t.thread();
    t.join_timeout_ns(JOIN_NS)
        .expect("redirected thread did not exit");
    assert!(HOST.is_dead(h));
    assert_eq!(LANDED.load(Ordering::Acquire), 1);
    munmap(alt, 64 * 1024);
}

#[test]
fn kicks_are_not_lost() {
    let _g = setup(0);
    let t = start_spinner();
    for i in 1..=200 {
        HOST.kick(t.thread());
        assert!(
            eventually(Duration::from_secs(5), || HOOK_RUNS.load(Ordering::Acquire)
                == i),
            "kick {i} lost"
        );
    }
    stop(t);
}

static SPAN_RESULT: AtomicU32 = AtomicU32::new(0);

fn self_kick_in_span(_: usize) {
    let me = HOST.current();
    HOST.enter();
    HOST.kick(me); // delivered on the way out of tgkill: inside the span
    let posted = HOST.leave();
    let runs_in_span = HOOK_RUNS.load(Ordering::Acquire);
    HOST.enter();
    let again = HOST.leave();
    let ok = posted && !again && runs_in_span == 0;
    SPAN_RESULT.store(if ok { 1 } else { 2 }, Ordering::Release);
}

#[test]
fn a_kick_inside_a_span_is_posted_not_run() {
    let _g = setup(0);
    SPAN_RESULT.store(0, Ordering::Relaxed);
    spawn_raw(self_kick_in_span, 0)
        .unwrap()
        .join_timeout_ns(JOIN_NS)
        .expect("join");
    assert_eq!(SPAN_RESULT.load(Ordering::Acquire), 1);
    assert_eq!(HOOK_RUNS.load(Ordering::Acquire), 0);
}

static READY: AtomicU32 = AtomicU32::new(0);
static SLEEP_RET: AtomicIsize = AtomicIsize::new(1);

fn kicked_while_sleeping_in_span(_: usize) {
    HOST.enter();
    READY.store(1, Ordering::Release);
    let ts = lintel_kernel::abi::Timespec {
        tv_sec: 3,
        tv_nsec: 0,
    };
    let r = sys(g::__NR_nanosleep, &[&ts as *const _ as usize, 0]);
    SLEEP_RET.store(r, Ordering::Relaxed);
    let posted = HOST.leave();
    SPAN_RESULT.store(if posted { 1 } else { 2 }, Ordering::Release);
}

#[test]
fn a_cross_thread_kick_inside_a_span_is_posted_and_leave_reports_it() {
    let _g = setup(0);
    SPAN_RESULT.store(0, Ordering::Relaxed);
    READY.store(0, Ordering::Relaxed);
    let t = spawn_raw(kicked_while_sleeping_in_span, 0).unwrap();
    assert!(eventually(Duration::from_secs(5), || READY
        .load(Ordering::Acquire)
        == 1));
    std::thread::sleep(Duration::from_millis(20));
    HOST.kick(t.thread());
    t.join_timeout_ns(JOIN_NS).expect("join");
    assert_eq!(
        SPAN_RESULT.load(Ordering::Acquire),
        1,
        "leave() reports the posted kick"
    );
    assert_eq!(
        HOOK_RUNS.load(Ordering::Acquire),
        0,
        "the hook never runs inside a span"
    );
    // The host signal cut the sleep short (Linux: EINTR after a handler for nanosleep).
    assert_eq!(
        SLEEP_RET.load(Ordering::Relaxed),
        -(linux_raw_sys::errno::EINTR as isize)
    );
}

#[test]
fn kick_reaches_an_adopted_std_thread() {
    let _g = setup(0);
    let stop = std::sync::Arc::new(AtomicU32::new(0));
    let s2 = stop.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        tx.send(HOST.current()).unwrap();
        while s2.load(Ordering::Relaxed) == 0 {
            std::hint::spin_loop();
        }
    });
    let t = rx.recv().unwrap();
    HOST.kick(t);
    let ran = eventually(Duration::from_secs(5), || {
        HOOK_RUNS.load(Ordering::Acquire) == 1
    });
    stop.store(1, Ordering::Relaxed);
    h.join().unwrap();
    assert!(ran);
    assert_eq!(HOOK_TID.load(Ordering::Relaxed), HOST.tid(t));
}
