//! Signal numbers and 64-bit signal sets, as Linux x86_64 keeps them.
//!
//! A [`SigSet`] is Linux's `sigset_t` on x86_64: one 64-bit word, signal `n` (1..=64) at bit
//! `n - 1` (`include/linux/signal.h`, `sigmask(sig) = 1UL << ((sig) - 1)`). The kernel's sigset
//! is exactly 8 bytes, which is why every signal syscall insists on `sigsetsize == 8`.

use linux_raw_sys::general as g;

/// The number of signals: Linux's `_NSIG` (64).
pub const NSIG: u32 = g::_NSIG;

/// The first real-time signal as the kernel counts (32). musl reserves 32–34 and reports
/// `SIGRTMIN()` as 35; the kernel does not care.
pub const SIGRTMIN: u32 = g::SIGRTMIN;

/// A valid signal number, 1..=64.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Signal(u8);

impl Signal {
    /// `sig` if it is 1..=64 (Linux's `valid_signal(sig) && sig >= 1`), else `None`.
    pub const fn new(sig: i64) -> Option<Signal> {
        if sig >= 1 && sig <= NSIG as i64 {
            Some(Signal(sig as u8))
        } else {
            None
        }
    }

    /// Like [`Signal::new`] for a constant known to be valid (`linux-raw-sys`'s `u32`s).
    ///
    /// Evaluated at compile time where it is used in a `const`; an invalid number there is a
    /// compile error. At run time an invalid number gives signal 1, never a panic.
    pub const fn of(sig: u32) -> Signal {
        match Signal::new(sig as i64) {
            Some(s) => s,
            None => Signal(1),
        }
    }

    /// The number, 1..=64.
    pub const fn get(self) -> u32 {
        self.0 as u32
    }

    /// Whether this is a real-time signal (32..=64): queued, never coalesced.
    pub const fn is_rt(self) -> bool {
        self.get() >= SIGRTMIN
    }

    /// The set holding only this signal.
    pub const fn set(self) -> SigSet {
        SigSet(1 << (self.0 - 1))
    }
}

/// `SIGKILL`.
pub const SIGKILL: Signal = Signal::of(g::SIGKILL);
/// `SIGSTOP`.
pub const SIGSTOP: Signal = Signal::of(g::SIGSTOP);
/// `SIGCONT`.
pub const SIGCONT: Signal = Signal::of(g::SIGCONT);
/// `SIGCHLD`.
pub const SIGCHLD: Signal = Signal::of(g::SIGCHLD);

/// A set of signals: Linux's 64-bit `sigset_t` (bit `sig - 1`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct SigSet(u64);

static_assertions::assert_eq_size!(SigSet, g::sigset_t);

impl core::fmt::Debug for SigSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SigSet({:#018x})", self.0)
    }
}

const fn bits(sigs: &[u32]) -> u64 {
    let mut b = 0u64;
    let mut i = 0;
    while i < sigs.len() {
        b |= Signal::of(sigs[i]).set().0;
        i += 1;
    }
    b
}

impl SigSet {
    /// No signals.
    pub const EMPTY: SigSet = SigSet(0);
    /// All 64 signals.
    pub const FULL: SigSet = SigSet(u64::MAX);
    /// Signals that can be neither blocked, ignored nor caught: `SIGKILL`, `SIGSTOP` (Linux's
    /// `sig_kernel_only`).
    pub const UNBLOCKABLE: SigSet = SigSet(bits(&[g::SIGKILL, g::SIGSTOP]));
    /// Linux's `SYNCHRONOUS_MASK`: dequeued before any other pending signal, and forced to the
    /// default action when a fault raises them while blocked or ignored.
    pub const SYNCHRONOUS: SigSet = SigSet(bits(&[
        g::SIGSEGV,
        g::SIGBUS,
        g::SIGILL,
        g::SIGTRAP,
        g::SIGFPE,
        g::SIGSYS,
    ]));
    /// Linux's `SIG_KERNEL_STOP_MASK`: the stop signals, which cancel a pending `SIGCONT`.
    pub const STOP: SigSet = SigSet(bits(&[g::SIGSTOP, g::SIGTSTP, g::SIGTTIN, g::SIGTTOU]));
    /// Linux's `SIG_KERNEL_IGNORE_MASK`: signals whose default action is to be ignored
    /// (`SIGCONT`'s "continue" happens when it is generated, so it is here too).
    pub const DEFAULT_IGNORE: SigSet =
        SigSet(bits(&[g::SIGCONT, g::SIGCHLD, g::SIGWINCH, g::SIGURG]));
    /// Linux's `SIG_KERNEL_COREDUMP_MASK`: default action "terminate with a core dump".
    pub const DEFAULT_COREDUMP: SigSet = SigSet(bits(&[
        g::SIGQUIT,
        g::SIGILL,
        g::SIGTRAP,
        g::SIGABRT,
        g::SIGFPE,
        g::SIGSEGV,
        g::SIGBUS,
        g::SIGSYS,
        g::SIGXCPU,
        g::SIGXFSZ,
    ]));

