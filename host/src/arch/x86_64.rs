//! Everything x86_64-specific: the assembly routines, the FS/GS base accessors and the host
//! `ucontext_t` layout.
//!
//! Two assembly sections:
//! - `.text.lintel_host_syscalls`, bracketed by `__lintel_host_syscalls_start` /
//!   `__lintel_host_syscalls_end`, holds **every** `syscall` instruction of this crate (Syscall
//!   User Dispatch can exempt exactly one range). It contains the generic syscall stub, the
//!   restartable window, the clone stub, the thread-exit stub and the signal restorer.
//! - `.text.lintel_host_usermem` holds the fault-tolerant user-memory accessors; each
//!   instruction that may fault has its own label, and the SIGSEGV/SIGBUS handler moves a
//!   faulting RIP that equals one of them to `lintel_host_ufault_fixup`.
//!
//! Every routine is a leaf that never touches `%fs` (the C library's) and never pushes, so the
//! fixup and abort paths can simply `ret`.

use core::arch::{asm, global_asm};
use core::mem::offset_of;

use crate::notify::INTERRUPTED;
use crate::syscall::nr;
use crate::tcb::Tcb;

/// Two machine words returned in `rax:rdx` (the SysV ABI returns a two-`INTEGER` struct so).
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub(crate) struct Pair {
    /// `rax`: the result.
    pub(crate) value: usize,
    /// `rdx`: a flag (window: 1 = aborted before the syscall; usermem: 1 = faulted).
    pub(crate) flag: usize,
}

