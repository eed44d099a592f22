//! The lock-free `rt_sigprocmask` (`Lintel::fast_call`, `Signals::sigprocmask_fast`) against a
//! concurrent send: the `[MASK]` argument of `signals/src/mask.rs`.
//!
//! ```text
//!   owner, unblocking S                      sender of S (to the owner, or to the process)
//!   word 12 = new                    [M1]    word 13 or the shared copy gets S      [S1]
//!   fence(SeqCst)                    [M2]    fence(SeqCst)                          [S2]
//!   r1 = word 13 | shared copy       [M3]    r2 = word 12: does the owner block S?  [S3]
//! ```
//!
//! Lost: `r1` without S (the owner returns from the fast path, no delivery point) and `r2`
//! blocking S (the sender neither marks nor notifies the owner). The first two models run the
//! real dispatcher and signal state over `LoomKernel` (as `signals.rs`; the port facts there
//! hold here): the owner's fast unblock against `kill` (the shared copy is a loom atomic) and
//! against `tkill`. The port's per-thread words are plain atomics in this port, read in
//! schedule order, so the owner's half of the argument on word 13 and the sender's on word 12
//! are checked by the litmus models at the end, on loom atomics with the real code's orderings.
//! The third model races the fast *block* with a process-directed send: either the sender
//! passes over the owner, or the owner sees the signal pending and takes the locked path, which
//! passes it on; else the one thread that could take it sleeps forever (loom reports the
//! deadlock; it does without the owner's barrier, as it did with a plain-store block whose
//! stale mark a later delivery point was to pass on: a locked step in between drops it).
//!
//! Run: `bash loom-tests/run.sh --test mask_fast`.
#![cfg(lintel_loom)]

use lintel::{Lintel, ProcessSignals};
use lintel_kernel::{Errno, Notify, Threads, Wakeup};
use lintel_loom_tests::{Coverage, Model, Tid, check};
use lintel_signals::{SigSet, Signal, ThreadSignals};
use loom::sync::Arc as LoomArc;
use loom::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::{Arc, Once};

// Linux x86_64 syscall numbers.
const RT_SIGACTION: usize = 13;
const RT_SIGPROCMASK: usize = 14;
const PAUSE: usize = 34;
const KILL: usize = 62;
const RT_SIGTIMEDWAIT: usize = 128;
const TKILL: usize = 200;

const SIG_BLOCK: usize = 0;
const SIG_UNBLOCK: usize = 1;

const SIGUSR1: u32 = 10;
const SIGUSR2: u32 = 12;

/// This process's pid as the dispatcher sees it (`getpid` is `-ENOSYS` in this port).
const PID: isize = -38;

// The signal sets are in the model's atomic user words (the fast path reads a set with two
// word loads), at these word indexes; the rest is plain bytes.
const SET_USR1: usize = 0;
const SET_USR2: usize = 2;
const ZERO_TS: usize = 0;
const ACT: usize = 16;
const BYTES: usize = 48;

fn set(sig: u32) -> SigSet {
    Signal::of(sig).set()
}

fn world() -> (Arc<Model>, Arc<ProcessSignals>) {
    let mut b = vec![0u8; BYTES];
    b[ACT..ACT + 8].copy_from_slice(&0x1000u64.to_ne_bytes());
    let words = [
        set(SIGUSR1).bits() as u32,
        (set(SIGUSR1).bits() >> 32) as u32,
        set(SIGUSR2).bits() as u32,
        (set(SIGUSR2).bits() >> 32) as u32,
    ];
    (
        Model::with_bytes(1, &words, &b),
        Arc::new(ProcessSignals::new()),
    )
}

fn lintel<'a>(m: &'a Model, s: &'a ProcessSignals) -> Lintel<'a, lintel_loom_tests::LoomKernel> {
    Lintel::new(&m.kernel, &m.buckets).with_signals(s)
}

fn sys(m: &Model, s: &ProcessSignals, n: usize, a: [usize; 6]) -> isize {
    // SAFETY: pointer arguments are addresses of the model's memory (or 0), none an output.
    unsafe { lintel(m, s).syscall(n, a) }
}

fn at(m: &Model, off: usize) -> usize {
    m.kernel.bytes_addr(off)
}

/// The address of the signal set at word index `w`.
fn set_at(m: &Model, w: usize) -> usize {
    m.kernel.addr(w)
}

