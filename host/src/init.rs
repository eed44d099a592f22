//! One-time initialisation: the auxiliary vector, the vDSO clock, the host signal handlers.
//!
//! Runs at most once per process, lazily from the first [`crate::Host`] call that needs it (or
//! explicitly through [`crate::Host::init`]). It uses raw syscalls only: it may run on the first
//! thread of a lintel-cc program, before the C library's TLS exists.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};

use linux_raw_sys::auxvec as aux;

use crate::syscall;

/// `HWCAP2_FSGSBASE` from `arch/x86/include/uapi/asm/hwcap2.h` (not in `linux-raw-sys`): the
/// kernel has enabled `rdfsbase`/`rdgsbase`/`wrfsbase`/`wrgsbase` in user mode.
const HWCAP2_FSGSBASE: usize = 1 << 1;

/// What lintel itself may need on a host signal stack on top of the kernel's frame.
const LINTEL_SIGSTACK_ROOM: usize = 32 * 1024;
/// The smallest host signal stack this port hands a thread.
const MIN_ALTSTACK: usize = 64 * 1024;

const UNINIT: u32 = 0;
const RUNNING: u32 = 1;
const DONE: u32 = 2;

static STATE: AtomicU32 = AtomicU32::new(UNINIT);

/// Whether `rdgsbase` & co. may be used (else `arch_prctl`).
pub(crate) static FSGSBASE: AtomicBool = AtomicBool::new(false);
/// `AT_PAGESZ`.
pub(crate) static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
/// `AT_MINSIGSTKSZ` (0 if the kernel did not say).
pub(crate) static MINSIGSTKSZ: AtomicUsize = AtomicUsize::new(0);
/// The size of every thread's host signal stack.
pub(crate) static ALTSTACK_SIZE: AtomicUsize = AtomicUsize::new(MIN_ALTSTACK);
/// This process's pid (the tgid for `tgkill`); refreshed by [`crate::after_fork_in_child`].
pub(crate) static PID: AtomicI32 = AtomicI32::new(0);

/// Makes sure [`init_once`] has completed. One acquire load on the fast path.
#[inline]
pub(crate) fn ensure_init() {
    if STATE.load(Ordering::Acquire) != DONE {
        init_slow();
    }
}

#[cold]
fn init_slow() {
    match STATE.compare_exchange(UNINIT, RUNNING, Ordering::Acquire, Ordering::Acquire) {
        Ok(_) => {
            init_once();
            STATE.store(DONE, Ordering::Release);
        }
        Err(_) => {
            // Another thread is initialising; it finishes in bounded time (a few syscalls).
            while STATE.load(Ordering::Acquire) != DONE {
                syscall::sched_yield();
            }
        }
    }
}

/// What the auxiliary vector told us.
#[derive(Default)]
struct Auxv {
    hwcap2: usize,
    minsigstksz: usize,
    pagesz: usize,
    sysinfo_ehdr: usize,
}

/// Reads `/proc/self/auxv` (raw syscalls; `getauxval` would be a C library call).
fn read_auxv() -> Auxv {
    let mut words = [0usize; 512];
    // SAFETY: the byte view covers exactly the array, which outlives it.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), size_of_val(&words))
    };
    let mut out = Auxv::default();
    let Ok(len) = syscall::read_file(c"/proc/self/auxv", bytes) else {
        return out;
    };
    let n = len / size_of::<usize>();
    for pair in words[..n].chunks_exact(2) {
        let (key, val) = (pair[0] as u32, pair[1]);
        match key {
            aux::AT_NULL => break,
            aux::AT_HWCAP2 => out.hwcap2 = val,
            aux::AT_MINSIGSTKSZ => out.minsigstksz = val,
            aux::AT_PAGESZ => out.pagesz = val,
            aux::AT_SYSINFO_EHDR => out.sysinfo_ehdr = val,
            _ => {}
        }
    }
    out
}

fn init_once() {
    let auxv = read_auxv();
    // Without auxv we cannot know whether FSGSBASE is enabled: `arch_prctl` is always right.
    FSGSBASE.store(auxv.hwcap2 & HWCAP2_FSGSBASE != 0, Ordering::Relaxed);
    let page = if auxv.pagesz.is_power_of_two() {
        auxv.pagesz
    } else {
        4096
    };
    PAGE_SIZE.store(page, Ordering::Relaxed);
    MINSIGSTKSZ.store(auxv.minsigstksz, Ordering::Relaxed);
    let want = MIN_ALTSTACK.max(auxv.minsigstksz.saturating_add(LINTEL_SIGSTACK_ROOM));
    ALTSTACK_SIZE.store(want.next_multiple_of(page), Ordering::Relaxed);
    PID.store(syscall::getpid(), Ordering::Relaxed);
    crate::clock::init_vdso(auxv.sysinfo_ehdr);
    crate::interrupt::install_handler();
    crate::usermem::install_handlers();
}
