//! The signal protocols through the real dispatcher (`lintel::Lintel::with_signals`) and the
//! real `lintel-signals` state over `LoomKernel`: every thread makes Linux x86_64 syscalls
//! (`Lintel::syscall`), with its arguments in the model's plain user memory.
//!
//! What the port gives the signal layer here: a thread's signal words are its `Threads::locals`
//! (kernel state, read in schedule order); the signal lock and the shared-set copy are loom's
//! (the crate's `sync` facade); a notification is `Notify::interrupt` (ends a wait) plus
//! `Interrupt::kick`, which the port posts for the target's next `leave`. Calls without a
//! front-door context deliver nothing: a wait that a deliverable signal ends returns `-EINTR`
//! and the signal stays pending (see `Lintel::syscall_from`).
//!
//! Port facts the models are built around:
//! - `getpid`/`getuid` pass through and get `-ENOSYS`, so the dispatcher's idea of this
//!   process's pid is `-ENOSYS` ([`PID`]): `kill(PID, sig)` is its "kill my own process"
//!   path; `tgkill` needs a positive tgid (`EINVAL` first), so the models use `tkill`.
//! - A sender finds its target only once the target is registered (its first signal call
//!   marks it `LIVE`); before, `tkill` is "another process's thread" and goes to the port. So
//!   senders wait, at model level, for the target's `LIVE` mark ([`until_live`]): the race
//!   with the rest of the target's first call (its mask change) stays in.
//! - `UserMemory::write` is `EFAULT`, so no call here has an output pointer: results are the
//!   return values, and the final masks and pending sets are read from the threads' words.
//! - The layer's activation (a process-wide static) is done once, in a loom model of its own,
//!   before any model runs ([`activate`]), so that every execution of every model runs the same
//!   code.
//! - At most two threads take the signal lock at once: under loom it spins with `yield_now`,
//!   and two spinners on a preempted holder can alternate forever without spending the
//!   preemption budget. Three-thread models let one thread fall asleep first
//!   (`Model::until_waiting`) or hold it back with a port notification until then.
//!
//! Run: `bash loom-tests/run.sh --test signals`.
#![cfg(lintel_loom)]

use lintel::{Lintel, ProcessSignals};
use lintel_kernel::{Errno, Notify, Threads, Wakeup};
use lintel_loom_tests::{Coverage, Model, Tid, check};
use lintel_signals::{SigSet, Signal, ThreadSignals};
use loom::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

// Linux x86_64 syscall numbers.
const RT_SIGACTION: usize = 13;
const RT_SIGPROCMASK: usize = 14;
const PAUSE: usize = 34;
const EXIT: usize = 60;
const KILL: usize = 62;
const RT_SIGTIMEDWAIT: usize = 128;
const RT_SIGSUSPEND: usize = 130;
const TKILL: usize = 200;

const SIG_BLOCK: usize = 0;
const SIG_UNBLOCK: usize = 1;

const SIGUSR1: u32 = 10;
const SIGUSR2: u32 = 12;
/// The kernel's `SIGRTMIN` (a real-time signal: every send is queued).
const SIGRTMIN: u32 = 32;

/// This process's pid as the dispatcher sees it: `getpid` passes through to the port, which
/// answers `-ENOSYS`.
const PID: isize = -38;

// The model's plain user memory: the arguments the calls read.
const SET_USR1: usize = 0;
const SET_USR2: usize = 8;
const SET_EMPTY: usize = 16;
const SET_RT: usize = 24;
/// `struct timespec { 0, 0 }`: a `sigtimedwait` that only polls.
const ZERO_TS: usize = 32;
/// A `struct k_sigaction` with a handler (never run: nothing is delivered without a front
/// door), no flags, empty mask.
const ACT: usize = 48;
const BYTES: usize = 80;

fn set(sig: u32) -> SigSet {
    Signal::of(sig).set()
}

fn memory() -> Vec<u8> {
    let mut b = vec![0u8; BYTES];
    b[SET_USR1..SET_USR1 + 8].copy_from_slice(&set(SIGUSR1).bits().to_ne_bytes());
    b[SET_USR2..SET_USR2 + 8].copy_from_slice(&set(SIGUSR2).bits().to_ne_bytes());
    b[SET_RT..SET_RT + 8].copy_from_slice(&set(SIGRTMIN).bits().to_ne_bytes());
    b[ACT..ACT + 8].copy_from_slice(&0x1000u64.to_ne_bytes());
    b
}

