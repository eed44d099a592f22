//! Dispositions: the process's table of `struct sigaction`, with Linux's `do_sigaction` rules.
//!
//! On x86_64 the kernel's `struct sigaction` (the `k_sigaction` musl passes to `rt_sigaction`) is
//! `handler, flags, restorer, mask`: four 8-byte words, [`KSigaction`]. The syscall edge
//! (`sigsetsize`, reading `act`, writing `oact`) is in [`crate::Signals::rt_sigaction`]; this
//! module has the table and the rules Linux applies to it (`kernel/signal.c: do_sigaction`):
//!
//! - `EINVAL` for a signal outside 1..=64, and for installing an action (non-NULL `act`) on
//!   `SIGKILL` or `SIGSTOP`; *querying* them (NULL `act`) succeeds and reports `SIG_DFL`.
//! - Flags outside `UAPI_SA_FLAGS` are cleared before storing, so a program can detect
//!   unsupported bits by reading the action back. On x86_64 that set is `SA_NOCLDSTOP`,
//!   `SA_NOCLDWAIT`, `SA_SIGINFO`, `SA_EXPOSE_TAGBITS`, `SA_RESTORER`, `SA_ONSTACK`,
//!   `SA_RESTART`, `SA_NODEFER`, `SA_RESETHAND` (`0xdc00_0807`); in particular
//!   `SA_UNSUPPORTED` (`0x400`) is always cleared and `SA_EXPOSE_TAGBITS` (`0x800`) is kept
//!   (probed on Linux 6.18: all 64 flag bits set read back as `0xdc00_0807`).
//! - `SIGKILL` and `SIGSTOP` are removed from `sa_mask`.
//! - If the new action makes the signal ignored (`SIG_IGN`, or `SIG_DFL` for a signal whose
//!   default is to ignore it), the signal is flushed from every pending set of the process
//!   (POSIX 3.3.1.3; Linux's `flush_sigqueue_mask` on the shared and every thread's pending).

use crate::sigset::{SigSet, Signal};
use core::mem::offset_of;
use linux_raw_sys::general as g;

/// `SIG_DFL`.
pub const SIG_DFL: usize = 0;
/// `SIG_IGN`.
pub const SIG_IGN: usize = 1;

/// `sa_flags` bits (`linux-raw-sys`, widened to the kernel's `unsigned long`).
pub mod flags {
    use super::g;
    /// `SA_NOCLDSTOP`.
    pub const SA_NOCLDSTOP: u64 = g::SA_NOCLDSTOP as u64;
    /// `SA_NOCLDWAIT`.
    pub const SA_NOCLDWAIT: u64 = g::SA_NOCLDWAIT as u64;
    /// `SA_SIGINFO`.
    pub const SA_SIGINFO: u64 = g::SA_SIGINFO as u64;
    /// `SA_UNSUPPORTED`: never stored (Linux clears it so programs can probe for flag support).
    pub const SA_UNSUPPORTED: u64 = g::SA_UNSUPPORTED as u64;
    /// `SA_EXPOSE_TAGBITS`.
    pub const SA_EXPOSE_TAGBITS: u64 = g::SA_EXPOSE_TAGBITS as u64;
    /// `SA_RESTORER`.
    pub const SA_RESTORER: u64 = g::SA_RESTORER as u64;
    /// `SA_ONSTACK`.
    pub const SA_ONSTACK: u64 = g::SA_ONSTACK as u64;
    /// `SA_RESTART`.
    pub const SA_RESTART: u64 = g::SA_RESTART as u64;
    /// `SA_NODEFER`.
    pub const SA_NODEFER: u64 = g::SA_NODEFER as u64;
    /// `SA_RESETHAND`.
    pub const SA_RESETHAND: u64 = g::SA_RESETHAND as u64;
    /// Linux's `UAPI_SA_FLAGS` on x86_64: the bits `rt_sigaction` stores; all others are cleared.
    pub const UAPI_SA_FLAGS: u64 = SA_NOCLDSTOP
        | SA_NOCLDWAIT
        | SA_SIGINFO
        | SA_ONSTACK
        | SA_RESTART
        | SA_NODEFER
        | SA_RESETHAND
        | SA_EXPOSE_TAGBITS
        | SA_RESTORER;
    static_assertions::const_assert_eq!(UAPI_SA_FLAGS, 0xdc00_0807);
    static_assertions::const_assert_eq!(UAPI_SA_FLAGS & SA_UNSUPPORTED, 0);
}

