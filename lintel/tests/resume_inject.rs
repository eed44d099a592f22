//! A host signal injected at every instruction of the user-space resume (`lintel_host`'s
//! `arch/resume_x86_64.rs`): the window between the end of the resume's span and its jump, where
//! the port's hook must act on the context being resumed, not on the routine's registers.
//!
//! The test thread calls `kill(getpid(), SIGUSR1)` through a front door (as liblintel's, the
//! fuzz's), with a handler installed: the call's exit builds the handler's frame and resumes its
//! entry in user space, and the handler's return (`rt_sigreturn` through the restorer) resumes
//! the door's return the same way. The thread single-steps (x86 `EFLAGS.TF`) through all of it;
//! in round `n` the SIGTRAP handler sends the thread a host SIGUSR2 (a signal lintel forwards)
//! at the `n`-th instruction of the resume windows it passes, so the forwarder runs the hook
//! right before that instruction, and the hook delivers SIGUSR2 on the context being resumed.
//! Each round checks both handlers ran (SIGUSR2 once per injection) with the right arguments
//! and that values live across the call in callee-saved and FP registers survived; rounds go
//! on until one passes no window instruction left to inject at. Without the port's fix-up
//! (`delivery::resume_window_fixup`) the process dies in the first rounds. A context with TF
//! set resumes through the kernel in production; the test lets it resume in user space
//! (`RESUME_TF_FOR_TESTS`) so that the steps go on inside the routine.
//!
//! Its own test binary: it activates lintel's signal layer and owns SIGTRAP.
#![cfg(target_arch = "x86_64")]

use lintel::{Lintel, ProcessSignals};
use lintel_futex::Bucket;
use lintel_host::{HOST, Host, Thread};
use lintel_kernel::{Interrupt, Registers};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static SIGNALS: ProcessSignals = ProcessSignals::new();
static BUCKETS: [Bucket<Thread>; 16] = [const { Bucket::new() }; 16];

const TF: u64 = 0x100;
const SIGUSR1: usize = 10;
const SIGUSR2: usize = 12;

static STEPPING: AtomicBool = AtomicBool::new(false);
/// Which window instruction of this round gets the injection.
static TARGET: AtomicUsize = AtomicUsize::new(0);
/// Window instructions passed this round.
static SEEN: AtomicUsize = AtomicUsize::new(0);
static INJECTED: AtomicUsize = AtomicUsize::new(0);
static USR1: AtomicUsize = AtomicUsize::new(0);
static USR2: AtomicUsize = AtomicUsize::new(0);
static BAD_ARGS: AtomicUsize = AtomicUsize::new(0);
static WINDOW: (AtomicUsize, AtomicUsize) = (AtomicUsize::new(0), AtomicUsize::new(0));

fn lintel() -> Lintel<'static, Host> {
    Lintel::new(&HOST, &BUCKETS).with_signals(&SIGNALS)
}

// A front door and a restorer as liblintel's (see fuzz.rs).
core::arch::global_asm!(
    ".text",
    ".globl resume_inject_door",
    ".type resume_inject_door,@function",
    "resume_inject_door:",
    "    mov %rsp, %rax",                    // the caller's rsp
    "    sub $112, %rsp",                    // room for the Entry
    "    and $-16, %rsp",                    // aligned
    "    mov %rbx, 0(%rsp)",                 // Entry.rbx
    "    mov %rbp, 8(%rsp)",                 // Entry.rbp
    "    mov %r12, 16(%rsp)",                // Entry.r12
    "    mov %r13, 24(%rsp)",                // Entry.r13
    "    mov %r14, 32(%rsp)",                // Entry.r14
    "    mov %r15, 40(%rsp)",                // Entry.r15
    "    mov %rax, 48(%rsp)",                // Entry.rsp
    "    lea resume_inject_door(%rip), %rax", // the restart point
    "    mov %rax, 56(%rsp)",                // Entry.restart_pc
    "    mov %rdi, 64(%rsp)",                // Entry.rdi
    "    mov %rsi, 72(%rsp)",                // Entry.rsi
    "    mov %rdx, 80(%rsp)",                // Entry.rdx
    "    mov %rcx, 88(%rsp)",                // Entry.rcx
    "    mov %r8, 96(%rsp)",                 // Entry.r8
    "    mov %r9, 104(%rsp)",                // Entry.r9
    "    mov %rsp, %rdi",                    // arg 0: &Entry
    "    call {entry}",                      // rax = the result
    "    mov 48(%rsp), %rsp",                // the caller's rsp
    "    ret",                               // back
    ".size resume_inject_door, .-resume_inject_door",
    ".globl resume_inject_restore_rt",
    ".type resume_inject_restore_rt,@function",
    "resume_inject_restore_rt:",
    "    movl $1, %gs:{span}",               // inside lintel (Interrupt::enter)
    "    mov %rsp, %rdi",                    // arg 0: the ucontext
    "    mov %gs:{alt_base}, %rsp",          // the delivery stack
    "    add %gs:{alt_size}, %rsp",          //   (its top)
    "    and $-16, %rsp",                    //   aligned
    "    call {sigreturn}",                  // never returns
    "    ud2",                               // unreachable
    ".size resume_inject_restore_rt, .-resume_inject_restore_rt",
    entry = sym door_entry,
    sigreturn = sym do_sigreturn,
    alt_base = const lintel_host::musl::DELIVERY_STACK_GS_OFFSETS.0,
    alt_size = const lintel_host::musl::DELIVERY_STACK_GS_OFFSETS.1,
    span = const lintel_host::musl::SPAN_GS_OFFSET,
    options(att_syntax),
);

