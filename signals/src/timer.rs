//! POSIX interval timers and the interval timers of `setitimer` (Linux's
//! `kernel/time/posix-timers.c` and `itimer.c`): the table, arming, expiry, and the hand-over
//! of a timer's signal at delivery.
//!
//! Linux 6.18's rules, each confirmed by a probe on the host (the C test `tests-c/timers.c`
//! compares them with native musl):
//! - ids are a per-process counter starting at 0, never reused until it wraps; a
//!   `timer_create` that fails on its `sigevent` (`EINVAL`) or on writing the id (`EFAULT`)
//!   still consumes an id; a bad clock or an unreadable `sigevent` does not;
//! - a timer's expiry queues *one* signal (its preallocated `sigqueue`). A periodic timer is
//!   not re-armed while that signal is pending: at delivery it is moved forward past now, and
//!   the periods it skipped become `si_overrun` (and what `timer_getoverrun` reports until the
//!   next delivery);
//! - re-arming (`timer_settime`) or deleting a timer makes a signal it already queued stale:
//!   the signal stays visible in `sigpending` and is dropped when it would be dequeued;
//! - an expiry whose signal is ignored (and not blocked) is not queued: a periodic timer is
//!   parked until the signal stops being ignored, then its signal is queued at once; a one-shot
//!   timer's expiry is lost;
//! - `timer_gettime` of a periodic timer whose signal is pending (or of a `SIGEV_NONE` one)
//!   moves its expiry forward past now first; an expired one-shot timer reads as 0.
//!
//! The `setitimer` timers (`ITIMER_REAL`, `ITIMER_VIRTUAL`, `ITIMER_PROF`) are three reserved
//! slots of the same table. They send `SIGALRM`/`SIGVTALRM`/`SIGPROF` to the process with
//! `SI_KERNEL` and re-arm at expiry (not at delivery), as Linux's `it_real_fn` does: a standard
//! signal coalesces, and no overrun is counted.
//!
//! Nothing here is synchronised or clocked: [`crate::Signals`] holds its lock around every
//! call and passes the current time of the timer's clock in.

use crate::siginfo::{SigInfo, code};
use crate::sigset::Signal;
use lintel_kernel::{ClockId, CpuClock, Errno};

/// How many POSIX timers a process may have at once (Linux bounds them by memory and
/// `RLIMIT_SIGPENDING`; `timer_create` answers `EAGAIN` beyond this). Loom models run on
/// small coroutine stacks: they get a few.
pub const MAX_TIMERS: usize = if cfg!(lintel_loom) { 4 } else { 256 };

/// The reserved slots of the `setitimer` timers, by Linux's `which`.
const ITIMERS: usize = 3;

/// `si_overrun` and `timer_getoverrun` saturate here (`DELAYTIMER_MAX`).
const OVERRUN_MAX: u64 = i32::MAX as u64;

/// The clock a timer runs on.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum TimerClock {
    /// A wall clock (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`; `CLOCK_BOOTTIME` runs as monotonic,
    /// `CLOCK_TAI` as realtime: the same rate, and the timer keeps its clock's offsets).
    Wall(ClockId),
    /// A CPU-time clock.
    Cpu(CpuClock),
}

/// Who a timer's expiry notifies (`sigev_notify`).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Notify {
    /// `SIGEV_NONE`: nobody; the timer is only read with `timer_gettime`.
    None,
    /// `SIGEV_SIGNAL` (and `SIGEV_THREAD`, which the kernel treats alike): the process.
    Process,
    /// `SIGEV_SIGNAL | SIGEV_THREAD_ID`: one thread of the process.
    Thread(i32),
}

/// Which `setitimer` timer (`ITIMER_REAL`, `ITIMER_VIRTUAL`, `ITIMER_PROF`).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Itimer {
    /// Wall-clock time (`SIGALRM`).
    Real = 0,
    /// User CPU time of the process (`SIGVTALRM`).
    Virtual = 1,
    /// CPU time of the process (`SIGPROF`).
    Prof = 2,
}