global_asm!(
    ".pushsection .text.lintel_host_syscalls,\"ax\",@progbits",
    ".p2align 4",
    ".globl __lintel_host_syscalls_start",
    "__lintel_host_syscalls_start:",
    //
    // isize lintel_host_syscall6(nr, a0, a1, a2, a3, a4, a5)
    // SysV passes rdi, rsi, rdx, rcx, r8, r9, then the stack; Linux wants rax = nr and
    // rdi, rsi, rdx, r10, r8, r9.
    ".globl lintel_host_syscall6",
    ".hidden lintel_host_syscall6",
    ".type lintel_host_syscall6,@function",
    "lintel_host_syscall6:",
    "    mov %rdi, %rax",          // rax = syscall number
    "    mov %rsi, %rdi",          // arg 0
    "    mov %rdx, %rsi",          // arg 1
    "    mov %rcx, %rdx",          // arg 2
    "    mov %r8, %r10",           // arg 3 (the kernel takes it in r10, rcx is clobbered)
    "    mov %r9, %r8",            // arg 4
    "    mov 8(%rsp), %r9",        // arg 5: first stack argument, above the return address
    "    syscall",                 // enter Linux; clobbers rcx and r11
    "    ret",                     // rax = result or -errno
    ".size lintel_host_syscall6, .-lintel_host_syscall6",
    //
    // Pair lintel_host_window_syscall(nr, a0, a1, a2, a3, a4, a5)
    // The restartable window: like lintel_host_syscall6, but between window_begin and the
    // syscall instruction (inclusive) the call is uncommitted. If the thread's interrupted
    // flag is set there, the call is abandoned: by the test below, or by the interrupt
    // signal handler moving RIP to window_abort. Returns rax = result, rdx = 0 if the
    // syscall ran, rdx = 1 if it was abandoned with no effect.
    ".globl lintel_host_window_syscall",
    ".hidden lintel_host_window_syscall",
    ".type lintel_host_window_syscall,@function",
    "lintel_host_window_syscall:",
    "    mov %rdi, %rax",          // rax = syscall number
    "    mov %rsi, %rdi",          // arg 0
    "    mov %rdx, %rsi",          // arg 1
    "    mov %rcx, %rdx",          // arg 2
    "    mov %r8, %r10",           // arg 3
    "    mov %r9, %r8",            // arg 4
    "    mov 8(%rsp), %r9",        // arg 5
    ".globl __lintel_host_window_begin",
    ".hidden __lintel_host_window_begin",
    "__lintel_host_window_begin:",
    "    testl ${intr}, %gs:{notify}", // interrupted flag of this thread's TCB (GS base)?
    "    jnz __lintel_host_window_refuse", // set: do not start the call
    ".globl __lintel_host_window_syscall",
    ".hidden __lintel_host_window_syscall",
    "__lintel_host_window_syscall:",
    "    syscall",                 // the commit point; a restarted call is rewound to here
    ".globl __lintel_host_window_end",
    ".hidden __lintel_host_window_end",
    "__lintel_host_window_end:",
    "    xor %edx, %edx",          // rdx = 0: the syscall ran, rax is its result
    "    ret",                     // return the pair
    ".globl __lintel_host_window_abort",
    ".hidden __lintel_host_window_abort",
    "__lintel_host_window_abort:",
    "    mov $-4, %rax",           // rax = -EINTR (informative only)
    "    mov $1, %edx",            // rdx = 1: abandoned, no effect
    "    ret",                     // return the pair
    ".globl __lintel_host_window_refuse",
    ".hidden __lintel_host_window_refuse",
    "__lintel_host_window_refuse:",
    "    mov $-4, %rax",           // rax = -EINTR (informative only)
    "    mov $2, %edx",            // rdx = 2: never started (the flag was set before)
    "    ret",                     // return the pair
    ".size lintel_host_window_syscall, .-lintel_host_window_syscall",
    //
    // isize lintel_host_clone(flags, stack_top, ctid, tcb)
    // Raw clone(flags, newsp, parent_tid, child_tid, tls). The child starts here with
    // rsp = stack_top and every other register as the parent had it (rax = 0), so the TCB
    // pointer rides over in r9, which the syscall preserves.
    ".globl lintel_host_clone",
    ".hidden lintel_host_clone",
    ".type lintel_host_clone,@function",
    "lintel_host_clone:",
    "    mov %rdx, %r10",          // arg 3: child_tid (the CLONE_CHILD_CLEARTID word)
    "    xor %edx, %edx",          // arg 2: parent_tid = NULL (no CLONE_PARENT_SETTID)
    "    xor %r8d, %r8d",          // arg 4: tls = 0 (no CLONE_SETTLS)
    "    mov %rcx, %r9",           // the TCB, preserved across the syscall into the child
    "    mov ${nr_clone}, %eax",   // rax = __NR_clone
    "    syscall",                 // fork the thread: parent gets tid or -errno, child 0
    "    test %rax, %rax",         // child?
    "    jnz 1f",                  // no: parent (or error), return rax
    "    xor %ebp, %ebp",          // child: mark the outermost frame for unwinders
    "    mov %r9, %rdi",           // arg 0 of child_start: the TCB
    "    call {child_start}",      // rsp was 16-aligned, so the callee sees the ABI alignment
    "    ud2",                     // child_start never returns
    "1:  ret",                     // parent: rax = child tid or -errno
    ".size lintel_host_clone, .-lintel_host_clone",
    //
    // ! lintel_host_exit_thread(code)
    // exit (not exit_group): ends this thread only. Touches no stack.
    ".globl lintel_host_exit_thread",
    ".hidden lintel_host_exit_thread",
    ".type lintel_host_exit_thread,@function",
    "lintel_host_exit_thread:",
    "    mov ${nr_exit}, %eax",    // rax = __NR_exit; rdi already holds the code
    "    syscall",                 // never returns
    "    ud2",                     // unreachable
    ".size lintel_host_exit_thread, .-lintel_host_exit_thread",
    //
    // The signal restorer (SA_RESTORER) of every host handler this crate installs. The byte
    // pattern `48 c7 c0 0f 00 00 00 0f 05` is the one unwinders recognise as a signal frame;
    // the leading nop keeps "return address - 1" inside this symbol, as glibc's does.
    "    nop",                     // see above
    ".globl lintel_host_restore_rt",
    ".hidden lintel_host_restore_rt",
    ".type lintel_host_restore_rt,@function",
    "lintel_host_restore_rt:",
    "    mov $15, %rax",           // rax = __NR_rt_sigreturn (REX.W form, see above)
    "    syscall",                 // restore the context the kernel saved; never returns
    "    ud2",                     // unreachable
    ".size lintel_host_restore_rt, .-lintel_host_restore_rt",
    //
    // int lintel_host_clone_passthrough(fn, stack, flags, arg, ptid, tls, ctid)
    // The host kernel's clone with musl's `__clone` contract: the child runs fn(arg) on
    // `stack` and exits the thread with its return value. (Temporary: lintel's own clone
    // emulation replaces this passthrough.)
    ".globl lintel_host_clone_passthrough",
    ".hidden lintel_host_clone_passthrough",
    ".type lintel_host_clone_passthrough,@function",
    "lintel_host_clone_passthrough:",
    "    mov %rdi, %r11",          // r11 = fn (rdi is needed for flags)
    "    and $-16, %rsi",          // align the child's stack
    "    sub $8, %rsi",            // room for arg; the child pops it, leaving rsp 16-aligned
    "    mov %rcx, (%rsi)",        // store arg on the child's stack
    "    mov %rdx, %rdi",          // clone arg 0: flags
    "    mov %r8, %rdx",           // clone arg 2: parent_tid
    "    mov %r9, %r8",            // clone arg 4: tls
    "    mov 8(%rsp), %r10",       // clone arg 3: child_tid (first stack argument)
    "    mov %r11, %r9",           // fn rides over to the child in r9 (preserved by syscall)
    "    mov ${nr_clone}, %eax",   // rax = __NR_clone; rsi = new stack pointer already
    "    syscall",                 // parent: tid or -errno; child: 0, on the new stack
    "    test %eax, %eax",         // child?
    "    jnz 3f",                  // no: return to the caller
    "    xor %ebp, %ebp",          // child: outermost frame
    // The child inherited its parent's GS base, i.e. the parent's thread record; it must not
    // use it (it would set the parent's span and window flags). GS = 0 makes its first call
    // into lintel adopt a record of its own.
    "    cmpb $0, {fsgsbase}(%rip)", // can we write GS directly?
    "    je 4f",                   // no: ask the kernel
    "    xor %eax, %eax",          // rax = 0
    "    wrgsbase %rax",           // GS base = 0
    "    jmp 5f",                  // done
    "4:  mov ${nr_arch_prctl}, %eax", // rax = __NR_arch_prctl
    "    mov $0x1001, %edi",       // ARCH_SET_GS
    "    xor %esi, %esi",          // to 0
    "    syscall",                 // (clobbers rcx and r11; r9 = fn survives)
    "5:  pop %rdi",                // rdi = arg; rsp is now 16-aligned
    "    call *%r9",               // fn(arg)
    "    mov %eax, %edi",          // its return value is the exit status
    "    mov ${nr_exit}, %eax",    // rax = __NR_exit (this thread only)
    "    syscall",                 // never returns
    "    ud2",                     // unreachable
    "3:  ret",                     // parent: eax = tid or -errno
    ".size lintel_host_clone_passthrough, .-lintel_host_clone_passthrough",
    //
    // ! lintel_host_resume(ucontext)
    // Continues in a saved context through the kernel's own rt_sigreturn, which restores every
    // register, the FP state and the host signal mask in one step. rt_sigreturn reads the
    // rt_sigframe whose `uc` is at %rsp, i.e. the frame starts 8 bytes below.
    ".globl lintel_host_resume",
    ".hidden lintel_host_resume",
    ".type lintel_host_resume,@function",
    "lintel_host_resume:",
    "    mov %rdi, %rsp",          // rsp = &frame.uc
    "    mov $15, %eax",           // rax = __NR_rt_sigreturn
    "    syscall",                 // never returns (a bad frame gets SIGSEGV from the kernel)
    "    ud2",                     // unreachable
    ".size lintel_host_resume, .-lintel_host_resume",
    //
    ".globl __lintel_host_syscalls_end",
    "__lintel_host_syscalls_end:",
    ".popsection",
    intr = const INTERRUPTED,
    notify = const offset_of!(Tcb, notify),
    nr_clone = const nr::CLONE,
    nr_exit = const nr::EXIT,
    nr_arch_prctl = const nr::ARCH_PRCTL,
    fsgsbase = sym crate::init::FSGSBASE,
    child_start = sym crate::thread::child_start,
    options(att_syntax),
);

