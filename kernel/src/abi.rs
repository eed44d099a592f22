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

// ---------------------------------------------------------------------------------------------
// The x86_64 machine context of a signal frame (`arch/x86/include/uapi/asm/sigcontext.h`): what a
// host port's handler receives and what lintel's signal frames carry. Not in linux-raw-sys's
// `general` module, hence written out here, with every offset asserted against glibc's `REG_*`.

use core::mem::offset_of;

/// `struct sigcontext` (x86_64, `uc_mcontext`): glibc's `mcontext_t` with `gregs[REG_*]` in
/// the same order (R8 = 0 … CR2 = 22), then the FP state pointer.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
#[repr(C)]
#[allow(missing_docs)]
pub struct Sigcontext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    /// `REG_ERR`: the page-fault / exception error code.
    pub err: u64,
    /// `REG_TRAPNO`: the exception vector (14 for a page fault, 13 for #GP).
    pub trapno: u64,
    /// `REG_OLDMASK`: the first word of the old mask (legacy; 64-bit frames write 0).
    pub oldmask: u64,
    /// `REG_CR2`: the faulting address of a page fault.
    pub cr2: u64,
    /// Address of the FP (XSAVE) area, or 0.
    pub fpstate: u64,
    /// Reserved, zero.
    pub reserved1: [u64; 8],
}

/// glibc's `REG_*` index of each general register in `gregs` (= [`Sigcontext`] word).
pub mod reg {
    #![allow(missing_docs)]
    pub const R8: usize = 0;
    pub const RDI: usize = 8;
    pub const RSI: usize = 9;
    pub const RDX: usize = 12;
    pub const RAX: usize = 13;
    pub const RSP: usize = 15;
    pub const RIP: usize = 16;
    pub const EFL: usize = 17;
    pub const CSGSFS: usize = 18;
    pub const ERR: usize = 19;
    pub const TRAPNO: usize = 20;
    pub const OLDMASK: usize = 21;
    pub const CR2: usize = 22;
    /// Number of `gregs`.
    pub const NGREG: usize = 23;
}

static_assertions::const_assert_eq!(size_of::<Sigcontext>(), 256);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, rdi), reg::RDI * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, rsi), reg::RSI * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, rdx), reg::RDX * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, rax), reg::RAX * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, rsp), reg::RSP * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, rip), reg::RIP * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, eflags), reg::EFL * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, cs), reg::CSGSFS * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, err), reg::ERR * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, trapno), reg::TRAPNO * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, oldmask), reg::OLDMASK * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, cr2), reg::CR2 * 8);
static_assertions::const_assert_eq!(offset_of!(Sigcontext, fpstate), reg::NGREG * 8);
