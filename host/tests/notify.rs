//! The notification: binary-semaphore token, interrupted flag, deadlines on both clocks.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use lintel_host::{HOST, spawn_raw};
use lintel_kernel::{Clock, ClockId, Notify, Threads, Wakeup};

fn short(clock: ClockId) -> Option<lintel_kernel::Deadline> {
    Some(deadline_in(clock, 20))
}

#[test]
fn token_before_wait_is_not_lost() {
    let me = HOST.current();
    HOST.signal(me);
    assert_eq!(
        HOST.wait(Some(deadline_in(ClockId::Monotonic, 1000))),
        Wakeup::Notified
    );
}

#[test]
fn two_signals_make_one_token() {
    let me = HOST.current();
    HOST.signal(me);
    HOST.signal(me);
    assert_eq!(HOST.wait(short(ClockId::Monotonic)), Wakeup::Notified);
    assert_eq!(HOST.wait(short(ClockId::Monotonic)), Wakeup::TimedOut);
}

#[test]
fn interrupted_until_taken() {
    let me = HOST.current();
    assert!(!HOST.is_interrupted());
    HOST.interrupt(me);
    assert!(HOST.is_interrupted());
    for _ in 0..3 {
        assert_eq!(HOST.wait(None), Wakeup::Interrupted);
    }
    assert!(HOST.is_interrupted(), "wait must not clear the flag");
    assert!(HOST.take_interrupt());
    assert!(!HOST.take_interrupt());
    assert!(!HOST.is_interrupted());
    assert_eq!(HOST.wait(short(ClockId::Monotonic)), Wakeup::TimedOut);
}

#[test]
fn token_wins_over_interrupt_and_both_are_kept() {
    let me = HOST.current();
    HOST.interrupt(me);
    HOST.signal(me);
    assert_eq!(HOST.wait(None), Wakeup::Notified);
    assert_eq!(HOST.wait(None), Wakeup::Interrupted);
    assert!(HOST.take_interrupt());
    assert_eq!(HOST.wait(short(ClockId::Monotonic)), Wakeup::TimedOut);
}

fn timeout_not_early(clock: ClockId) {
    for ms in [0u64, 1, 15, 40] {
        let d = deadline_in(clock, ms);
        assert_eq!(HOST.wait(Some(d)), Wakeup::TimedOut);
        let now = HOST.now(clock);
        assert!(now >= d.ns, "{clock:?}: returned {} ns early", d.ns - now);
    }
    // A deadline in the past times out at once.
    let past = lintel_kernel::Deadline {
        clock,
        ns: HOST.now(clock) - 1_000_000,
    };
    assert_eq!(HOST.wait(Some(past)), Wakeup::TimedOut);
}

#[test]
fn timed_wait_monotonic_not_early() {
    timeout_not_early(ClockId::Monotonic);
}

#[test]
fn timed_wait_realtime_not_early() {
    timeout_not_early(ClockId::Realtime);
}

#[test]
fn clocks_are_sane() {
    let a = HOST.now(ClockId::Monotonic);
    let b = HOST.now(ClockId::Monotonic);
    assert!(b >= a);
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let rt = HOST.now(ClockId::Realtime);
    assert!(
        rt.abs_diff(wall) < 1_000_000_000,
        "realtime {rt} vs std {wall}"
    );
    assert!(
        lintel_host::clock::uses_vdso(),
        "this host has a vDSO; the lookup should find it"
    );
}

#[test]
fn signal_wakes_a_blocked_std_thread() {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        tx.send(HOST.current()).unwrap();
        HOST.wait(Some(deadline_in(ClockId::Monotonic, 5000)))
    });
    let t = rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    HOST.signal(t);
    assert_eq!(h.join().unwrap(), Wakeup::Notified);
}

#[test]
fn interrupt_wakes_a_blocked_std_thread() {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        tx.send(HOST.current()).unwrap();
        let w = HOST.wait(Some(deadline_in(ClockId::Realtime, 5000)));
        (w, HOST.take_interrupt())
    });
    let t = rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    HOST.interrupt(t);
    assert_eq!(h.join().unwrap(), (Wakeup::Interrupted, true));
}

struct PingPong {
    main: std::sync::OnceLock<lintel_host::Thread>,
    rounds: AtomicU32,
    bad: AtomicU32,
}

fn ponger(a: usize) {
    // SAFETY: `a` is the leaked PingPong.
    let s: &PingPong = unsafe { from_arg(a) };
    let main = *s.main.get().unwrap();
    for _ in 0..1000 {
        if HOST.wait(Some(deadline_in(ClockId::Monotonic, 5000))) != Wakeup::Notified {
            s.bad.fetch_add(1, Ordering::Relaxed);
            return;
        }
        s.rounds.fetch_add(1, Ordering::Relaxed);
        HOST.signal(main);
    }
}

#[test]
fn ping_pong_with_a_raw_thread() {
    let s = leak(PingPong {
        main: std::sync::OnceLock::new(),
        rounds: AtomicU32::new(0),
        bad: AtomicU32::new(0),
    });
    s.main.set(HOST.current()).unwrap();
    let t = spawn_raw(ponger, arg(s)).unwrap();
    for _ in 0..1000 {
        HOST.signal(t.thread());
        assert_eq!(
            HOST.wait(Some(deadline_in(ClockId::Monotonic, 5000))),
            Wakeup::Notified
        );
    }
    t.join_timeout_ns(JOIN_NS)
        .expect("raw thread did not finish");
    assert_eq!(s.rounds.load(Ordering::Relaxed), 1000);
    assert_eq!(s.bad.load(Ordering::Relaxed), 0);
}
