//! `liblintel.a`: the entry points musl's lintel arch calls, on lintel over the Linux host port.
//!
//! musl built for the lintel arch (`musl/` overlay, `cargo xtask sysroot`) contains no `syscall`
//! instruction; five entry points carry every call into lintel:
//!
//! | symbol | musl caller | what it does |
//! | --- | --- | --- |
//! | `__lintel_syscall(n, a..f)` | every `__syscallN` | [`lintel::Lintel::syscall`] |
//! | `__lintel_syscall_cp(cancel, n, a..f)` | `__syscall_cp_asm` (cancellation points) | as above, inside the cancellation window `[__cp_begin, __cp_end)` |
//! | `__cp_begin`, `__cp_end`, `__cp_cancel` | musl's cancellation handler | the window's bounds (in the host port's syscall section) and the cancel path (`jmp __cancel`) |
//! | `__lintel_clone(fn, stack, flags, arg, ptid, tls, ctid)` | `__clone` | thread creation |
//! | `__lintel_sigreturn` | `__restore_rt` (`jmp`) | `rt_sigreturn` with `%rsp` at the frame |
//!
//! Code here and below runs before musl has set up TLS (`arch_prctl`, `set_tid_address`, early
//! `mmap`): it never touches `%fs` (lintel's own per-thread record is found through GS) and is
//! built without a stack protector (Rust has none by default).
//!
//! Interim state, on the way to the threads-on-musl issue: `futex`, thread creation
//! (`__clone` with `CLONE_THREAD`), `gettid`, `set_tid_address` and thread exit are emulated;
//! signals and everything else are passed through to the host kernel, and so is a `__clone`
//! that makes a process (`posix_spawn`'s `CLONE_VM | CLONE_VFORK`), through the host's own
//! `clone` with musl's `__clone` contract. docs/abi.md lists every call's route.
#![no_std]

use core::sync::atomic::{AtomicUsize, Ordering};
use lintel::Lintel;
use lintel_futex::{Bucket, buckets_for_cpus};
use lintel_host::musl::{CpResult, clone_passthrough, syscall_cp};
use lintel_host::{HOST, Host, Thread, raw_syscall6};
use linux_raw_sys::general as nr;

/// The most futex buckets the table can have: `buckets_for_cpus` for up to 16 CPUs.
const MAX_BUCKETS: usize = 4096;

/// The process's futex buckets (static: nothing on the wait/wake path allocates, and nothing
/// here may allocate before musl's malloc exists).
static BUCKETS: [Bucket<Thread>; MAX_BUCKETS] = [const { Bucket::new() }; MAX_BUCKETS];

/// How many of [`BUCKETS`] are used (0 until the first call): Linux's sizing, 256 per CPU.
static USED: AtomicUsize = AtomicUsize::new(0);

fn lintel() -> Lintel<'static, Host> {
    let mut n = USED.load(Ordering::Relaxed);
    if n == 0 {
        lintel::stats::ENABLED.store(stats_requested(), Ordering::Relaxed);
        n = buckets_for_cpus(cpu_count()).min(MAX_BUCKETS);
        // Every thread computes the same value; the first store wins, the rest agree.
        USED.store(n, Ordering::Relaxed);
    }
    Lintel::new(&HOST, &BUCKETS[..n])
}

unsafe extern "C" {
    /// musl's environment (liblintel is linked into musl programs only).
    static __environ: *const *const u8;
}

/// Whether `LINTEL_STATS` is set to something other than `0` in the environment. Read once, at
/// the first call; before musl has set `__environ` (the very first syscalls of `_start`) it is
/// null and the answer is no.
fn stats_requested() -> bool {
    // SAFETY: musl's `__environ` is a null-terminated array of NUL-terminated strings (or null
    // before libc start-up has set it).
    unsafe {
        let mut p = __environ;
        if p.is_null() {
            return false;
        }
        while !(*p).is_null() {
            let s = core::ffi::CStr::from_ptr((*p).cast()).to_bytes();
            if let Some(v) = s.strip_prefix(b"LINTEL_STATS=") {
                return !v.is_empty() && v != b"0";
            }
            p = p.add(1);
        }
    }
    false
}

/// CPUs this process may run on (`sched_getaffinity`), at least 1.
fn cpu_count() -> usize {
    let mut mask = [0u64; 16];
    // SAFETY: a 128-byte buffer for the kernel's CPU mask.
    let r = unsafe {
        raw_syscall6(
            nr::__NR_sched_getaffinity as usize,
            [
                0,
                core::mem::size_of_val(&mask),
                mask.as_mut_ptr() as usize,
                0,
                0,
                0,
            ],
        )
    };
    if r <= 0 {
        return 1;
    }
    mask.iter()
        .map(|w| w.count_ones() as usize)
        .sum::<usize>()
        .max(1)
}

