//! POSIX timers and interval timers: `timer_create`, `timer_settime`, `timer_gettime`,
//! `timer_getoverrun`, `timer_delete`, `setitimer`, `getitimer` and `alarm`, emulated over
//! the signal layer's timer table ([`lintel_signals::timer`]) and one service thread.
//!
//! The port needs no timer primitive: a *timer service* thread that lintel spawns (through
//! [`Threads::spawn`](lintel_kernel::Threads::spawn), on a stack the program's `TimerService`
//! static provides) waits on its own notification with the earliest expiry as the deadline
//! ([`Notify::wait`](lintel_kernel::Notify::wait)), generates the signals of the timers that are
//! due, and waits again. Arming a timer, a periodic timer re-armed at delivery, and a parked
//! timer whose signal stops being ignored wake it ([`Notify::signal`]). CPU-time timers are
//! sampled (every [`CPU_SAMPLE_NS`]) through [`Clock::cpu_now`]. The service thread takes no
//! part in signal delivery (it is never marked live), blocks every signal from outside, and
//! exists only in a process that armed a timer; a fork child starts without it, as without
//! timers.
//!
//! Host signals are never used for timers: Linux's own timers would lose the difference
//! between `SIGEV_SIGNAL` and `SIGEV_THREAD_ID`, drop overruns behind open host masks, and may
//! use signals 32–34, which musl reserves (`docs/signals.md`).
//!
//! [`Notify::signal`]: lintel_kernel::Notify::signal
//! [`Clock::cpu_now`]: lintel_kernel::Clock::cpu_now

use crate::Lintel;
use crate::signal::Walk;
use core::cell::UnsafeCell;
use core::mem::{MaybeUninit, size_of};
use core::sync::atomic::{AtomicU8, Ordering};
use lintel_kernel::abi::{KTIME_MAX, NSEC_PER_SEC};
use lintel_kernel::{ClockId, CpuClock, Deadline, Errno, Kernel, SpawnSpec};
use lintel_signals::timer::{Itimer, SIGEVENT_SIZE, Setting, Sigevent, TimerClock};
use linux_raw_sys::general as nr;

/// How often CPU-time timers are sampled while one runs (Linux checks them at each tick:
/// 4 ms at `HZ=250`).
pub const CPU_SAMPLE_NS: u64 = 1_000_000;

/// The timer service thread's stack size.
const STACK: usize = 64 * 1024;

const IDLE: u8 = 0;
const STARTING: u8 = 1;
const RUNNING: u8 = 2;

/// The service thread's start: the dispatcher (a `Lintel<'static, K>`) and, once it runs, its
/// own handle, as words (the types are the port's).
const WORDS: usize = 16;

/// What one process needs for timers: the service thread's stack and state. A program keeps
/// one in a `static` and attaches it with [`Lintel::with_timers`].
#[repr(C, align(16))]
pub struct TimerService {
    stack: UnsafeCell<[MaybeUninit<u8>; STACK]>,
    state: AtomicU8,
    /// The `Lintel` copy the thread runs with (written by the one thread that moved `state` to
    /// `STARTING`, before the spawn; read by the new thread).
    start: UnsafeCell<MaybeUninit<[usize; WORDS]>>,
    /// The thread's handle (written by the thread before it sets `RUNNING`, Release; read after
    /// an Acquire load of `RUNNING`).
    thread: UnsafeCell<MaybeUninit<[usize; WORDS]>>,
}

// SAFETY: the cells are written once each under the `state` protocol above (one writer, with
// a Release/Acquire edge to every reader); the stack belongs to the service thread alone.
unsafe impl Sync for TimerService {}

impl core::fmt::Debug for TimerService {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TimerService")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for TimerService {
    fn default() -> Self {
        Self::new()
    }
}

