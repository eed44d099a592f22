//! `siginfo_t`: the 128 bytes Linux x86_64 hands a `SA_SIGINFO` handler and `rt_sigtimedwait`.
//!
//! The header is `si_signo`, `si_errno`, `si_code` (three `int`s, then 4 bytes of padding so the
//! union is 8-aligned); the union `_sifields` starts at offset 16. Which union member is
//! meaningful depends on the signal and `si_code` (Linux's `siginfo_layout`):
//!
//! | layout | when | fields (offset) |
//! | --- | --- | --- |
//! | kill | `SI_USER`, `SI_TKILL`, `SI_KERNEL` for non-fault signals | `si_pid` (16), `si_uid` (20) |
//! | timer | `SI_TIMER` | `si_tid` (16), `si_overrun` (20), `si_value` (24) |
//! | rt | `SI_QUEUE`, `SI_MESGQ`, other negative codes | `si_pid` (16), `si_uid` (20), `si_value` (24) |
//! | chld | `SIGCHLD` with a positive code | `si_pid`, `si_uid`, `si_status` (24), `si_utime` (32), `si_stime` (40) |
//! | fault | SEGV/BUS/ILL/FPE/TRAP with a positive code | `si_addr` (16), `si_trapno`/`si_addr_lsb` (24), `si_lower` (32), `si_upper` (40), `si_pkey` (32) |
//! | sys | `SIGSYS` | `si_call_addr` (16), `si_syscall` (24), `si_arch` (28) |
//!
//! x86_64 does not define `__ARCH_SI_TRAPNO`: Linux leaves `si_trapno` zero there and reports the
//! trap number in the ucontext (`REG_TRAPNO`). Every byte Linux does not fill is zero (the kernel
//! clears its `kernel_siginfo` and `copy_siginfo_to_user` zeroes the tail), so a [`SigInfo`]
//! starts zeroed and each constructor fills only its layout.

use crate::sigset::Signal;
use core::mem::offset_of;
use linux_raw_sys::general as g;

/// `si_code` values (`include/uapi/asm-generic/siginfo.h`).
pub mod code {
    use super::g;
    /// Sent by `kill`, `raise` (through `kill`) or `sigsend`.
    pub const SI_USER: i32 = g::SI_USER as i32;
    /// Sent by the kernel.
    pub const SI_KERNEL: i32 = g::SI_KERNEL as i32;
    /// Sent by `sigqueue` (`rt_sigqueueinfo`).
    pub const SI_QUEUE: i32 = g::SI_QUEUE;
    /// A POSIX timer expired.
    pub const SI_TIMER: i32 = g::SI_TIMER;
    /// A message queue's state changed.
    pub const SI_MESGQ: i32 = g::SI_MESGQ;
    /// Sent by `tkill` / `tgkill`.
    pub const SI_TKILL: i32 = g::SI_TKILL;
}

/// A `sigval` (`si_value`): an `int` or a pointer; kept as the 8 raw bytes.
pub type SigVal = u64;

/// Linux x86_64 `siginfo_t`, 128 bytes.
#[derive(Copy, Clone, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct SigInfo {
    /// `si_signo`.
    pub signo: i32,
    /// `si_errno` (zero for everything lintel generates).
    pub errno: i32,
    /// `si_code`: [`code`] or a per-signal positive code (`SEGV_MAPERR`, …).
    pub code: i32,
    pad: i32,
    /// The `_sifields` union, as raw bytes; read and write it through the accessors.
    fields: [u8; 112],
}