global_asm!(
    ".text",
    // ! lintel_host_run_on_stack(stack_top, arg, f)
    // Switches to another stack and calls f(arg), which never returns.
    ".globl lintel_host_run_on_stack",
    ".hidden lintel_host_run_on_stack",
    ".type lintel_host_run_on_stack,@function",
    "lintel_host_run_on_stack:",
    "    mov %rdi, %rsp", // the new stack
    "    and $-16, %rsp", // aligned for the call (the callee sees rsp = 16n - 8)
    "    mov %rsi, %rdi", // arg 0 of f
    "    xor %ebp, %ebp", // outermost frame
    "    call *%rdx",     // f(arg)
    "    ud2",            // f never returns
    ".size lintel_host_run_on_stack, .-lintel_host_run_on_stack",
    options(att_syntax),
);

global_asm!(
    ".pushsection .text.lintel_host_usermem,\"ax\",@progbits",
    ".p2align 4",
    //
    // Pair lintel_host_load_u32(addr): rax = *(u32 *)addr, rdx = 0; or rdx = 1 on a fault.
    ".globl lintel_host_load_u32",
    ".hidden lintel_host_load_u32",
    ".type lintel_host_load_u32,@function",
    "lintel_host_load_u32:",
    "    xor %edx, %edx", // rdx = 0: no fault (the fixup sets 1)
    ".globl __lintel_host_ufault_load",
    ".hidden __lintel_host_ufault_load",
    "__lintel_host_ufault_load:",
    "    mov (%rdi), %eax", // the access; an x86 load is an acquire load
    "    ret",              // rax = value
    ".size lintel_host_load_u32, .-lintel_host_load_u32",
    //
    // Pair lintel_host_cmpxchg_u32(addr, expected, new): rax = value found, rdx = 0;
    // or rdx = 1 on a fault (the word is not mapped writable).
    ".globl lintel_host_cmpxchg_u32",
    ".hidden lintel_host_cmpxchg_u32",
    ".type lintel_host_cmpxchg_u32,@function",
    "lintel_host_cmpxchg_u32:",
    "    mov %esi, %eax", // eax = expected (cmpxchg compares against eax)
    "    mov %edx, %ecx", // ecx = new (frees rdx for the fault flag)
    "    xor %edx, %edx", // rdx = 0: no fault
    ".globl __lintel_host_ufault_cmpxchg",
    ".hidden __lintel_host_ufault_cmpxchg",
    "__lintel_host_ufault_cmpxchg:",
    "    lock cmpxchg %ecx, (%rdi)", // if *addr == eax then *addr = ecx else eax = *addr; SeqCst
    "    ret",                       // rax = value found
    ".size lintel_host_cmpxchg_u32, .-lintel_host_cmpxchg_u32",
    //
    // Pair lintel_host_store_u64(addr, value): rdx = 0 when stored, 1 on a fault (short writes
    // of whole words: `rep movsb` costs more to start than a few of these).
    ".globl lintel_host_store_u64",
    ".hidden lintel_host_store_u64",
    ".type lintel_host_store_u64,@function",
    "lintel_host_store_u64:",
    "    xor %edx, %edx", // rdx = 0: no fault
    ".globl __lintel_host_ufault_store",
    ".hidden __lintel_host_ufault_store",
    "__lintel_host_ufault_store:",
    "    mov %rsi, (%rdi)", // the store
    "    ret",              // done
    ".size lintel_host_store_u64, .-lintel_host_store_u64",
    //
    // Pair lintel_host_copy(dst, src, len): rdx = 0 when all bytes were copied, 1 on a fault.
    ".globl lintel_host_copy",
    ".hidden lintel_host_copy",
    ".type lintel_host_copy,@function",
    "lintel_host_copy:",
    "    mov %rdx, %rcx", // rcx = byte count; rdi = dst, rsi = src already
    "    xor %edx, %edx", // rdx = 0: no fault
    "    xor %eax, %eax", // rax = 0
    ".globl __lintel_host_ufault_copy",
    ".hidden __lintel_host_ufault_copy",
    "__lintel_host_ufault_copy:",
    "    rep movsb", // copy forwards (DF is clear by the ABI); may fault midway
    "    ret",       // done
    ".size lintel_host_copy, .-lintel_host_copy",
    //
    // Where the fault handler sends a faulting RIP from one of the labels above. No routine
    // has pushed anything, so the return address is at (%rsp).
    ".globl lintel_host_ufault_fixup",
    ".hidden lintel_host_ufault_fixup",
    ".type lintel_host_ufault_fixup,@function",
    "lintel_host_ufault_fixup:",
    "    mov $1, %edx", // rdx = 1: faulted
    "    ret",          // back to the routine's caller
    ".size lintel_host_ufault_fixup, .-lintel_host_ufault_fixup",
    ".popsection",
    options(att_syntax),
);

