//! The per-thread notification: a 32-bit word in the TCB used as a binary semaphore.
//!
//! | bit | meaning | set by | cleared by |
//! | --- | --- | --- | --- |
//! | `TOKEN` | a wake token is pending | `signal` | `wait` (consumes it) |
//! | `INTERRUPTED` | the thread is interrupted | `interrupt` | `take_interrupt` |
//! | `WAITING` | the owner is (about to be) blocked in `FUTEX_WAIT` | `wait` | `wait` |
//!
//! `wait` blocks with `FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG` on the word with the absolute
//! deadline (`FUTEX_CLOCK_REALTIME` for realtime deadlines); `signal`/`interrupt` do one atomic
//! RMW and a `FUTEX_WAKE_PRIVATE` only if the owner announced itself with `WAITING`. The
//! `WAITING` bit is set with a CAS from a value that has neither `TOKEN` nor `INTERRUPTED`, and
//! the futex wait expects exactly that value, so a `signal` between the check and the sleep
//! either fails the CAS or changes the word under `FUTEX_WAIT` (which then returns `EAGAIN`).
//!
//! The word also serves the restartable window: the assembly tests `INTERRUPTED` at
//! `%gs:offset_of!(Tcb, notify)` right before its `syscall`.

use core::sync::atomic::Ordering;

use lintel_kernel::abi::Timespec;
use lintel_kernel::{ClockId, Deadline, Notify, Wakeup};
use linux_raw_sys::general as g;

use crate::init::PID;
use crate::syscall;
use crate::tcb::{self, Tcb};
use crate::{Host, Thread};

/// A wake token is pending.
pub(crate) const TOKEN: u32 = 1 << 0;
/// The interrupted flag.
pub(crate) const INTERRUPTED: u32 = 1 << 1;
/// The owner is blocked (or about to block) in `FUTEX_WAIT` on the word.
pub(crate) const WAITING: u32 = 1 << 2;

/// The host signal this port reserves for interrupts and kicks: `SIGRTMAX` (64). glibc uses
/// 32/33 and musl 32–34, so neither C library's reserved signals collide with it.
pub const INTERRUPT_SIGNAL: u32 = g::_NSIG;

/// An absolute deadline as the futex syscall takes it, plus the clock flag.
pub(crate) fn futex_deadline(d: &Deadline) -> (Timespec, u32) {
    let ts = Timespec {
        tv_sec: (d.ns / 1_000_000_000) as i64,
        tv_nsec: (d.ns % 1_000_000_000) as i64,
    };
    let flag = match d.clock {
        ClockId::Monotonic => 0,
        ClockId::Realtime => g::FUTEX_CLOCK_REALTIME,
    };
    (ts, flag)
}

/// Wakes the owner of `t` if it announced it is blocked on its notification word.
fn wake(t: &Tcb) {
    // SAFETY: the word lives in a record that is never unmapped; a wake touches nothing else.
    unsafe {
        syscall::futex(
            t.notify.as_ptr(),
            g::FUTEX_WAKE | g::FUTEX_PRIVATE_FLAG,
            1,
            0,
            0,
            0,
        )
    };
}

/// Sends the interrupt signal to the thread `thread` names (a thread of this process). The
/// handle's own tid is used: a just-spawned thread may not have stored its tid in its record
/// yet (it has every signal blocked until it has, so the signal waits for it).
pub(crate) fn send_interrupt_signal(thread: &Thread) {
    let tid = thread.tid();
    if tid > 0 {
        syscall::tgkill(PID.load(Ordering::Relaxed), tid, INTERRUPT_SIGNAL);
    }
}