impl TimerService {
    /// No service thread yet (it starts with the first armed timer).
    pub const fn new() -> Self {
        TimerService {
            stack: UnsafeCell::new([MaybeUninit::uninit(); STACK]),
            state: AtomicU8::new(IDLE),
            start: UnsafeCell::new(MaybeUninit::uninit()),
            thread: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// In a fork child: the parent's service thread does not exist here.
    pub(crate) fn forget(&self) {
        self.state.store(IDLE, Ordering::Relaxed);
    }
}

/// A timespec in user memory as Linux's `timespec64_valid` + `timespec64_to_ktime` take it.
fn ts_ns(b: &[u8]) -> Result<u64, Errno> {
    let sec = i64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let nsec = i64::from_ne_bytes(b[8..16].try_into().unwrap_or([0; 8]));
    lintel_kernel::time::timespec_to_ns(&lintel_kernel::abi::Timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    })
}

fn ns_ts(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((ns / NSEC_PER_SEC as u64) as i64).to_ne_bytes());
    b[8..].copy_from_slice(&((ns % NSEC_PER_SEC as u64) as i64).to_ne_bytes());
    b
}

/// A `timeval` as `setitimer` takes it: `EINVAL` unless `tv_sec >= 0` and `tv_usec` is in
/// `0..1_000_000`.
fn tv_ns(b: &[u8]) -> Result<u64, Errno> {
    let sec = i64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let usec = i64::from_ne_bytes(b[8..16].try_into().unwrap_or([0; 8]));
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    if sec as u64 >= KTIME_MAX / NSEC_PER_SEC as u64 {
        return Ok(KTIME_MAX);
    }
    Ok(sec as u64 * NSEC_PER_SEC as u64 + usec as u64 * 1000)
}

/// Linux's `ns_to_kernel_old_timeval` (microseconds truncated).
fn ns_tv(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((ns / NSEC_PER_SEC as u64) as i64).to_ne_bytes());
    b[8..].copy_from_slice(&((ns % NSEC_PER_SEC as u64 / 1000) as i64).to_ne_bytes());
    b
}

/// What `timer_create` does with a clock id (Linux's `clockid_to_kclock` and the clock's
/// `timer_create`).
enum ClockChoice {
    /// A clock timers run on.
    Timer(TimerClock),
    /// A valid clock without timers (`EOPNOTSUPP` before an id is taken).
    NoTimers,
    /// The alarm clocks: an id is taken, then `EOPNOTSUPP` (no wake-up alarm device, as on
    /// these VMs' Linux).
    Alarm,
    /// `EINVAL`, before an id is taken.
    Invalid,
    /// A CPU-time clock of a task that does not exist or is not ours: `EINVAL` after an id is
    /// taken.
    NoTask,
}

