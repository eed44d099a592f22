//! What lintel saw, for `LINTEL_STATS=1` (in the spirit of lockstat): every syscall number with
//! its count, the futex calls (waits with their outcomes and wait times, wakes, wakes that found
//! nobody, requeues), the futex addresses waited on most, and the signals delivered. The report
//! ([`report`]) goes to stderr at `exit_group` (or when the last thread exits); docs/stats.md
//! shows and explains it.
//!
//! ## Cost
//! Off (the default), every hook is one relaxed load of [`ENABLED`], which is `false`, and a
//! branch: the counting code is out of line. `Lintel::fast_call` (the no-waiter `FUTEX_WAKE` and
//! the clock reads) is untouched: with statistics on it declines, so those calls take the full
//! path and are counted there; the front door's own `clock_gettime` shortcut counts through
//! [`count_syscall`] behind the same load. On, each event is a relaxed atomic add on
//! process-wide counters (shared cache lines: contended programs slow down a little), and a
//! futex wait also reads the port's monotonic clock twice and updates the address table.
//! Nothing allocates: every counter is a static.
//!
//! ## The address table [STATS-TABLE]
//! [`AddrTable`] is a fixed open-addressing table, hashed by address, probed linearly for
//! [`PROBES`] slots. A slot's address goes from 0 to one address once, by compare-exchange, and
//! never changes again (until [`reset`], made only while no other thread records: after
//! `fork`, in the child, or by a test). Every thread probes an address's slots in the same
//! order, and a thread stops at the first slot holding the address or 0 (claiming a 0 with the
//! compare-exchange, and taking the slot anyway if the exchange finds the same address): so an
//! address is in at most one slot, and its counts are never split. The counters are independent
//! relaxed read-modify-writes (`fetch_add`, `fetch_max`): none publishes anything, nothing
//! waits on them, and the report, read while other threads may still count, shows each counter
//! at some value it had (the numbers of one row may come from slightly different moments). A wait
//! whose address finds no slot in its probe window is added to the untracked totals, which the
//! report prints: nothing is dropped silently. Under `--cfg lintel_loom` the table is built
//! on loom's atomics (and the process's table, a static, does not exist): loom-tests'
//! `stats_table` model checks this argument on this code.

mod names;

use core::fmt::Write;
use core::sync::atomic::Ordering::Relaxed;
use core::sync::atomic::{AtomicBool, AtomicU64};
use lintel_futex::FutexError;
use lintel_kernel::{ClockId, Errno, Kernel};
use linux_raw_sys::general as nr;

/// Whether statistics are kept and reported (set by the front door from `LINTEL_STATS`).
pub static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether statistics are on: the one relaxed load every hook makes.
#[inline(always)]
pub fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

// ---------------------------------------------------------------------------------------------
// Counters

/// Syscall numbers counted one by one (x86_64's highest is 469 today); any larger number, or a
/// negative one, is counted in one more slot, reported as "out of range".
pub const SYSCALL_SLOTS: usize = 512;

static SYSCALLS: [AtomicU64; SYSCALL_SLOTS + 1] = [const { AtomicU64::new(0) }; SYSCALL_SLOTS + 1];

/// Counts one syscall `n` as a program made it (before any routing or restart). Callers check
/// [`enabled`] first.
#[cold]
#[inline(never)]
pub fn count_syscall(n: usize) {
    SYSCALLS[n.min(SYSCALL_SLOTS)].fetch_add(1, Relaxed);
}

/// How many calls of syscall `n` were counted (numbers from [`SYSCALL_SLOTS`] on share one
/// count).
pub fn syscall_count(n: usize) -> u64 {
    SYSCALLS[n.min(SYSCALL_SLOTS)].load(Relaxed)
}

