//! Raw Linux syscalls.
//!
//! Every syscall of this crate goes through the assembly stubs in `arch` (one contiguous
//! section), never through the C library: raw threads share the C library's `%fs` and its
//! `errno`, and lintel-cc programs have no glibc at all. The helpers here are thin, typed
//! wrappers that return the raw result (`-errno` on failure).

use core::ffi::c_void;

use linux_raw_sys::general as g;

use crate::arch;

/// Syscall numbers and constants this crate uses, as `usize`, from `linux-raw-sys`.
pub(crate) mod nr {
    use linux_raw_sys::general as g;
    pub(crate) const READ: usize = g::__NR_read as usize;
    pub(crate) const CLOSE: usize = g::__NR_close as usize;
    pub(crate) const MMAP: usize = g::__NR_mmap as usize;
    pub(crate) const MPROTECT: usize = g::__NR_mprotect as usize;
    pub(crate) const MUNMAP: usize = g::__NR_munmap as usize;
    pub(crate) const RT_SIGACTION: usize = g::__NR_rt_sigaction as usize;
    pub(crate) const RT_SIGPROCMASK: usize = g::__NR_rt_sigprocmask as usize;
    pub(crate) const SCHED_YIELD: usize = g::__NR_sched_yield as usize;
    pub(crate) const GETPID: usize = g::__NR_getpid as usize;
    pub(crate) const CLONE: usize = g::__NR_clone as usize;
    pub(crate) const EXIT: usize = g::__NR_exit as usize;
    pub(crate) const SIGALTSTACK: usize = g::__NR_sigaltstack as usize;
    pub(crate) const ARCH_PRCTL: usize = g::__NR_arch_prctl as usize;
    pub(crate) const GETTID: usize = g::__NR_gettid as usize;
    pub(crate) const FUTEX: usize = g::__NR_futex as usize;
    pub(crate) const CLOCK_GETTIME: usize = g::__NR_clock_gettime as usize;
    pub(crate) const TGKILL: usize = g::__NR_tgkill as usize;
    pub(crate) const OPENAT: usize = g::__NR_openat as usize;
}

/// `arch_prctl` codes from `arch/x86/include/uapi/asm/prctl.h` (not in `linux-raw-sys`).
pub(crate) mod arch_prctl {
    /// Set the GS base.
    pub(crate) const ARCH_SET_GS: usize = 0x1001;
    /// Set the FS base.
    pub(crate) const ARCH_SET_FS: usize = 0x1002;
    /// Read the FS base.
    pub(crate) const ARCH_GET_FS: usize = 0x1003;
    /// Read the GS base.
    pub(crate) const ARCH_GET_GS: usize = 0x1004;
}

/// Performs Linux syscall `nr` with six arguments and returns its raw result (a value, or
/// `-errno` in `-4095..=-1`).
///
/// The `syscall` instruction lives in the crate's syscall section (see the crate docs), so this
/// is what Syscall User Dispatch will exempt. It is *not* interruptible by
/// [`lintel_kernel::Notify::interrupt`]: use [`lintel_kernel::Passthrough`] for that.
///
/// # Safety
/// The arguments must be valid for the syscall as Linux defines it; a syscall can do anything a
/// process can do (unmap the caller's stack, exit the thread, ...).
#[inline]
pub unsafe fn raw_syscall6(nr: usize, args: [usize; 6]) -> isize {
    // SAFETY: the stub follows the C ABI and performs exactly this syscall; the caller vouches
    // for the arguments.
    unsafe { arch::lintel_host_syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5]) }
}

/// Shorthand for internal calls.
///
/// # Safety
/// As [`raw_syscall6`].
#[inline]
pub(crate) unsafe fn sys(nr: usize, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    // SAFETY: forwarded contract.
    unsafe { arch::lintel_host_syscall6(nr, a0, a1, a2, a3, 0, 0) }
}

/// `gettid()`.
#[inline]
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and no side effects.
    unsafe { sys(nr::GETTID, 0, 0, 0, 0) as i32 }
}