/// The kernel's x86_64 `struct sigaction` (what `rt_sigaction` reads and writes).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct KSigaction {
    /// `sa_handler` / `sa_sigaction`: [`SIG_DFL`], [`SIG_IGN`] or a function address.
    pub handler: usize,
    /// `sa_flags`.
    pub flags: u64,
    /// `sa_restorer`: where the handler returns (musl's `__restore_rt`), with `SA_RESTORER`.
    pub restorer: usize,
    /// `sa_mask`: blocked while the handler runs.
    pub mask: SigSet,
}

static_assertions::assert_eq_size!(KSigaction, g::kernel_sigaction, g::sigaction, [u64; 4]);
static_assertions::const_assert_eq!(
    offset_of!(KSigaction, handler),
    offset_of!(g::sigaction, sa_handler)
);
static_assertions::const_assert_eq!(
    offset_of!(KSigaction, flags),
    offset_of!(g::sigaction, sa_flags)
);
static_assertions::const_assert_eq!(
    offset_of!(KSigaction, restorer),
    offset_of!(g::sigaction, sa_restorer)
);
static_assertions::const_assert_eq!(
    offset_of!(KSigaction, mask),
    offset_of!(g::sigaction, sa_mask)
);
static_assertions::const_assert_eq!(offset_of!(KSigaction, mask), 24);

impl KSigaction {
    /// `SIG_DFL`, no flags, empty mask: every action at process start.
    pub const DEFAULT: KSigaction = KSigaction {
        handler: SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: SigSet::EMPTY,
    };

    /// The 32 bytes as user memory holds them.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&(self.handler as u64).to_ne_bytes());
        b[8..16].copy_from_slice(&self.flags.to_ne_bytes());
        b[16..24].copy_from_slice(&(self.restorer as u64).to_ne_bytes());
        b[24..32].copy_from_slice(&self.mask.bits().to_ne_bytes());
        b
    }

    /// From the 32 bytes a program passed.
    pub fn from_bytes(b: &[u8; 32]) -> KSigaction {
        let w = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_ne_bytes(x)
        };
        KSigaction {
            handler: w(0) as usize,
            flags: w(1),
            restorer: w(2) as usize,
            mask: SigSet::from_bits(w(3)),
        }
    }

    /// Whether a handler function is installed (not `SIG_DFL` or `SIG_IGN`).
    pub const fn has_handler(&self) -> bool {
        self.handler != SIG_DFL && self.handler != SIG_IGN
    }
}

/// What a signal's default action (`SIG_DFL`) does (`signal(7)`; Linux's `SIG_KERNEL_*_MASK`).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum DefaultAction {
    /// Terminate the process.
    Terminate,
    /// Terminate with a core dump.
    Core,
    /// Stop the process.
    Stop,
    /// Continue a stopped process (`SIGCONT`; otherwise ignored).
    Continue,
    /// Ignore.
    Ignore,
}

impl DefaultAction {
    /// `sig`'s default action.
    pub const fn of(sig: Signal) -> DefaultAction {
        if sig.get() == g::SIGCONT {
            DefaultAction::Continue
        } else if SigSet::DEFAULT_IGNORE.contains(sig) {
            DefaultAction::Ignore
        } else if SigSet::STOP.contains(sig) {
            DefaultAction::Stop
        } else if SigSet::DEFAULT_COREDUMP.contains(sig) {
            DefaultAction::Core
        } else {
            DefaultAction::Terminate
        }
    }
}

/// Linux's `sig_handler_ignored`: whether `handler` makes `sig` ignored (`SIG_IGN`, or
/// `SIG_DFL` for a default-ignore signal, `SIGCONT` included).
pub const fn handler_ignores(handler: usize, sig: Signal) -> bool {
    handler == SIG_IGN || (handler == SIG_DFL && SigSet::DEFAULT_IGNORE.contains(sig))
}

/// The process's dispositions: one [`KSigaction`] per signal. Not synchronised itself: it lives
/// under [`crate::Signals`]' lock.
#[derive(Clone, Debug)]
pub struct Actions {
    table: [KSigaction; 64],
}

impl Default for Actions {
    fn default() -> Self {
        Actions::new()
    }
}

/// What [`Actions::sigaction`] did.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Changed {
    /// The action before the call, as `oact` reports it.
    pub old: KSigaction,
    /// Signals to flush from every pending set of the process (the signal, if the new action
    /// ignores it; else empty).
    pub flush: SigSet,
}

impl Actions {
    /// Every signal `SIG_DFL`.
    pub const fn new() -> Actions {
        Actions {
            table: [KSigaction::DEFAULT; 64],
        }
    }

    /// The current action for `sig`.
    pub const fn get(&self, sig: Signal) -> KSigaction {
        self.table[sig.get() as usize - 1]
    }