/// musl's `__syscallN`: every syscall of a lintel-arch program.
///
/// # Safety
/// The arguments are the program's, as the Linux syscall defines them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __lintel_syscall(
    n: usize,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> isize {
    // SAFETY: our caller's contract.
    unsafe { lintel().syscall(n, [a, b, c, d, e, f]) }
}

unsafe extern "C" {
    /// musl's cancellation: acts on the pending cancel of the calling thread (does not return
    /// when cancellation is enabled).
    fn __cancel() -> isize;
}

/// musl's `__syscall_cp_asm`: a cancellation point.
///
/// Passed-through calls run inside the port's cancellation window, so musl's cancellation
/// handler can abandon a call that has not committed (a blocked `read`, `nanosleep`, ...).
/// Emulated calls check the cancel flag on entry only: cancelling a thread blocked in an
/// emulated futex wait needs the signal layer's context translation (not yet there).
///
/// # Safety
/// `cancel` points at the calling thread's cancel flag; the rest as [`__lintel_syscall`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __lintel_syscall_cp(
    cancel: *const i32,
    n: usize,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> isize {
    let args = [a, b, c, d, e, f];
    if lintel::table::route(n) != lintel::table::Route::Passthrough {
        // SAFETY: musl passes its own thread's flag.
        if unsafe { cancel.read_volatile() } != 0 {
            // SAFETY: musl's own cancellation entry.
            return unsafe { __cancel() };
        }
        // SAFETY: our caller's contract.
        return unsafe { lintel().syscall(n, args) };
    }
    // SAFETY: our caller's contract.
    match unsafe { syscall_cp(cancel, n, args) } {
        CpResult::Done(r) => r,
        // SAFETY: as above.
        CpResult::Cancelled => unsafe { __cancel() },
    }
}

// `__cp_cancel`: where musl's cancellation handler sends a thread whose PC was inside the
// window. It has no `syscall` instruction, so it lives here rather than in the port's section.
core::arch::global_asm!(
    ".text",
    ".globl __cp_cancel",
    ".hidden __cp_cancel",
    ".type __cp_cancel,@function",
    "__cp_cancel:",
    "    jmp __cancel", // musl's cancellation path (tail call; never returns here)
    ".size __cp_cancel, .-__cp_cancel",
    options(att_syntax),
);

/// musl's `__clone(fn, stack, flags, arg, ptid, tls, ctid)`.
///
/// # Safety
/// As the `clone` syscall with these flags (musl's `pthread_create` and `posix_spawn` are the
/// callers).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __lintel_clone(
    f: unsafe extern "C" fn(usize) -> i32,
    stack: usize,
    flags: i32,
    arg: usize,
    ptid: usize,
    tls: usize,
    ctid: usize,
) -> i32 {
    let flags = u64::from(flags as u32);
    if lintel_clone::flags::is_thread(flags) {
        let req = lintel_clone::CloneRequest {
            flags,
            stack,
            ptid,
            ctid,
            tls,
        };
        // SAFETY: our caller's contract is clone's.
        return match unsafe { lintel_clone::clone_thread(&HOST, f, arg, &req) } {
            Ok(tid) => {
                lintel::stats::count_global(lintel::stats::Event::ThreadCreated);
                tid
            }
            Err(e) => -e.raw(),
        };
    }
    // SAFETY: our caller's contract is clone's.
    unsafe { clone_passthrough(f, stack, flags as usize, arg, ptid, tls, ctid) }
}

/// The prebuilt `core` of the stable toolchain is compiled with unwinding and refers to the
/// personality routine from its unwind tables. lintel is built with `panic = "abort"` and never
/// unwinds, so the routine is never called; this definition only satisfies the link.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A bug in lintel: end the process as abort() would, without touching anything else.
    // SAFETY: plain syscalls on the calling process.
    unsafe {
        let pid = raw_syscall6(nr::__NR_getpid as usize, [0; 6]) as usize;
        let tid = raw_syscall6(nr::__NR_gettid as usize, [0; 6]) as usize;
        raw_syscall6(
            nr::__NR_tgkill as usize,
            [pid, tid, nr::SIGABRT as usize, 0, 0, 0],
        );
        raw_syscall6(nr::__NR_exit_group as usize, [127, 0, 0, 0, 0, 0]);
    }
    loop {}
}