/// `getpid()`.
pub(crate) fn getpid() -> i32 {
    // SAFETY: getpid has no arguments and no side effects.
    unsafe { sys(nr::GETPID, 0, 0, 0, 0) as i32 }
}

/// `tgkill(tgid, tid, sig)`; the caller only ever aims at threads of this process.
pub(crate) fn tgkill(tgid: i32, tid: i32, sig: u32) -> isize {
    // SAFETY: tgkill touches no memory of ours; targets are threads of our own group.
    unsafe { sys(nr::TGKILL, tgid as usize, tid as usize, sig as usize, 0) }
}

/// `sched_yield()`.
pub(crate) fn sched_yield() {
    // SAFETY: no arguments, no memory effects.
    unsafe { sys(nr::SCHED_YIELD, 0, 0, 0, 0) };
}

/// `futex(uaddr, op, val, timeout_or_val2, uaddr2, val3)`.
///
/// # Safety
/// `uaddr` (and `uaddr2`, `timeout` where the op uses them) must be valid for the op.
#[inline]
pub(crate) unsafe fn futex(
    uaddr: *const u32,
    op: u32,
    val: u32,
    timeout_or_val2: usize,
    uaddr2: usize,
    val3: u32,
) -> isize {
    // SAFETY: forwarded contract.
    unsafe {
        arch::lintel_host_syscall6(
            nr::FUTEX,
            uaddr as usize,
            op as usize,
            val as usize,
            timeout_or_val2,
            uaddr2,
            val3 as usize,
        )
    }
}

/// Anonymous private mapping of `len` bytes with `prot`; returns the address or `-errno`.
pub(crate) fn mmap_anon(len: usize, prot: u32, extra_flags: u32) -> Result<usize, isize> {
    let flags = (g::MAP_PRIVATE | g::MAP_ANONYMOUS | extra_flags) as usize;
    // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing touches nothing
    // that exists.
    let r = unsafe {
        arch::lintel_host_syscall6(nr::MMAP, 0, len, prot as usize, flags, usize::MAX, 0)
    };
    if (-4095..0).contains(&r) {
        Err(r)
    } else {
        Ok(r as usize)
    }
}

/// `mprotect(addr, len, prot)`.
///
/// # Safety
/// Nothing may rely on the old protection of the range.
pub(crate) unsafe fn mprotect(addr: usize, len: usize, prot: u32) -> isize {
    // SAFETY: forwarded contract.
    unsafe { sys(nr::MPROTECT, addr, len, prot as usize, 0) }
}

/// `munmap(addr, len)`.
///
/// # Safety
/// Nothing may use the range afterwards.
pub(crate) unsafe fn munmap(addr: usize, len: usize) -> isize {
    // SAFETY: forwarded contract.
    unsafe { sys(nr::MUNMAP, addr, len, 0, 0) }
}

/// `sigaltstack(new, old)`.
///
/// # Safety
/// `new`, if non-null, must describe memory reserved for this thread's signal stack.
pub(crate) unsafe fn sigaltstack(new: *const g::stack_t, old: *mut g::stack_t) -> isize {
    // SAFETY: forwarded contract.
    unsafe { sys(nr::SIGALTSTACK, new as usize, old as usize, 0, 0) }
}

/// `rt_sigprocmask(how, set, old, 8)` on a 64-bit mask.
///
/// # Safety
/// Changing the mask must not break the caller's assumptions.
pub(crate) unsafe fn sigprocmask(how: u32, set: *const u64, old: *mut u64) -> isize {
    // SAFETY: forwarded contract; the set size is 8 bytes as on x86_64.
    unsafe {
        sys(
            nr::RT_SIGPROCMASK,
            how as usize,
            set as usize,
            old as usize,
            8,
        )
    }
}

/// The kernel's x86_64 `struct sigaction` as `rt_sigaction` takes it.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct KernelSigaction {
    /// `sa_handler` / `sa_sigaction`, or `SIG_DFL` (0) / `SIG_IGN` (1).
    pub(crate) handler: usize,
    /// `SA_*` flags.
    pub(crate) flags: u64,
    /// `sa_restorer`.
    pub(crate) restorer: usize,
    /// Signals blocked while the handler runs.
    pub(crate) mask: u64,
}
static_assertions::assert_eq_size!(KernelSigaction, g::kernel_sigaction);