/// `rt_sigprocmask(how, set, NULL, 8)` through the lock-free path; `None`: it declined (the
/// caller then makes the call through the dispatcher, as a front door does).
fn fast_mask(m: &Model, s: &ProcessSignals, how: usize, off: usize) -> Option<isize> {
    lintel(m, s).fast_call(RT_SIGPROCMASK, &[how, set_at(m, off), 0, 8, 0, 0])
}

fn mask(m: &Model, s: &ProcessSignals, how: usize, off: usize) -> isize {
    sys(m, s, RT_SIGPROCMASK, [how, set_at(m, off), 0, 8, 0, 0])
}

fn timedwait(m: &Model, s: &ProcessSignals, off: usize, zero: bool) -> isize {
    let ts = if zero { at(m, ZERO_TS) } else { 0 };
    sys(m, s, RT_SIGTIMEDWAIT, [set_at(m, off), 0, ts, 8, 0, 0])
}

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

fn view(m: &Model, t: Tid) -> ThreadSignals<'_> {
    ThreadSignals::new(m.kernel.locals_of(t), linux_tid(t))
}

type ChildWords = [Option<(usize, usize)>; 3];

/// Thread `t`, just spawned, starts with the words lintel's clone gives it (see `signals.rs`).
fn inherit(m: &Model, t: Tid, words: ChildWords) {
    for (i, v) in words.into_iter().flatten() {
        m.kernel.locals_of(t)[i].store(v, std::sync::atomic::Ordering::Relaxed);
    }
}

fn activate() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        loom::model(|| {
            let (m, s) = world();
            lintel(&m, &s).activate();
        });
    });
}

/// The owner's fast unblock against a send: `process` picks `kill(getpid())`, else
/// `tkill(owner)`. The main thread blocks SIGUSR1 and creates A with that mask (so the main
/// thread, the sender, never takes the signal itself); A unblocks SIGUSR1 through the fast path
/// (or, if it declines, through the dispatcher) while the main thread sends it. Nothing is
/// delivered without a front door, so the outcome is read from the state: SIGUSR1 must be
/// pending and deliverable to A (for a shared signal, A marked to look at the shared set), and
/// if the fast path kept its change (no delivery point of its own), the sender must have
/// notified A.
fn unblock_vs_send(process: bool) {
    activate();
    let cov = Coverage::new(&[
        "fast path saw it pending and declined",
        "fast path kept its change, sender notified A",
    ]);
    let c = cov.clone();
    check(move || {
        let (m, s) = world();
        handle(&m, &s, &[SIGUSR1]);
        assert_eq!(mask(&m, &s, SIG_BLOCK, SET_USR1), 0);
        let words = lintel(&m, &s).signal_mask_for_child();
        let sa = s.clone();
        let a = m.spawn(move |m| match fast_mask(m, &sa, SIG_UNBLOCK, SET_USR1) {
            Some(r) => (r, true),
            None => (mask(m, &sa, SIG_UNBLOCK, SET_USR1), false),
        });
        let ta = a.tid;
        inherit(&m, ta, words);
        let r = if process {
            sys(&m, &s, KILL, [PID as usize, SIGUSR1 as usize, 0, 0, 0, 0])
        } else {
            sys(
                &m,
                &s,
                TKILL,
                [linux_tid(ta) as usize, SIGUSR1 as usize, 0, 0, 0, 0],
            )
        };
        assert_eq!(r, 0);
        let (r, fast) = a.join();
        assert_eq!(r, 0);
        let v = view(&m, ta);
        assert!(!v.blocked().contains(Signal::of(SIGUSR1)));
        assert!(s.pending_in(v, set(SIGUSR1)), "SIGUSR1 is gone");
        assert!(
            s.has_deliverable(v),
            "A unblocked SIGUSR1 but will never look at it"
        );
        let notified = m.kernel.kicks(ta) > 0;
        if fast {
            assert!(
                notified,
                "lost: the fast path kept its change, A was not told"
            );
        }
        c.hit(if fast {
            "fast path kept its change, sender notified A"
        } else {
            "fast path saw it pending and declined"
        });
    });
    cov.assert_all();
}

#[test]
fn fast_unblock_vs_kill() {
    unblock_vs_send(true);
}

#[test]
fn fast_unblock_vs_tkill() {
    unblock_vs_send(false);
}