/// A counted event.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Event {
    /// A futex call that may block (`WAIT`, `WAIT_BITSET`, `LOCK_PI`, `LOCK_PI2`,
    /// `WAIT_REQUEUE_PI`, `futex_wait`, `futex_waitv`), each attempt: a wait made again after
    /// an interruption (Linux's restart) counts again.
    FutexWait = 0,
    /// A futex call that wakes (`WAKE`, `WAKE_BITSET`, `WAKE_OP`, `UNLOCK_PI`, `futex_wake`).
    FutexWake = 1,
    /// A futex requeue (`REQUEUE`, `CMP_REQUEUE`, `CMP_REQUEUE_PI`, `futex_requeue`).
    FutexRequeue = 2,
    /// A thread created through lintel's clone.
    ThreadCreated = 3,
    /// A wait that returned success (woken, or the PI lock taken).
    WaitWoken = 4,
    /// A wait that ended with `ETIMEDOUT`.
    WaitTimedOut = 5,
    /// A wait interrupted by a signal (a restart request, or `EINTR`).
    WaitInterrupted = 6,
    /// A wait that found another value in the word (`EAGAIN`: it never slept).
    WaitAgain = 7,
    /// A wait that failed otherwise (`EFAULT`, `EINVAL`, `EDEADLK`, ...).
    WaitError = 8,
    /// A `WAKE`, `WAKE_BITSET`, `WAKE_OP` or `futex_wake` that woke nobody.
    WakeNoWaiters = 9,
    /// Threads woken, summed over the wake calls' results.
    ThreadsWoken = 10,
    /// `futex_waitv` waits (counted in [`Event::FutexWait`], not by address).
    WaitVector = 11,
}

const EVENTS: usize = 12;
static COUNTS: [AtomicU64; EVENTS] = [const { AtomicU64::new(0) }; EVENTS];
/// Nanoseconds spent in futex waits, summed, and the longest one.
static WAIT_NS: AtomicU64 = AtomicU64::new(0);
static WAIT_MAX_NS: AtomicU64 = AtomicU64::new(0);

/// Counts `e` if statistics are on (any thread may call it).
#[inline]
pub fn count_global(e: Event) {
    if enabled() {
        add(e, 1);
    }
}

fn add(e: Event, n: u64) {
    COUNTS[e as usize].fetch_add(n, Relaxed);
}

/// How many `e` were counted.
pub fn get(e: Event) -> u64 {
    COUNTS[e as usize].load(Relaxed)
}

/// The futex wait times so far: `(total ns, longest ns)`.
pub fn wait_ns() -> (u64, u64) {
    (WAIT_NS.load(Relaxed), WAIT_MAX_NS.load(Relaxed))
}

/// Signals 1..=64, by number (index 0 unused).
static SIGNALS: [AtomicU64; 65] = [const { AtomicU64::new(0) }; 65];

/// Counts a signal dequeued for delivery (to a handler, to its default action, or found
/// ignored), if statistics are on.
#[inline(always)]
pub fn count_signal(signo: u32) {
    if enabled() {
        count_signal_slow(signo);
    }
}

#[cold]
#[inline(never)]
fn count_signal_slow(signo: u32) {
    if let Some(c) = SIGNALS.get(signo as usize) {
        c.fetch_add(1, Relaxed);
    }
}

/// How many signals `signo` were delivered.
pub fn signal_count(signo: u32) -> u64 {
    SIGNALS.get(signo as usize).map_or(0, |c| c.load(Relaxed))
}

// ---------------------------------------------------------------------------------------------
// Futex calls

/// Which futex call [`futex_call`] times and classifies.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `futex(2)` with this `op` argument (private and clock flags included).
    Futex(u32),
    /// A futex2 call, by syscall number.
    Futex2(usize),
    /// A timed wait resumed through its restart block.
    Restart,
}

/// What a futex call is, for the counters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    Wait { vector: bool },
    Wake { counts_no_waiters: bool },
    Requeue,
    Other,
}

impl Op {
    fn kind(self) -> Kind {
        match self {
            Op::Futex(op) => match op & nr::FUTEX_CMD_MASK as u32 {
                nr::FUTEX_WAIT
                | nr::FUTEX_WAIT_BITSET
                | nr::FUTEX_LOCK_PI
                | nr::FUTEX_LOCK_PI2
                | nr::FUTEX_WAIT_REQUEUE_PI => Kind::Wait { vector: false },
                nr::FUTEX_WAKE | nr::FUTEX_WAKE_BITSET | nr::FUTEX_WAKE_OP => Kind::Wake {
                    counts_no_waiters: true,
                },
                // Returns 0 whether or not someone was handed the lock.
                nr::FUTEX_UNLOCK_PI => Kind::Wake {
                    counts_no_waiters: false,
                },
                nr::FUTEX_REQUEUE | nr::FUTEX_CMP_REQUEUE | nr::FUTEX_CMP_REQUEUE_PI => {
                    Kind::Requeue
                }
                _ => Kind::Other,
            },
            Op::Futex2(n) => match n as u32 {
                nr::__NR_futex_wait => Kind::Wait { vector: false },
                nr::__NR_futex_waitv => Kind::Wait { vector: true },
                nr::__NR_futex_wake => Kind::Wake {
                    counts_no_waiters: true,
                },
                nr::__NR_futex_requeue => Kind::Requeue,
                _ => Kind::Other,
            },
            Op::Restart => Kind::Wait { vector: false },
        }
    }
}

