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
//! `__lintel_syscall` first tries the calls lintel answers lock-free ([`lintel::Lintel::fast_call`]):
//! `clock_gettime` and `rt_sigprocmask` branch off before any register is saved, the rest
//! after. Otherwise the two syscall doors save the caller's registers in a `lintel::Entry` and call
//! [`lintel::Lintel::syscall_from`] with it, so the start and the end of every call are signal
//! delivery points. lintel emulates `futex`, thread creation (`__clone` with `CLONE_THREAD`),
//! `gettid`, `set_tid_address`, the robust-list calls, `arch_prctl`, `fork`, thread exit and
//! `exit_group`, and the signal layer (the signal calls, the masks of `ppoll`/`pselect6`/
//! `epoll_pwait`, delivery to handlers, `rt_sigreturn` through `__lintel_sigreturn`); the port's
//! interrupt hook delivers to threads running user code (or sends them to their exit during a
//! group exit). Everything else is passed through to the host kernel. A `__clone` that makes a
//! process (`posix_spawn`'s `CLONE_VM | CLONE_VFORK`) still goes through the host's own `clone`
//! with musl's `__clone` contract (interim); that child shares lintel's memory with its parent,
//! so it starts with host signals blocked, gets the host's default action for every signal
//! lintel forwards, and makes every call straight to the host until it execs or exits. A panic
//! in lintel ends the process with SIGABRT's native default action. docs/abi.md lists every
//! call's route.
#![no_std]

use core::sync::atomic::{AtomicUsize, Ordering};
use lintel::Lintel;
use lintel_futex::{Bucket, buckets_for_cpus};
use lintel_host::musl::clone_passthrough;
use lintel_host::{HOST, Host, Thread, raw_syscall6};
use lintel_kernel::Interrupt;
use linux_raw_sys::general as nr;

/// The most futex buckets the table can have: `buckets_for_cpus` for up to 16 CPUs.
const MAX_BUCKETS: usize = 4096;

/// The process's futex buckets (static: nothing on the wait/wake path allocates, and nothing
/// here may allocate before musl's malloc exists).
static BUCKETS: [Bucket<Thread>; MAX_BUCKETS] = [const { Bucket::new() }; MAX_BUCKETS];

/// How many of [`BUCKETS`] are used (0 until the first call): Linux's sizing, 256 per CPU.
static USED: AtomicUsize = AtomicUsize::new(0);

/// The process's signal state.
static SIGNALS: lintel::ProcessSignals = lintel::ProcessSignals::new();

/// The process's timer service (POSIX timers, setitimer, alarm): its thread's stack and state.
static TIMERS: lintel::TimerService = lintel::TimerService::new();

// Inlined into every door: building the dispatcher is a few stores, a call of its own was
// about a tenth of a futex wake with nobody waiting.
#[inline(always)]
fn lintel() -> Lintel<'static, Host> {
    let mut n = USED.load(Ordering::Relaxed);
    if n == 0 {
        n = first_call();
    }
    Lintel::new(&HOST, &BUCKETS[..n])
        .with_signals(&SIGNALS)
        .with_timers(&TIMERS)
}