/// One execution's world: the port (with its memory) and the process's signal state.
fn world() -> (Arc<Model>, Arc<ProcessSignals>) {
    (
        Model::with_bytes(1, &[], &memory()),
        Arc::new(ProcessSignals::new()),
    )
}

/// `syscall(n, a)` on the calling model thread, through the dispatcher with signals.
fn sys(m: &Model, s: &ProcessSignals, n: usize, a: [usize; 6]) -> isize {
    // SAFETY: every pointer argument is an address of the model's memory (or 0), and none is
    // an output (the port's `write` is `EFAULT` anyway).
    unsafe {
        Lintel::new(&m.kernel, &m.buckets)
            .with_signals(s)
            .syscall(n, a)
    }
}

fn at(m: &Model, off: usize) -> usize {
    m.kernel.bytes_addr(off)
}

fn mask(m: &Model, s: &ProcessSignals, how: usize, off: usize) -> isize {
    sys(m, s, RT_SIGPROCMASK, [how, at(m, off), 0, 8, 0, 0])
}

/// `rt_sigtimedwait(set, NULL, timeout, 8)`; `zero`: a poll, else no timeout.
fn timedwait(m: &Model, s: &ProcessSignals, off: usize, zero: bool) -> isize {
    let ts = if zero { at(m, ZERO_TS) } else { 0 };
    sys(m, s, RT_SIGTIMEDWAIT, [at(m, off), 0, ts, 8, 0, 0])
}

fn tkill(m: &Model, s: &ProcessSignals, t: Tid, sig: u32) -> isize {
    sys(
        m,
        s,
        TKILL,
        [linux_tid(t) as usize, sig as usize, 0, 0, 0, 0],
    )
}

/// Handlers for `sigs` (on Linux a deliverable signal then interrupts a wait with `EINTR`
/// instead of killing the process). Called by the main thread before it starts the others.
fn handle(m: &Model, s: &ProcessSignals, sigs: &[u32]) {
    for &sig in sigs {
        assert_eq!(
            sys(m, s, RT_SIGACTION, [sig as usize, at(m, ACT), 0, 8, 0, 0]),
            0
        );
    }
}

fn linux_tid(t: Tid) -> i32 {
    t.0 as i32 + 1
}

/// Thread `t`'s signal words, as the signal layer sees them.
fn view(m: &Model, t: Tid) -> ThreadSignals<'_> {
    ThreadSignals::new(m.kernel.locals_of(t), linux_tid(t))
}

/// Yields until thread `t` is registered with the signal layer (a sender can find it).
fn until_live(m: &Model, t: Tid) {
    while !view(m, t).is_live() {
        loom::thread::yield_now();
    }
}

/// The signal words lintel's clone gives a thread the calling thread creates: its creator's
/// mask, registered (`Lintel::signal_mask_for_child`). See [`inherit`].
type ChildWords = [Option<(usize, usize)>; 3];

fn child_words(m: &Model, s: &ProcessSignals) -> ChildWords {
    Lintel::new(&m.kernel, &m.buckets)
        .with_signals(s)
        .signal_mask_for_child()
}

/// Stores `words` (from [`child_words`]) into thread `t`, just spawned: no loom operation runs
/// between `Model::spawn` and this, so `t` has not run yet, as a clone child before its
/// creator stored its words.
fn inherit(m: &Model, t: Tid, words: ChildWords) {
    for (i, v) in words.into_iter().flatten() {
        m.kernel.locals_of(t)[i].store(v, std::sync::atomic::Ordering::Relaxed);
    }
}

fn err(e: Errno) -> isize {
    e.to_ret()
}

/// Activates the signal layer once per process (its state is a static), outside the models.
fn activate() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        loom::model(|| {
            let (m, s) = world();
            Lintel::new(&m.kernel, &m.buckets)
                .with_signals(&s)
                .activate();
        });
    });
}