/// A futex call's result, as the counters see it.
pub trait FutexResult {
    /// `Ok(value)`, `Err(Some(errno))`, or `Err(None)` for an interrupted call (a restart).
    fn outcome(&self) -> Result<usize, Option<Errno>>;
}

impl FutexResult for Result<usize, FutexError> {
    fn outcome(&self) -> Result<usize, Option<Errno>> {
        match self {
            Ok(v) => Ok(*v),
            Err(FutexError::Errno(e)) => Err(Some(*e)),
            Err(FutexError::Restart(_)) => Err(None),
        }
    }
}

/// `futex_waitv`'s result (`Ok(None)`: the port makes the call, untimed here).
impl FutexResult for Result<Option<usize>, FutexError> {
    fn outcome(&self) -> Result<usize, Option<Errno>> {
        match self {
            Ok(v) => Ok(v.unwrap_or(0)),
            Err(FutexError::Errno(e)) => Err(Some(*e)),
            Err(FutexError::Restart(_)) => Err(None),
        }
    }
}

/// Makes the futex call `f` (`op` on the word at `addr`) and, if statistics are on, counts it:
/// a wait is timed with the port's monotonic clock and recorded by address.
#[inline(always)]
pub fn futex_call<K: Kernel, R: FutexResult>(
    kernel: &K,
    op: Op,
    addr: usize,
    f: impl FnOnce() -> R,
) -> R {
    if !enabled() {
        return f();
    }
    counted_futex_call(kernel, op, addr, f)
}

#[inline(never)]
fn counted_futex_call<K: Kernel, R: FutexResult>(
    kernel: &K,
    op: Op,
    addr: usize,
    f: impl FnOnce() -> R,
) -> R {
    let kind = op.kind();
    if let Kind::Wait { vector } = kind {
        let t0 = kernel.now(ClockId::Monotonic);
        let r = f();
        let ns = kernel.now(ClockId::Monotonic).saturating_sub(t0);
        add(Event::FutexWait, 1);
        add(
            match r.outcome() {
                Ok(_) => Event::WaitWoken,
                Err(Some(Errno::ETIMEDOUT)) => Event::WaitTimedOut,
                Err(None | Some(Errno::EINTR)) => Event::WaitInterrupted,
                Err(Some(Errno::EAGAIN)) => Event::WaitAgain,
                Err(Some(_)) => Event::WaitError,
            },
            1,
        );
        WAIT_NS.fetch_add(ns, Relaxed);
        WAIT_MAX_NS.fetch_max(ns, Relaxed);
        if vector {
            add(Event::WaitVector, 1);
        } else {
            if let Some(t) = addresses() {
                t.record(addr, ns);
            }
        }
        return r;
    }
    let r = f();
    match kind {
        Kind::Wake { counts_no_waiters } => {
            add(Event::FutexWake, 1);
            if let Ok(n) = r.outcome() {
                add(Event::ThreadsWoken, n as u64);
                if n == 0 && counts_no_waiters {
                    add(Event::WakeNoWaiters, 1);
                }
            }
        }
        Kind::Requeue => add(Event::FutexRequeue, 1),
        Kind::Wait { .. } | Kind::Other => {}
    }
    r
}

// ---------------------------------------------------------------------------------------------
// The address table

/// Slots an address may use, from its hash on (see [STATS-TABLE]).
pub const PROBES: usize = 8;

/// The process's table: 256 addresses.
#[cfg(not(lintel_loom))]
pub static ADDRESSES: AddrTable<256> = AddrTable::new();

