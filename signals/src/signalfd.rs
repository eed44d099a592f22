//! `struct signalfd_siginfo`: what a `read` of a signalfd returns for each signal (Linux's
//! `fs/signalfd.c`, `signalfd_copyinfo`).
//!
//! 128 bytes with fixed fields, filled from the signal's `siginfo_t` by its layout (Linux's
//! `siginfo_layout`): the kill layout gives `ssi_pid`/`ssi_uid`; timers `ssi_tid`,
//! `ssi_overrun`, `ssi_ptr`, `ssi_int`; queued signals pid, uid, `ssi_ptr`, `ssi_int`; faults
//! `ssi_addr`; `SIGCHLD` pid, uid, `ssi_status`, `ssi_utime`, `ssi_stime`; `SIGPOLL` `ssi_band`
//! and `ssi_fd`; `SIGSYS` `ssi_call_addr`, `ssi_syscall`, `ssi_arch`. Everything else is zero.

use crate::siginfo::{SigInfo, code};
use linux_raw_sys::general as g;

/// The size of `struct signalfd_siginfo`: a read smaller than this is `EINVAL`.
pub const SIGNALFD_SIGINFO_SIZE: usize = 128;

// Offsets in `struct signalfd_siginfo` (`include/uapi/linux/signalfd.h`).
const SSI_SIGNO: usize = 0;
const SSI_ERRNO: usize = 4;
const SSI_CODE: usize = 8;
const SSI_PID: usize = 12;
const SSI_UID: usize = 16;
const SSI_FD: usize = 20;
const SSI_TID: usize = 24;
const SSI_BAND: usize = 28;
const SSI_OVERRUN: usize = 32;
const SSI_STATUS: usize = 40;
const SSI_INT: usize = 44;
const SSI_PTR: usize = 48;
const SSI_UTIME: usize = 56;
const SSI_STIME: usize = 64;
const SSI_ADDR: usize = 72;
const SSI_SYSCALL: usize = 84;
const SSI_CALL_ADDR: usize = 88;
const SSI_ARCH: usize = 96;

// Offsets in `siginfo_t` (see [`crate::siginfo`]).
const SI_PID: usize = 16;
const SI_UID: usize = 20;
const SI_VALUE: usize = 24;
const SI_STATUS: usize = 24;
const SI_UTIME: usize = 32;
const SI_STIME: usize = 40;

/// `NSIGPOLL`: the highest `si_code` of `SIGPOLL`.
const NSIGPOLL: i32 = 6;

enum Layout {
    Kill,
    Timer,
    Rt,
    Fault,
    Chld,
    Poll,
    Sys,
}

fn layout(info: &SigInfo) -> Layout {
    let (sig, c) = (info.signo as u32, info.code);
    if c > code::SI_USER && c < code::SI_KERNEL {
        match sig {
            g::SIGILL | g::SIGFPE | g::SIGSEGV | g::SIGBUS | g::SIGTRAP => Layout::Fault,
            g::SIGCHLD => Layout::Chld,
            g::SIGSYS => Layout::Sys,
            _ if c <= NSIGPOLL => Layout::Poll,
            _ => Layout::Kill,
        }
    } else if c == code::SI_TIMER {
        Layout::Timer
    } else if c == g::SI_SIGIO {
        Layout::Poll
    } else if c < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    }
}

/// `signalfd_copyinfo`: the `signalfd_siginfo` for a dequeued signal.
pub fn signalfd_siginfo(info: &SigInfo) -> [u8; SIGNALFD_SIGINFO_SIZE] {
    let si = info.as_bytes();
    let mut out = [0u8; SIGNALFD_SIGINFO_SIZE];
    let mut copy = |to: usize, from: usize, len: usize| {
        out[to..to + len].copy_from_slice(&si[from..from + len]);
    };
    copy(SSI_SIGNO, 0, 4);
    copy(SSI_ERRNO, 4, 4);
    copy(SSI_CODE, 8, 4);
    match layout(info) {
        Layout::Kill => {
            copy(SSI_PID, SI_PID, 4);
            copy(SSI_UID, SI_UID, 4);
        }
        Layout::Timer => {
            copy(SSI_TID, 16, 4);
            copy(SSI_OVERRUN, 20, 4);
            copy(SSI_PTR, SI_VALUE, 8);
            copy(SSI_INT, SI_VALUE, 4);
        }
        Layout::Rt => {
            copy(SSI_PID, SI_PID, 4);
            copy(SSI_UID, SI_UID, 4);
            copy(SSI_PTR, SI_VALUE, 8);
            copy(SSI_INT, SI_VALUE, 4);
        }
        Layout::Fault => copy(SSI_ADDR, 16, 8),
        Layout::Chld => {
            copy(SSI_PID, SI_PID, 4);
            copy(SSI_UID, SI_UID, 4);
            copy(SSI_STATUS, SI_STATUS, 4);
            copy(SSI_UTIME, SI_UTIME, 8);
            copy(SSI_STIME, SI_STIME, 8);
        }
        Layout::Poll => {
            // si_band is a long at 16 (the struct keeps its low 32 bits), si_fd an int at 24.
            copy(SSI_BAND, 16, 4);
            copy(SSI_FD, 24, 4);
        }
        Layout::Sys => {
            copy(SSI_CALL_ADDR, 16, 8);
            copy(SSI_SYSCALL, 24, 4);
            copy(SSI_ARCH, 28, 4);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigset::Signal;

    fn u32_at(b: &[u8; 128], o: usize) -> u32 {
        u32::from_ne_bytes(b[o..o + 4].try_into().unwrap())
    }

    #[test]
    fn layouts() {
        let k = signalfd_siginfo(&SigInfo::kill(Signal::of(10), code::SI_USER, 42, 7));
        assert_eq!((u32_at(&k, 0), u32_at(&k, 12), u32_at(&k, 16)), (10, 42, 7));
        let q = signalfd_siginfo(&SigInfo::rt(Signal::of(35), code::SI_QUEUE, 3, 4, 55));
        assert_eq!((u32_at(&q, 12), u32_at(&q, 44), q[48]), (3, 55, 55));
        let t = signalfd_siginfo(&SigInfo::timer(Signal::of(14), 9, 2, 77));
        assert_eq!((u32_at(&t, 24), u32_at(&t, 32), u32_at(&t, 44)), (9, 2, 77));
        let c = signalfd_siginfo(&SigInfo::chld(Signal::of(17), 1, 5, 6, 4));
        assert_eq!((u32_at(&c, 12), u32_at(&c, 40)), (5, 4));
        let f = signalfd_siginfo(&SigInfo::fault(Signal::of(11), 1, 0x1234));
        assert_eq!((u32_at(&f, 72), u32_at(&f, 12)), (0x1234, 0));
    }
}
