//! Thread priorities: what the host port reports to lintel (each thread's Linux scheduling
//! policy, for the futex plist order and priority inheritance) and what it does with the
//! priority lintel says a thread inherits from the waiters of its PI futexes.
//!
//! Reported: `SCHED_FIFO`/`SCHED_RR` with `sched_priority` p is Linux's `99 - p` (lower is more
//! urgent), `SCHED_DEADLINE` is -1, every other policy [`NORMAL_PRIORITY`] (Linux's futex plist
//! and PI waiters treat every non-real-time thread alike). Each record caches its thread's
//! priority with the process-wide priority epoch it was read at; the passthrough moves the
//! epoch after every `sched_setscheduler`, `sched_setparam` or `sched_setattr` the program
//! makes, so a cached value is used only while no such call happened since. A change made from
//! outside the process (another process's `chrt -p`) is not seen until the next such call.
//!
//! Inherited: recorded in the thread's record ([`crate::Host::inherited_priority`]), **not
//! applied** to the host scheduler. Linux's boost is invisible to `sched_getparam` and
//! `sched_getscheduler`; the only way a process can change a host thread's priority is
//! `sched_setscheduler`, which both needs `CAP_SYS_NICE` and shows through those calls, so a
//! port that applied it would answer them differently from Linux. A microkernel port with
//! scheduling contexts or priority donation applies it for real (docs/porting.md).

use core::sync::atomic::{AtomicU32, Ordering};

use lintel_kernel::NORMAL_PRIORITY;
use linux_raw_sys::general as g;

use crate::syscall::sys;
use crate::tcb::Tcb;
use crate::thread::Thread;

/// The process-wide priority epoch (never 0, which marks a record with nothing cached).
static EPOCH: AtomicU32 = AtomicU32::new(1);

/// Whether the syscall `nr` may change a thread's scheduling priority.
#[inline]
pub(crate) fn may_change(nr: usize) -> bool {
    nr == g::__NR_sched_setscheduler as usize
        || nr == g::__NR_sched_setparam as usize
        || nr == g::__NR_sched_setattr as usize
}

/// A call [`may_change`] names has returned: every cached priority is stale.
pub(crate) fn changed() {
    EPOCH.fetch_add(1, Ordering::Release);
}

/// The priority of `thread`, from its record's cache when the epoch has not moved.
pub(crate) fn priority(thread: Thread) -> i32 {
    let t: &Tcb = thread.tcb();
    let epoch = EPOCH.load(Ordering::Acquire);
    let own = thread.is_current_generation();
    if own {
        let cached = t.priority.load(Ordering::Relaxed);
        if (cached >> 32) as u32 == epoch {
            return cached as u32 as i32;
        }
    }
    let prio = query(thread.tid());
    if own {
        // A change after our epoch load moved the epoch: this entry is stale at once.
        let entry = (u64::from(epoch) << 32) | u64::from(prio as u32);
        t.priority.store(entry, Ordering::Relaxed);
    }
    prio
}

/// Asks Linux for the priority of thread `tid`.
fn query(tid: i32) -> i32 {
    const GETSCHEDULER: usize = g::__NR_sched_getscheduler as usize;
    const GETPARAM: usize = g::__NR_sched_getparam as usize;
    // SAFETY: sched_getscheduler takes a tid and touches no memory.
    let policy = unsafe { sys(GETSCHEDULER, tid as usize, 0, 0, 0) };
    if policy < 0 {
        return NORMAL_PRIORITY;
    }
    match policy as u32 & !g::SCHED_RESET_ON_FORK {
        g::SCHED_FIFO | g::SCHED_RR => {
            let mut param = 0i32; // struct sched_param: one int
            // SAFETY: sched_getparam writes one `struct sched_param` to the valid `param`.
            let r = unsafe { sys(GETPARAM, tid as usize, &raw mut param as usize, 0, 0) };
            if r < 0 {
                NORMAL_PRIORITY
            } else {
                NORMAL_PRIORITY - 1 - param
            }
        }
        g::SCHED_DEADLINE => -1,
        _ => NORMAL_PRIORITY,
    }
}

/// Records what `thread` inherits (lintel's `Threads::inherit_priority`).
pub(crate) fn inherit(thread: Thread, prio: i32) {
    if thread.is_current_generation() {
        let word = (NORMAL_PRIORITY - prio.min(NORMAL_PRIORITY)) as u32;
        thread.tcb().inherited.store(word, Ordering::Relaxed);
    }
}

/// What `thread` inherits, [`NORMAL_PRIORITY`] for nothing.
pub(crate) fn inherited(thread: Thread) -> i32 {
    if !thread.is_current_generation() {
        return NORMAL_PRIORITY;
    }
    NORMAL_PRIORITY - thread.tcb().inherited.load(Ordering::Relaxed) as i32
}