/// The process's table ([`ADDRESSES`]; none under loom, whose atomics cannot be in a static).
fn addresses() -> Option<&'static AddrTable<256>> {
    #[cfg(not(lintel_loom))]
    return Some(&ADDRESSES);
    #[cfg(lintel_loom)]
    return None;
}

/// The table's atomics: `core`'s, or loom's for the model.
#[cfg(not(lintel_loom))]
use core::sync::atomic::{AtomicU64 as TableU64, AtomicUsize as TableUsize};
#[cfg(lintel_loom)]
use loom::sync::atomic::{AtomicU64 as TableU64, AtomicUsize as TableUsize};

/// One address's waits, as [`AddrTable::top`] reports them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrStats {
    /// The futex word's address (private and shared waits on one address share a row).
    pub addr: usize,
    /// Wait attempts on it.
    pub waits: u64,
    /// Nanoseconds they took, summed.
    pub total_ns: u64,
    /// The longest one.
    pub max_ns: u64,
}

struct Slot {
    addr: TableUsize,
    waits: TableU64,
    total_ns: TableU64,
    max_ns: TableU64,
}

impl Slot {
    #[cfg(not(lintel_loom))]
    const fn new() -> Self {
        Slot {
            addr: TableUsize::new(0),
            waits: TableU64::new(0),
            total_ns: TableU64::new(0),
            max_ns: TableU64::new(0),
        }
    }

    #[cfg(lintel_loom)]
    fn new() -> Self {
        Slot {
            addr: TableUsize::new(0),
            waits: TableU64::new(0),
            total_ns: TableU64::new(0),
            max_ns: TableU64::new(0),
        }
    }
}

/// A lock-free table of futex waits by address, `N` slots (a power of two). [STATS-TABLE]
pub struct AddrTable<const N: usize> {
    slots: [Slot; N],
    untracked_waits: TableU64,
    untracked_ns: TableU64,
}

impl<const N: usize> core::fmt::Debug for AddrTable<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AddrTable")
            .field("slots", &N)
            .field("untracked", &self.untracked())
            .finish()
    }
}

impl<const N: usize> Default for AddrTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> AddrTable<N> {
    /// An empty table.
    #[cfg(not(lintel_loom))]
    pub const fn new() -> Self {
        assert!(N.is_power_of_two());
        AddrTable {
            slots: [const { Slot::new() }; N],
            untracked_waits: TableU64::new(0),
            untracked_ns: TableU64::new(0),
        }
    }

    /// An empty table (on loom's atomics, which have no `const` constructor).
    #[cfg(lintel_loom)]
    pub fn new() -> Self {
        assert!(N.is_power_of_two());
        AddrTable {
            slots: core::array::from_fn(|_| Slot::new()),
            untracked_waits: TableU64::new(0),
            untracked_ns: TableU64::new(0),
        }
    }

    /// The first slot `addr` probes: a multiplicative hash of the word's index (futex words
    /// are 4-byte aligned, so neighbours in one structure spread out).
    fn home(addr: usize) -> usize {
        let h = ((addr >> 2) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 32) as usize & (N - 1)
    }

    /// Records a wait of `ns` nanoseconds on `addr`. `false` if the address found no slot (or
    /// is 0, which marks a free slot): the wait is added to the untracked totals.
    pub fn record(&self, addr: usize, ns: u64) -> bool {
        if addr != 0 {
            let mut i = Self::home(addr);
            for _ in 0..PROBES.min(N) {
                let s = &self.slots[i];
                let cur = s.addr.load(Relaxed);
                // [STATS-TABLE]: the first slot holding `addr` or 0, claimed once.
                let mine = cur == addr
                    || (cur == 0
                        && match s.addr.compare_exchange(0, addr, Relaxed, Relaxed) {
                            Ok(_) => true,
                            Err(other) => other == addr,
                        });
                if mine {
                    s.waits.fetch_add(1, Relaxed);
                    s.total_ns.fetch_add(ns, Relaxed);
                    s.max_ns.fetch_max(ns, Relaxed);
                    return true;
                }
                // Another address's slot (perhaps claimed just now): probe on.
                i = (i + 1) & (N - 1);
            }
        }
        self.untracked_waits.fetch_add(1, Relaxed);
        self.untracked_ns.fetch_add(ns, Relaxed);
        false
    }