unsafe extern "C" {
    fn resume_inject_door(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize;
    fn resume_inject_restore_rt();
}

/// # Safety
/// `e` is the door's record of the call.
unsafe extern "C" fn door_entry(e: &lintel::Entry) -> isize {
    let args = [
        e.rsi as usize,
        e.rdx as usize,
        e.rcx as usize,
        e.r8 as usize,
        e.r9 as usize,
        0,
    ];
    // SAFETY: the test's own calls.
    unsafe { lintel().syscall_from(Some(e), e.rdi as usize, args) }
}

extern "C" fn do_sigreturn(uc: usize) -> ! {
    lintel().sigreturn(uc)
}

extern "C" fn exit_now() -> ! {
    std::process::abort()
}

/// The port's interrupt hook: delivery on the (fixed-up) interrupted context; while stepping,
/// the context it resumes keeps the trap flag.
fn hook(regs: &mut dyn Registers) {
    lintel().deliver_interrupted(regs, exit_now);
    if STEPPING.load(Ordering::Relaxed) {
        if let Some(m) = regs.machine() {
            m.eflags |= TF;
        }
    }
}

extern "C" fn on_usr1(sig: i32, info: *const libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: lintel passes its frame's siginfo.
    let si = unsafe { &*info };
    if sig != SIGUSR1 as i32 || si.si_signo != SIGUSR1 as i32 || uc.is_null() {
        BAD_ARGS.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if STEPPING.load(Ordering::Relaxed) {
        // The context this handler returns to keeps stepping, so the resume after its
        // rt_sigreturn traps at every instruction, flags loaded included.
        // SAFETY: our own frame's ucontext, which rt_sigreturn reads back.
        let uc = unsafe { &mut *(uc as *mut libc::ucontext_t) };
        uc.uc_mcontext.gregs[libc::REG_EFL as usize] |= TF as i64;
    }
    USR1.fetch_add(1, Ordering::Relaxed);
}

extern "C" fn on_usr2(sig: i32, info: *const libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: as above.
    let si = unsafe { &*info };
    if sig != SIGUSR2 as i32 || si.si_signo != SIGUSR2 as i32 || uc.is_null() {
        BAD_ARGS.fetch_add(1, Ordering::Relaxed);
    }
    // Clobber FP registers: the interrupted context's must come back from its frame.
    let x = std::hint::black_box(1.25f64) * std::hint::black_box(3.5f64);
    std::hint::black_box(x);
    USR2.fetch_add(1, Ordering::Relaxed);
}

/// SIGTRAP after every instruction: keep stepping; at the round's target instruction of the
/// resume windows, send the thread a host SIGUSR2 (blocked here, so it arrives as this handler
/// returns, right before that instruction).
extern "C" fn on_trap(_sig: i32, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: SA_SIGINFO handlers get the interrupted ucontext, ours to edit until we return.
    let uc = unsafe { &mut *(ctx as *mut libc::ucontext_t) };
    let rip = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
    let efl = &mut uc.uc_mcontext.gregs[libc::REG_EFL as usize];
    if !STEPPING.load(Ordering::Relaxed) {
        *efl &= !(TF as i64);
        return;
    }
    *efl |= TF as i64;
    let (lo, hi) = (
        WINDOW.0.load(Ordering::Relaxed),
        WINDOW.1.load(Ordering::Relaxed),
    );
    if (lo..=hi).contains(&rip) {
        let n = SEEN.fetch_add(1, Ordering::Relaxed);
        if n == TARGET.load(Ordering::Relaxed) {
            INJECTED.fetch_add(1, Ordering::Relaxed);
            // SAFETY: a signal to this very thread.
            unsafe {
                libc::syscall(
                    libc::SYS_tgkill,
                    libc::getpid(),
                    libc::syscall(libc::SYS_gettid),
                    SIGUSR2 as i32,
                )
            };
        }
    }
}

fn set_trap_flag() {
    // SAFETY: sets EFLAGS.TF through the stack; from the next instruction on, each one traps.
    unsafe {
        core::arch::asm!(
            "pushfq",                    // EFLAGS onto the stack
            "or qword ptr [rsp], 0x100", // set TF in the copy
            "popfq",                     // back into EFLAGS: single-stepping starts
        )
    };
}

/// `rt_sigaction(sig, {handler, SA_SIGINFO | SA_RESTORER, restorer}, NULL, 8)` through the door.
fn handle(sig: usize, h: extern "C" fn(i32, *const libc::siginfo_t, *mut libc::c_void)) {
    let act: [u64; 4] = [
        h as *const () as usize as u64,
        (libc::SA_SIGINFO as u64) | 0x0400_0000, // SA_RESTORER
        resume_inject_restore_rt as *const () as usize as u64,
        0,
    ];
    // SAFETY: a valid sigaction for our own handler.
    let r = unsafe {
        resume_inject_door(
            libc::SYS_rt_sigaction as usize,
            sig,
            act.as_ptr() as usize,
            0,
            8,
            0,
        )
    };
    assert_eq!(r, 0);
}

/// One round: `kill(getpid(), SIGUSR1)` through the door while stepping, with callee-saved
/// and FP values live across it. Returns whether they came back intact.
#[inline(never)]
fn round(pid: usize) -> bool {
    let a = std::hint::black_box(0x1234_5678_9abc_def0u64);
    let f = std::hint::black_box(2.75f64);
    STEPPING.store(true, Ordering::Relaxed);
    set_trap_flag();
    // SAFETY: kill of our own process.
    let r = unsafe { resume_inject_door(libc::SYS_kill as usize, pid, SIGUSR1, 0, 0, 0) };
    STEPPING.store(false, Ordering::Relaxed);
    // The next trap clears the flag.
    std::hint::black_box(0);
    r == 0 && std::hint::black_box(a) == 0x1234_5678_9abc_def0 && std::hint::black_box(f) == 2.75
}

#[test]
fn a_host_signal_at_every_instruction_of_the_resume() {
    lintel().activate();
    HOST.set_interrupt_hook(hook);
    lintel_host::delivery::RESUME_TF_FOR_TESTS.store(true, Ordering::Relaxed);
    let (lo, hi) = lintel_host::delivery::resume_window_for_tests();
    WINDOW.0.store(lo, Ordering::Relaxed);
    WINDOW.1.store(hi, Ordering::Relaxed);
    handle(SIGUSR1, on_usr1);
    handle(SIGUSR2, on_usr2);

    // SAFETY: our own SIGTRAP handler (after activation, which routed SIGTRAP to lintel's
    // forwarder: this one replaces it), with SIGUSR2 held while it runs.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_trap as *const () as usize;
        // On the thread's host signal stack: a step can stop where the stack pointer is at the
        // bottom of a stack (the restorer's switch to the delivery stack).
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaddset(&mut sa.sa_mask, SIGUSR2 as i32);
        assert_eq!(libc::sigaction(libc::SIGTRAP, &sa, std::ptr::null_mut()), 0);
    }
    let pid = std::process::id() as usize;

    let mut rounds = 0;
    loop {
        TARGET.store(rounds, Ordering::Relaxed);
        SEEN.store(0, Ordering::Relaxed);
        let injected = INJECTED.load(Ordering::Relaxed);
        let (u1, u2) = (USR1.load(Ordering::Relaxed), USR2.load(Ordering::Relaxed));
        let ok = round(pid);
        assert!(
            ok,
            "round {rounds}: a register or the call's result was lost"
        );
        let hit = INJECTED.load(Ordering::Relaxed) - injected;
        assert_eq!(
            USR1.load(Ordering::Relaxed),
            u1 + 1,
            "round {rounds}: SIGUSR1"
        );
        assert_eq!(
            USR2.load(Ordering::Relaxed),
            u2 + hit,
            "round {rounds}: SIGUSR2"
        );
        assert_eq!(
            BAD_ARGS.load(Ordering::Relaxed),
            0,
            "round {rounds}: handler arguments"
        );
        if hit == 0 {
            break;
        }
        rounds += 1;
        assert!(rounds < 1000, "the windows never end");
    }
    lintel_host::delivery::RESUME_TF_FOR_TESTS.store(false, Ordering::Relaxed);
    eprintln!("resume_inject: injected at {rounds} window instructions");
    // Two resumes per round: the handler's entry (stepped up to the flags it loads, which
    // clear TF as Linux's handler entry does) and the door's return (the handler keeps TF in
    // its frame: every instruction up to the jump), 20 and more instructions in all.
    assert!(rounds >= 20, "only {rounds} window instructions seen");
}
