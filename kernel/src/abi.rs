//! Linux ABI types and constants, as the porting traits and the layers above speak them.
//!
//! Everything here comes from `linux-raw-sys` (generated from the kernel's UAPI headers);
//! lintel never retypes a Linux constant. Layouts shared with C are checked at compile time.

pub use linux_raw_sys::general as linux;

/// `struct __kernel_timespec` (the 64-bit timespec of every modern syscall).
pub type Timespec = linux::__kernel_timespec;

static_assertions::assert_eq_size!(Timespec, [u64; 2]);
static_assertions::const_assert_eq!(core::mem::offset_of!(Timespec, tv_sec), 0);
static_assertions::const_assert_eq!(core::mem::offset_of!(Timespec, tv_nsec), 8);

/// Nanoseconds per second.
pub const NSEC_PER_SEC: i64 = 1_000_000_000;

/// Linux's `KTIME_MAX`: the largest representable time, used where Linux saturates.
pub const KTIME_MAX: u64 = i64::MAX as u64;