static_assertions::assert_eq_size!(SigInfo, g::siginfo, [u8; 128]);
static_assertions::const_assert_eq!(core::mem::align_of::<SigInfo>(), 8);
static_assertions::const_assert_eq!(offset_of!(SigInfo, fields), 16);
// The offsets below, checked against the UAPI union (`linux-raw-sys`).
type Hdr = g::siginfo__bindgen_ty_1__bindgen_ty_1;
static_assertions::const_assert_eq!(offset_of!(Hdr, si_signo), 0);
static_assertions::const_assert_eq!(offset_of!(Hdr, si_errno), 4);
static_assertions::const_assert_eq!(offset_of!(Hdr, si_code), 8);
static_assertions::const_assert_eq!(offset_of!(Hdr, _sifields), 16);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_1, _pid), PID);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_1, _uid), UID);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_2, _tid), TID);
static_assertions::const_assert_eq!(
    16 + offset_of!(g::__sifields__bindgen_ty_2, _overrun),
    OVERRUN
);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_2, _sigval), VALUE);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_3, _sigval), VALUE);
static_assertions::const_assert_eq!(
    16 + offset_of!(g::__sifields__bindgen_ty_4, _status),
    STATUS
);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_4, _utime), UTIME);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_4, _stime), STIME);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_5, _addr), ADDR);
static_assertions::const_assert_eq!(
    16 + offset_of!(g::__sifields__bindgen_ty_5, __bindgen_anon_1),
    TRAPNO
);
static_assertions::const_assert_eq!(
    TRAPNO
        + offset_of!(
            g::__sifields__bindgen_ty_5__bindgen_ty_1__bindgen_ty_2,
            _pkey
        ),
    PKEY
);
static_assertions::const_assert_eq!(
    16 + offset_of!(g::__sifields__bindgen_ty_7, _syscall),
    SYSCALL
);
static_assertions::const_assert_eq!(16 + offset_of!(g::__sifields__bindgen_ty_7, _arch), ARCH);

/// Byte offsets in the 128-byte `siginfo_t`.
const PID: usize = 16;
const UID: usize = 20;
const TID: usize = 16;
const OVERRUN: usize = 20;
const VALUE: usize = 24;
const STATUS: usize = 24;
const UTIME: usize = 32;
const STIME: usize = 40;
const ADDR: usize = 16;
const TRAPNO: usize = 24;
const PKEY: usize = 32;
const SYSCALL: usize = 24;
const ARCH: usize = 28;

impl core::fmt::Debug for SigInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigInfo")
            .field("signo", &self.signo)
            .field("errno", &self.errno)
            .field("code", &self.code)
            .field("word16", &self.u64_at(16))
            .field("word24", &self.u64_at(24))
            .finish_non_exhaustive()
    }
}

impl SigInfo {
    /// All zero.
    pub const ZERO: SigInfo = SigInfo {
        signo: 0,
        errno: 0,
        code: 0,
        pad: 0,
        fields: [0; 112],
    };

    const fn header(sig: Signal, code: i32) -> SigInfo {
        let mut s = SigInfo::ZERO;
        s.signo = sig.get() as i32;
        s.code = code;
        s
    }

