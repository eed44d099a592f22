//! Fault-tolerant user memory: exception-table-style fixups in the host SIGSEGV/SIGBUS handler.
//!
//! Each accessor is a small assembly routine (in `arch`) whose one memory-touching instruction
//! has a label. The host SIGSEGV and SIGBUS handlers (`SA_SIGINFO | SA_ONSTACK`, installed at
//! init) compare the faulting RIP with those labels: on a match they move RIP to
//! `lintel_host_ufault_fixup`, which returns "faulted" to the routine's caller, and the
//! accessor reports `EFAULT`. Any other fault is chained to the handler that was installed
//! before ours (Rust's std installs one for stack-overflow detection), or, if there was none,
//! the disposition is reset to `SIG_DFL` and the handler returns so the fault re-raises and
//! kills the process the native way.
//!
//! SIGSEGV and SIGBUS must not be blocked on a thread that uses these accessors: Linux forces
//! a blocked synchronous fault signal to its default action.
//!
//! Once lintel manages SIGSEGV/SIGBUS ([`lintel_kernel::Delivery::route_signal`]), a fault
//! that is not at an accessor is forwarded to lintel ([`crate::delivery`]) instead of chained.

use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use lintel_kernel::{Errno, UserMemory};
use linux_raw_sys::general as g;

use crate::Host;
use crate::arch::{self, Ucontext, labels};
use crate::init;
use crate::syscall::{self, KernelSigaction};

/// Linux's `TASK_SIZE_MAX` with 4-level paging: one page below 2^47.
pub const USER_END: usize = 0x7fff_ffff_f000;

/// `SIG_DFL` and `SIG_IGN` (`include/uapi/asm-generic/signal-defs.h`; function-pointer
/// constants that `linux-raw-sys` does not export).
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

/// The actions that were installed before ours, for chaining: handler and flags.
static OLD_SEGV: (AtomicUsize, AtomicU64) = (AtomicUsize::new(0), AtomicU64::new(0));
static OLD_BUS: (AtomicUsize, AtomicU64) = (AtomicUsize::new(0), AtomicU64::new(0));

fn old_action(sig: u32) -> &'static (AtomicUsize, AtomicU64) {
    if sig == g::SIGBUS {
        &OLD_BUS
    } else {
        &OLD_SEGV
    }
}

/// The host SIGSEGV/SIGBUS handler.
unsafe extern "C" fn on_fault_signal(sig: i32, info: *mut c_void, ctx: *mut c_void) {
    // SAFETY: with SA_SIGINFO the kernel passes the interrupted context, ours to edit until
    // we return.
    let uc = unsafe { &mut *(ctx as *mut Ucontext) };
    let rip = uc.uc_mcontext.rip as usize;
    if labels::ufault_sites().contains(&rip) {
        uc.uc_mcontext.rip = labels::ufault_fixup() as u64;
        return;
    }
    if crate::delivery::forwarded(sig as u32) {
        // lintel manages this signal: the fault is the program's (or lintel's own, which
        // `forward` turns into a native death).
        // SAFETY: we are the host handler of `sig`, on the faulting thread.
        unsafe { crate::delivery::forward(sig as u32, info, uc) };
        return;
    }
    let (handler, flags) = old_action(sig as u32);
    let handler = handler.load(Ordering::Acquire);
    let flags = flags.load(Ordering::Relaxed);
    if handler == SIG_DFL || handler == SIG_IGN {
        // Reset to the default action and return: the faulting instruction runs again and
        // the kernel kills the process with this signal, as it would have without us.
        let dfl = KernelSigaction::default();
        // SAFETY: SIG_DFL needs no handler or restorer.
        unsafe { syscall::sigaction(sig as u32, &dfl, core::ptr::null_mut()) };
    } else if flags & g::SA_SIGINFO as u64 != 0 {
        // SAFETY: the previous owner installed this SA_SIGINFO handler for this signal; we call
        // it as the kernel would have, with the same arguments.
        let f: unsafe extern "C" fn(i32, *mut c_void, *mut c_void) =
            unsafe { core::mem::transmute(handler) };
        // SAFETY: as above.
        unsafe { f(sig, info, ctx) };
    } else {
        // SAFETY: as above, a plain `void (*)(int)` handler.
        let f: unsafe extern "C" fn(i32) = unsafe { core::mem::transmute(handler) };
        // SAFETY: as above.
        unsafe { f(sig) };
    }
}

/// Installs the SIGSEGV/SIGBUS handlers, remembering the previous ones (called once from init).
pub(crate) fn install_handlers() {
    for sig in [g::SIGSEGV, g::SIGBUS] {
        let mut old = KernelSigaction::default();
        // Record the old action before ours can run (a fault between the two would find
        // SIG_DFL recorded: still a correct crash).
        // SAFETY: reading the current action only.
        unsafe { syscall::sigaction(sig, core::ptr::null(), &mut old) };
        let (h, f) = old_action(sig);
        f.store(old.flags, Ordering::Relaxed);
        h.store(old.handler, Ordering::Release);
        install_handler(sig);
    }
}