global_asm!(
    ".text",
    // void lintel_host_xsave(dst, rfbm)
    // XSAVE (standard format) of the features in rfbm to the 64-aligned dst.
    ".globl lintel_host_xsave",
    ".hidden lintel_host_xsave",
    ".type lintel_host_xsave,@function",
    "lintel_host_xsave:",
    "    mov %rsi, %rax", // eax = low half of the feature mask
    "    mov %rsi, %rdx", // edx = high half:
    "    shr $32, %rdx",  //   rfbm >> 32
    "    xsave64 (%rdi)", // save the requested state components
    "    ret",            // done
    ".size lintel_host_xsave, .-lintel_host_xsave",
    options(att_syntax),
);

unsafe extern "C" {
    /// Raw syscall; see the assembly.
    pub(crate) fn lintel_host_syscall6(
        nr: usize,
        a0: usize,
        a1: usize,
        a2: usize,
        a3: usize,
        a4: usize,
        a5: usize,
    ) -> isize;
    /// Syscall inside the restartable window; see the assembly.
    pub(crate) fn lintel_host_window_syscall(
        nr: usize,
        a0: usize,
        a1: usize,
        a2: usize,
        a3: usize,
        a4: usize,
        a5: usize,
    ) -> Pair;
    /// Raw clone whose child calls `thread::child_start(tcb)`.
    pub(crate) fn lintel_host_clone(
        flags: usize,
        stack_top: usize,
        ctid: *const u32,
        tcb: *const Tcb,
    ) -> isize;
    /// The host's clone with musl's `__clone` contract; see the assembly.
    pub(crate) fn lintel_host_clone_passthrough(
        f: unsafe extern "C" fn(usize) -> i32,
        stack: usize,
        flags: usize,
        arg: usize,
        ptid: usize,
        tls: usize,
        ctid: usize,
    ) -> i32;
    /// Switches to the stack ending at `stack_top` and calls `f(arg)`.
    pub(crate) fn lintel_host_run_on_stack(
        stack_top: usize,
        arg: usize,
        f: extern "C" fn(usize) -> !,
    ) -> !;
    /// The `exit` syscall: ends the calling thread.
    pub(crate) fn lintel_host_exit_thread(code: usize) -> !;
    /// The signal restorer.
    pub(crate) fn lintel_host_restore_rt();
    /// `rt_sigreturn` with `%rsp` at `ucontext`.
    pub(crate) fn lintel_host_resume(ucontext: usize) -> !;
    /// `xsave64` of the features `rfbm` to `dst` (64-byte aligned).
    pub(crate) fn lintel_host_xsave(dst: usize, rfbm: u64);
    /// Fault-tolerant 32-bit load.
    pub(crate) fn lintel_host_load_u32(addr: usize) -> Pair;
    /// Fault-tolerant 32-bit compare-and-exchange.
    pub(crate) fn lintel_host_cmpxchg_u32(addr: usize, expected: u32, new: u32) -> Pair;
    /// Fault-tolerant byte copy.
    pub(crate) fn lintel_host_copy(dst: usize, src: usize, len: usize) -> Pair;
    /// Fault-tolerant 64-bit store.
    pub(crate) fn lintel_host_store_u64(addr: usize, value: u64) -> Pair;
    /// The usermem fault exit.
    fn lintel_host_ufault_fixup();

    static __lintel_host_syscalls_start: u8;
    static __lintel_host_syscalls_end: u8;
    static __lintel_host_window_begin: u8;
    static __lintel_host_window_syscall: u8;
    static __lintel_host_window_end: u8;
    static __lintel_host_window_abort: u8;
    static __lintel_host_window_refuse: u8;
    static __lintel_host_ufault_load: u8;
    static __lintel_host_ufault_cmpxchg: u8;
    static __lintel_host_ufault_copy: u8;
    static __lintel_host_ufault_store: u8;
}

