//! The emulated signal calls against the host kernel: every error path and the values of the
//! bookkeeping calls, made once through lintel's dispatcher (with a signal layer) and once as
//! the real syscall. Its own test binary: activating lintel's signal layer routes this
//! process's host signals to lintel.

use lintel::{Lintel, ProcessSignals};
use lintel_futex::Bucket;
use lintel_host::{HOST, Host, Thread};
use std::sync::Mutex;

static SIGNALS: ProcessSignals = ProcessSignals::new();
static BUCKETS: [Bucket<Thread>; 16] = [const { Bucket::new() }; 16];
/// The tests share the process's signal state: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn lintel() -> Lintel<'static, Host> {
    Lintel::new(&HOST, &BUCKETS).with_signals(&SIGNALS)
}

fn sys(n: i64, a: [usize; 6]) -> isize {
    // SAFETY: callers pass arguments valid for the syscall (or deliberately bad pointers,
    // which lintel must answer with EFAULT).
    unsafe { lintel().syscall(n as usize, a) }
}

fn native(n: i64, a: [usize; 6]) -> isize {
    // SAFETY: as above.
    let r = unsafe { libc::syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r < 0 {
        -(std::io::Error::last_os_error().raw_os_error().unwrap() as isize)
    } else {
        r as isize
    }
}

/// An address that is never mapped.
const BAD: usize = 8;

fn both(what: &str, n: i64, a: [usize; 6]) {
    assert_eq!(sys(n, a), native(n, a), "{what}: {a:x?}");
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn argument_errors_match_linux() {
    let _s = serial();
    let act = [0u64; 4]; // SIG_DFL, no flags
    let mut out = [0u64; 4];
    let a = act.as_ptr() as usize;
    let o = out.as_mut_ptr() as usize;
    // rt_sigaction: size, bad numbers, KILL/STOP, bad pointers.
    for (sig, size) in [
        (10, 7),
        (10, 16),
        (0, 8),
        (65, 8),
        (-1i64 as usize, 8),
        (9, 8),
        (19, 8),
    ] {
        both(
            "rt_sigaction",
            libc::SYS_rt_sigaction,
            [sig, a, 0, size, 0, 0],
        );
    }
    both("query SIGKILL", libc::SYS_rt_sigaction, [9, 0, o, 8, 0, 0]);
    both("bad act", libc::SYS_rt_sigaction, [10, BAD, 0, 8, 0, 0]);
    both(
        "bad act, sig 0",
        libc::SYS_rt_sigaction,
        [0, BAD, 0, 8, 0, 0],
    );
    both("bad oact", libc::SYS_rt_sigaction, [10, 0, BAD, 8, 0, 0]);
    // rt_sigprocmask: size, how, pointers.
    let set = 0u64;
    let s = &set as *const u64 as usize;
    both(
        "procmask size",
        libc::SYS_rt_sigprocmask,
        [0, s, 0, 4, 0, 0],
    );
    both("procmask how", libc::SYS_rt_sigprocmask, [7, s, 0, 8, 0, 0]);
    both(
        "procmask how, no set",
        libc::SYS_rt_sigprocmask,
        [7, 0, 0, 8, 0, 0],
    );
    both(
        "procmask bad set",
        libc::SYS_rt_sigprocmask,
        [0, BAD, 0, 8, 0, 0],
    );
    both(
        "procmask bad set, bad how",
        libc::SYS_rt_sigprocmask,
        [7, BAD, 0, 8, 0, 0],
    );
    both(
        "procmask bad oset",
        libc::SYS_rt_sigprocmask,
        [0, 0, BAD, 8, 0, 0],
    );
    // rt_sigpending.
    both(
        "sigpending size",
        libc::SYS_rt_sigpending,
        [o, 9, 0, 0, 0, 0],
    );
    both(
        "sigpending bad",
        libc::SYS_rt_sigpending,
        [BAD, 8, 0, 0, 0, 0],
    );
    // rt_sigsuspend / rt_sigtimedwait argument checks (no waiting).
    both(
        "sigsuspend size",
        libc::SYS_rt_sigsuspend,
        [s, 4, 0, 0, 0, 0],
    );
    both(
        "sigsuspend bad",
        libc::SYS_rt_sigsuspend,
        [BAD, 8, 0, 0, 0, 0],
    );
    let zero = [0i64, 0];
    let z = zero.as_ptr() as usize;
    let bad_ns = [0i64, 1_000_000_000];
    both(
        "timedwait size",
        libc::SYS_rt_sigtimedwait,
        [s, 0, z, 4, 0, 0],
    );
    both(
        "timedwait bad set",
        libc::SYS_rt_sigtimedwait,
        [BAD, 0, z, 8, 0, 0],
    );
    both(
        "timedwait bad ts",
        libc::SYS_rt_sigtimedwait,
        [s, 0, BAD, 8, 0, 0],
    );
    both(
        "timedwait bad nsec",
        libc::SYS_rt_sigtimedwait,
        [s, 0, bad_ns.as_ptr() as usize, 8, 0, 0],
    );
    let usr2 = 1u64 << (libc::SIGUSR2 - 1);
    both(
        "timedwait nothing pending",
        libc::SYS_rt_sigtimedwait,
        [&usr2 as *const u64 as usize, 0, z, 8, 0, 0],
    );
    // kill / tkill / tgkill aimed at this process.
    let pid = std::process::id() as usize;
    let tid = native(libc::SYS_gettid, [0; 6]) as usize;
    both("kill 65", libc::SYS_kill, [pid, 65, 0, 0, 0, 0]);
    both("kill 0", libc::SYS_kill, [pid, 0, 0, 0, 0, 0]);
    both("tkill 0 tid", libc::SYS_tkill, [0, 10, 0, 0, 0, 0]);
    both(
        "tkill -1 tid",
        libc::SYS_tkill,
        [-1i64 as usize, 10, 0, 0, 0, 0],
    );
    both("tkill sig 65", libc::SYS_tkill, [tid, 65, 0, 0, 0, 0]);
    both("tkill sig 0", libc::SYS_tkill, [tid, 0, 0, 0, 0, 0]);
    both("tgkill tgid 0", libc::SYS_tgkill, [0, tid, 10, 0, 0, 0]);
    both("tgkill sig 65", libc::SYS_tgkill, [pid, tid, 65, 0, 0, 0]);
    both("tgkill sig 0", libc::SYS_tgkill, [pid, tid, 0, 0, 0, 0]);
    both(
        "tgkill no such tid",
        libc::SYS_tgkill,
        [pid, 0x3fff_fff0, 10, 0, 0, 0],
    );
    both(
        "tgkill tid of wrong group",
        libc::SYS_tgkill,
        [1, tid, 0, 0, 0, 0],
    );
    // sigaltstack.
    let small = [0usize, 0, 1024];
    let bad_flags = [0x1000usize, 7, 65536];
    both("altstack query", libc::SYS_sigaltstack, [0, o, 0, 0, 0, 0]);
    both(
        "altstack small",
        libc::SYS_sigaltstack,
        [small.as_ptr() as usize, 0, 0, 0, 0, 0],
    );
    both(
        "altstack flags",
        libc::SYS_sigaltstack,
        [bad_flags.as_ptr() as usize, 0, 0, 0, 0, 0],
    );
    both(
        "altstack bad ss",
        libc::SYS_sigaltstack,
        [BAD, 0, 0, 0, 0, 0],
    );
}

#[test]
fn bookkeeping_values_match_linux() {
    let _s = serial();
    // rt_sigaction: install, read back (flags masked as Linux), restore.
    let mut theirs = [0u64; 4];
    let mut ours = [0u64; 4];
    let act = [0x1234usize as u64, u64::MAX, 0x5678, u64::MAX];
    for (f, out) in [
        (native as fn(i64, [usize; 6]) -> isize, &mut theirs),
        (sys, &mut ours),
    ] {
        let mut old = [0u64; 4];
        assert_eq!(
            f(
                libc::SYS_rt_sigaction,
                [
                    libc::SIGURG as usize,
                    act.as_ptr() as usize,
                    old.as_mut_ptr() as usize,
                    8,
                    0,
                    0
                ]
            ),
            0
        );
        assert_eq!(
            f(
                libc::SYS_rt_sigaction,
                [
                    libc::SIGURG as usize,
                    old.as_ptr() as usize,
                    out.as_mut_ptr() as usize,
                    8,
                    0,
                    0
                ]
            ),
            0
        );
    }
    assert_eq!(ours, theirs, "sigaction read-back");
    // rt_sigprocmask: block everything, read back (KILL and STOP dropped), restore.
    let all = u64::MAX;
    let mut old = 0u64;
    let mut now = 0u64;
    assert_eq!(
        sys(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_BLOCK as usize,
                &all as *const u64 as usize,
                &mut old as *mut u64 as usize,
                8,
                0,
                0
            ]
        ),
        0
    );
    assert_eq!(
        sys(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_SETMASK as usize,
                &old as *const u64 as usize,
                &mut now as *mut u64 as usize,
                8,
                0,
                0
            ]
        ),
        0
    );
    assert_eq!(
        now,
        !((1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1)))
    );
}