/// (Re-)installs this port's handler for `sig` (SIGSEGV or SIGBUS).
pub(crate) fn install_handler(sig: u32) {
    let act = KernelSigaction {
        handler: on_fault_signal as *const () as usize,
        flags: (g::SA_SIGINFO | g::SA_ONSTACK | g::SA_RESTORER) as u64,
        restorer: labels::restore_rt(),
        mask: crate::delivery::HANDLER_MASK,
    };
    // SAFETY: a valid handler and restorer.
    let r = unsafe { syscall::sigaction(sig, &act, core::ptr::null_mut()) };
    if r != 0 {
        syscall::fatal("lintel-host: cannot install the fault handlers\n");
    }
}

/// Whether `[addr, addr + len)` lies wholly below [`USER_END`]: what the accessors require
/// before touching memory (stricter than Linux's `access_ok` for small sizes, see
/// `UserMemory::access_ok` below).
fn below_user_end(addr: usize, len: usize) -> bool {
    addr.checked_add(len).is_some_and(|end| end <= USER_END)
}

fn check_word(addr: usize) -> Result<(), Errno> {
    if !below_user_end(addr, 4) {
        return Err(Errno::EFAULT);
    }
    if addr % 4 != 0 {
        // The contract says aligned; a split-lock cmpxchg could trap on this CPU.
        return Err(Errno::EINVAL);
    }
    init::ensure_init();
    Ok(())
}

// SAFETY: every access is done by one of the labelled instructions, whose faults the handler
// turns into `Err(EFAULT)`; ranges reaching `user_end` are rejected before any access (by
// `below_user_end`, not by the laxer, Linux-exact `access_ok`). The load
// is a plain x86 `mov` (acquire), the compare-exchange `lock cmpxchg` (sequentially
// consistent on success and failure); both routines are opaque calls, so the compiler keeps
// surrounding accesses on their side.
unsafe impl UserMemory for Host {
    fn user_end(&self) -> usize {
        USER_END
    }

    /// Linux 6.18's x86_64 `__access_ok`, which is not quite "below `user_end`": for sizes up
    /// to a page (the kernel's compile-time-constant case, e.g. the futex word) only the start
    /// is checked, `addr <= USER_PTR_MAX` with `USER_PTR_MAX == TASK_SIZE_MAX` (the page at
    /// `TASK_SIZE_MAX` can never be mapped, so an access there still faults); larger ranges
    /// must end at or below it without wrapping. Observable where Linux does not touch the
    /// word: a private `FUTEX_WAKE` at exactly `TASK_SIZE_MAX` returns 0 natively, one at
    /// `TASK_SIZE_MAX + 4` `EFAULT` (probed on this kernel; see the tests).
    #[inline]
    fn access_ok(&self, addr: usize, len: usize) -> bool {
        if len <= init::PAGE_SIZE.load(Ordering::Relaxed) {
            addr <= USER_END
        } else {
            below_user_end(addr, len)
        }
    }

    fn load_u32(&self, addr: usize) -> Result<u32, Errno> {
        check_word(addr)?;
        // SAFETY: faults are fixed up into flag = 1; the address is below user_end.
        let p = unsafe { arch::lintel_host_load_u32(addr) };
        if p.flag != 0 {
            Err(Errno::EFAULT)
        } else {
            Ok(p.value as u32)
        }
    }

    unsafe fn cmpxchg_u32(&self, addr: usize, expected: u32, new: u32) -> Result<u32, Errno> {
        check_word(addr)?;
        // SAFETY: as in `load_u32`.
        let p = unsafe { arch::lintel_host_cmpxchg_u32(addr, expected, new) };
        if p.flag != 0 {
            Err(Errno::EFAULT)
        } else {
            Ok(p.value as u32)
        }
    }

    fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), Errno> {
        // Linux's copy_from_user of nothing succeeds whatever the address.
        if buf.is_empty() {
            return Ok(());
        }
        if !below_user_end(addr, buf.len()) {
            return Err(Errno::EFAULT);
        }
        init::ensure_init();
        // SAFETY: `buf` is valid for writes; faults on the user side are fixed up.
        let p = unsafe { arch::lintel_host_copy(buf.as_mut_ptr() as usize, addr, buf.len()) };
        if p.flag != 0 {
            Err(Errno::EFAULT)
        } else {
            Ok(())
        }
    }

    unsafe fn write(&self, addr: usize, buf: &[u8]) -> Result<(), Errno> {
        // Linux's copy_to_user of nothing succeeds whatever the address.
        if buf.is_empty() {
            return Ok(());
        }
        if !below_user_end(addr, buf.len()) {
            return Err(Errno::EFAULT);
        }
        init::ensure_init();
        if buf.len() <= 32 && buf.len() % 8 == 0 {
            // Whole words (timespecs, sigsets, counters): word stores start faster.
            for (i, w) in buf.chunks_exact(8).enumerate() {
                let v = u64::from_ne_bytes(w.try_into().unwrap_or_default());
                // SAFETY: as below: faults on the user side are fixed up.
                if unsafe { arch::lintel_host_store_u64(addr + 8 * i, v) }.flag != 0 {
                    return Err(Errno::EFAULT);
                }
            }
            return Ok(());
        }
        // SAFETY: `buf` is valid for reads; faults on the user side are fixed up. Writing to
        // arbitrary user memory is the caller's (lintel's) business, as on Linux.
        let p = unsafe { arch::lintel_host_copy(addr, buf.as_ptr() as usize, buf.len()) };
        if p.flag != 0 {
            Err(Errno::EFAULT)
        } else {
            Ok(())
        }
    }
}