/// `rt_sigtimedwait` against `tkill`: A blocks SIGUSR1 and waits for it with no timeout; B
/// sends it. A gets it exactly once (loom reports a deadlock if it is lost), and its mask is
/// the blocked one again.
#[test]
fn sigtimedwait_vs_tkill() {
    activate();
    let cov = Coverage::new(&[
        "sent while A blocked it",
        "A notified before sleeping",
        "A woken in the wait",
    ]);
    let c = cov.clone();
    check(move || {
        let (m, s) = world();
        let sa = s.clone();
        let a = m.spawn(move |m| {
            assert_eq!(mask(m, &sa, SIG_BLOCK, SET_USR1), 0);
            timedwait(m, &sa, SET_USR1, false)
        });
        let ta = a.tid;
        let sb = s.clone();
        let b = m.spawn(move |m| {
            until_live(m, ta);
            tkill(m, &sb, ta, SIGUSR1)
        });
        assert_eq!(b.join(), 0);
        assert_eq!(a.join(), SIGUSR1 as isize);
        let v = view(&m, ta);
        assert_eq!(
            v.blocked(),
            set(SIGUSR1),
            "the wait's mask was not restored"
        );
        assert!(!s.pending_in(v, SigSet::FULL), "a signal is left pending");
        c.hit(if m.kernel.waits(ta) > 0 {
            "A woken in the wait"
        } else if m.kernel.kicks(ta) > 0 {
            "A notified before sleeping"
        } else {
            "sent while A blocked it"
        });
    });
    cov.assert_all();
}

/// `rt_sigsuspend` against `tkill`: A blocks SIGUSR1, then suspends with an empty mask; B
/// sends SIGUSR1. With no front door nothing is delivered: A gets `-EINTR`, its mask is the
/// old one again (no saved mask left armed) and the signal is still pending.
#[test]
fn sigsuspend_vs_tkill() {
    activate();
    let cov = Coverage::new(&[
        "sent while A blocked it",
        "A notified before sleeping",
        "A woken in the suspend",
    ]);
    let c = cov.clone();
    check(move || {
        let (m, s) = world();
        handle(&m, &s, &[SIGUSR1]);
        let sa = s.clone();
        let a = m.spawn(move |m| {
            assert_eq!(mask(m, &sa, SIG_BLOCK, SET_USR1), 0);
            sys(m, &sa, RT_SIGSUSPEND, [at(m, SET_EMPTY), 8, 0, 0, 0, 0])
        });
        let ta = a.tid;
        let sb = s.clone();
        let b = m.spawn(move |m| {
            until_live(m, ta);
            tkill(m, &sb, ta, SIGUSR1)
        });
        assert_eq!(b.join(), 0);
        assert_eq!(a.join(), err(Errno::EINTR));
        let v = view(&m, ta);
        assert_eq!(
            v.blocked(),
            set(SIGUSR1),
            "sigsuspend's mask was not restored"
        );
        assert_eq!(
            v.state(),
            lintel_signals::process::LIVE,
            "a saved mask is left armed"
        );
        assert_eq!(
            v.pending(),
            set(SIGUSR1),
            "the signal is not pending exactly for A"
        );
        c.hit(if m.kernel.waits(ta) > 0 {
            "A woken in the suspend"
        } else if m.kernel.kicks(ta) > 0 {
            "A notified before sleeping"
        } else {
            "sent while A blocked it"
        });
    });
    cov.assert_all();
}