    /// Whether a generated `sig` would be ignored by its disposition (Linux's
    /// `sig_task_ignored` without the blocked-mask and tracer exceptions, which the caller
    /// applies).
    pub const fn ignores(&self, sig: Signal) -> bool {
        handler_ignores(self.get(sig).handler, sig)
    }

    /// Every signal [`ignores`](Self::ignores) is true for.
    pub fn ignored_set(&self) -> SigSet {
        (1..=64u32)
            .map(Signal::of)
            .filter(|&s| self.ignores(s))
            .fold(SigSet::EMPTY, SigSet::with)
    }

    /// Linux's `do_sigaction(sig, act, oact)`: validates `sig`, returns the old action and, if
    /// `act` is given, installs it with unknown flags cleared and KILL/STOP removed from its
    /// mask. The caller flushes [`Changed::flush`] from the pending sets under the same lock.
    pub fn sigaction(
        &mut self,
        sig: i64,
        act: Option<KSigaction>,
    ) -> Result<Changed, crate::Errno> {
        let sig = Signal::new(sig).ok_or(crate::Errno::EINVAL)?;
        if act.is_some() && SigSet::UNBLOCKABLE.contains(sig) {
            return Err(crate::Errno::EINVAL);
        }
        let slot = &mut self.table[sig.get() as usize - 1];
        let old = *slot;
        let mut flush = SigSet::EMPTY;
        if let Some(mut new) = act {
            new.flags &= flags::UAPI_SA_FLAGS;
            new.mask = new.mask.minus(SigSet::UNBLOCKABLE);
            *slot = new;
            if handler_ignores(new.handler, sig) {
                flush = sig.set();
            }
        }
        Ok(Changed { old, flush })
    }

    /// `SA_RESETHAND` at delivery: the handler becomes `SIG_DFL` (Linux keeps the flags and the
    /// mask; a later query shows them).
    pub fn reset(&mut self, sig: Signal) {
        self.table[sig.get() as usize - 1].handler = SIG_DFL;
    }

    /// Linux's `flush_signal_handlers(t, force_default = 0)` at `execve`: every caught signal
    /// back to `SIG_DFL` (ignored ones stay ignored), flags and masks cleared.
    pub fn reset_for_exec(&mut self) {
        for a in self.table.iter_mut() {
            if a.handler != SIG_IGN {
                a.handler = SIG_DFL;
            }
            a.flags = 0;
            a.restorer = 0;
            a.mask = SigSet::EMPTY;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Errno;

    #[test]
    fn do_sigaction_rules() {
        let mut t = Actions::new();
        assert_eq!(t.sigaction(0, None), Err(Errno::EINVAL));
        assert_eq!(t.sigaction(65, None), Err(Errno::EINVAL));
        assert_eq!(t.sigaction(9, None).map(|c| c.old), Ok(KSigaction::DEFAULT));
        assert_eq!(
            t.sigaction(19, Some(KSigaction::DEFAULT)),
            Err(Errno::EINVAL)
        );
        let act = KSigaction {
            handler: 0x1000,
            flags: u64::MAX,
            restorer: 0x2000,
            mask: SigSet::FULL,
        };
        assert_eq!(t.sigaction(45, Some(act)).unwrap().flush, SigSet::EMPTY);
        let got = t.get(Signal::of(45));
        assert_eq!(got.flags, 0xdc00_0807);
        assert_eq!(got.mask.bits(), 0xffff_ffff_fffb_feff);
        let ign = KSigaction {
            handler: SIG_IGN,
            ..KSigaction::DEFAULT
        };
        assert_eq!(
            t.sigaction(45, Some(ign)).unwrap().flush,
            Signal::of(45).set()
        );
        assert_eq!(
            t.sigaction(17, Some(KSigaction::DEFAULT)).unwrap().flush,
            Signal::of(17).set()
        );
        assert_eq!(
            t.sigaction(15, Some(KSigaction::DEFAULT)).unwrap().flush,
            SigSet::EMPTY
        );
        assert_eq!(KSigaction::from_bytes(&act.to_bytes()), act);
    }

    #[test]
    fn default_actions() {
        assert_eq!(DefaultAction::of(Signal::of(11)), DefaultAction::Core);
        assert_eq!(DefaultAction::of(Signal::of(15)), DefaultAction::Terminate);
        assert_eq!(DefaultAction::of(Signal::of(20)), DefaultAction::Stop);
        assert_eq!(DefaultAction::of(Signal::of(18)), DefaultAction::Continue);
        assert_eq!(DefaultAction::of(Signal::of(28)), DefaultAction::Ignore);
        assert_eq!(DefaultAction::of(Signal::of(40)), DefaultAction::Terminate);
    }
}
