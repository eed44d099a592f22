//! The user-space resume (x86_64): continues in a saved context without the kernel's
//! `rt_sigreturn` when nothing but registers and FP state has to change (see
//! [`crate::delivery`], "Resuming").
//!
//! `lintel_host_resume_user(uc, rfbm)` runs inside the `Interrupt` span, on a lintel stack (the
//! delivery stack), with `uc` a Linux `ucontext` the caller has checked (flags without TF,
//! user `cs`/`ss`, an FP area `XRSTOR` accepts, or none). It restores the FP state while the
//! span is still on, keeps the context's `rip` and `rdi` in the thread's record, ends the span,
//! and then loads the general registers, the flags, `rsp`, `rdi` and jumps. A host handler that
//! lands after the span ended runs the interrupt hook (`interrupt::run_hook`), which first calls
//! [`crate::delivery::resume_window_fixup`]: for a `rip` in `[open, jump]` it replaces the
//! interrupted registers with the context's (from `uc_mcontext`, whose address is in `rdi`,
//! before the stack switch; from the record's two words after it, when every other register
//! already is the context's), so the hook acts on the resumed context, as if the jump had
//! happened. A post to the inbox that came while the span was on is seen right after the span
//! ends: the kernel's path (`lintel_host_resume_posted`) then re-raises it.
//!
//! The record's words: `spawn_fs` (the context's `rip`) and `spawn_mask` (its `rdi`), the spawn
//! hand-off words that `thread::child_start` reads while every host signal is still blocked on
//! the new thread, so free before anything can be delivered on it (and `spawn_entry` and
//! `spawn_arg`, read after the thread's mask is restored, are not used).

use core::arch::global_asm;
use core::mem::offset_of;

use crate::arch::{Sigcontext, Ucontext};
use crate::tcb::Tcb;

/// `XRSTOR` from this image sets every component to its initial state (the header's
/// `XSTATE_BV` is 0) and MXCSR to Linux's initial 0x1f80: a signal handler's fresh FP state.
#[repr(C, align(64))]
pub(crate) struct InitImage([u8; 576]);

/// See [`InitImage`].
pub(crate) static INIT_FPSTATE: InitImage = {
    let mut b = [0u8; 576];
    // MXCSR (legacy area offset 24) = 0x1f80; FCW is taken from the x87 initial state.
    b[24] = 0x80;
    b[25] = 0x1f;
    InitImage(b)
};