/// A process-directed signal goes to a thread that does not block it. The main thread blocks
/// SIGUSR1 and creates A, which starts with its creator's mask (as lintel's clone makes it:
/// SIGUSR1 blocked, registered) and waits for SIGUSR2; once A sleeps, B (not blocking
/// anything, registered by its first call) pauses while the main thread sends
/// `kill(getpid(), SIGUSR1)`. B must be told (its `pause` returns `-EINTR`; loom reports a
/// deadlock otherwise); B takes the signal (exactly once: A finds none later) and ends A's wait
/// with a SIGUSR2. Neither A nor the sender is ever notified.
///
/// A sleeps before the send so that at most two threads take the signal lock at once (it
/// spins, yielding, under loom, and two spinners on a preempted holder keep loom busy
/// forever); [`process_signal_vs_mask_change`] races A's mask change with the send instead.
#[test]
fn process_signal_choice() {
    activate();
    let cov = Coverage::new(&["B woken in pause", "B found it pending"]);
    let c = cov.clone();
    check(move || {
        let (m, s) = world();
        handle(&m, &s, &[SIGUSR1, SIGUSR2]);
        assert_eq!(mask(&m, &s, SIG_BLOCK, SET_USR1), 0);
        let words = child_words(&m, &s);
        let sa = s.clone();
        let a = m.spawn(move |m| {
            let r = timedwait(m, &sa, SET_USR2, false);
            (r, timedwait(m, &sa, SET_USR1, true))
        });
        let ta = a.tid;
        inherit(&m, ta, words);
        m.until_waiting(ta);
        let sb = s.clone();
        let b = m.spawn(move |m| {
            let r = sys(m, &sb, PAUSE, [0; 6]);
            let got = timedwait(m, &sb, SET_USR1, true);
            assert_eq!(tkill(m, &sb, ta, SIGUSR2), 0);
            (r, got)
        });
        let tb = b.tid;
        assert_eq!(
            sys(&m, &s, KILL, [PID as usize, SIGUSR1 as usize, 0, 0, 0, 0]),
            0
        );
        assert_eq!(b.join(), (err(Errno::EINTR), SIGUSR1 as isize));
        let (r, again) = a.join();
        assert_eq!(r, SIGUSR2 as isize);
        assert_eq!(again, err(Errno::EAGAIN), "SIGUSR1 taken twice");
        assert_eq!(m.kernel.kicks(Tid(0)), 0, "the sender was notified");
        assert_eq!(m.kernel.kicks(ta), 1, "A was notified of SIGUSR1");
        c.hit(if m.kernel.waits(tb) > 0 {
            "B woken in pause"
        } else {
            "B found it pending"
        });
    });
    cov.assert_all();
}

/// The race [`process_signal_choice`] leaves out: the process-directed send against A's
/// `rt_sigprocmask(SIG_BLOCK)`. The main thread creates A (as lintel's clone does: registered,
/// with its creator's mask, empty so far) and then blocks SIGUSR1 itself; A (tid 2, first in
/// the sender's walk after the sender) starts once B (tid 3, not blocking SIGUSR1, registered
/// by its first call) sleeps in `pause`; A then blocks SIGUSR1 while the main thread sends
/// `kill(getpid(), SIGUSR1)`.
///
/// The race this checks: a send that runs after A read its old mask but before A stored the
/// new one (the lock orders them) picks A, which does not block SIGUSR1 yet, and notifies
/// only A; A then blocks SIGUSR1. Linux passes the signal on when a thread blocks it
/// (`__set_task_blocked` → `retarget_shared_pending`), and so does lintel since this model
/// found the bug: without it B, the one thread that could take the signal, is never told and
/// sleeps in `pause` forever (loom reports the deadlock).
#[test]
fn process_signal_vs_mask_change() {
    activate();
    check(move || {
        let (m, s) = world();
        handle(&m, &s, &[SIGUSR1, SIGUSR2]);
        let words = child_words(&m, &s);
        let sa = s.clone();
        let a = m.spawn(move |m| {
            // Parked until the main thread says go (the port's notification, consumed here).
            assert_eq!(m.kernel.wait(None), Wakeup::Notified);
            assert_eq!(mask(m, &sa, SIG_BLOCK, SET_USR1), 0);
            timedwait(m, &sa, SET_USR2, true)
        });
        let ta = a.tid;
        inherit(&m, ta, words);
        assert_eq!(mask(&m, &s, SIG_BLOCK, SET_USR1), 0);
        let sb = s.clone();
        let b = m.spawn(move |m| {
            let r = sys(m, &sb, PAUSE, [0; 6]);
            (r, timedwait(m, &sb, SET_USR1, true))
        });
        m.until_waiting(b.tid);
        m.kernel.signal(ta);
        assert_eq!(
            sys(&m, &s, KILL, [PID as usize, SIGUSR1 as usize, 0, 0, 0, 0]),
            0
        );
        assert_eq!(b.join(), (err(Errno::EINTR), SIGUSR1 as isize));
        assert_eq!(a.join(), err(Errno::EAGAIN));
    });
}