impl<'a, K: Kernel> Lintel<'a, K> {
    /// The same dispatcher with the process's timer service: the timer calls are emulated
    /// (without it, they go to the port). Requires the signal layer
    /// ([`with_signals`](Self::with_signals)) and a dispatcher whose references live for the
    /// whole process, since the service thread runs with a copy of it.
    pub fn with_timers(mut self, timers: &'static TimerService) -> Self
    where
        'a: 'static,
    {
        if self.signals.is_some() {
            self.timers = Some(timers);
        }
        self
    }

    fn clock_choice(&self, id: i32) -> ClockChoice {
        use ClockChoice::*;
        if id < 0 {
            // A CPU clock: pid or tid inverted in the high bits, bit 2 for a thread, the low
            // two bits the kind (3: a dynamic clock named by a file descriptor, which lintel
            // has none of). Linux takes an id before it looks at any of it.
            let who = !(id >> 3);
            let kind = id & 3;
            if kind == 3 {
                return NoTask;
            }
            let thread = id & 4 != 0;
            let me = self.kernel.tid(self.kernel.current());
            let clock = if thread {
                let tid = if who == 0 { me } else { who };
                CpuClock::Thread(tid)
            } else if who == 0 || who == self.pid() {
                if kind == 1 {
                    CpuClock::ProcessUser
                } else {
                    CpuClock::Process
                }
            } else {
                return NoTask;
            };
            return if self.kernel.cpu_now(clock).is_some() {
                Timer(TimerClock::Cpu(clock))
            } else {
                NoTask
            };
        }
        match id as u32 {
            nr::CLOCK_REALTIME | nr::CLOCK_TAI => Timer(TimerClock::Wall(ClockId::Realtime)),
            nr::CLOCK_MONOTONIC | nr::CLOCK_BOOTTIME => Timer(TimerClock::Wall(ClockId::Monotonic)),
            nr::CLOCK_PROCESS_CPUTIME_ID => self.clock_choice((!0 << 3) | 2),
            nr::CLOCK_THREAD_CPUTIME_ID => self.clock_choice((!0 << 3) | 4 | 2),
            nr::CLOCK_MONOTONIC_RAW | nr::CLOCK_REALTIME_COARSE | nr::CLOCK_MONOTONIC_COARSE => {
                NoTimers
            }
            nr::CLOCK_REALTIME_ALARM | nr::CLOCK_BOOTTIME_ALARM => Alarm,
            _ => Invalid,
        }
    }

    /// `clock_gettime` on a CPU-time clock of this process or one of its threads
    /// (`CLOCK_PROCESS_CPUTIME_ID`, `CLOCK_THREAD_CPUTIME_ID`, `pthread_getcpuclockid`'s ids),
    /// from [`Clock::cpu_now`](lintel_kernel::Clock::cpu_now); `None` for any other clock, or
    /// one the port cannot measure (the call then goes to the port).
    pub(crate) fn clock_gettime_cpu(&self, id: i32, ts: usize) -> Option<isize> {
        let ClockChoice::Timer(TimerClock::Cpu(c)) = self.clock_choice(id) else {
            return None;
        };
        let ns = self.kernel.cpu_now(c)?;
        // SAFETY: the program's timespec pointer, written as Linux would.
        Some(match unsafe { self.kernel.write(ts, &ns_ts(ns)) } {
            Ok(()) => 0,
            Err(e) => e.to_ret(),
        })
    }

    /// The time on `clock` now, in nanoseconds.
    pub(crate) fn timer_now(&self, clock: TimerClock) -> Option<u64> {
        match clock {
            TimerClock::Wall(c) => Some(self.kernel.now(c)),
            TimerClock::Cpu(c) => self.kernel.cpu_now(c),
        }
    }

    /// The timer calls; `None` if this dispatcher has no timer service (the caller passes the
    /// call to the port).
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    pub(crate) unsafe fn timer_call(&self, n: usize, a: [usize; 6]) -> Option<isize> {
        self.timers?;
        let s = self.signals?;
        self.activate();
        let k = self.kernel;
        let r = match n as u32 {
            nr::__NR_timer_create => {
                let mut ev = [0u8; SIGEVENT_SIZE];
                let event = if a[1] != 0 {
                    match k.read(a[1], &mut ev) {
                        Ok(()) => Some(Sigevent::from_bytes(&ev)),
                        Err(e) => return Some(e.to_ret()),
                    }
                } else {
                    None
                };
                let (clock, late) = match self.clock_choice(a[0] as i32) {
                    ClockChoice::Invalid => return Some(Errno::EINVAL.to_ret()),
                    ClockChoice::NoTimers => return Some(Errno::EOPNOTSUPP.to_ret()),
                    ClockChoice::Timer(c) => (c, None),
                    ClockChoice::Alarm => {
                        (TimerClock::Wall(ClockId::Realtime), Some(Errno::EOPNOTSUPP))
                    }
                    ClockChoice::NoTask => {
                        (TimerClock::Wall(ClockId::Monotonic), Some(Errno::EINVAL))
                    }
                };
                s.timer_create(|tid| tid > 0 && k.tid_alive(tid), clock, event)
                    .and_then(|id| {
                        // SAFETY: the program's output pointer (a `timer_t`, an int to the kernel).
                        let w = unsafe { k.write(a[2], &id.to_ne_bytes()) };
                        match w.err().or(late) {
                            Some(e) => {
                                let _ = s.timer_delete(id);
                                Err(e)
                            }
                            None => Ok(0),
                        }
                    })
            }
            nr::__NR_timer_settime => {
                // SAFETY: the program's pointers.
                unsafe { self.timer_settime(a[0] as i32, a[1] as i32, a[2], a[3]) }
            }
            nr::__NR_timer_gettime => {
                let id = a[0] as i32;
                s.timer_clock(id).and_then(|c| {
                    let now = self.timer_now(c).unwrap_or(0);
                    let cur = s.timer_gettime(id, now)?;
                    let mut b = [0u8; 32];
                    b[..16].copy_from_slice(&ns_ts(cur.interval));
                    b[16..].copy_from_slice(&ns_ts(cur.value));
                    // SAFETY: the program's output pointer (an itimerspec).
                    unsafe { k.write(a[1], &b) }.map(|()| 0)
                })
            }
            nr::__NR_timer_getoverrun => s.timer_getoverrun(a[0] as i32).map(|v| v as isize),
            nr::__NR_timer_delete => s.timer_delete(a[0] as i32).map(|()| 0),
            nr::__NR_setitimer => {
                // SAFETY: the program's pointers.
                unsafe { self.setitimer(a[0], a[1], a[2]) }
            }
            nr::__NR_getitimer => match Itimer::from_which(a[0]) {
                None => Err(Errno::EINVAL),
                Some(w) => {
                    let cur = self.getitimer(w);
                    let mut b = [0u8; 32];
                    b[..16].copy_from_slice(&ns_tv(cur.interval));
                    b[16..].copy_from_slice(&ns_tv(cur.value));
                    // SAFETY: the program's output pointer (an itimerval).
                    unsafe { k.write(a[1], &b) }.map(|()| 0)
                }
            },
            nr::__NR_alarm => Ok(self.alarm(a[0] as u32)),
            _ => return None,
        };
        self.poke_timers();
        Some(r.unwrap_or_else(|e| e.to_ret()))
    }

    /// `timer_settime(id, flags, new, old)`, in Linux's order of checks.
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn timer_settime(
        &self,
        id: i32,
        flags: i32,
        new: usize,
        old: usize,
    ) -> Result<isize, Errno> {
        let (s, k) = (self.signals.ok_or(Errno::ENOSYS)?, self.kernel);
        if new == 0 {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; 32];
        k.read(new, &mut b)?;
        let interval = ts_ns(&b[..16])?;
        let value = ts_ns(&b[16..])?;
        let clock = s.timer_clock(id)?;
        let now = self.timer_now(clock).ok_or(Errno::EINVAL)?;
        let absolute = flags as u32 & nr::TIMER_ABSTIME != 0;
        let prev = s.timer_settime(id, absolute, Setting { value, interval }, now)?;
        if old != 0 {
            let mut b = [0u8; 32];
            b[..16].copy_from_slice(&ns_ts(prev.interval));
            b[16..].copy_from_slice(&ns_ts(prev.value));
            // SAFETY: the program's output pointer (an itimerspec), written after the new
            // setting took effect, as Linux does.
            unsafe { k.write(old, &b) }?;
        }
        Ok(0)
    }

    fn getitimer(&self, which: Itimer) -> Setting {
        self.signals.map_or(Setting::default(), |s| {
            s.getitimer(which, self.getitimer_now(which))
        })
    }

    /// `setitimer(which, new, old)`: a NULL `new` disarms (Linux accepts it, with a warning).
    ///
    /// # Safety
    /// As [`Lintel::syscall`].
    unsafe fn setitimer(&self, which: usize, new: usize, old: usize) -> Result<isize, Errno> {
        let (s, k) = (self.signals.ok_or(Errno::ENOSYS)?, self.kernel);
        let mut set = Setting::default();
        if new != 0 {
            let mut b = [0u8; 32];
            k.read(new, &mut b)?;
            set.interval = tv_ns(&b[..16])?;
            set.value = tv_ns(&b[16..])?;
        }
        let which = Itimer::from_which(which).ok_or(Errno::EINVAL)?;
        let now = self.getitimer_now(which);
        let prev = s.setitimer(which, set, now);
        if old != 0 {
            let mut b = [0u8; 32];
            b[..16].copy_from_slice(&ns_tv(prev.interval));
            b[16..].copy_from_slice(&ns_tv(prev.value));
            // SAFETY: the program's output pointer (an itimerval), after the new setting.
            unsafe { k.write(old, &b) }?;
        }
        Ok(0)
    }

    /// The time now on interval timer `which`'s clock.
    fn getitimer_now(&self, which: Itimer) -> u64 {
        self.timer_now(which.clock()).unwrap_or(0)
    }

    /// `alarm(seconds)` (Linux's `alarm_setitimer`): `ITIMER_REAL` one-shot (not capped on 64-bit)
    /// seconds; returns the old remaining time in whole seconds, rounded up from half a second
    /// and never 0 while one was pending.
    fn alarm(&self, seconds: u32) -> isize {
        let Some(s) = self.signals else { return 0 };
        let secs = u64::from(seconds);
        let now = self.getitimer_now(Itimer::Real);
        let prev = s.setitimer(
            Itimer::Real,
            Setting {
                value: secs * NSEC_PER_SEC as u64,
                interval: 0,
            },
            now,
        );
        let sec = prev.value / NSEC_PER_SEC as u64;
        let usec = prev.value % NSEC_PER_SEC as u64 / 1000;
        (sec + u64::from((sec == 0 && usec != 0) || usec >= 500_000)) as isize
    }

    /// Generates the signals of every timer that is due, and notifies their threads.
    fn fire_due(&self) {
        let Some(s) = self.signals else { return };
        let pid = self.pid();
        loop {
            let mut wake = [0i32; 16];
            let (n, more) = s.fire_timers(
                &Walk(self.kernel),
                pid,
                &mut |c| self.timer_now(c),
                &mut wake,
            );
            for &tid in &wake[..n] {
                self.notify(tid);
            }
            if !more {
                break;
            }
        }
        self.signalfd_sync();
    }

    /// After a timer's next expiry may have moved earlier (armed, re-armed at delivery, or
    /// un-parked by a sigaction): what is already due fires now, on the calling thread, as
    /// Linux's would in the same call; then the timer service is woken (started first if it
    /// does not run yet) to wait for the new earliest expiry.
    pub(crate) fn poke_timers(&self) {
        let (Some(ts), Some(s)) = (self.timers, self.signals) else {
            return;
        };
        if !s.take_timer_change() {
            return;
        }
        self.fire_due();
        match ts.state.load(Ordering::Acquire) {
            RUNNING => {
                // SAFETY: RUNNING (Acquire) follows the thread's Release store of its handle.
                let t = unsafe { read_words::<K::Thread>(&ts.thread) };
                self.kernel.signal(t);
            }
            // Only once there is something to wait for.
            IDLE if s.next_timer_expiry(ClockId::Monotonic).is_some()
                || s.next_timer_expiry(ClockId::Realtime).is_some()
                || s.cpu_timers_running() =>
            {
                self.start_service(ts)
            }
            _ => {}
        }
    }

    /// Before `execve` (`undo` false): the armed interval timers are set on the port too, so
    /// the new program gets them (Linux keeps all three across exec); returns whether any was.
    /// After a failed exec (`undo`): the port's copies are disarmed (lintel's kept running).
    pub(crate) fn export_itimers(&self, undo: bool) -> bool {
        let (Some(_), Some(s)) = (self.timers, self.signals) else {
            return false;
        };
        let mut any = false;
        for which in [Itimer::Real, Itimer::Virtual, Itimer::Prof] {
            let cur = if undo {
                Setting::default()
            } else {
                s.getitimer(which, self.getitimer_now(which))
            };
            if !undo && cur.value == 0 {
                continue;
            }
            any = true;
            let us = |ns: u64| [ns / NSEC_PER_SEC as u64, ns % NSEC_PER_SEC as u64 / 1000];
            let [is, iu] = us(cur.interval);
            // A timer due in under a microsecond is still armed.
            let [vs, vu] = us(if undo { 0 } else { cur.value.max(1000) });
            let val = [is, iu, vs, vu];
            // SAFETY: setitimer(which) from our own buffer.
            let _ = unsafe {
                self.kernel.passthrough(
                    nr::__NR_setitimer as usize,
                    [which as usize, val.as_ptr() as usize, 0, 0, 0, 0],
                )
            };
        }
        any
    }

    /// At activation: the interval timers the port runs for this process (set before the
    /// `execve` that started this program) become lintel's.
    pub(crate) fn import_itimers(&self) {
        let (Some(_), Some(s)) = (self.timers, self.signals) else {
            return;
        };
        for which in [Itimer::Real, Itimer::Virtual, Itimer::Prof] {
            let zero = [0u64; 4];
            let mut old = [0u64; 4];
            // SAFETY: setitimer(which, 0, &old) from and into our own buffers: disarms the
            // port's timer and reads what it had.
            let r = unsafe {
                self.kernel.passthrough(
                    nr::__NR_setitimer as usize,
                    [
                        which as usize,
                        zero.as_ptr() as usize,
                        old.as_mut_ptr() as usize,
                        0,
                        0,
                        0,
                    ],
                )
            };
            let ns = |s: u64, us: u64| {
                s.saturating_mul(NSEC_PER_SEC as u64)
                    .saturating_add(us * 1000)
            };
            if r == lintel_kernel::Passed::Done(0) && (old[2] | old[3]) != 0 {
                let set = Setting {
                    interval: ns(old[0], old[1]),
                    value: ns(old[2], old[3]),
                };
                s.setitimer(which, set, self.getitimer_now(which));
            }
        }
        self.poke_timers();
    }

    /// Whether the calling thread, exiting (its signal state already `EXITED`), is the last
    /// thread of the process apart from the timer service: then the process ends with it, as
    /// on Linux, and the service must not keep it alive. Exact when threads exit at once:
    /// each marks itself under the signal lock first, so the last one to do so sees all.
    pub(crate) fn last_thread_out(&self) -> bool {
        let Some(ts) = self.timers else { return false };
        loop {
            match ts.state.load(Ordering::Acquire) {
                RUNNING => break,
                // Spawned, not yet running: its handle comes in a moment.
                STARTING => self.kernel.yield_now(),
                _ => return false,
            }
        }
        // SAFETY: RUNNING (Acquire) follows the thread's Release store of its handle.
        let service = unsafe { read_words::<K::Thread>(&ts.thread) };
        let k = self.kernel;
        let me = k.current();
        let mut others = 0;
        k.for_each_thread(&mut |t| {
            let v = lintel_signals::ThreadSignals::new(k.locals_of(t), k.tid(t));
            if t != me
                && t != service
                && !k.is_dead(t)
                && v.state() & lintel_signals::process::EXITED == 0
            {
                others += 1;
            }
        });
        others == 0
    }

    fn start_service(&self, ts: &TimerService) {
        if ts
            .state
            .compare_exchange(IDLE, STARTING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        // SAFETY: STARTING makes this thread the only writer; the new thread reads it after
        // the spawn. The copy is a `Lintel<'static, K>`: `timers` is only ever set by
        // `with_timers`, which requires every reference to live for the whole process.
        unsafe { write_words(&ts.start, *self) };
        let top = ts.stack.get() as usize + STACK;
        let spec = SpawnSpec {
            entry: service::<K>,
            arg: ts as *const TimerService as usize,
            stack_top: top & !15,
            thread_pointer: None,
        };
        // SAFETY: the stack is the service's own static memory, used by this one thread for
        // the life of the process (or until a fork child, where the thread does not exist);
        // `service` takes `arg` as the `TimerService` it is.
        if unsafe { self.kernel.spawn(&spec) }.is_err() {
            // Tried again at the next poke; meanwhile a timer fires only when a call that
            // arms or re-arms timers finds it due.
            ts.state.store(IDLE, Ordering::Release);
        }
    }

    /// The service thread's loop: fire what is due, then wait for the next expiry or a poke.
    fn serve(&self) -> ! {
        let k = self.kernel;
        let Some(s) = self.signals else {
            loop {
                k.wait(None);
            }
        };
        loop {
            self.fire_due();
            let now_m = k.now(ClockId::Monotonic);
            let now_r = k.now(ClockId::Realtime);
            let mut deadline: Option<Deadline> = None;
            let mut left = u64::MAX;
            if let Some(t) = s.next_timer_expiry(ClockId::Monotonic) {
                left = t.saturating_sub(now_m);
                deadline = Some(Deadline {
                    clock: ClockId::Monotonic,
                    ns: t,
                });
            }
            if let Some(t) = s.next_timer_expiry(ClockId::Realtime) {
                if t.saturating_sub(now_r) < left {
                    left = t.saturating_sub(now_r);
                    deadline = Some(Deadline {
                        clock: ClockId::Realtime,
                        ns: t,
                    });
                }
            }
            if s.cpu_timers_running() && left > CPU_SAMPLE_NS {
                deadline = Some(Deadline::after(ClockId::Monotonic, now_m, CPU_SAMPLE_NS));
            }
            k.wait(deadline);
        }
    }
}

/// The service thread's entry: `arg` is its [`TimerService`].
unsafe extern "C" fn service<K: Kernel>(arg: usize) {
    // SAFETY: `start_service` passes its `&'static TimerService`.
    let ts = unsafe { &*(arg as *const TimerService) };
    // SAFETY: written before the spawn by the thread that started us (see `start_service`).
    let l = unsafe { read_words::<Lintel<'_, K>>(&ts.start) };
    let k = l.kernel;
    // Signals from outside go to the program's threads, never here.
    k.block_arrivals(u64::MAX);
    // SAFETY: the only writer, before the Release store of RUNNING.
    unsafe { write_words(&ts.thread, k.current()) };
    ts.state.store(RUNNING, Ordering::Release);
    // Whatever was armed before we ran.
    l.serve()
}

/// Stores `v` in `cell`'s words.
///
/// # Safety
/// No other thread accesses `cell` concurrently.
unsafe fn write_words<T: Copy>(cell: &UnsafeCell<MaybeUninit<[usize; WORDS]>>, v: T) {
    const { assert!(size_of::<T>() <= WORDS * size_of::<usize>()) };
    // SAFETY: the cell is large enough (asserted above) and aligned for words; `T: Copy`.
    unsafe { cell.get().cast::<T>().write_unaligned(v) }
}

/// Reads a `T` stored by [`write_words`].
///
/// # Safety
/// A `T` was written there, and that write happens-before this read.
unsafe fn read_words<T: Copy>(cell: &UnsafeCell<MaybeUninit<[usize; WORDS]>>) -> T {
    const { assert!(size_of::<T>() <= WORDS * size_of::<usize>()) };
    // SAFETY: our caller's contract.
    unsafe { cell.get().cast::<T>().read_unaligned() }
}