impl Itimer {
    /// The timer for Linux's `which`, if valid.
    pub fn from_which(which: usize) -> Option<Itimer> {
        match which as i32 {
            0 => Some(Itimer::Real),
            1 => Some(Itimer::Virtual),
            2 => Some(Itimer::Prof),
            _ => None,
        }
    }

    fn signal(self) -> Signal {
        use linux_raw_sys::general as g;
        Signal::of(match self {
            Itimer::Real => g::SIGALRM,
            Itimer::Virtual => g::SIGVTALRM,
            Itimer::Prof => g::SIGPROF,
        })
    }

    /// The clock it runs on.
    pub fn clock(self) -> TimerClock {
        match self {
            Itimer::Real => TimerClock::Wall(ClockId::Monotonic),
            Itimer::Virtual => TimerClock::Cpu(CpuClock::ProcessUser),
            Itimer::Prof => TimerClock::Cpu(CpuClock::Process),
        }
    }
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Status {
    Free,
    /// Created, not running.
    Disarmed,
    /// Running: expires at `expires`.
    Armed,
    /// Expired; its signal is queued (tagged with the timer's slot and `seq`).
    Queued,
    /// Periodic, expired while its signal was ignored: parked until it is not.
    Ignored,
}

#[derive(Copy, Clone, Debug)]
struct Timer {
    status: Status,
    id: i32,
    clock: TimerClock,
    notify: Notify,
    sig: Signal,
    value: u64,
    /// Absolute expiry on `clock`, in ns (Armed; for Queued/Ignored: the expiry that fired).
    expires: u64,
    /// 0: one-shot.
    interval: u64,
    /// Reported by `timer_getoverrun`: the overrun of the last delivered signal.
    overrun_last: i32,
    /// Bumped by every re-arm and delete: a queued signal with another `seq` is stale.
    seq: u32,
}

impl Timer {
    const FREE: Timer = Timer {
        status: Status::Free,
        id: -1,
        clock: TimerClock::Wall(ClockId::Monotonic),
        notify: Notify::None,
        sig: Signal::of(linux_raw_sys::general::SIGALRM),
        value: 0,
        expires: 0,
        interval: 0,
        overrun_last: 0,
        seq: 0,
    };

    /// The periods a periodic timer skipped from its expiry up to `now`, and the first expiry
    /// after `now` (Linux's `hrtimer_forward`).
    fn forward(&self, now: u64) -> (u64, u64) {
        if self.interval == 0 || now < self.expires {
            return (0, self.expires);
        }
        let n = (now - self.expires) / self.interval + 1;
        (
            n,
            self.expires.saturating_add(n.saturating_mul(self.interval)),
        )
    }
}

/// A timer's setting, in nanoseconds: time to the next expiry (0: disarmed) and the period
/// (0: one-shot). `timer_settime`'s `itimerspec` and `setitimer`'s `itimerval`.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct Setting {
    /// Nanoseconds to the next expiry; 0 if disarmed.
    pub value: u64,
    /// The period; 0 for a one-shot timer.
    pub interval: u64,
}

/// The kernel's `sigevent` (64 bytes on x86_64): what `timer_create` reads.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Sigevent {
    /// `sigev_value`.
    pub value: u64,
    /// `sigev_signo`.
    pub signo: i32,
    /// `sigev_notify`.
    pub notify: i32,
    /// `sigev_notify_thread_id` (`_sigev_un._tid`).
    pub tid: i32,
}

/// The size of the kernel's `sigevent`, all of which `timer_create` reads.
pub const SIGEVENT_SIZE: usize = 64;

