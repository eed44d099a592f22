//! `Errno`: one error type for the whole of lintel.
//!
//! Stored as the positive Linux value; the negative-int encoding (`-errno` in a syscall return)
//! appears only at the dispatcher's edge, through [`Errno::to_ret`] and [`Errno::from_ret`].

use core::fmt;
use linux_raw_sys::errno as e;

/// A Linux error number.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Errno(u16);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: Errno = Errno(e::$name as u16);
            )*
        }
        fn name(v: u16) -> Option<&'static str> {
            match v as u32 {
                $(e::$name => Some(stringify!($name)),)*
                // Kernel-internal values, below.
                512 => Some("ERESTARTSYS"),
                513 => Some("ERESTARTNOINTR"),
                514 => Some("ERESTARTNOHAND"),
                516 => Some("ERESTART_RESTARTBLOCK"),
                _ => None,
            }
        }
    };
}

errnos!(
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    EBADF,
    EMFILE,
    E2BIG,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EINVAL,
    ENOSPC,
    ERANGE,
    EDEADLK,
    ENOSYS,
    EOPNOTSUPP,
    ETIMEDOUT,
    EOWNERDEAD,
    ENOTRECOVERABLE,
);

/// Kernel-internal restart codes. They are not in the UAPI headers (hence not in
/// `linux-raw-sys`); the values are Linux's `include/linux/errno.h`. They never reach a program:
/// the dispatcher turns them into a restart or `EINTR` by Linux's rules.
impl Errno {
    /// Restart if the signal had no handler or its handler has `SA_RESTART`; else `EINTR`.
    pub const ERESTARTSYS: Errno = Errno(512);
    /// Always restart.
    pub const ERESTARTNOINTR: Errno = Errno(513);
    /// Restart if no handler ran; else `EINTR`.
    pub const ERESTARTNOHAND: Errno = Errno(514);
    /// Restart through the thread's restart block if no handler ran; else `EINTR`.
    pub const ERESTART_RESTARTBLOCK: Errno = Errno(516);
    /// `EWOULDBLOCK` is `EAGAIN` on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;

    /// Builds an `Errno` from a positive Linux error number (1..=4095).
    pub const fn from_raw(raw: i32) -> Option<Errno> {
        if raw > 0 && raw < 4096 {
            Some(Errno(raw as u16))
        } else {
            None
        }
    }

    /// The positive Linux error number.
    pub const fn raw(self) -> i32 {
        self.0 as i32
    }

    /// The syscall-return encoding: `-errno`.
    pub const fn to_ret(self) -> isize {
        -(self.0 as isize)
    }

    /// Decodes a raw syscall return: `-4095..=-1` is an error, anything else a value.
    pub const fn from_ret(ret: isize) -> Result<usize, Errno> {
        if ret < 0 && ret >= -4095 {
            Err(Errno((-ret) as u16))
        } else {
            Ok(ret as usize)
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match name(self.0) {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        assert_eq!(Errno::EAGAIN.raw(), 11);
        assert_eq!(Errno::EAGAIN.to_ret(), -11);
        assert_eq!(Errno::from_ret(-11), Err(Errno::EAGAIN));
        assert_eq!(Errno::from_ret(3), Ok(3));
        assert_eq!(Errno::from_ret(-4096), Ok((-4096isize) as usize));
        assert_eq!(Errno::from_raw(0), None);
        assert_eq!(Errno::ETIMEDOUT.raw(), 110);
        assert_eq!(Errno::ENOSYS.raw(), 38);
    }
}