/// The addresses of the labels above, for the signal handlers and for Syscall User Dispatch.
pub(crate) mod labels {
    use super::*;

    /// `[start, end)` of the section holding every `syscall` instruction of the crate.
    pub(crate) fn syscall_section() -> (usize, usize) {
        (
            (&raw const __lintel_host_syscalls_start) as usize,
            (&raw const __lintel_host_syscalls_end) as usize,
        )
    }
    /// First instruction of the restartable window.
    pub(crate) fn window_begin() -> usize {
        (&raw const __lintel_host_window_begin) as usize
    }
    /// The window's `syscall` instruction (a restarted call is rewound onto it).
    pub(crate) fn window_syscall() -> usize {
        (&raw const __lintel_host_window_syscall) as usize
    }
    /// Just past the window's `syscall` instruction.
    pub(crate) fn window_end() -> usize {
        (&raw const __lintel_host_window_end) as usize
    }
    /// Where an abandoned window call resumes.
    pub(crate) fn window_abort() -> usize {
        (&raw const __lintel_host_window_abort) as usize
    }
    /// Where a window call that never started resumes.
    pub(crate) fn window_refuse() -> usize {
        (&raw const __lintel_host_window_refuse) as usize
    }
    /// The instructions of the usermem routines that may fault.
    pub(crate) fn ufault_sites() -> [usize; 4] {
        [
            (&raw const __lintel_host_ufault_load) as usize,
            (&raw const __lintel_host_ufault_cmpxchg) as usize,
            (&raw const __lintel_host_ufault_copy) as usize,
            (&raw const __lintel_host_ufault_store) as usize,
        ]
    }
    /// Where a faulting usermem instruction resumes.
    pub(crate) fn ufault_fixup() -> usize {
        lintel_host_ufault_fixup as *const () as usize
    }
    /// The signal restorer.
    pub(crate) fn restore_rt() -> usize {
        lintel_host_restore_rt as *const () as usize
    }
}