impl Sigevent {
    /// Decodes the kernel layout.
    pub fn from_bytes(b: &[u8; SIGEVENT_SIZE]) -> Sigevent {
        let i32_at = |o: usize| i32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[..8]);
        Sigevent {
            value: u64::from_ne_bytes(v),
            signo: i32_at(8),
            notify: i32_at(12),
            tid: i32_at(16),
        }
    }

    /// Linux's `good_sigevent`: the notification and signal, `EINVAL` for an unknown
    /// `sigev_notify`, a signal outside 1..=64, or a `SIGEV_THREAD_ID` tid that is not a thread
    /// of this process (`is_ours`).
    pub fn check(&self, is_ours: impl FnOnce(i32) -> bool) -> Result<(Notify, Signal), Errno> {
        use linux_raw_sys::general as g;
        let sig = || {
            u32::try_from(self.signo)
                .ok()
                .filter(|s| (1..=64).contains(s))
                .map(Signal::of)
                .ok_or(Errno::EINVAL)
        };
        match self.notify {
            n if n == (g::SIGEV_SIGNAL | g::SIGEV_THREAD_ID) as i32 => {
                if !is_ours(self.tid) {
                    return Err(Errno::EINVAL);
                }
                Ok((Notify::Thread(self.tid), sig()?))
            }
            n if n == g::SIGEV_SIGNAL as i32 || n == g::SIGEV_THREAD as i32 => {
                Ok((Notify::Process, sig()?))
            }
            n if n == g::SIGEV_NONE as i32 => Ok((Notify::None, Signal::of(g::SIGALRM))),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// A timer that expired: the signal the caller must generate, where, and the tag its queue
/// entry carries ([`Timers::fired`] is told what became of it).
#[derive(Copy, Clone, Debug)]
pub struct Expiry {
    /// The signal.
    pub sig: Signal,
    /// Its siginfo.
    pub info: SigInfo,
    /// The target.
    pub notify: Notify,
    /// The queue entry's tag: non-zero for POSIX timers (see [`Timers::deliver`]).
    pub tag: u32,
    /// The timer's clock.
    pub clock: TimerClock,
    slot: usize,
}

/// What became of an expiry's signal.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Fate {
    /// Queued with its tag.
    Queued,
    /// Discarded as ignored.
    Ignored,
    /// Could not be sent (its thread is gone, or no room in the queue).
    Lost,
}

/// The process's timers: the three `setitimer` timers and up to [`MAX_TIMERS`] POSIX timers.
pub struct Timers {
    slots: [Timer; ITIMERS + MAX_TIMERS],
    /// One past the highest POSIX slot ever used (scans stop there).
    high: usize,
    next_id: i32,
}

impl core::fmt::Debug for Timers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Timers")
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

impl Default for Timers {
    fn default() -> Self {
        Self::new()
    }
}

impl Timers {
    /// No timers.
    pub const fn new() -> Self {
        Timers {
            slots: [Timer::FREE; ITIMERS + MAX_TIMERS],
            high: ITIMERS,
            next_id: 0,
        }
    }

    fn find(&self, id: i32) -> Result<usize, Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        (ITIMERS..self.high)
            .find(|&i| self.slots[i].status != Status::Free && self.slots[i].id == id)
            .ok_or(Errno::EINVAL)
    }

    /// Takes the next timer id (Linux's `posix_timer_add`: a counter that skips ids in use and
    /// wraps to 0), for a timer [`insert`](Self::insert)ed next; `EAGAIN` if the table is full.
    pub fn take_id(&mut self) -> Result<i32, Errno> {
        if !self.slots[ITIMERS..]
            .iter()
            .any(|t| t.status == Status::Free)
        {
            return Err(Errno::EAGAIN);
        }
        loop {
            let id = self.next_id;
            self.next_id = if id == i32::MAX { 0 } else { id + 1 };
            if self.find(id).is_err() {
                return Ok(id);
            }
        }
    }

    /// Creates timer `id` (from [`take_id`](Self::take_id)), disarmed. `value` is the
    /// `sigev_value` its signals carry.
    pub fn insert(&mut self, id: i32, clock: TimerClock, notify: Notify, sig: Signal, value: u64) {
        let Some(i) = (ITIMERS..self.slots.len()).find(|&i| self.slots[i].status == Status::Free)
        else {
            return;
        };
        self.high = self.high.max(i + 1);
        let seq = self.slots[i].seq.wrapping_add(1);
        self.slots[i] = Timer {
            status: Status::Disarmed,
            id,
            clock,
            notify,
            sig,
            value,
            seq,
            ..Timer::FREE
        };
    }

    /// The clock of timer `id` (`EINVAL` if there is no such timer).
    pub fn clock_of(&self, id: i32) -> Result<TimerClock, Errno> {
        self.find(id).map(|i| self.slots[i].clock)
    }

    /// `timer_delete`: a signal the timer queued becomes stale.
    pub fn delete(&mut self, id: i32) -> Result<(), Errno> {
        let i = self.find(id)?;
        let seq = self.slots[i].seq.wrapping_add(1);
        self.slots[i] = Timer { seq, ..Timer::FREE };
        Ok(())
    }

    fn get(&self, i: usize, now: u64) -> Setting {
        let t = &self.slots[i];
        let value = match t.status {
            Status::Free | Status::Disarmed => 0,
            // An expired one-shot SIGEV_NONE timer reads as 0; a running timer whose expiry
            // is due but not yet handled reads as 1 ns, as Linux's `common_timer_get`.
            Status::Armed if t.interval == 0 || t.notify != Notify::None => {
                if t.expires > now {
                    t.expires - now
                } else if t.notify == Notify::None {
                    0
                } else {
                    1
                }
            }
            // Periodic, its signal pending or parked (or SIGEV_NONE): moved past now.
            Status::Armed | Status::Queued | Status::Ignored if t.interval != 0 => {
                t.forward(now).1.saturating_sub(now)
            }
            Status::Armed | Status::Queued | Status::Ignored => 0,
        };
        Setting {
            value,
            interval: t.interval,
        }
    }

    /// `timer_gettime`: time to the next expiry (measured at `now` on the timer's clock) and
    /// the period.
    pub fn gettime(&self, id: i32, now: u64) -> Result<Setting, Errno> {
        let i = self.find(id)?;
        Ok(self.get(i, now))
    }

    /// `timer_getoverrun`.
    pub fn getoverrun(&self, id: i32) -> Result<i32, Errno> {
        self.find(id).map(|i| self.slots[i].overrun_last)
    }

    fn set(&mut self, i: usize, absolute: bool, new: Setting, now: u64) -> Setting {
        let old = self.get(i, now);
        let t = &mut self.slots[i];
        t.seq = t.seq.wrapping_add(1);
        t.overrun_last = 0;
        t.interval = new.interval;
        if new.value == 0 {
            t.status = Status::Disarmed;
        } else {
            t.status = Status::Armed;
            t.expires = if absolute {
                new.value
            } else {
                now.saturating_add(new.value)
            };
        }
        old
    }

    /// `timer_settime`: arms (value non-zero: relative to `now`, or absolute) or disarms timer
    /// `id`; returns the old setting. A signal the timer had queued becomes stale.
    pub fn settime(
        &mut self,
        id: i32,
        absolute: bool,
        new: Setting,
        now: u64,
    ) -> Result<Setting, Errno> {
        let i = self.find(id)?;
        Ok(self.set(i, absolute, new, now))
    }

    /// `getitimer`.
    pub fn getitimer(&self, which: Itimer, now: u64) -> Setting {
        let i = which as usize;
        if self.slots[i].status == Status::Free {
            return Setting::default();
        }
        self.get(i, now)
    }

    /// `setitimer`: returns the old setting.
    pub fn setitimer(&mut self, which: Itimer, new: Setting, now: u64) -> Setting {
        let i = which as usize;
        if self.slots[i].status == Status::Free {
            self.slots[i] = Timer {
                status: Status::Disarmed,
                id: -1,
                clock: which.clock(),
                notify: Notify::Process,
                sig: which.signal(),
                ..Timer::FREE
            };
        }
        self.set(i, false, new, now)
    }

    /// The earliest expiry among running timers that notify someone on wall clock `clock`.
    pub fn next_expiry(&self, clock: ClockId) -> Option<u64> {
        self.slots[..self.high]
            .iter()
            .filter(|t| {
                t.status == Status::Armed
                    && t.notify != Notify::None
                    && t.clock == TimerClock::Wall(clock)
            })
            .map(|t| t.expires)
            .min()
    }

    /// Whether a running timer that notifies someone is on a CPU-time clock (then the caller
    /// must sample those clocks: no deadline can be waited for on them).
    pub fn cpu_timers_running(&self) -> bool {
        self.slots[..self.high].iter().any(|t| {
            t.status == Status::Armed
                && t.notify != Notify::None
                && matches!(t.clock, TimerClock::Cpu(_))
        })
    }

    /// The next timer that is due by `now` (the time on a clock, `None` if unknown), as an
    /// [`Expiry`] the caller must send and then report with [`fired`](Self::fired). Call until
    /// `None`.
    pub fn next_due(&mut self, now: &mut dyn FnMut(TimerClock) -> Option<u64>) -> Option<Expiry> {
        for i in 0..self.high {
            let t = self.slots[i];
            if t.status != Status::Armed || t.notify == Notify::None {
                continue;
            }
            let Some(now) = now(t.clock) else { continue };
            if t.expires > now {
                continue;
            }
            if i < ITIMERS {
                // setitimer: SI_KERNEL, re-armed now (a periodic one forwarded past now).
                let (_, next) = t.forward(now);
                let t = &mut self.slots[i];
                if t.interval == 0 {
                    t.status = Status::Disarmed;
                } else {
                    t.expires = next;
                }
                return Some(Expiry {
                    sig: t.sig,
                    info: SigInfo::kill(t.sig, code::SI_KERNEL, 0, 0),
                    notify: Notify::Process,
                    tag: 0,
                    clock: t.clock,
                    slot: i,
                });
            }
            self.slots[i].status = Status::Queued;
            return Some(Expiry {
                sig: t.sig,
                info: SigInfo::timer(t.sig, t.id, 0, t.value),
                notify: t.notify,
                tag: tag(i, t.seq),
                clock: t.clock,
                slot: i,
            });
        }
        None
    }

    /// What became of `e`'s signal (`next_due` assumed `Queued`).
    pub fn fired(&mut self, e: &Expiry, fate: Fate, now: u64) {
        if e.tag == 0 {
            return;
        }
        let t = &mut self.slots[e.slot];
        match fate {
            Fate::Queued => {}
            // A periodic timer waits for the signal to be wanted again; a one-shot expiry is
            // lost.
            Fate::Ignored if t.interval != 0 => t.status = Status::Ignored,
            Fate::Ignored => t.status = Status::Disarmed,
            // Not sent: the expiry is lost (a periodic timer runs on, one period later).
            Fate::Lost if t.interval != 0 => {
                t.status = Status::Armed;
                t.expires = t.forward(now).1;
            }
            Fate::Lost => t.status = Status::Disarmed,
        }
    }

    /// At dequeue of a signal with tag `tag`: `false` if it is stale (the timer was re-armed
    /// or deleted since; the signal is dropped). Otherwise sets its `si_overrun` and re-arms
    /// a periodic timer past `now` (the time on its clock, from `now_of`), counting the periods
    /// it skipped as the overrun. Returns whether it is valid and whether a timer was re-armed.
    pub fn deliver(
        &mut self,
        tag: u32,
        info: &mut SigInfo,
        now_of: &mut dyn FnMut(TimerClock) -> Option<u64>,
    ) -> (bool, bool) {
        let Some((i, seq)) = untag(tag) else {
            return (true, false);
        };
        let Some(t) = self.slots.get_mut(i) else {
            return (false, false);
        };
        if t.status != Status::Queued || t.seq & TAG_SEQ_MASK != seq {
            return (false, false);
        }
        if t.interval == 0 {
            t.status = Status::Disarmed;
            info.set_overrun(0);
            return (true, false);
        }
        let now = now_of(t.clock).unwrap_or(t.expires);
        let (n, next) = t.forward(now);
        let overrun = n.saturating_sub(1).min(OVERRUN_MAX) as i32;
        t.overrun_last = overrun;
        t.status = Status::Armed;
        t.expires = next;
        info.set_overrun(overrun);
        (true, true)
    }

    /// Signals `set` stopped being ignored: the periodic timers parked on them expire again
    /// at once (the caller sends what [`next_due`](Self::next_due) then returns).
    /// Returns whether any was.
    pub fn unignore(&mut self, set: crate::SigSet) -> bool {
        let mut any = false;
        for t in &mut self.slots[..self.high] {
            if t.status == Status::Ignored && set.contains(t.sig) {
                t.status = Status::Armed;
                any = true;
            }
        }
        any
    }

    /// The queued signal with tag `tag` was flushed (`SIG_IGN`, a stop or continue signal, its
    /// thread's exit): a periodic timer whose signal is in `ignored` is parked, as at an
    /// ignored expiry; any other stops.
    pub fn flushed(&mut self, tag: u32, ignored: crate::SigSet) {
        let Some((i, seq)) = untag(tag) else { return };
        let Some(t) = self.slots.get_mut(i) else {
            return;
        };
        if t.status == Status::Queued && t.seq & TAG_SEQ_MASK == seq {
            t.status = if t.interval != 0 && ignored.contains(t.sig) {
                Status::Ignored
            } else {
                Status::Disarmed
            };
        }
    }

    /// Every timer gone (a fork child has none; `execve` deletes the POSIX timers, and lintel
    /// hands the real-time itimer to the port first).
    pub fn clear(&mut self) {
        for t in &mut self.slots {
            *t = Timer {
                seq: t.seq.wrapping_add(1),
                ..Timer::FREE
            };
        }
        self.high = ITIMERS;
        self.next_id = 0;
    }
}