    const fn put(&mut self, off: usize, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.fields[off - 16 + i] = bytes[i];
            i += 1;
        }
    }

    const fn u32_at(&self, off: usize) -> u32 {
        let b = &self.fields;
        let o = off - 16;
        u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
    }

    const fn u64_at(&self, off: usize) -> u64 {
        (self.u32_at(off) as u64) | ((self.u32_at(off + 4) as u64) << 32)
    }

    /// The "kill" layout: `kill` (`SI_USER`), `tkill`/`tgkill` (`SI_TKILL`) or the kernel
    /// (`SI_KERNEL`), from process `pid` of user `uid`.
    pub const fn kill(sig: Signal, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut s = SigInfo::header(sig, code);
        s.put(PID, &pid.to_ne_bytes());
        s.put(UID, &uid.to_ne_bytes());
        s
    }

    /// The "rt" layout: `rt_sigqueueinfo` (`SI_QUEUE`) and other negative codes, with a value.
    pub const fn rt(sig: Signal, code: i32, pid: i32, uid: u32, value: SigVal) -> SigInfo {
        let mut s = SigInfo::kill(sig, code, pid, uid);
        s.put(VALUE, &value.to_ne_bytes());
        s
    }

    /// The "timer" layout (`SI_TIMER`): the kernel timer id, the overrun count, the value.
    pub const fn timer(sig: Signal, timer_id: i32, overrun: i32, value: SigVal) -> SigInfo {
        let mut s = SigInfo::header(sig, code::SI_TIMER);
        s.put(TID, &timer_id.to_ne_bytes());
        s.put(OVERRUN, &overrun.to_ne_bytes());
        s.put(VALUE, &value.to_ne_bytes());
        s
    }

    /// The "fault" layout: a synchronous fault at `addr` (`SEGV_MAPERR`, `ILL_ILLOPN`, …, or
    /// `SI_KERNEL` with `addr` 0 for `hlt`/general protection). `si_trapno` stays 0 on x86_64.
    pub const fn fault(sig: Signal, code: i32, addr: usize) -> SigInfo {
        let mut s = SigInfo::header(sig, code);
        s.put(ADDR, &(addr as u64).to_ne_bytes());
        s
    }

    /// The "chld" layout.
    pub const fn chld(sig: Signal, code: i32, pid: i32, uid: u32, status: i32) -> SigInfo {
        let mut s = SigInfo::kill(sig, code, pid, uid);
        s.put(STATUS, &status.to_ne_bytes());
        s
    }

    /// What `collect_signal` reports for a pending signal whose queue entry was lost (queue
    /// full when it was sent): `SI_USER`, pid and uid 0.
    pub const fn lost(sig: Signal) -> SigInfo {
        SigInfo::kill(sig, code::SI_USER, 0, 0)
    }

    /// `si_pid` (kill, rt and chld layouts).
    pub const fn pid(&self) -> i32 {
        self.u32_at(PID) as i32
    }
    /// `si_uid` (kill, rt and chld layouts).
    pub const fn uid(&self) -> u32 {
        self.u32_at(UID)
    }
    /// `si_tid`: the kernel timer id (timer layout).
    pub const fn timer_id(&self) -> i32 {
        self.u32_at(TID) as i32
    }
    /// Sets `si_overrun` (timer layout): filled in at delivery, as Linux's `posixtimer_rearm`.
    pub fn set_overrun(&mut self, overrun: i32) {
        self.put(OVERRUN, &overrun.to_ne_bytes());
    }

    /// `si_overrun` (timer layout).
    pub const fn overrun(&self) -> i32 {
        self.u32_at(OVERRUN) as i32
    }
    /// `si_value` (timer and rt layouts).
    pub const fn value(&self) -> SigVal {
        self.u64_at(VALUE)
    }
    /// `si_status` (chld layout).
    pub const fn status(&self) -> i32 {
        self.u32_at(STATUS) as i32
    }
    /// `si_utime` (chld layout).
    pub const fn utime(&self) -> i64 {
        self.u64_at(UTIME) as i64
    }
    /// `si_stime` (chld layout).
    pub const fn stime(&self) -> i64 {
        self.u64_at(STIME) as i64
    }
    /// `si_addr` (fault layout).
    pub const fn addr(&self) -> usize {
        self.u64_at(ADDR) as usize
    }
    /// `si_trapno` (fault layout; always 0 on x86_64).
    pub const fn trapno(&self) -> i32 {
        self.u32_at(TRAPNO) as i32
    }
    /// `si_pkey` (fault layout, `SEGV_PKUERR`).
    pub const fn pkey(&self) -> u32 {
        self.u32_at(PKEY)
    }
    /// `si_syscall` (sys layout).
    pub const fn syscall(&self) -> i32 {
        self.u32_at(SYSCALL) as i32
    }
    /// `si_arch` (sys layout).
    pub const fn arch(&self) -> u32 {
        self.u32_at(ARCH)
    }

    /// The 128 bytes, as they are copied to user memory.
    pub fn as_bytes(&self) -> &[u8; 128] {
        // SAFETY: `SigInfo` is `repr(C)`, 128 bytes (asserted above), made only of integers
        // with explicit padding fields, so every byte is initialised.
        unsafe { &*(self as *const SigInfo).cast::<[u8; 128]>() }
    }

    /// A `SigInfo` from 128 bytes a program gave (`rt_sigqueueinfo`'s `uinfo`).
    pub fn from_bytes(bytes: &[u8; 128]) -> SigInfo {
        let mut s = SigInfo::ZERO;
        let i32_at =
            |o: usize| i32::from_ne_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        s.signo = i32_at(0);
        s.errno = i32_at(4);
        s.code = i32_at(8);
        s.pad = i32_at(12);
        s.fields.copy_from_slice(&bytes[16..]);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        let s = Signal::of(40);
        let q = SigInfo::rt(s, code::SI_QUEUE, 77, 1000, 0xdead_beef_0bad_f00d);
        assert_eq!((q.signo, q.code, q.pid(), q.uid()), (40, -1, 77, 1000));
        assert_eq!(q.value(), 0xdead_beef_0bad_f00d);
        let t = SigInfo::timer(s, 3, 5, 9);
        assert_eq!(
            (t.code, t.timer_id(), t.overrun(), t.value()),
            (-2, 3, 5, 9)
        );
        let f = SigInfo::fault(Signal::of(11), 1, 0x1234);
        assert_eq!((f.addr(), f.trapno()), (0x1234, 0));
        assert_eq!(SigInfo::from_bytes(q.as_bytes()), q);
        assert_eq!(q.as_bytes()[24..32], 0xdead_beef_0bad_f00du64.to_ne_bytes());
    }
}