    /// The waits that found no slot: `(waits, total ns)`.
    pub fn untracked(&self) -> (u64, u64) {
        (
            self.untracked_waits.load(Relaxed),
            self.untracked_ns.load(Relaxed),
        )
    }

    /// The addresses waited on most, most waits first (ties: more total time first), into
    /// `out`; returns how many rows were filled.
    pub fn top(&self, out: &mut [AddrStats]) -> usize {
        // Selection without sorting or allocation: each round takes the largest key below the
        // previous round's. The key orders by waits, then total time, then slot (unique).
        let key = |i: usize, s: &Slot| {
            (
                s.waits.load(Relaxed),
                s.total_ns.load(Relaxed),
                usize::MAX - i,
            )
        };
        let mut below = (u64::MAX, u64::MAX, usize::MAX);
        let mut n = 0;
        while n < out.len() {
            let mut best: Option<((u64, u64, usize), usize)> = None;
            for (i, s) in self.slots.iter().enumerate() {
                let k = key(i, s);
                if k.0 == 0 || k >= below || best.is_some_and(|(b, _)| k <= b) {
                    continue;
                }
                best = Some((k, i));
            }
            let Some((k, i)) = best else { break };
            let s = &self.slots[i];
            out[n] = AddrStats {
                addr: s.addr.load(Relaxed),
                waits: k.0,
                total_ns: k.1,
                max_ns: s.max_ns.load(Relaxed),
            };
            below = k;
            n += 1;
        }
        n
    }

    /// Empties the table (only while no other thread records: see [STATS-TABLE]).
    pub fn reset(&self) {
        for s in &self.slots {
            s.addr.store(0, Relaxed);
            s.waits.store(0, Relaxed);
            s.total_ns.store(0, Relaxed);
            s.max_ns.store(0, Relaxed);
        }
        self.untracked_waits.store(0, Relaxed);
        self.untracked_ns.store(0, Relaxed);
    }
}

/// Clears every count (in a fork child, whose report covers its own life; and in tests). Only
/// while no other thread counts.
pub fn reset() {
    for c in SYSCALLS.iter().chain(COUNTS.iter()).chain(SIGNALS.iter()) {
        c.store(0, Relaxed);
    }
    WAIT_NS.store(0, Relaxed);
    WAIT_MAX_NS.store(0, Relaxed);
    if let Some(t) = addresses() {
        t.reset();
    }
    REPORTED.store(false, Relaxed);
}

// ---------------------------------------------------------------------------------------------
// The report

/// Set by the first [`report_once`].
static REPORTED: AtomicBool = AtomicBool::new(false);

/// Rows of the by-address table in the report.
pub const TOP: usize = 10;

/// A syscall's name (`None` for a number `linux-raw-sys` does not name).
pub fn syscall_name(n: usize) -> Option<&'static str> {
    NAME_BY_NR.get(n).copied().filter(|s| !s.is_empty())
}

const NAME_BY_NR: [&str; SYSCALL_SLOTS] = {
    let mut t = [""; SYSCALL_SLOTS];
    let mut i = 0;
    while i < names::LIST.len() {
        let (n, full) = names::LIST[i];
        // "__NR_read" -> "read".
        let (_, short) = full.as_bytes().split_at(5);
        t[n as usize] = match core::str::from_utf8(short) {
            Ok(s) => s,
            Err(_) => panic!("syscall names are ASCII"),
        };
        i += 1;
    }
    t
};

/// A fixed buffer handed to a sink whenever it fills (no allocation: this runs in a program's
/// exit path, on the calling thread's stack, which may be small).
struct Out<'a> {
    buf: [u8; 256],
    len: usize,
    sink: &'a mut dyn FnMut(&[u8]),
}

impl Out<'_> {
    fn flush(&mut self) {
        if self.len != 0 {
            (self.sink)(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut s = s.as_bytes();
        while !s.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
            self.len += n;
            s = &s[n..];
        }
        Ok(())
    }
}

/// Writes the report once per process (the first caller; later ones write nothing) to `sink`.
pub fn report_once(sink: &mut dyn FnMut(&[u8])) {
    if !REPORTED.swap(true, Relaxed) {
        report(sink);
    }
}