/// The low bits of a tag: the slot plus one (`ITIMERS + MAX_TIMERS` < 2^9).
const TAG_SLOT_BITS: u32 = 9;
const _: () = assert!(ITIMERS + MAX_TIMERS < 1 << TAG_SLOT_BITS);

/// The sequence bits a tag keeps.
const TAG_SEQ_MASK: u32 = u32::MAX >> TAG_SLOT_BITS;

/// A queue entry's tag for slot `i` at sequence `seq` (never 0): the slot and the low bits of
/// the timer's arming sequence (a stale signal would need 2^23 re-arms while queued to pass).
fn tag(i: usize, seq: u32) -> u32 {
    ((seq & TAG_SEQ_MASK) << TAG_SLOT_BITS) | (i as u32 + 1)
}

/// The slot and sequence bits of a tag, `None` for 0 (not a timer's).
fn untag(tag: u32) -> Option<(usize, u32)> {
    let slot = (tag & ((1 << TAG_SLOT_BITS) - 1)) as usize;
    (slot != 0).then(|| (slot - 1, tag >> TAG_SLOT_BITS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigSet;

    const MS: u64 = 1_000_000;

    fn mono() -> TimerClock {
        TimerClock::Wall(ClockId::Monotonic)
    }

    fn new_timer(t: &mut Timers, sig: u32) -> i32 {
        let id = t.take_id().unwrap();
        t.insert(id, mono(), Notify::Process, Signal::of(sig), 7);
        id
    }

    #[test]
    fn ids_count_up_and_skip_ids_in_use() {
        let mut t = Timers::new();
        assert_eq!(new_timer(&mut t, 14), 0);
        assert_eq!(new_timer(&mut t, 14), 1);
        // A failed create still consumed its id.
        assert_eq!(t.take_id(), Ok(2));
        assert_eq!(t.delete(1), Ok(()));
        assert_eq!(t.delete(1), Err(Errno::EINVAL));
        assert_eq!(new_timer(&mut t, 14), 3);
        t.next_id = i32::MAX;
        assert_eq!(t.take_id(), Ok(i32::MAX));
        // Wraps to 0, which is in use: skipped.
        assert_eq!(t.take_id(), Ok(1));
        assert_eq!(t.gettime(-1, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn periodic_overrun_counted_at_delivery() {
        let mut t = Timers::new();
        let id = new_timer(&mut t, 40);
        let set = Setting {
            value: 10 * MS,
            interval: 10 * MS,
        };
        assert_eq!(t.settime(id, false, set, 0), Ok(Setting::default()));
        assert_eq!(t.next_expiry(ClockId::Monotonic), Some(10 * MS));
        assert!(t.next_due(&mut |_| Some(9 * MS)).is_none());
        let e = t.next_due(&mut |_| Some(10 * MS)).unwrap();
        t.fired(&e, Fate::Queued, 10 * MS);
        // Pending: not running, gettime forwards.
        assert_eq!(t.next_expiry(ClockId::Monotonic), None);
        assert_eq!(t.gettime(id, 25 * MS).unwrap().value, 5 * MS);
        let mut info = e.info;
        // Delivered at 105 ms: expiries at 20..=100 were missed.
        assert_eq!(
            t.deliver(e.tag, &mut info, &mut |_| Some(105 * MS)),
            (true, true)
        );
        assert_eq!(info.overrun(), 9);
        assert_eq!(t.getoverrun(id), Ok(9));
        assert_eq!(t.next_expiry(ClockId::Monotonic), Some(110 * MS));
        // Re-arming resets the overrun and makes a queued signal stale.
        let e = t.next_due(&mut |_| Some(110 * MS)).unwrap();
        t.settime(id, false, set, 111 * MS).unwrap();
        assert_eq!(t.getoverrun(id), Ok(0));
        assert!(!t.deliver(e.tag, &mut info, &mut |_| Some(112 * MS)).0);
    }

    #[test]
    fn deleted_timer_signal_is_stale_and_one_shot_reads_zero() {
        let mut t = Timers::new();
        let id = new_timer(&mut t, 40);
        let one = Setting {
            value: MS,
            interval: 0,
        };
        t.settime(id, false, one, 0).unwrap();
        assert_eq!(t.gettime(id, 0).unwrap(), one);
        let e = t.next_due(&mut |_| Some(2 * MS)).unwrap();
        t.fired(&e, Fate::Queued, 2 * MS);
        assert_eq!(t.gettime(id, 3 * MS).unwrap(), Setting::default());
        t.delete(id).unwrap();
        let mut info = e.info;
        assert_eq!(
            t.deliver(e.tag, &mut info, &mut |_| Some(0)),
            (false, false)
        );
        // A new timer in the same slot does not revive it.
        let id2 = new_timer(&mut t, 40);
        assert_ne!(id2, id);
        assert_eq!(
            t.deliver(e.tag, &mut info, &mut |_| Some(0)),
            (false, false)
        );
    }

    #[test]
    fn ignored_periodic_parks_and_refires_on_unignore() {
        let mut t = Timers::new();
        let id = new_timer(&mut t, 10);
        let set = Setting {
            value: 10 * MS,
            interval: 10 * MS,
        };
        t.settime(id, false, set, 0).unwrap();
        let e = t.next_due(&mut |_| Some(10 * MS)).unwrap();
        t.fired(&e, Fate::Ignored, 10 * MS);
        assert!(t.next_due(&mut |_| Some(50 * MS)).is_none());
        t.unignore(Signal::of(10).set());
        let e = t.next_due(&mut |_| Some(55 * MS)).unwrap();
        t.fired(&e, Fate::Queued, 55 * MS);
        let mut info = e.info;
        assert!(t.deliver(e.tag, &mut info, &mut |_| Some(55 * MS)).0);
        assert_eq!(info.overrun(), 4);
        t.delete(id).unwrap();
        // A one-shot expiry that is ignored is lost.
        let id = new_timer(&mut t, 12);
        t.settime(
            id,
            false,
            Setting {
                value: MS,
                interval: 0,
            },
            0,
        )
        .unwrap();
        let e = t.next_due(&mut |_| Some(MS)).unwrap();
        t.fired(&e, Fate::Ignored, MS);
        t.unignore(SigSet::FULL);
        assert!(t.next_due(&mut |_| Some(100 * MS)).is_none());
    }

    #[test]
    fn itimer_rearms_at_expiry() {
        let mut t = Timers::new();
        let old = t.setitimer(
            Itimer::Real,
            Setting {
                value: 5 * MS,
                interval: 2 * MS,
            },
            0,
        );
        assert_eq!(old, Setting::default());
        let e = t.next_due(&mut |_| Some(10 * MS)).unwrap();
        assert_eq!(e.tag, 0);
        assert_eq!(e.info.code, code::SI_KERNEL);
        // Forwarded past 10 ms: 5, 7, 9 → 11.
        assert_eq!(t.next_expiry(ClockId::Monotonic), Some(11 * MS));
        assert_eq!(t.getitimer(Itimer::Real, 10 * MS).value, MS);
        assert_eq!(t.getitimer(Itimer::Prof, 10 * MS), Setting::default());
    }
}