/// A process-directed signal picked for a thread that then exits goes on to another thread
/// (Linux's `retarget_shared_pending`, which lintel does at `exit`). B (not blocking SIGUSR1)
/// sleeps in `pause`; then A (created by the main thread before it blocked SIGUSR1, so
/// registered and not blocking it; first in the sender's walk) calls `exit(0)` while the main
/// thread (blocking SIGUSR1) sends `kill(getpid(), SIGUSR1)`. Either the send picks B at once
/// (A is gone), or it picks A and A's exit passes it to B: B's `pause` returns `-EINTR` and B
/// takes the signal, exactly once.
#[test]
fn process_signal_vs_exit() {
    activate();
    let cov = Coverage::new(&["sent after A's exit", "picked A, retargeted at its exit"]);
    let c = cov.clone();
    check(move || {
        let (m, s) = world();
        handle(&m, &s, &[SIGUSR1]);
        let words = child_words(&m, &s);
        let sa = s.clone();
        let a = m.spawn(move |m| {
            // Parked until the main thread says go (the port's notification, consumed here).
            assert_eq!(m.kernel.wait(None), Wakeup::Notified);
            sys(m, &sa, EXIT, [0; 6]);
        });
        let ta = a.tid;
        inherit(&m, ta, words);
        assert_eq!(mask(&m, &s, SIG_BLOCK, SET_USR1), 0);
        let sb = s.clone();
        let b = m.spawn(move |m| {
            let r = sys(m, &sb, PAUSE, [0; 6]);
            let got = timedwait(m, &sb, SET_USR1, true);
            (r, got, timedwait(m, &sb, SET_USR1, true))
        });
        let tb = b.tid;
        m.until_waiting(tb);
        m.kernel.signal(ta);
        assert_eq!(
            sys(&m, &s, KILL, [PID as usize, SIGUSR1 as usize, 0, 0, 0, 0]),
            0
        );
        a.join_exited();
        assert_eq!(
            b.join(),
            (err(Errno::EINTR), SIGUSR1 as isize, err(Errno::EAGAIN))
        );
        assert!(!view(&m, ta).is_live());
        c.hit(if m.kernel.kicks(ta) > 0 {
            "picked A, retargeted at its exit"
        } else {
            "sent after A's exit"
        });
    });
    cov.assert_all();
}

/// A mask change racing a send: A blocks `sig`, unblocks it and pauses; B sends `sig` `sends`
/// times. A's pause ends with `-EINTR`; once B is done, A polls with `sigtimedwait`: `sig`
/// `expected` times, then `EAGAIN`.
fn mask_race(sig: u32, off: usize, sends: usize, expected: usize) {
    activate();
    let cov = Coverage::new(&[
        "sent while A blocked it",
        "A notified before sleeping",
        "A woken in pause",
    ]);
    let c = cov.clone();
    check(move || {
        let (m, s) = world();
        handle(&m, &s, &[sig]);
        let done = Arc::new(AtomicBool::new(false));
        let (sa, da) = (s.clone(), done.clone());
        let a = m.spawn(move |m| {
            assert_eq!(mask(m, &sa, SIG_BLOCK, off), 0);
            assert_eq!(mask(m, &sa, SIG_UNBLOCK, off), 0);
            let r = sys(m, &sa, PAUSE, [0; 6]);
            while !da.load(Ordering::Acquire) {
                loom::thread::yield_now();
            }
            let got: Vec<isize> = (0..=expected)
                .map(|_| timedwait(m, &sa, off, true))
                .collect();
            (r, got)
        });
        let ta = a.tid;
        let sb = s.clone();
        let b = m.spawn(move |m| {
            until_live(m, ta);
            for _ in 0..sends {
                assert_eq!(tkill(m, &sb, ta, sig), 0);
            }
            done.store(true, Ordering::Release);
        });
        b.join();
        let (r, got) = a.join();
        assert_eq!(r, err(Errno::EINTR));
        let mut want = vec![sig as isize; expected];
        want.push(err(Errno::EAGAIN));
        assert_eq!(got, want);
        assert!(!s.pending_in(view(&m, ta), SigSet::FULL));
        c.hit(if m.kernel.waits(ta) > 0 {
            "A woken in pause"
        } else if m.kernel.kicks(ta) > 0 {
            "A notified before sleeping"
        } else {
            "sent while A blocked it"
        });
    });
    cov.assert_all();
}

/// A standard signal sent twice is pending once.
#[test]
fn mask_change_vs_tkill() {
    mask_race(SIGUSR1, SET_USR1, 2, 1);
}

/// A real-time signal sent twice is queued twice (the two entries carry the same siginfo, so
/// their order is not observable here).
#[test]
fn mask_change_vs_tkill_rt() {
    mask_race(SIGRTMIN, SET_RT, 2, 2);
}
