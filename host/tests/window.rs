//! The restartable window: passthrough and shared futex waits interrupted without effect and
//! without a lost-interrupt race; shared futex operations.

mod common;

use std::sync::atomic::{AtomicIsize, AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use lintel_host::{HOST, RawThread, spawn_raw};
use lintel_kernel::{
    Clock, ClockId, Errno, Notify, Passed, Passthrough, SharedFutex, SharedWaitError, Threads,
};
use linux_raw_sys::errno as e;
use linux_raw_sys::general as g;

/// Encodes a passthrough result: Interrupted as `isize::MIN`, NotStarted as `isize::MIN + 2`,
/// else the raw return.
fn enc(p: Passed) -> isize {
    match p {
        Passed::Done(r) => r,
        Passed::Interrupted => isize::MIN,
        Passed::NotStarted => isize::MIN + 2,
    }
}

const PENDING: isize = isize::MIN + 1;

fn read1(fd: i32, byte: &mut u8) -> Passed {
    // SAFETY: one byte into a valid buffer.
    unsafe {
        HOST.passthrough(
            g::__NR_read as usize,
            [fd as usize, byte as *mut u8 as usize, 1, 0, 0, 0],
        )
    }
}

fn write1(fd: i32, b: u8) {
    assert_eq!(
        sys(g::__NR_write, &[fd as usize, &b as *const u8 as usize, 1]),
        1
    );
}

fn available(fd: i32) -> i32 {
    let mut n = 0i32;
    assert_eq!(
        sys(
            g::__NR_ioctl,
            &[
                fd as usize,
                0x541B, /* FIONREAD */
                &mut n as *mut i32 as usize
            ]
        ),
        0
    );
    n
}

struct Reader {
    fd: i32,
    ready: AtomicU32,
    first: AtomicIsize,
    go: AtomicU32,
    second: AtomicIsize,
    byte: AtomicU32,
}

fn reader(a: usize) {
    // SAFETY: a leaked Reader.
    let r: &Reader = unsafe { from_arg(a) };
    r.ready.store(1, Ordering::Release);
    let mut b = 0u8;
    r.first.store(enc(read1(r.fd, &mut b)), Ordering::Release);
    HOST.take_interrupt();
    raw_wait_eq(&r.go, 1, 5000);
    let mut b = 0u8;
    r.second.store(enc(read1(r.fd, &mut b)), Ordering::Relaxed);
    r.byte.store(b as u32, Ordering::Release);
}

#[test]
fn a_blocked_passthrough_read_is_interrupted_with_no_effect() {
    let (rd, wr) = pipe();
    let r = leak(Reader {
        fd: rd,
        ready: AtomicU32::new(0),
        first: AtomicIsize::new(PENDING),
        go: AtomicU32::new(0),
        second: AtomicIsize::new(PENDING),
        byte: AtomicU32::new(0),
    });
    let t = spawn_raw(reader, arg(r)).unwrap();
    assert!(eventually(Duration::from_secs(5), || r
        .ready
        .load(Ordering::Acquire)
        == 1));
    std::thread::sleep(Duration::from_millis(50)); // let it block in read(2)
    assert_eq!(
        r.first.load(Ordering::Acquire),
        PENDING,
        "read must block on an empty pipe"
    );
    HOST.interrupt(t.thread());
    let done = eventually(Duration::from_secs(5), || {
        r.first.load(Ordering::Acquire) != PENDING
    });
    if !done {
        close(wr); // unblock it so the test fails instead of hanging
    }
    assert!(done, "interrupt did not end the blocked read");
    assert_eq!(
        r.first.load(Ordering::Acquire),
        isize::MIN,
        "Passed::Interrupted"
    );
    // The abandoned read consumed nothing: a byte written now is still there for the next one.
    write1(wr, b'x');
    assert_eq!(available(rd), 1);
    r.go.store(1, Ordering::Release);
    t.join_timeout_ns(JOIN_NS).expect("join");
    assert_eq!(r.second.load(Ordering::Relaxed), 1);
    assert_eq!(r.byte.load(Ordering::Acquire), b'x' as u32);
    close(rd);
    close(wr);
}

#[test]
fn passthrough_with_the_flag_already_set_is_not_started() {
    let (rd, wr) = pipe();
    let me = HOST.current();
    HOST.interrupt(me);
    let mut b = 0u8;
    // Would block forever if it reached the kernel: the pipe is empty and we hold the writer.
    assert_eq!(read1(rd, &mut b), Passed::NotStarted);
    assert_eq!(
        read1(rd, &mut b),
        Passed::NotStarted,
        "until take_interrupt"
    );
    assert!(HOST.take_interrupt());
    write1(wr, b'y');
    assert_eq!(read1(rd, &mut b), Passed::Done(1));
    assert_eq!(b, b'y');
    // SAFETY: getpid has no arguments.
    let pid = unsafe { HOST.passthrough(g::__NR_getpid as usize, [0; 6]) };
    assert_eq!(pid, Passed::Done(std::process::id() as isize));
    close(rd);
    close(wr);
}

#[test]
fn a_program_may_not_move_gs() {
    // SAFETY: refused before reaching the kernel.
    let r = unsafe { HOST.passthrough(g::__NR_arch_prctl as usize, [0x1001, 0x1000, 0, 0, 0, 0]) };
    assert_eq!(r, Passed::Done(-(e::EPERM as isize)));
}

struct Stress {
    fd: i32,
    go: AtomicU32,
    done: AtomicU32,
    interrupted: AtomicU32,
    other: AtomicU32,
}

const ROUNDS: u32 = 300;

fn stress_reader(a: usize) {
    // SAFETY: a leaked Stress.
    let s: &Stress = unsafe { from_arg(a) };
    for i in 1..=ROUNDS {
        if !raw_wait_eq(&s.go, i, 10_000) {
            return;
        }
        let mut b = 0u8;
        match read1(s.fd, &mut b) {
            Passed::Interrupted | Passed::NotStarted => {
                s.interrupted.fetch_add(1, Ordering::Relaxed)
            }
            Passed::Done(_) => s.other.fetch_add(1, Ordering::Relaxed),
        };
        HOST.take_interrupt();
        s.done.store(i, Ordering::Release);
    }
}

/// The interrupt lands at every point around the window: before it, at the test, blocked in
/// the kernel. Every round must come back Interrupted; a lost interrupt hangs the read (caught
/// by the bounded wait, which then closes the pipe).
#[test]
fn no_lost_interrupt_around_the_window() {
    let (rd, wr) = pipe();
    let s = leak(Stress {
        fd: rd,
        go: AtomicU32::new(0),
        done: AtomicU32::new(0),
        interrupted: AtomicU32::new(0),
        other: AtomicU32::new(0),
    });
    let t: RawThread = spawn_raw(stress_reader, arg(s)).unwrap();
    let mut lost = None;
    for i in 1..=ROUNDS {
        s.go.store(i, Ordering::Release);
        // Vary the delay between "go" and the interrupt: 0 .. ~60 µs of spinning.
        let start = std::time::Instant::now();
        let delay = Duration::from_nanos(((i * 7919) % 60_000) as u64);
        while start.elapsed() < delay {
            std::hint::spin_loop();
        }
        HOST.interrupt(t.thread());
        if !eventually(Duration::from_secs(5), || {
            s.done.load(Ordering::Acquire) == i
        }) {
            lost = Some(i);
            close(wr);
            break;
        }
    }
    if lost.is_none() {
        close(wr);
    }
    let _ = t.join_timeout_ns(JOIN_NS);
    assert_eq!(lost, None, "interrupt lost in round {lost:?}");
    assert_eq!(s.interrupted.load(Ordering::Relaxed), ROUNDS);
    assert_eq!(s.other.load(Ordering::Relaxed), 0);
    close(rd);
}

struct Waiter {
    word: AtomicU32,
    timed: bool,
    ready: AtomicU32,
    result: AtomicIsize,
}

const OK: isize = 0;
const INTERRUPTED: isize = -1_000_000;

fn shared_waiter(a: usize) {
    // SAFETY: a leaked Waiter.
    let w: &Waiter = unsafe { from_arg(a) };
    let deadline = w.timed.then(|| deadline_in(ClockId::Realtime, 10_000));
    w.ready.store(1, Ordering::Release);
    let r = HOST.shared_wait(w.word.as_ptr() as usize, 0, !0, deadline);
    let v = match r {
        Ok(()) => OK,
        Err(SharedWaitError::Interrupted) => INTERRUPTED,
        Err(SharedWaitError::Errno(e)) => -(e.raw() as isize),
    };
    HOST.take_interrupt();
    w.result.store(v, Ordering::Release);
}

fn start_waiter(timed: bool) -> (&'static Waiter, RawThread) {
    let w = leak(Waiter {
        word: AtomicU32::new(0),
        timed,
        ready: AtomicU32::new(0),
        result: AtomicIsize::new(PENDING),
    });
    let t = spawn_raw(shared_waiter, arg(w)).unwrap();
    assert!(eventually(Duration::from_secs(5), || w
        .ready
        .load(Ordering::Acquire)
        == 1));
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(w.result.load(Ordering::Acquire), PENDING, "must block");
    (w, t)
}

fn finish(w: &Waiter, t: RawThread) -> isize {
    if !eventually(Duration::from_secs(5), || {
        w.result.load(Ordering::Acquire) != PENDING
    }) {
        w.word.store(1, Ordering::Relaxed);
        let _ = HOST.shared_wake(w.word.as_ptr() as usize, 1, !0);
    }
    t.join_timeout_ns(JOIN_NS).expect("join");
    w.result.load(Ordering::Acquire)
}

#[test]
fn a_blocked_shared_wait_is_interrupted() {
    for timed in [false, true] {
        let (w, t) = start_waiter(timed);
        HOST.interrupt(t.thread());
        assert_eq!(finish(w, t), INTERRUPTED, "timed: {timed}");
    }
}

#[test]
fn a_shared_wait_is_woken_by_shared_wake() {
    for timed in [false, true] {
        let (w, t) = start_waiter(timed);
        let addr = w.word.as_ptr() as usize;
        assert!(eventually(Duration::from_secs(5), || HOST
            .shared_wake(addr, 1, !0)
            == Ok(1)));
        assert_eq!(finish(w, t), OK, "timed: {timed}");
    }
}

#[test]
fn a_private_wake_does_not_wake_a_shared_waiter() {
    // Linux's keys differ (the oracle for lintel's private/shared split, and the reason
    // RawThread::join waits shared on the CLEARTID word).
    let (w, t) = start_waiter(true);
    for _ in 0..5 {
        // SAFETY: a private wake on our own word.
        let r = unsafe {
            lintel_host::raw_syscall6(
                g::__NR_futex as usize,
                [
                    w.word.as_ptr() as usize,
                    (g::FUTEX_WAKE | g::FUTEX_PRIVATE_FLAG) as usize,
                    1,
                    0,
                    0,
                    0,
                ],
            )
        };
        assert_eq!(r, 0, "no private waiter there");
    }
    assert_eq!(w.result.load(Ordering::Acquire), PENDING);
    assert_eq!(HOST.shared_wake(w.word.as_ptr() as usize, 1, !0), Ok(1));
    assert_eq!(finish(w, t), OK);
}

#[test]
fn shared_wait_value_mismatch_is_eagain() {
    let word = AtomicU32::new(5);
    let r = HOST.shared_wait(word.as_ptr() as usize, 4, !0, None);
    assert_eq!(r, Err(SharedWaitError::Errno(Errno::EAGAIN)));
}

#[test]
fn shared_wait_times_out_no_earlier_than_the_deadline() {
    let word = AtomicU32::new(0);
    for clock in [ClockId::Monotonic, ClockId::Realtime] {
        let d = deadline_in(clock, 20);
        let r = HOST.shared_wait(word.as_ptr() as usize, 0, !0, Some(d));
        assert_eq!(r, Err(SharedWaitError::Errno(Errno::ETIMEDOUT)));
        assert!(HOST.now(clock) >= d.ns);
    }
}

#[test]
fn shared_wait_errors_pass_through() {
    assert_eq!(
        HOST.shared_wait(0, 0, !0, None),
        Err(SharedWaitError::Errno(Errno::EFAULT))
    );
    let word = AtomicU32::new(0);
    assert_eq!(
        HOST.shared_wait(word.as_ptr() as usize, 0, 0, None),
        Err(SharedWaitError::Errno(Errno::EINVAL)),
        "bitset 0"
    );
}

#[test]
fn requeue_and_wake_op_pass_through() {
    let a = AtomicU32::new(1);
    let b = AtomicU32::new(0);
    let (pa, pb) = (a.as_ptr() as usize, b.as_ptr() as usize);
    assert_eq!(HOST.shared_wake(pa, 1, !0), Ok(0));
    assert_eq!(HOST.shared_requeue(pa, pb, 1, 1, None), Ok(0));
    assert_eq!(HOST.shared_requeue(pa, pb, 1, 1, Some(1)), Ok(0));
    assert_eq!(
        HOST.shared_requeue(pa, pb, 1, 1, Some(2)),
        Err(Errno::EAGAIN)
    );
    // FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0): *b = 5, wake on a, and on b if old == 0.
    let op = (g::FUTEX_OP_SET << 28) | (g::FUTEX_OP_CMP_EQ << 24) | (5 << 12);
    assert_eq!(HOST.shared_wake_op(pa, pb, 1, 1, op), Ok(0));
    assert_eq!(b.load(Ordering::SeqCst), 5);
    assert_eq!(HOST.shared_wake_op(pa, 0, 1, 1, op), Err(Errno::EFAULT));
    // Requeue of a real waiter from `a`'s word to `b`, then a wake on `b` releases it.
    let (w, t) = start_waiter(false);
    let wa = w.word.as_ptr() as usize;
    assert_eq!(HOST.shared_requeue(wa, pb, 0, 1, Some(0)), Ok(1));
    assert_eq!(HOST.shared_wake(wa, 1, !0), Ok(0), "moved away");
    assert_eq!(HOST.shared_wake(pb, 1, !0), Ok(1));
    assert_eq!(finish(w, t), OK);
    // (b lives on this stack frame until after the waiter is gone.)
    let _ = &b;
    let _ = HOST.take_interrupt();
}