/// The fast *block* against a process-directed send, as `signals.rs`'s
/// `process_signal_vs_mask_change` races the locked one. The main thread creates A (not
/// blocking SIGUSR1), then blocks SIGUSR1; B (not blocking it) sleeps in `pause`; A blocks
/// SIGUSR1 through the fast path while the main thread sends `kill(getpid(), SIGUSR1)`, then
/// waits for SIGUSR2, which B sends once it has SIGUSR1. A send that saw A unblocked picks and
/// notifies A; A must then see SIGUSR1 pending and take the locked path, which passes it on to
/// B, or B sleeps forever. A fast block that kept its change was passed over by the sender.
#[test]
fn fast_block_vs_kill() {
    activate();
    let cov = Coverage::new(&[
        "fast block kept, A passed over",
        "fast path saw it pending and declined",
    ]);
    let c = cov.clone();
    check(move || {
        let (m, s) = world();
        handle(&m, &s, &[SIGUSR1, SIGUSR2]);
        let words = lintel(&m, &s).signal_mask_for_child();
        let sa = s.clone();
        let a = m.spawn(move |m| {
            // Parked until the main thread says go (the port's notification, consumed here).
            assert_eq!(m.kernel.wait(None), Wakeup::Notified);
            let fast = fast_mask(m, &sa, SIG_BLOCK, SET_USR1);
            let r = fast.unwrap_or_else(|| mask(m, &sa, SIG_BLOCK, SET_USR1));
            assert_eq!(r, 0);
            (timedwait(m, &sa, SET_USR2, false), fast.is_some())
        });
        let ta = a.tid;
        inherit(&m, ta, words);
        assert_eq!(mask(&m, &s, SIG_BLOCK, SET_USR1), 0);
        let sb = s.clone();
        let b = m.spawn(move |m| {
            let r = sys(m, &sb, PAUSE, [0; 6]);
            let got = timedwait(m, &sb, SET_USR1, true);
            assert_eq!(
                sys(
                    m,
                    &sb,
                    TKILL,
                    [linux_tid(ta) as usize, SIGUSR2 as usize, 0, 0, 0, 0]
                ),
                0
            );
            (r, got)
        });
        m.until_waiting(b.tid);
        m.kernel.signal(ta);
        assert_eq!(
            sys(&m, &s, KILL, [PID as usize, SIGUSR1 as usize, 0, 0, 0, 0]),
            0
        );
        assert_eq!(b.join(), (Errno::EINTR.to_ret(), SIGUSR1 as isize));
        let (r, fast) = a.join();
        assert_eq!(r, SIGUSR2 as isize);
        if fast {
            // Notified once, by B's SIGUSR2: the send did not pick A.
            assert_eq!(
                m.kernel.kicks(ta),
                1,
                "the send picked A, which blocked it fast"
            );
            c.hit("fast block kept, A passed over");
        } else {
            c.hit("fast path saw it pending and declined");
        }
    });
    cov.assert_all();
}

/// The `[MASK]` shape on loom atomics with the real code's orderings (`ThreadSignals::
/// store_blocked_fenced` and `Signals::sigprocmask_fast` for the owner, `send_locked` for the
/// sender), here for an unblock; returns `(r1 has S, r2 blocks S)`.
fn mask_shape(fences: bool) -> (bool, bool) {
    const S: u64 = 1 << 9;
    let blocked = LoomArc::new(AtomicU64::new(S));
    let pending = LoomArc::new(AtomicU64::new(0));
    let owner = {
        let (blocked, pending) = (blocked.clone(), pending.clone());
        loom::thread::spawn(move || {
            blocked.store(0, Ordering::Relaxed); // M1
            if fences {
                fence(Ordering::SeqCst); // M2
            }
            pending.load(Ordering::Acquire) & S != 0 // M3
        })
    };
    pending.store(S, Ordering::Release); // S1
    if fences {
        fence(Ordering::SeqCst); // S2
    }
    let r2 = blocked.load(Ordering::Acquire) & S != 0; // S3
    let r1 = owner.join().unwrap();
    (r1, r2)
}

#[test]
fn mask_fences_forbid_a_lost_signal() {
    loom::model(|| {
        let (r1, r2) = mask_shape(true);
        assert!(
            r1 || !r2,
            "lost: the owner saw nothing pending, the sender saw S blocked"
        );
    });
}

#[test]
fn without_fences_a_lost_signal_is_reachable() {
    static SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    loom::model(|| {
        if mask_shape(false) == (false, true) {
            SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert!(
        SEEN.load(std::sync::atomic::Ordering::Relaxed),
        "loom never showed the lost signal without the fences"
    );
}