global_asm!(
    ".text",
    // ! lintel_host_resume_user(uc, rfbm)
    ".globl lintel_host_resume_user",
    ".hidden lintel_host_resume_user",
    ".type lintel_host_resume_user,@function",
    "lintel_host_resume_user:",
    "    lea {mc}(%rdi), %rdi",          // rdi = &uc.uc_mcontext from here on
    "    mov %rsi, %rax",                // requested-feature bitmap, low half
    "    mov %rsi, %rdx",                //   and the high half:
    "    shr $32, %rdx",                 //   rfbm >> 32
    "    mov {fpstate}(%rdi), %rsi",     // the context's XSAVE area (0: a fresh FP state)
    "    test %rsi, %rsi",               // none?
    "    jnz 1f",                        //   there is one: restore it
    "    lea {init}(%rip), %rsi",        // none: the initial-state image
    "1:  xrstor64 (%rsi)",               // the context's FP state (span still on)
    "    mov {rip}(%rdi), %rcx",         // the context's rip
    "    mov %rcx, %gs:{slot_pc}",       //   into the record (the jump's target)
    "    mov {rdi_}(%rdi), %rcx",        // the context's rdi
    "    mov %rcx, %gs:{slot_rdi}",      //   into the record (loaded after the stack switch)
    "    movl $0, %gs:{span}",           // the span ends: handlers run the hook from here on
    ".globl __lintel_host_resume_open",
    ".hidden __lintel_host_resume_open",
    "__lintel_host_resume_open:",
    "    cmpl $0, %gs:{inbox}",          // was a kick posted while the span was on?
    "    jne 2f",                        //   yes: through the kernel, which re-raises it
    "    pushq {eflags}(%rdi)",          // the context's flags, through our own stack:
    "    popfq",                         //   no instruction below changes them
    "    mov {r8}(%rdi), %r8",           // the general registers but rsp and rdi
    "    mov {r9}(%rdi), %r9",           //   ...
    "    mov {r10}(%rdi), %r10",         //   ...
    "    mov {r11}(%rdi), %r11",         //   ...
    "    mov {r12}(%rdi), %r12",         //   ...
    "    mov {r13}(%rdi), %r13",         //   ...
    "    mov {r14}(%rdi), %r14",         //   ...
    "    mov {r15}(%rdi), %r15",         //   ...
    "    mov {rsi}(%rdi), %rsi",         //   ...
    "    mov {rbp}(%rdi), %rbp",         //   ...
    "    mov {rbx}(%rdi), %rbx",         //   ...
    "    mov {rdx}(%rdi), %rdx",         //   ...
    "    mov {rax}(%rdi), %rax",         //   ...
    "    mov {rcx}(%rdi), %rcx",         //   ...
    "    mov {rsp}(%rdi), %rsp",         // the context's stack (uc may be overwritten now)
    ".globl __lintel_host_resume_switched",
    ".hidden __lintel_host_resume_switched",
    "__lintel_host_resume_switched:",
    "    mov %gs:{slot_rdi}, %rdi",      // the context's rdi, from the record
    ".globl __lintel_host_resume_jump",
    ".hidden __lintel_host_resume_jump",
    "__lintel_host_resume_jump:",
    "    jmp *%gs:{slot_pc}",            // the context's rip, from the record
    "2:  movl $1, %gs:{span}",           // inside lintel again (flags are still ours here)
    "    lea -{mc}(%rdi), %rdi",         // arg 0: the ucontext again
    "    and $-16, %rsp",                // aligned for the call
    "    call {posted}",                 // the kernel's path; never returns
    "    ud2",                           // unreachable
    ".size lintel_host_resume_user, .-lintel_host_resume_user",
    mc = const offset_of!(Ucontext, uc_mcontext),
    fpstate = const offset_of!(Sigcontext, fpstate),
    rip = const offset_of!(Sigcontext, rip),
    rdi_ = const offset_of!(Sigcontext, rdi),
    eflags = const offset_of!(Sigcontext, eflags),
    r8 = const offset_of!(Sigcontext, r8),
    r9 = const offset_of!(Sigcontext, r9),
    r10 = const offset_of!(Sigcontext, r10),
    r11 = const offset_of!(Sigcontext, r11),
    r12 = const offset_of!(Sigcontext, r12),
    r13 = const offset_of!(Sigcontext, r13),
    r14 = const offset_of!(Sigcontext, r14),
    r15 = const offset_of!(Sigcontext, r15),
    rsi = const offset_of!(Sigcontext, rsi),
    rbp = const offset_of!(Sigcontext, rbp),
    rbx = const offset_of!(Sigcontext, rbx),
    rdx = const offset_of!(Sigcontext, rdx),
    rax = const offset_of!(Sigcontext, rax),
    rcx = const offset_of!(Sigcontext, rcx),
    rsp = const offset_of!(Sigcontext, rsp),
    slot_pc = const offset_of!(Tcb, spawn_fs),
    slot_rdi = const offset_of!(Tcb, spawn_mask),
    span = const offset_of!(Tcb, span),
    inbox = const offset_of!(Tcb, inbox),
    init = sym INIT_FPSTATE,
    posted = sym crate::delivery::lintel_host_resume_posted,
    options(att_syntax),
);

unsafe extern "C" {
    /// See the module docs.
    pub(crate) fn lintel_host_resume_user(ucontext: usize, rfbm: u64) -> !;
    static __lintel_host_resume_open: u8;
    static __lintel_host_resume_switched: u8;
    static __lintel_host_resume_jump: u8;
}

/// `(open, switched, jump)`: the labels of the window where a host handler must take the
/// context being resumed for the interrupted one.
pub(crate) fn resume_window() -> (usize, usize, usize) {
    (
        (&raw const __lintel_host_resume_open) as usize,
        (&raw const __lintel_host_resume_switched) as usize,
        (&raw const __lintel_host_resume_jump) as usize,
    )
}

/// The record's words holding the resumed context's `rip` and `rdi`.
pub(crate) fn resume_slots(t: &Tcb) -> (u64, u64) {
    use core::sync::atomic::Ordering;
    (
        t.spawn_fs.load(Ordering::Relaxed) as u64,
        t.spawn_mask.load(Ordering::Relaxed),
    )
}