/// The process's first call into lintel: statistics, the futex table's size, the interrupt
/// hook. Returns the number of buckets used.
#[cold]
#[inline(never)]
fn first_call() -> usize {
    lintel::stats::ENABLED.store(stats_requested(), Ordering::Relaxed);
    let n = buckets_for_cpus(cpu_count()).min(MAX_BUCKETS);
    HOST.set_interrupt_hook(on_interrupt);
    // Every thread computes the same value; the first store wins, the rest agree.
    USED.store(n, Ordering::Relaxed);
    n
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

// The front doors. Each saves what delivery needs to build the interrupted context (the
// callee-saved registers, the stack pointer at the call, its own address for a restart, the
// argument registers as passed) in a `lintel::Entry` on its stack and calls Rust with it.
//
// Stack: the Entry (112 bytes) goes below the caller's %rsp, rounded down to 16 for the call:
// the caller's stack is not always ABI-aligned (musl's `__cp_cancel` jumps to `__cancel` from
// wherever an asynchronous cancellation interrupted the thread). `Entry.rsp` keeps the caller's
// %rsp, which points at the return address; the 7th and 8th C arguments are above it.
core::arch::global_asm!(
    ".text",
    // long __lintel_syscall(n, a, b, c, d, e, f)
    ".globl __lintel_syscall",
    ".hidden __lintel_syscall",
    ".type __lintel_syscall,@function",
    "__lintel_syscall:",
    "    cmp $14, %rdi",                         // rt_sigprocmask?
    "    je 2f",                                 //   yes: its lock-free path first
    "    cmp $228, %rdi",                        // clock_gettime?
    "    jne 1f",                                //   no: the full door
    "    cmp $1, %rsi",                          // CLOCK_REALTIME (0) or CLOCK_MONOTONIC (1)?
    "    ja 1f",                                 //   no: the full door
    "    push %rbp",                             // the port's clock, on an aligned stack
    "    mov %rsp, %rbp",                        //   (a caller after musl's async cancel
    "    and $-16, %rsp",                        //   may be misaligned)
    "    call {cgt}",                            // rax = 0 or -EFAULT
    "    mov %rbp, %rsp",                        // the caller's stack back
    "    pop %rbp",                              //   and its rbp
    "    ret",                                   // back to musl
    "1:",
    "    mov %rsp, %rax",                        // the caller's rsp (at the return address)
    "    sub $112, %rsp",                        // room for the Entry
    "    and $-16, %rsp",                        // aligned for the call
    "    mov %rbx, 0(%rsp)",                     // Entry.rbx
    "    mov %rbp, 8(%rsp)",                     // Entry.rbp
    "    mov %r12, 16(%rsp)",                    // Entry.r12
    "    mov %r13, 24(%rsp)",                    // Entry.r13
    "    mov %r14, 32(%rsp)",                    // Entry.r14
    "    mov %r15, 40(%rsp)",                    // Entry.r15
    "    mov %rax, 48(%rsp)",                    // Entry.rsp
    "    lea __lintel_syscall(%rip), %rax",      // this door: re-entering it restarts the call
    "    mov %rax, 56(%rsp)",                    // Entry.restart_pc
    "    mov %rdi, 64(%rsp)",                    // Entry.rdi (n)
    "    mov %rsi, 72(%rsp)",                    // Entry.rsi (a)
    "    mov %rdx, 80(%rsp)",                    // Entry.rdx (b)
    "    mov %rcx, 88(%rsp)",                    // Entry.rcx (c)
    "    mov %r8, 96(%rsp)",                     // Entry.r8 (d)
    "    mov %r9, 104(%rsp)",                    // Entry.r9 (e)
    "    mov %rsp, %rdi",                        // arg 0: &Entry
    "    call {plain}",                          // rax = the result
    "    mov 48(%rsp), %rsp",                    // drop the Entry: back to the caller's rsp
    "    ret",                                   // back to musl
    "2:",                                        // rt_sigprocmask(how, set, oset, size)
    "    push %rsi",                             // keep the arguments for the full door:
    "    push %rdx",                             //   the Rust call may clobber them
    "    push %rcx",                             //   (rsi, rdx, rcx, r8 carry the call,
    "    push %r8",                              //   r9 and rdi are kept too, so the
    "    push %r9",                              //   full door sees the registers musl
    "    push %rdi",                             //   passed)
    "    push %rbp",                             // the Rust call on an aligned stack
    "    mov %rsp, %rbp",                        //   (rbp remembers where we were)
    "    and $-16, %rsp",                        //   aligned for the call
    "    call {mask}",                           // rax = the result, or 1: the full door
    "    mov %rbp, %rsp",                        // back to the pushes
    "    pop %rbp",                              // the caller's rbp
    "    pop %rdi",                              // the arguments back, as musl passed them
    "    pop %r9",                               //   ...
    "    pop %r8",                               //   ...
    "    pop %rcx",                              //   ...
    "    pop %rdx",                              //   ...
    "    pop %rsi",                              //   ...
    "    cmp $1, %rax",                          // done lock-free?
    "    je 1b",                                 //   no: the full door, from its start
    "    ret",                                   // back to musl with 0 or -errno
    ".size __lintel_syscall, .-__lintel_syscall",
    //
    // long __lintel_syscall_cp(cancel, n, a, b, c, d, e, f): musl's __syscall_cp_asm contract.
    // [__cp_begin, __cp_end) is the uncommitted range musl's cancellation handler looks for:
    // this door up to its call, which is also where an interrupted call that restarts
    // resumes (so a cancellation that interrupts a blocked call sees its PC here).
    ".globl __lintel_syscall_cp",
    ".hidden __lintel_syscall_cp",
    ".type __lintel_syscall_cp,@function",
    ".globl __cp_begin",
    ".hidden __cp_begin",
    "__lintel_syscall_cp:",
    "__cp_begin:",
    "    mov %rsp, %rax",                        // the caller's rsp
    "    sub $112, %rsp",                        // room for the Entry
    "    and $-16, %rsp",                        // aligned for the call
    "    mov %rbx, 0(%rsp)",                     // Entry.rbx
    "    mov %rbp, 8(%rsp)",                     // Entry.rbp
    "    mov %r12, 16(%rsp)",                    // Entry.r12
    "    mov %r13, 24(%rsp)",                    // Entry.r13
    "    mov %r14, 32(%rsp)",                    // Entry.r14
    "    mov %r15, 40(%rsp)",                    // Entry.r15
    "    mov %rax, 48(%rsp)",                    // Entry.rsp
    "    lea __lintel_syscall_cp(%rip), %rax",   // restart here, inside the window
    "    mov %rax, 56(%rsp)",                    // Entry.restart_pc
    "    mov %rdi, 64(%rsp)",                    // Entry.rdi (cancel)
    "    mov %rsi, 72(%rsp)",                    // Entry.rsi (n)
    "    mov %rdx, 80(%rsp)",                    // Entry.rdx (a)
    "    mov %rcx, 88(%rsp)",                    // Entry.rcx (b)
    "    mov %r8, 96(%rsp)",                     // Entry.r8 (c)
    "    mov %r9, 104(%rsp)",                    // Entry.r9 (d)
    "    mov %rsp, %rdi",                        // arg 0: &Entry
    "    call {cp}",                             // rax = the result
    ".globl __cp_end",
    ".hidden __cp_end",
    "__cp_end:",                                 // from here on the call has committed
    "    mov 48(%rsp), %rsp",                    // drop the Entry: back to the caller's rsp
    "    ret",                                   // back to musl
    ".size __lintel_syscall_cp, .-__lintel_syscall_cp",
    //
    // __cp_cancel: where musl's cancellation handler sends a thread whose PC was in the window.
    ".globl __cp_cancel",
    ".hidden __cp_cancel",
    ".type __cp_cancel,@function",
    "__cp_cancel:",
    "    jmp __cancel",                          // musl's cancellation path (never returns)
    ".size __cp_cancel, .-__cp_cancel",
    //
    // __lintel_sigreturn: musl's __restore_rt jumps here when a handler returns, with %rsp at
    // the frame's ucontext.
    ".globl __lintel_sigreturn",
    ".hidden __lintel_sigreturn",
    ".type __lintel_sigreturn,@function",
    "__lintel_sigreturn:",
    "    movl $1, %gs:{span}",                   // inside lintel from here (Interrupt::enter)
    "    mov %rsp, %rdi",                        // arg 0: the ucontext
    "    mov %gs:{alt_base}, %rsp",              // the thread's delivery stack: nothing is
    "    add %gs:{alt_size}, %rsp",              //   written below the frame (it may be at the
    "    and $-16, %rsp",                        //   bottom of a small alternate stack)
    "    call {sigreturn}",                      // never returns
    "    ud2",                                   // unreachable
    ".size __lintel_sigreturn, .-__lintel_sigreturn",
    plain = sym lintel_entry,
    cgt = sym lintel_clock_gettime,
    mask = sym lintel_sigprocmask,
    cp = sym lintel_entry_cp,
    sigreturn = sym lintel_sigreturn,
    alt_base = const lintel_host::musl::DELIVERY_STACK_GS_OFFSETS.0,
    alt_size = const lintel_host::musl::DELIVERY_STACK_GS_OFFSETS.1,
    span = const lintel_host::musl::SPAN_GS_OFFSET,
    options(att_syntax),
);

/// `__lintel_syscall`'s Rust half: every syscall of a lintel-arch program.
///
/// # Safety
/// `e` is the door's record of the program's call; the arguments are the program's, as the
/// Linux syscall defines them.
unsafe extern "C" fn lintel_entry(e: &lintel::Entry) -> isize {
    // SAFETY: the 7th C argument is on the caller's stack just above the return address.
    let f = unsafe { *((e.rsp as usize + 8) as *const usize) };
    let args = [
        e.rsi as usize,
        e.rdx as usize,
        e.rcx as usize,
        e.r8 as usize,
        e.r9 as usize,
        f,
    ];
    if in_vfork_child() {
        // SAFETY: the program's own call, made by the host as it asked.
        return unsafe { raw_syscall6(e.rdi as usize, args) };
    }
    // (Not before: a vfork child runs on its parent's lintel record, whose words a fast
    // `rt_sigprocmask` would change.)
    let l = lintel();
    if let Some(r) = l.fast_call(e.rdi as usize, &args) {
        return r;
    }
    note_own_gs();
    // SAFETY: our caller's contract.
    unsafe { l.syscall_from(Some(e), e.rdi as usize, args) }
}

unsafe extern "C" {
    /// musl's cancellation: acts on the pending cancel of the calling thread (does not return
    /// when cancellation is enabled).
    fn __cancel() -> isize;
}

/// `clock_gettime` on `CLOCK_REALTIME` or `CLOCK_MONOTONIC`, which `__lintel_syscall` jumps
/// to with its arguments as they came (no delivery point: nothing of lintel's changes).
///
/// # Safety
/// `ts` is the program's pointer (a bad one is `EFAULT`).
unsafe extern "C" fn lintel_clock_gettime(_n: usize, clock: usize, ts: usize) -> isize {
    lintel().clock_gettime_fast(clock, ts)
}

/// `rt_sigprocmask`, which `__lintel_syscall` tries here first with its arguments as they
/// came: lintel's lock-free mask change ([`lintel::Lintel::fast_call`]), or 1 (a value the call
/// never returns) when it must go through the full door (a delivery point at its exit).
///
/// # Safety
/// The program's arguments, as `rt_sigprocmask` defines them.
unsafe extern "C" fn lintel_sigprocmask(
    n: usize,
    how: usize,
    set: usize,
    oset: usize,
    size: usize,
) -> isize {
    if in_vfork_child() {
        return 1;
    }
    let args = [how, set, oset, size, 0, 0];
    if OWN_GS.load(Ordering::Relaxed) != GS_EVERY_THREAD {
        return lintel().fast_call(n, &args).unwrap_or(1);
    }
    // SAFETY: every thread's GS base is its own record (`OWN_GS`).
    let (words, tid) = unsafe { lintel_host::musl::own_locals() };
    lintel::signal::sigprocmask_fast_for(&HOST, &SIGNALS, words, tid, &args).unwrap_or(1)
}

/// Whether every thread's GS base is its own lintel record, so that `%gs:0` finds it
/// (`lintel_host::musl::own_locals`, cheaper than the port's `current()`): [`GS_UNKNOWN`]
/// until the first full call has made sure the first thread has one (every later thread gets
/// its record from lintel's clone before it runs), [`GS_EVERY_THREAD`] from then on, and
/// [`GS_NOT_ALWAYS`] for good once a clone was passed through to the host (its child starts
/// with GS 0).
static OWN_GS: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(GS_UNKNOWN);
const GS_UNKNOWN: u8 = 0;
const GS_EVERY_THREAD: u8 = 1;
const GS_NOT_ALWAYS: u8 = 2;

/// The full doors' part of [`OWN_GS`]: the calling thread gets its record now if it has none.
#[inline]
fn note_own_gs() {
    if OWN_GS.load(Ordering::Relaxed) == GS_UNKNOWN {
        let _ = lintel_kernel::Threads::current(&HOST);
        let _ = OWN_GS.compare_exchange(
            GS_UNKNOWN,
            GS_EVERY_THREAD,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

/// `__lintel_syscall_cp`'s Rust half: a cancellation point. If the thread's cancel flag is
/// set the call is not made (musl's `__cancel` instead); a cancellation arriving while the call
/// blocks interrupts it, and the handler finds the restart PC in the window.
///
/// # Safety
/// As [`lintel_entry`]; `e.rdi` is the calling thread's cancel flag.
unsafe extern "C" fn lintel_entry_cp(e: &lintel::Entry) -> isize {
    // SAFETY: musl passes its own thread's flag.
    if unsafe { (e.rdi as *const i32).read_volatile() } != 0 {
        // SAFETY: musl's own cancellation entry.
        return unsafe { __cancel() };
    }
    // SAFETY: the 7th and 8th C arguments are on the caller's stack above the return address.
    let (y, z) = unsafe {
        (
            *((e.rsp as usize + 8) as *const usize),
            *((e.rsp as usize + 16) as *const usize),
        )
    };
    let args = [
        e.rdx as usize,
        e.rcx as usize,
        e.r8 as usize,
        e.r9 as usize,
        y,
        z,
    ];
    if in_vfork_child() {
        // SAFETY: as in `lintel_entry`.
        return unsafe { raw_syscall6(e.rsi as usize, args) };
    }
    note_own_gs();
    // SAFETY: our caller's contract.
    unsafe { lintel().syscall_from(Some(e), e.rsi as usize, args) }
}

/// `__lintel_sigreturn`'s Rust half: `rt_sigreturn` with the frame's ucontext at `uc`.
extern "C" fn lintel_sigreturn(uc: usize) -> ! {
    lintel().sigreturn(uc)
}

/// The port's interrupt hook: a signal for a thread running user code (or a group exit).
fn on_interrupt(regs: &mut dyn lintel_kernel::Registers) {
    lintel().deliver_interrupted(regs, group_exit_now);
}

/// Where the hook sends a thread running user code when another thread has called
/// `exit_group`: it ends itself as Linux's group exit does (robust list, clear-tid).
extern "C" fn group_exit_now() -> ! {
    let l = lintel();
    lintel_kernel::Interrupt::enter(&HOST);
    let code = l.group_exit_pending().unwrap_or(0);
    // SAFETY: the process is ending; nothing on this thread's stack is used by others except
    // through the clear-tid protocol.
    unsafe { l.exit_thread(code) }
}

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
        // Linux's clone copies the creator's blocked mask; the child takes part in delivery
        // from its first instruction.
        let mask = lintel().signal_mask_for_child();
        let req = lintel_clone::CloneRequest {
            flags,
            stack,
            ptid,
            ctid,
            tls,
            child_words: mask,
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
    if flags & u64::from(nr::CLONE_VM) != 0 && flags & u64::from(nr::CLONE_VFORK) != 0 {
        // posix_spawn: a process sharing our memory until it execs, while this thread waits.
        // Its calls must not touch lintel's state (it is the parent's): it runs with every
        // call passed straight to the host (see `VFORK_TID`).
        OWN_GS.store(GS_NOT_ALWAYS, Ordering::Relaxed);
        let start = VforkStart { f, arg };
        // SAFETY: our caller's contract is clone's; `start` outlives the child's use of it
        // (CLONE_VFORK keeps this frame until the child has exec'd or exited).
        let r = unsafe {
            clone_passthrough(
                vfork_child,
                stack,
                flags as usize,
                &start as *const VforkStart as usize,
                ptid,
                tls,
                ctid,
            )
        };
        VFORK_TID.store(0, Ordering::Release);
        return r;
    }
    OWN_GS.store(GS_NOT_ALWAYS, Ordering::Relaxed);
    // SAFETY: our caller's contract is clone's.
    unsafe { clone_passthrough(f, stack, flags as usize, arg, ptid, tls, ctid) }
}

/// The tid of a `posix_spawn` child that shares our memory and has not exec'd yet (0: none).
/// Every call it makes goes straight to the host; other threads pay one `gettid` per call
/// while it is set.
static VFORK_TID: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);

/// What the `posix_spawn` child runs, handed over on the waiting parent's stack.
struct VforkStart {
    f: unsafe extern "C" fn(usize) -> i32,
    arg: usize,
}

/// The `posix_spawn` child's first code: the host's default actions instead of the forwarding
/// handler, then "all calls to the host", then musl's child function.
unsafe extern "C" fn vfork_child(start: usize) -> i32 {
    // SAFETY: `__lintel_clone` passed a `VforkStart` on the parent's stack, which waits.
    let VforkStart { f, arg } = unsafe { (start as *const VforkStart).read() };
    lintel_host::musl::reset_forwarded_in_child();
    // SAFETY: gettid takes no arguments.
    let tid = unsafe { raw_syscall6(nr::__NR_gettid as usize, [0; 6]) } as i32;
    VFORK_TID.store(tid, Ordering::Release);
    // SAFETY: musl's child function, with its argument (the clone contract).
    unsafe { f(arg) }
}

/// Whether the calling thread is a `posix_spawn` child that must bypass lintel.
#[inline]
fn in_vfork_child() -> bool {
    let t = VFORK_TID.load(Ordering::Acquire);
    // SAFETY: gettid takes no arguments.
    t != 0 && unsafe { raw_syscall6(nr::__NR_gettid as usize, [0; 6]) } as i32 == t
}

/// The prebuilt `core` of the stable toolchain is compiled with unwinding and refers to the
/// personality routine from its unwind tables. lintel is built with `panic = "abort"` and never
/// unwinds, so the routine is never called; this definition only satisfies the link.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A bug in lintel: end the process as abort() would, without touching anything else.
    // The host's default action, not lintel's forwarding handler: the process dies of SIGABRT.
    lintel_kernel::Delivery::raise_default(&HOST, nr::SIGABRT);
    // SAFETY: ends the calling process.
    unsafe { raw_syscall6(nr::__NR_exit_group as usize, [127, 0, 0, 0, 0, 0]) };
    loop {}
}