/// `rt_sigaction(sig, new, old, 8)`.
///
/// # Safety
/// `new`'s handler must be a valid `extern "C"` signal handler and restorer.
pub(crate) unsafe fn sigaction(
    sig: u32,
    new: *const KernelSigaction,
    old: *mut KernelSigaction,
) -> isize {
    // SAFETY: forwarded contract.
    unsafe {
        sys(
            nr::RT_SIGACTION,
            sig as usize,
            new as usize,
            old as usize,
            8,
        )
    }
}

/// `arch_prctl(code, addr)`.
///
/// # Safety
/// `ARCH_SET_*` changes a thread register the caller must own; `ARCH_GET_*` writes `*addr`.
pub(crate) unsafe fn arch_prctl(code: usize, addr: usize) -> isize {
    // SAFETY: forwarded contract.
    unsafe { sys(nr::ARCH_PRCTL, code, addr, 0, 0) }
}

/// `clock_gettime(clock, ts)`.
pub(crate) fn clock_gettime(clock: u32, ts: &mut g::__kernel_timespec) -> isize {
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe {
        sys(
            nr::CLOCK_GETTIME,
            clock as usize,
            ts as *mut _ as usize,
            0,
            0,
        )
    }
}

/// Reads a whole small file (`/proc/self/auxv`) into `buf`; returns the bytes read.
pub(crate) fn read_file(path: &core::ffi::CStr, buf: &mut [u8]) -> Result<usize, isize> {
    // SAFETY: `path` is NUL-terminated; openat with AT_FDCWD only reads it.
    let fd = unsafe {
        sys(
            nr::OPENAT,
            g::AT_FDCWD as isize as usize,
            path.as_ptr() as usize,
            (g::O_RDONLY | g::O_CLOEXEC) as usize,
            0,
        )
    };
    if fd < 0 {
        return Err(fd);
    }
    let mut got = 0usize;
    let res = loop {
        let rest = &mut buf[got..];
        if rest.is_empty() {
            break Ok(got);
        }
        // SAFETY: `rest` is valid writable memory of the given length; `fd` is ours.
        let r = unsafe {
            sys(
                nr::READ,
                fd as usize,
                rest.as_mut_ptr() as *mut c_void as usize,
                rest.len(),
                0,
            )
        };
        match r {
            0 => break Ok(got),
            r if r > 0 => got += r as usize,
            r if r == -(linux_raw_sys::errno::EINTR as isize) => continue,
            r => break Err(r),
        }
    };
    // SAFETY: closing the descriptor we opened.
    unsafe { sys(nr::CLOSE, fd as usize, 0, 0, 0) };
    res
}

/// `exit(0)` of the calling thread only.
pub(crate) fn exit_thread() -> ! {
    exit_thread_with(0)
}

/// `exit(status)`: ends the calling thread (the process too, with `status`, if it is the last).
pub(crate) fn exit_thread_with(status: i32) -> ! {
    // SAFETY: ends the calling thread; its callers have made sure nothing on its stack is still
    // referenced.
    unsafe { arch::lintel_host_exit_thread(status as u32 as usize) }
}

/// Writes `msg` to stderr and kills the process with SIGABRT. For states the port cannot
/// recover from (no memory for a thread record); uses no C library and no TLS.
#[cold]
pub(crate) fn fatal(msg: &str) -> ! {
    // SAFETY: write(2) of a valid buffer; then SIGABRT to ourselves (default action: abort).
    unsafe {
        sys(
            g::__NR_write as usize,
            2,
            msg.as_ptr() as usize,
            msg.len(),
            0,
        );
        let dfl = KernelSigaction::default();
        sigaction(g::SIGABRT, &dfl, core::ptr::null_mut());
        let unblock: u64 = 1 << (g::SIGABRT - 1);
        sigprocmask(g::SIG_UNBLOCK, &unblock, core::ptr::null_mut());
    }
    tgkill(getpid(), gettid(), g::SIGABRT);
    exit_thread()
}