    /// The set with these raw bits (bit `n - 1` is signal `n`).
    pub const fn from_bits(bits: u64) -> SigSet {
        SigSet(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether `sig` is in the set.
    pub const fn contains(self, sig: Signal) -> bool {
        self.0 & sig.set().0 != 0
    }

    /// The set plus `sig`.
    pub const fn with(self, sig: Signal) -> SigSet {
        SigSet(self.0 | sig.set().0)
    }

    /// The set minus `sig`.
    pub const fn without(self, sig: Signal) -> SigSet {
        SigSet(self.0 & !sig.set().0)
    }

    /// Union (`sigorsets`).
    pub const fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }

    /// Intersection (`sigandsets`).
    pub const fn intersect(self, other: SigSet) -> SigSet {
        SigSet(self.0 & other.0)
    }

    /// The signals of `self` not in `other` (`sigandnsets`).
    pub const fn minus(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest-numbered signal in the set.
    pub const fn lowest(self) -> Option<Signal> {
        if self.0 == 0 {
            None
        } else {
            Some(Signal(self.0.trailing_zeros() as u8 + 1))
        }
    }

    /// The signals in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        let mut rest = self;
        core::iter::from_fn(move || {
            let s = rest.lowest()?;
            rest = rest.without(s);
            Some(s)
        })
    }

    /// Linux's `next_signal`: which of the `pending` signals not in `blocked` is dequeued first.
    /// Synchronous signals (SEGV, BUS, ILL, TRAP, FPE, SYS) before all others, then the lowest
    /// number.
    pub const fn next_signal(pending: SigSet, blocked: SigSet) -> Option<Signal> {
        let x = pending.minus(blocked);
        let sync = x.intersect(SigSet::SYNCHRONOUS);
        if !sync.is_empty() {
            sync.lowest()
        } else {
            x.lowest()
        }
    }
}

/// The classic names of signals 1..=31.
const SIGNAL_NAMES: [&str; 32] = [
    "",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The classic name of signal `sig` (`"SIGHUP"` ... `"SIGSYS"` for 1..=31); `None` for 0, the
/// real-time signals and numbers outside 1..=64.
pub fn signal_name(sig: i32) -> Option<&'static str> {
    usize::try_from(sig)
        .ok()
        .and_then(|i| SIGNAL_NAMES.get(i))
        .copied()
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_linux_numbers() {
        for (sig, name) in [
            (g::SIGHUP, "SIGHUP"),
            (g::SIGKILL, "SIGKILL"),
            (g::SIGSTKFLT, "SIGSTKFLT"),
            (g::SIGCHLD, "SIGCHLD"),
            (g::SIGSYS, "SIGSYS"),
        ] {
            assert_eq!(signal_name(sig as i32), Some(name));
        }
        for sig in [0, 32, 34, 64, 65, -1] {
            assert_eq!(signal_name(sig), None, "{sig}");
        }
    }

    #[test]
    fn numbering_is_linux() {
        assert_eq!(Signal::new(0), None);
        assert_eq!(Signal::new(65), None);
        assert_eq!(Signal::new(-1), None);
        assert_eq!(Signal::new(64).unwrap().set().bits(), 1 << 63);
        assert_eq!(SIGKILL.set().bits(), 1 << 8);
        assert_eq!(SigSet::UNBLOCKABLE.bits(), (1 << 8) | (1 << 18));
        assert!(Signal::of(32).is_rt() && !Signal::of(31).is_rt());
    }

    #[test]
    fn next_signal_prefers_synchronous_then_lowest() {
        let s = |n| Signal::of(n);
        let p = SigSet::EMPTY.with(s(2)).with(s(11)).with(s(40));
        assert_eq!(SigSet::next_signal(p, SigSet::EMPTY), Some(s(11)));
        assert_eq!(SigSet::next_signal(p, s(11).set()), Some(s(2)));
        assert_eq!(SigSet::next_signal(s(40).set(), SigSet::EMPTY), Some(s(40)));
        assert_eq!(SigSet::next_signal(p, SigSet::FULL), None);
        let v: [u32; 3] = [2, 11, 40];
        assert!(p.iter().map(Signal::get).eq(v));
    }
}
