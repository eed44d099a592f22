//! The port's interrupt injected at every instruction of lintel's signal calls.
//!
//! lintel's locks (the signal lock, the futex buckets, the timer and signalfd tables) are only
//! ever held inside the port's `enter`/`leave` span, so an interrupt that lands while one is
//! held is posted (and handled at `leave`), never run there: the interrupt hook calls into
//! lintel again and would deadlock on a lock its own thread holds. This test checks that rule
//! at every preemption point, not only where a random flood happens to land: it single-steps
//! the calling thread (x86 `EFLAGS.TF`) through a loop of signal and futex calls made through
//! the dispatcher, and at every instruction it kicks its own thread (`Interrupt::kick`), so the
//! port's interrupt handler runs right before the next instruction. Outside a span the hook
//! runs and makes a dispatcher call that takes the signal lock; inside one, the kick is posted.
//! A watchdog turns a deadlock into a failure; every call's result is checked.
//!
//! Its own test binary: it activates lintel's signal layer and owns SIGTRAP.
#![cfg(target_arch = "x86_64")]

use lintel::{Lintel, ProcessSignals};
use lintel_futex::Bucket;
use lintel_host::{HOST, Host, Thread};
use lintel_kernel::{Interrupt, Registers, Threads};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static SIGNALS: ProcessSignals = ProcessSignals::new();
static BUCKETS: [Bucket<Thread>; 16] = [const { Bucket::new() }; 16];

/// Whether the stepped thread keeps its trap flag.
static STEPPING: AtomicBool = AtomicBool::new(false);
static INJECTED: AtomicUsize = AtomicUsize::new(0);
static HOOK_RAN: AtomicUsize = AtomicUsize::new(0);
static ME: OnceLock<Thread> = OnceLock::new();

const TF: i64 = 0x100;
const SIGUSR1: usize = 10;

fn lintel() -> Lintel<'static, Host> {
    Lintel::new(&HOST, &BUCKETS).with_signals(&SIGNALS)
}

fn sys(n: i64, a: [usize; 6]) -> isize {
    // SAFETY: the callers pass valid pointers to their own buffers.
    unsafe { lintel().syscall(n as usize, a) }
}

/// A front door's lock-free attempt (`Lintel::fast_call`).
fn fast(n: i64, a: [usize; 6]) -> Option<isize> {
    lintel().fast_call(n as usize, &a)
}

/// The interrupt hook: runs outside a span only; takes the signal lock through a call.
fn hook(_regs: &mut dyn Registers) {
    HOOK_RAN.fetch_add(1, Ordering::Relaxed);
    let mut set = 0u64;
    let r = sys(
        libc::SYS_rt_sigpending,
        [&mut set as *mut u64 as usize, 8, 0, 0, 0, 0],
    );
    assert_eq!(r, 0);
}

/// SIGTRAP after every instruction of the stepped thread: keep (or drop) the trap flag in the
/// interrupted context, and kick our own thread (its interrupt signal is delivered as this
/// handler returns, before the next instruction).
extern "C" fn on_trap(_sig: i32, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: SA_SIGINFO handlers get the interrupted ucontext, ours to edit until we return.
    let uc = unsafe { &mut *(ctx as *mut libc::ucontext_t) };
    let efl = &mut uc.uc_mcontext.gregs[libc::REG_EFL as usize];
    if STEPPING.load(Ordering::Relaxed) {
        *efl |= TF;
        if let Some(&me) = ME.get() {
            INJECTED.fetch_add(1, Ordering::Relaxed);
            HOST.kick(me);
        }
    } else {
        *efl &= !TF;
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

/// One round of signal and futex calls, each result checked.
fn round(pid: usize) {
    let usr1 = 1u64 << (SIGUSR1 - 1);
    let s = &usr1 as *const u64 as usize;
    assert_eq!(sys(libc::SYS_rt_sigprocmask, [0, s, 0, 8, 0, 0]), 0);
    assert_eq!(sys(libc::SYS_kill, [pid, SIGUSR1, 0, 0, 0, 0]), 0);
    let mut pending = 0u64;
    let p = &mut pending as *mut u64 as usize;
    assert_eq!(sys(libc::SYS_rt_sigpending, [p, 8, 0, 0, 0, 0]), 0);
    assert_eq!(pending & usr1, usr1);
    // The lock-free mask path (a front door tries it first): unblocking the pending SIGUSR1
    // must decline (the dispatcher delivers it at the call's exit) and leave the mask alone.
    assert_eq!(fast(libc::SYS_rt_sigprocmask, [1, s, 0, 8, 0, 0]), None);
    let mut old = 0u64;
    let o = &mut old as *mut u64 as usize;
    assert_eq!(sys(libc::SYS_rt_sigprocmask, [0, 0, o, 8, 0, 0]), 0);
    assert_eq!(old & usr1, usr1);
    let zero = [0i64; 2];
    let mut info = [0u8; 128];
    let r = sys(
        libc::SYS_rt_sigtimedwait,
        [
            s,
            info.as_mut_ptr() as usize,
            zero.as_ptr() as usize,
            8,
            0,
            0,
        ],
    );
    assert_eq!(r, SIGUSR1 as isize);
    assert_eq!(sys(libc::SYS_rt_sigprocmask, [1, s, 0, 8, 0, 0]), 0);
    // Nothing pending now: the lock-free path blocks and unblocks by itself.
    assert_eq!(fast(libc::SYS_rt_sigprocmask, [0, s, o, 8, 0, 0]), Some(0));
    assert_eq!(old & usr1, 0);
    assert_eq!(fast(libc::SYS_rt_sigprocmask, [1, s, o, 8, 0, 0]), Some(0));
    assert_eq!(old & usr1, usr1);
    let word = 0u32;
    let w = &word as *const u32 as usize;
    assert_eq!(sys(libc::SYS_futex, [w, 1 | 128, 1, 0, 0, 0]), 0);
}

#[test]
fn interrupt_at_every_instruction_of_the_signal_calls() {
    lintel().activate();
    let me = HOST.current();
    ME.set(me).unwrap();
    HOST.set_interrupt_hook(hook);
    // SAFETY: installs a SIGTRAP handler for this test process (after activation, which
    // routed SIGTRAP to lintel's forwarder: this one replaces it).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_trap as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        assert_eq!(libc::sigaction(libc::SIGTRAP, &sa, std::ptr::null_mut()), 0);
    }
    // A deadlock fails the test instead of hanging it.
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        for _ in 0..600 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if d.load(Ordering::Relaxed) {
                return;
            }
        }
        eprintln!(
            "inject: no progress after 60 s ({} injections): a deadlock",
            INJECTED.load(Ordering::Relaxed)
        );
        std::process::exit(3);
    });
    let pid = std::process::id() as usize;
    STEPPING.store(true, Ordering::Relaxed);
    set_trap_flag();
    for _ in 0..5 {
        round(pid);
    }
    STEPPING.store(false, Ordering::Relaxed);
    // The next trap clears the flag.
    std::hint::black_box(0);
    done.store(true, Ordering::Relaxed);
    let injected = INJECTED.load(Ordering::Relaxed);
    let ran = HOOK_RAN.load(Ordering::Relaxed);
    eprintln!("inject: {injected} injections, the hook ran {ran} times");
    assert!(injected > 5_000, "{injected} injections");
    assert!(ran > 0 && ran < injected, "hook ran {ran} of {injected}");
}
