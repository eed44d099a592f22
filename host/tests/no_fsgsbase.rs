//! The `arch_prctl` fallback for kernels without FSGSBASE: identity, spawn, kicks and the
//! restartable window still work. (This binary switches the whole process to the fallback.)

mod common;

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use lintel_host::{HOST, Host, spawn_raw};
use lintel_kernel::{Interrupt, Notify, Passed, Passthrough, Registers, Threads};

fn fallback() {
    Host::force_arch_prctl_fallback();
    assert!(!Host::has_fsgsbase());
}

static HOOK_TID: AtomicI32 = AtomicI32::new(0);

fn hook(_: &mut dyn Registers) {
    HOOK_TID.store(gettid(), Ordering::Release);
}

static STOP: AtomicU32 = AtomicU32::new(0);
static ID_OK: AtomicU32 = AtomicU32::new(0);

fn spin(_: usize) {
    let me = HOST.current();
    ID_OK.store(
        (HOST.tid(me) == gettid() && HOST.current() == me) as u32,
        Ordering::Release,
    );
    while STOP.load(Ordering::Relaxed) == 0 {
        std::hint::spin_loop();
    }
}

#[test]
fn identity_spawn_and_kick_without_fsgsbase() {
    fallback();
    let main = HOST.current();
    assert_eq!(HOST.tid(main), gettid());
    let other = std::thread::spawn(|| HOST.current()).join().unwrap();
    assert_ne!(other.record_addr(), main.record_addr());
    HOST.set_interrupt_hook(hook);
    let t = spawn_raw(spin, 0).unwrap();
    assert!(eventually(Duration::from_secs(5), || ID_OK
        .load(Ordering::Acquire)
        == 1));
    HOST.kick(t.thread());
    assert!(eventually(Duration::from_secs(5), || HOOK_TID
        .load(Ordering::Acquire)
        == HOST.tid(t.thread())));
    STOP.store(1, Ordering::Relaxed);
    t.join_timeout_ns(JOIN_NS).expect("join");
}

static RESULT: AtomicU32 = AtomicU32::new(0);
static READY: AtomicU32 = AtomicU32::new(0);

fn blocked_read(fd: usize) {
    let mut b = 0u8;
    READY.store(1, Ordering::Release);
    // SAFETY: one byte into a valid buffer.
    let r = unsafe { HOST.passthrough(0, [fd, &mut b as *mut u8 as usize, 1, 0, 0, 0]) };
    RESULT.store(
        if matches!(r, Passed::Interrupted | Passed::NotStarted) {
            1
        } else {
            2
        },
        Ordering::Release,
    );
}

#[test]
fn window_without_fsgsbase() {
    fallback();
    let (rd, wr) = pipe();
    let t = spawn_raw(blocked_read, rd as usize).unwrap();
    assert!(eventually(Duration::from_secs(5), || READY
        .load(Ordering::Acquire)
        == 1));
    std::thread::sleep(Duration::from_millis(30));
    HOST.interrupt(t.thread());
    let done = eventually(Duration::from_secs(5), || {
        RESULT.load(Ordering::Acquire) != 0
    });
    if !done {
        close(wr);
    }
    t.join_timeout_ns(JOIN_NS).expect("join");
    assert_eq!(RESULT.load(Ordering::Acquire), 1);
    close(rd);
    close(wr);
}