#[test]
fn a_blocked_tkill_is_pending_and_sigtimedwait_takes_it() {
    let _s = serial();
    let usr1 = 1u64 << (libc::SIGUSR1 - 1);
    let set = &usr1 as *const u64 as usize;
    let mut old = 0u64;
    assert_eq!(
        sys(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_BLOCK as usize,
                set,
                &mut old as *mut u64 as usize,
                8,
                0,
                0
            ]
        ),
        0
    );
    let tid = sys(libc::SYS_gettid, [0; 6]) as usize;
    assert_eq!(
        sys(libc::SYS_tkill, [tid, libc::SIGUSR1 as usize, 0, 0, 0, 0]),
        0
    );
    let mut pending = 0u64;
    assert_eq!(
        sys(
            libc::SYS_rt_sigpending,
            [&mut pending as *mut u64 as usize, 8, 0, 0, 0, 0]
        ),
        0
    );
    assert_eq!(pending & usr1, usr1, "pending after a blocked tkill");
    let mut info = [0u8; 128];
    let zero = [0i64, 0];
    let r = sys(
        libc::SYS_rt_sigtimedwait,
        [
            set,
            info.as_mut_ptr() as usize,
            zero.as_ptr() as usize,
            8,
            0,
            0,
        ],
    );
    assert_eq!(r, libc::SIGUSR1 as isize);
    let word = |i: usize| i32::from_ne_bytes(info[i * 4..i * 4 + 4].try_into().unwrap());
    assert_eq!(word(0), libc::SIGUSR1, "si_signo");
    assert_eq!(word(2), libc::SI_TKILL, "si_code");
    assert_eq!(word(4), std::process::id() as i32, "si_pid");
    // Nothing left: EAGAIN, as Linux.
    assert_eq!(
        sys(
            libc::SYS_rt_sigtimedwait,
            [set, 0, zero.as_ptr() as usize, 8, 0, 0]
        ),
        -(libc::EAGAIN as isize)
    );
    assert_eq!(
        sys(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_SETMASK as usize,
                &old as *const u64 as usize,
                0,
                8,
                0,
                0
            ]
        ),
        0
    );
}