/// The calling thread's record address as `%gs:0` reads it (the record's `self_ptr`): one load,
/// no `rdgsbase`.
///
/// # Safety
/// The GS base must be non-zero (one of this port's records): at 0 the load faults.
#[inline(always)]
pub(crate) unsafe fn gs_self() -> usize {
    let v: usize;
    // SAFETY: the caller guarantees GS points at a record, whose first word is its address.
    unsafe {
        asm!(
            "mov %gs:0, {}", // the record's self pointer
            out(reg) v,
            options(att_syntax, nostack, readonly, preserves_flags)
        )
    };
    v
}

/// Reads the GS base with `rdgsbase`.
///
/// # Safety
/// The kernel must have enabled FSGSBASE (`AT_HWCAP2 & HWCAP2_FSGSBASE`), else `#UD`.
#[inline(always)]
pub(crate) unsafe fn rdgsbase() -> usize {
    let v: usize;
    // SAFETY: the caller guarantees FSGSBASE is enabled; the instruction only reads a register.
    unsafe { asm!("rdgsbase {}", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// The XSAVE geometry of a Linux signal frame on this CPU: `(xstate_size, features)`, where
/// `features` is XCR0 without the dynamically enabled AMX tile data (which Linux leaves out of a
/// frame unless the task asked for it), and `xstate_size` the standard-format XSAVE size of
/// those features. `None` without OSXSAVE.
pub(crate) fn xstate_geometry() -> Option<(usize, u64)> {
    use core::arch::x86_64::__cpuid_count;
    /// CPUID.1:ECX.OSXSAVE.
    const OSXSAVE: u32 = 1 << 27;
    /// XFEATURE 18: AMX TILEDATA, enabled per task through XFD.
    const TILEDATA: u64 = 1 << 18;
    if __cpuid_count(1, 0).ecx & OSXSAVE == 0 {
        return None;
    }
    let (lo, hi): (u32, u32);
    // SAFETY: XGETBV(0) reads XCR0; legal in user mode once OSXSAVE is set (checked above).
    unsafe { asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    let features = ((u64::from(hi) << 32) | u64::from(lo)) & !TILEDATA;
    let mut size = 512 + 64; // legacy area + XSAVE header
    for i in 2..63 {
        if features & (1 << i) != 0 {
            // CPUID leaf 0xD sub-leaf i describes state component i.
            let c = __cpuid_count(0xd, i);
            size = size.max(c.ebx as usize + c.eax as usize);
        }
    }
    Some((size, features))
}

/// Reads the FS base with `rdfsbase`.
///
/// # Safety
/// As [`rdgsbase`].
#[inline(always)]
pub(crate) unsafe fn rdfsbase() -> usize {
    let v: usize;
    // SAFETY: the caller guarantees FSGSBASE is enabled; the instruction only reads a register.
    unsafe { asm!("rdfsbase {}", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Writes the GS base with `wrgsbase`.
///
/// # Safety
/// As [`rdgsbase`]; and the caller owns the GS base (lintel's per-thread slot).
#[inline(always)]
pub(crate) unsafe fn wrgsbase(v: usize) {
    // SAFETY: the caller guarantees FSGSBASE is enabled and that GS is ours to set.
    unsafe { asm!("wrgsbase {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
}

/// Writes the FS base with `wrfsbase`.
///
/// # Safety
/// As [`rdgsbase`]; and nothing on this thread may use the old thread pointer afterwards.
#[inline(always)]
pub(crate) unsafe fn wrfsbase(v: usize) {
    // SAFETY: the caller guarantees FSGSBASE is enabled and that the FS switch is wanted.
    unsafe { asm!("wrfsbase {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
}

pub use lintel_kernel::abi::Sigcontext;

/// The kernel's `struct ucontext` (`arch/x86/include/uapi/asm/ucontext.h`), as a host signal
/// handler receives it in its third argument.
#[repr(C)]
#[derive(Debug)]
pub struct Ucontext {
    /// `UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS` on this kernel.
    pub uc_flags: u64,
    /// Unused by Linux.
    pub uc_link: u64,
    /// The sigaltstack in force when the signal arrived (`ss_sp`, `ss_flags`, `ss_size`).
    pub uc_stack: [u64; 3],
    /// The interrupted registers.
    pub uc_mcontext: Sigcontext,
    /// The signal mask to restore on return.
    pub uc_sigmask: u64,
}

static_assertions::const_assert_eq!(offset_of!(Ucontext, uc_mcontext), 40);
static_assertions::const_assert_eq!(
    offset_of!(Ucontext, uc_mcontext) + offset_of!(Sigcontext, rsp),
    40 + 15 * 8
);
static_assertions::const_assert_eq!(
    offset_of!(Ucontext, uc_mcontext) + offset_of!(Sigcontext, rip),
    40 + 16 * 8
);
static_assertions::const_assert_eq!(core::mem::size_of::<Sigcontext>(), 256);
static_assertions::const_assert_eq!(offset_of!(Ucontext, uc_sigmask), 296);