// SAFETY: `wait` returns Notified only after consuming TOKEN, which only `signal` sets (a
// recycled record may carry a stale handle's token: allowed). A token set before or during a
// wait is seen by its check or changes the word under FUTEX_WAIT (see the module docs), so it
// is never lost; likewise INTERRUPTED, which only `take_interrupt` clears. TimedOut is returned
// only after the kernel's ETIMEDOUT on an absolute deadline on the same clock, i.e. once that
// clock has reached it. `signal` and `interrupt` are an atomic RMW plus futex wake / tgkill:
// async-signal-safe and non-blocking. A token present together with the flag wins.
unsafe impl Notify for Host {
    fn wait(&self, deadline: Option<Deadline>) -> Wakeup {
        let t = tcb::current();
        let w = &t.notify;
        let (ts, clock_flag) = match &deadline {
            Some(d) => {
                let (ts, f) = futex_deadline(d);
                (Some(ts), f)
            }
            None => (None, 0),
        };
        let ts_ptr = ts.as_ref().map_or(0, |ts| ts as *const Timespec as usize);
        let op = g::FUTEX_WAIT_BITSET | g::FUTEX_PRIVATE_FLAG | clock_flag;
        loop {
            let v = w.load(Ordering::Acquire);
            if v & TOKEN != 0 {
                w.fetch_and(!(TOKEN | WAITING), Ordering::AcqRel);
                return Wakeup::Notified;
            }
            if v & INTERRUPTED != 0 {
                if v & WAITING != 0 {
                    w.fetch_and(!WAITING, Ordering::Relaxed);
                }
                return Wakeup::Interrupted;
            }
            let sleeping = v | WAITING;
            if v & WAITING == 0
                && w.compare_exchange(v, sleeping, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                continue;
            }
            // SAFETY: the word is ours and valid; `ts_ptr` is null or a valid timespec that
            // outlives the call.
            let r = unsafe {
                syscall::futex(
                    w.as_ptr(),
                    op,
                    sleeping,
                    ts_ptr,
                    0,
                    g::FUTEX_BITSET_MATCH_ANY,
                )
            };
            match -r as u32 {
                0 | linux_raw_sys::errno::EAGAIN | linux_raw_sys::errno::EINTR => continue,
                linux_raw_sys::errno::ETIMEDOUT => {
                    let v = w.load(Ordering::Acquire);
                    if v & (TOKEN | INTERRUPTED) != 0 {
                        continue; // report those rather than the timeout
                    }
                    w.fetch_and(!WAITING, Ordering::Relaxed);
                    return Wakeup::TimedOut;
                }
                _ => syscall::fatal("lintel-host: FUTEX_WAIT_BITSET on the notification failed\n"),
            }
        }
    }

    fn signal(&self, thread: Thread) {
        let t = thread.tcb();
        if !thread.is_current_generation() {
            return; // the record was recycled: the signal's target is dead
        }
        let old = t.notify.fetch_or(TOKEN, Ordering::AcqRel);
        // If TOKEN was already set, whoever set it saw any WAITING and woke the owner.
        if old & WAITING != 0 && old & TOKEN == 0 {
            wake(t);
        }
    }

    fn interrupt(&self, thread: Thread) {
        let t = thread.tcb();
        if !thread.is_current_generation() {
            return;
        }
        // SeqCst pairs with the SeqCst swap of `in_window` in `window::run`: either the window's
        // own test sees INTERRUPTED, or we see `in_window` and send the signal.
        let old = t.notify.fetch_or(INTERRUPTED, Ordering::SeqCst);
        if old & WAITING != 0 && old & (TOKEN | INTERRUPTED) == 0 {
            wake(t);
        }
        // Only the setter of the flag signals: while it stays set, a window the thread enters
        // is refused by its own test, and one it was already in got the first setter's signal.
        if old & INTERRUPTED == 0 && t.in_window.load(Ordering::SeqCst) != 0 {
            send_interrupt_signal(&thread);
        }
    }

    fn take_interrupt(&self) -> bool {
        tcb::current()
            .notify
            .fetch_and(!INTERRUPTED, Ordering::AcqRel)
            & INTERRUPTED
            != 0
    }

    fn is_interrupted(&self) -> bool {
        tcb::current().notify.load(Ordering::Acquire) & INTERRUPTED != 0
    }
}