/// Writes the report to `sink`, in pieces of at most 256 bytes (see docs/stats.md).
#[inline(never)]
pub fn report(sink: &mut dyn FnMut(&[u8])) {
    let mut o = Out {
        buf: [0; 256],
        len: 0,
        sink,
    };
    let _ = write_report(&mut o);
    o.flush();
}

fn write_report(o: &mut Out<'_>) -> core::fmt::Result {
    let g = get;
    writeln!(
        o,
        "lintel: threads created {}, futex waits {}, wakes {}, requeues {}",
        g(Event::ThreadCreated),
        g(Event::FutexWait),
        g(Event::FutexWake),
        g(Event::FutexRequeue)
    )?;

    // Syscalls, most frequent first (ties: lower number first), by repeated selection.
    let (mut calls, mut distinct) = (0u64, 0usize);
    for c in &SYSCALLS {
        let n = c.load(Relaxed);
        calls += n;
        distinct += usize::from(n != 0);
    }
    writeln!(
        o,
        "lintel stats: syscall counts ({calls} calls, {distinct} numbers)\n{:>12}  {:>4}  syscall",
        "count", "nr"
    )?;
    let mut below = (u64::MAX, usize::MAX);
    loop {
        let mut best: Option<(u64, usize)> = None;
        for (i, c) in SYSCALLS.iter().enumerate() {
            let k = (c.load(Relaxed), usize::MAX - i);
            if k.0 == 0 || k >= below || best.is_some_and(|b| k <= b) {
                continue;
            }
            best = Some(k);
        }
        let Some(k) = best else { break };
        below = k;
        let nr = usize::MAX - k.1;
        if nr == SYSCALL_SLOTS {
            writeln!(
                o,
                "{:>12}     -  (numbers {SYSCALL_SLOTS} and up, or negative)",
                k.0
            )?;
        } else if let Some(name) = syscall_name(nr) {
            writeln!(o, "{:>12}  {nr:>4}  {name}", k.0)?;
        } else {
            writeln!(o, "{:>12}  {nr:>4}  syscall_{nr}", k.0)?;
        }
    }

    let (total, max) = wait_ns();
    writeln!(
        o,
        "lintel stats: futex\n  waits {}: woken {}, timed out {}, interrupted {}, EAGAIN {}, \
         other errors {}\n  wait time: total {total} ns, max {max} ns\n  \
         wakes {}: no waiters {}, threads woken {}\n  requeues {}",
        g(Event::FutexWait),
        g(Event::WaitWoken),
        g(Event::WaitTimedOut),
        g(Event::WaitInterrupted),
        g(Event::WaitAgain),
        g(Event::WaitError),
        g(Event::FutexWake),
        g(Event::WakeNoWaiters),
        g(Event::ThreadsWoken),
        g(Event::FutexRequeue),
    )?;

    writeln!(
        o,
        "lintel stats: futex waits by address (top {TOP})\n{:>18}  {:>10}  {:>14}  {:>12}",
        "addr", "waits", "total_ns", "max_ns"
    )?;
    if let Some(t) = addresses() {
        let mut top = [AddrStats::default(); TOP];
        let rows = t.top(&mut top);
        for r in &top[..rows] {
            writeln!(
                o,
                "{:>#18x}  {:>10}  {:>14}  {:>12}",
                r.addr, r.waits, r.total_ns, r.max_ns
            )?;
        }
        let (uw, uns) = t.untracked();
        if uw != 0 {
            writeln!(
                o,
                "  untracked: {uw} waits, {uns} ns (no free slot for their address in the \
                 256-entry table, or address 0)"
            )?;
        }
    }
    let v = g(Event::WaitVector);
    if v != 0 {
        writeln!(o, "  futex_waitv: {v} waits, not attributed to an address")?;
    }

    writeln!(
        o,
        "lintel stats: signals delivered\n{:>5}  {:<10}  {:>10}",
        "signo", "name", "count"
    )?;
    for (sig, c) in SIGNALS.iter().enumerate().skip(1) {
        let n = c.load(Relaxed);
        if n != 0 {
            let name = lintel_signals::sigset::signal_name(sig as i32).unwrap_or("real-time");
            writeln!(o, "{sig:>5}  {name:<10}  {n:>10}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn names_come_from_linux_raw_sys() {
        assert_eq!(syscall_name(nr::__NR_read as usize), Some("read"));
        assert_eq!(syscall_name(nr::__NR_futex as usize), Some("futex"));
        assert_eq!(
            syscall_name(nr::__NR_futex_waitv as usize),
            Some("futex_waitv")
        );
        assert_eq!(
            syscall_name(nr::__NR_clock_gettime as usize),
            Some("clock_gettime")
        );
        // Unused numbers on x86_64 have no name.
        assert_eq!(syscall_name(380), None);
        assert_eq!(syscall_name(SYSCALL_SLOTS + 3), None);
        // Every name is its number's only one.
        for (i, &(n, a)) in names::LIST.iter().enumerate() {
            assert!((n as usize) < SYSCALL_SLOTS, "{a}");
            assert_eq!(syscall_name(n as usize), Some(&a[5..]));
            assert!(names::LIST[..i].iter().all(|&(m, _)| m != n), "{a}");
        }
    }

    #[test]
    fn one_address_one_row_and_ranked() {
        let t = AddrTable::<64>::new();
        for _ in 0..5 {
            assert!(t.record(0x1000, 10));
        }
        for _ in 0..3 {
            assert!(t.record(0x2000, 100));
        }
        assert!(t.record(0x3000, 7));
        assert!(t.record(0x3004, 7));
        let mut top = [AddrStats::default(); 3];
        assert_eq!(t.top(&mut top), 3);
        assert_eq!(
            top[0],
            AddrStats {
                addr: 0x1000,
                waits: 5,
                total_ns: 50,
                max_ns: 10
            }
        );
        assert_eq!(top[1].addr, 0x2000);
        assert_eq!(
            (top[1].waits, top[1].total_ns, top[1].max_ns),
            (3, 300, 100)
        );
        assert_eq!(top[2].waits, 1);
        let mut all = [AddrStats::default(); 8];
        assert_eq!(t.top(&mut all), 4);
        assert_eq!(t.untracked(), (0, 0));
        // Address 0 cannot have a slot.
        assert!(!t.record(0, 5));
        assert_eq!(t.untracked(), (1, 5));
        t.reset();
        assert_eq!(t.top(&mut all), 0);
    }

    #[test]
    fn a_full_table_reports_the_waits_it_could_not_place() {
        let t = AddrTable::<16>::new();
        let mut placed = 0;
        for a in 1..=100usize {
            placed += usize::from(t.record(a * 4, 1));
        }
        // No more addresses than slots, and every wait is somewhere.
        assert!(placed <= 16);
        let (uw, uns) = t.untracked();
        assert_eq!(placed as u64 + uw, 100);
        assert_eq!(uns, uw);
        let mut all = [AddrStats::default(); 16];
        let rows = t.top(&mut all);
        assert_eq!(rows, placed);
        // A placed address keeps its slot.
        let a = all[0].addr;
        assert!(t.record(a, 1));
    }

    #[test]
    fn racing_threads_never_split_an_address() {
        // [STATS-TABLE]: 4 threads record the same 40 addresses in different orders into a
        // table with room for all of them; each address must end in exactly one row with all
        // of its waits.
        let t: &'static AddrTable<64> =
            std::boxed::Box::leak(std::boxed::Box::new(AddrTable::new()));
        let threads: Vec<_> = (0..4)
            .map(|k| {
                std::thread::spawn(move || {
                    for round in 0..200usize {
                        for j in 0..40usize {
                            let a = 0x10_0000 + 4 * ((j * 7 + k * 13 + round) % 40);
                            t.record(a, 1);
                        }
                    }
                })
            })
            .collect();
        for h in threads {
            h.join().unwrap();
        }
        let mut rows = [AddrStats::default(); 64];
        let n = t.top(&mut rows);
        let (uw, _) = t.untracked();
        let placed: u64 = rows[..n].iter().map(|r| r.waits).sum();
        assert_eq!(placed + uw, 4 * 200 * 40);
        for (i, r) in rows[..n].iter().enumerate() {
            // Each thread records each address once a round: a row has all of its waits.
            assert_eq!(r.waits, 4 * 200, "{:#x}", r.addr);
            assert!(
                rows[..i].iter().all(|o| o.addr != r.addr),
                "{:#x} split",
                r.addr
            );
        }
    }
}
