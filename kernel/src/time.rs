//! Clocks and deadlines.

use crate::Errno;
use crate::abi::{KTIME_MAX, NSEC_PER_SEC, Timespec};

/// The clocks a deadline can be measured on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClockId {
    /// `CLOCK_MONOTONIC`: never jumps; what relative timeouts are measured on.
    Monotonic,
    /// `CLOCK_REALTIME`: wall-clock time; a deadline on it follows clock changes, as on Linux.
    Realtime,
}

/// A CPU-time clock: the time a process or thread has spent running (Linux's
/// `CLOCK_PROCESS_CPUTIME_ID`, `CLOCK_THREAD_CPUTIME_ID` and the clocks
/// `pthread_getcpuclockid` names; `ITIMER_VIRTUAL` and `ITIMER_PROF` run on them too).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CpuClock {
    /// User and system time of every thread of the process.
    Process,
    /// User time of every thread of the process (`ITIMER_VIRTUAL`).
    ProcessUser,
    /// User and system time of the thread with this tid (a thread of this process).
    Thread(i32),
}

/// An absolute point in time on one clock, in nanoseconds since that clock's epoch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The clock the deadline is measured on.
    pub clock: ClockId,
    /// Nanoseconds since the clock's epoch; `KTIME_MAX` means "effectively never".
    pub ns: u64,
}

impl Deadline {
    /// A deadline `rel` after `now`, saturating as Linux's `ktime_add_safe` does.
    pub fn after(clock: ClockId, now: u64, rel: u64) -> Deadline {
        let ns = now.saturating_add(rel).min(KTIME_MAX);
        Deadline { clock, ns }
    }
}

/// Validates a timespec as Linux's `timespec64_valid` does and converts it to nanoseconds,
/// saturating at `KTIME_MAX` as `timespec64_to_ktime` does.
///
/// `EINVAL` for a negative `tv_sec`, or a `tv_nsec` outside `0..1_000_000_000`.
pub fn timespec_to_ns(ts: &Timespec) -> Result<u64, Errno> {
    if ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= NSEC_PER_SEC {
        return Err(Errno::EINVAL);
    }
    // KTIME_SEC_MAX = KTIME_MAX / NSEC_PER_SEC; at or above it Linux returns KTIME_MAX.
    if ts.tv_sec as u64 >= KTIME_MAX / NSEC_PER_SEC as u64 {
        return Ok(KTIME_MAX);
    }
    Ok(ts.tv_sec as u64 * NSEC_PER_SEC as u64 + ts.tv_nsec as u64)
}

/// Clocks.
///
/// # Safety
/// Implementors guarantee that `now(ClockId::Monotonic)` never decreases (across threads too),
/// and that a [`crate::Notify::wait`] with a deadline on a clock does not return
/// [`crate::Wakeup::TimedOut`] before `now` on that clock has reached the deadline.
pub unsafe trait Clock {
    /// The current time on `clock`, in nanoseconds since its epoch.
    fn now(&self, clock: ClockId) -> u64;

    /// The time in nanoseconds on CPU-time clock `clock`, or `None` if the port cannot measure
    /// it (or the thread does not exist). lintel runs CPU-time timers by sampling it; a port
    /// without CPU accounting keeps the default, and `timer_create` on those clocks answers
    /// `EINVAL`.
    fn cpu_now(&self, clock: CpuClock) -> Option<u64> {
        let _ = clock;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64, ns: i64) -> Timespec {
        Timespec {
            tv_sec: s,
            tv_nsec: ns,
        }
    }

    #[test]
    fn timespec_validation_matches_timespec64_valid() {
        assert_eq!(timespec_to_ns(&ts(0, 0)), Ok(0));
        assert_eq!(timespec_to_ns(&ts(1, 999_999_999)), Ok(1_999_999_999));
        assert_eq!(timespec_to_ns(&ts(-1, 0)), Err(Errno::EINVAL));
        assert_eq!(timespec_to_ns(&ts(0, -1)), Err(Errno::EINVAL));
        assert_eq!(timespec_to_ns(&ts(0, 1_000_000_000)), Err(Errno::EINVAL));
        assert_eq!(timespec_to_ns(&ts(i64::MAX, 0)), Ok(KTIME_MAX));
    }

    #[test]
    fn deadline_saturates() {
        assert_eq!(
            Deadline::after(ClockId::Monotonic, u64::MAX - 1, 5).ns,
            KTIME_MAX
        );
        assert_eq!(Deadline::after(ClockId::Monotonic, 10, 5).ns, 15);
    }
}
