//! The dispatcher on the Linux host port: routes, results against the host kernel, and Linux's
//! restart rule for interrupted waits when no handler runs.

use lintel::Lintel;
use lintel_futex::Bucket;
use lintel_host::{HOST, Host, Thread};
use lintel_kernel::{Errno, Notify, Threads};
use std::sync::atomic::AtomicU32;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

thread_local! {
    /// The dispatcher a test uses; each test has its own table (tests run in parallel), and
    /// threads a test spawns are handed its table with [`use_table`].
    static TABLE: std::cell::Cell<Option<&'static [Bucket<Thread>]>> = const { std::cell::Cell::new(None) };
}

/// Gives the calling thread a fresh table; returns it for the threads the test spawns.
fn fresh_table() -> &'static [Bucket<Thread>] {
    let b: &'static [Bucket<Thread>] = Box::leak(
        (0..64)
            .map(|_| Bucket::new())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    use_table(b);
    b
}

fn use_table(b: &'static [Bucket<Thread>]) {
    TABLE.with(|t| t.set(Some(b)));
}

fn lintel() -> Lintel<'static, Host> {
    Lintel::new(
        &HOST,
        TABLE.with(|t| t.get()).expect("call fresh_table() first"),
    )
}

fn sys(n: i64, a: [usize; 6]) -> isize {
    // SAFETY: callers pass arguments valid for the syscall.
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

const WAIT: usize = (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as usize;
const WAKE: usize = (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as usize;

#[test]
fn passed_through_calls_match_the_host() {
    fresh_table();
    assert_eq!(
        sys(libc::SYS_getpid, [0; 6]),
        native(libc::SYS_getpid, [0; 6])
    );
    assert_eq!(
        sys(libc::SYS_gettid, [0; 6]),
        native(libc::SYS_gettid, [0; 6])
    );
    // An error passes through as -errno.
    assert_eq!(
        sys(libc::SYS_close, [usize::MAX >> 1, 0, 0, 0, 0, 0]),
        -(libc::EBADF as isize)
    );
    let mut buf = [0u8; 8];
    let (r, w) = {
        let mut fds = [0i32; 2];
        // SAFETY: a valid out-array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        (fds[0] as usize, fds[1] as usize)
    };
    assert_eq!(
        sys(libc::SYS_write, [w, b"hi".as_ptr() as usize, 2, 0, 0, 0]),
        2
    );
    assert_eq!(
        sys(libc::SYS_read, [r, buf.as_mut_ptr() as usize, 8, 0, 0, 0]),
        2
    );
    assert_eq!(&buf[..2], b"hi");
    sys(libc::SYS_close, [r, 0, 0, 0, 0, 0]);
    sys(libc::SYS_close, [w, 0, 0, 0, 0, 0]);
}

#[test]
fn routes() {
    fresh_table();
    use lintel::table::{Route, route};
    assert_eq!(route(libc::SYS_futex as usize), Route::Emulated);
    assert_eq!(
        route(libc::SYS_vfork as usize),
        Route::As(libc::SYS_fork as usize)
    );
    assert_eq!(route(libc::SYS_getpid as usize), Route::Passthrough);
    for n in [
        libc::SYS_gettid,
        libc::SYS_set_tid_address,
        libc::SYS_exit,
        libc::SYS_set_robust_list,
        libc::SYS_get_robust_list,
    ] {
        assert_eq!(route(n as usize), Route::Emulated, "syscall {n}");
    }
    assert_eq!(sys(libc::SYS_rt_sigreturn, [0; 6]), Errno::ENOSYS.to_ret());
    // A raw clone that shares memory or has a stack cannot work through a function call.
    let vm = (libc::CLONE_VM | libc::SIGCHLD) as usize;
    assert_eq!(
        sys(libc::SYS_clone, [vm, 0, 0, 0, 0, 0]),
        Errno::ENOSYS.to_ret()
    );
    let stacked = libc::SIGCHLD as usize;
    assert_eq!(
        sys(libc::SYS_clone, [stacked, 0x1000, 0, 0, 0, 0]),
        Errno::ENOSYS.to_ret()
    );
    assert_eq!(sys(libc::SYS_clone3, [0; 6]), Errno::ENOSYS.to_ret());
    assert_eq!(
        route(libc::SYS_clone3 as usize),
        Route::Refused(Errno::ENOSYS)
    );
}

#[test]
fn futex_goes_to_lintel_and_matches_linux() {
    let table = fresh_table();
    let w = AtomicU32::new(1);
    let a = w.as_ptr() as usize;
    for (op, val) in [
        (WAKE, 1),
        (WAIT, 0),
        (WAKE | libc::FUTEX_CLOCK_REALTIME as usize, 1),
    ] {
        assert_eq!(
            sys(libc::SYS_futex, [a, op, val, 0, 0, 0]),
            native(libc::SYS_futex, [a, op, val, 0, 0, 0]),
            "op {op:#x}"
        );
    }
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    let t = &ts as *const _ as usize;
    assert_eq!(
        sys(libc::SYS_futex, [a, WAIT, 1, t, 0, 0]),
        -(libc::ETIMEDOUT as isize)
    );
    // A private waiter in lintel's table is not visible to the host kernel's futex.
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        use_table(table);
        let w = AtomicU32::new(0);
        tx.send((w.as_ptr() as usize, HOST.current())).unwrap();
        let a = w.as_ptr() as usize;
        sys(libc::SYS_futex, [a, WAIT, 0, 0, 0, 0])
    });
    let (wa, _) = rx.recv().unwrap();
    while lintel().futex_table().waiters() == 0 {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(native(libc::SYS_futex, [wa, WAKE, 1, 0, 0, 0]), 0);
    assert_eq!(sys(libc::SYS_futex, [wa, WAKE, 1, 0, 0, 0]), 1);
    assert_eq!(waiter.join().unwrap(), 0);
}

/// A `sched_setscheduler` made through the dispatcher on a thread asleep in `FUTEX_LOCK_PI`
/// moves what the lock's owner inherits (Linux's `rt_mutex_adjust_pi`; the semantics are
/// compared with Linux in `futex/tests/pi_boost.rs`, this checks the dispatcher's wiring).
/// Needs `CAP_SYS_NICE` for `SCHED_FIFO`, as root has.
#[test]
fn a_priority_change_reaches_a_pi_waiter() {
    let table = fresh_table();
    let w: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
    let a = w.as_ptr() as usize;
    let me = HOST.current();
    // SAFETY: no preconditions.
    let my_tid = unsafe { libc::gettid() } as u32;
    w.store(my_tid, std::sync::atomic::Ordering::SeqCst); // the main thread owns the PI lock
    let fifo = |tid: i32, rt: i32| {
        let param = libc::sched_param { sched_priority: rt };
        let policy = if rt == 0 {
            libc::SCHED_OTHER
        } else {
            libc::SCHED_FIFO
        };
        let args = [
            tid as usize,
            policy as usize,
            &raw const param as usize,
            0,
            0,
            0,
        ];
        sys(libc::SYS_sched_setscheduler, args)
    };
    let lock_pi = (libc::FUTEX_LOCK_PI | libc::FUTEX_PRIVATE_FLAG) as usize;
    let unlock_pi = (libc::FUTEX_UNLOCK_PI | libc::FUTEX_PRIVATE_FLAG) as usize;
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        use_table(table);
        // SAFETY: no preconditions.
        tx.send(unsafe { libc::gettid() }).unwrap();
        assert_eq!(
            fifo(0, 20),
            0,
            "SCHED_FIFO needs CAP_SYS_NICE (run as root)"
        );
        let r = sys(libc::SYS_futex, [a, lock_pi, 0, 0, 0, 0]);
        let u = sys(libc::SYS_futex, [a, unlock_pi, 0, 0, 0, 0]);
        fifo(0, 0);
        (r, u)
    });
    let wtid = rx.recv().unwrap();
    let effective = || lintel().futex_table().effective_priority(me);
    let start = Instant::now();
    while effective() != 79 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the owner never inherited the waiter's priority (FIFO 20 = 79): {}",
            effective()
        );
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(fifo(wtid, 50), 0);
    assert_eq!(
        effective(),
        49,
        "the waiter's new priority reached the owner"
    );
    assert_eq!(sys(libc::SYS_futex, [a, unlock_pi, 0, 0, 0, 0]), 0);
    assert_eq!(waiter.join().unwrap(), (0, 0));
    assert_eq!(effective(), lintel_kernel::NORMAL_PRIORITY);
}

/// With no handler to run, Linux restarts an interrupted wait: the caller never sees it. An
/// untimed wait goes on waiting; a timed one keeps its original deadline.
#[test]
fn interrupted_waits_restart_when_no_handler_runs() {
    let table = fresh_table();
    static W: AtomicU32 = AtomicU32::new(0);
    let a = W.as_ptr() as usize;
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        use_table(table);
        tx.send(HOST.current()).unwrap();
        sys(libc::SYS_futex, [a, WAIT, 0, 0, 0, 0])
    });
    let t = rx.recv().unwrap();
    let queued = |n| {
        let start = Instant::now();
        while lintel().futex_table().waiters() != n {
            assert!(start.elapsed() < Duration::from_secs(10));
            thread::sleep(Duration::from_millis(1));
        }
    };
    queued(1);
    for _ in 0..5 {
        HOST.interrupt(t);
        thread::sleep(Duration::from_millis(5));
        queued(1); // back in the queue, not returned
    }
    assert!(!waiter.is_finished());
    assert_eq!(sys(libc::SYS_futex, [a, WAKE, 1, 0, 0, 0]), 1);
    assert_eq!(waiter.join().unwrap(), 0);

    // Timed: 200 ms relative, interrupted at 50 ms and 100 ms: still times out at ~200 ms from
    // the start (the restart block keeps the absolute deadline), not 200 ms after an interrupt.
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let waiter = thread::spawn(move || {
        use_table(table);
        tx.send(HOST.current()).unwrap();
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 200_000_000,
        };
        sys(
            libc::SYS_futex,
            [a, WAIT, 0, &ts as *const _ as usize, 0, 0],
        )
    });
    let t = rx.recv().unwrap();
    thread::sleep(Duration::from_millis(50));
    HOST.interrupt(t);
    thread::sleep(Duration::from_millis(50));
    HOST.interrupt(t);
    assert_eq!(waiter.join().unwrap(), -(libc::ETIMEDOUT as isize));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(199) && took < Duration::from_millis(290),
        "took {took:?}"
    );
    assert_eq!(lintel().futex_table().waiters(), 0);
}

/// futex2 (`futex_wake` 454, `futex_wait` 455, `futex_requeue` 456, `futex_waitv` 449) goes to
/// lintel's table, with the host's results; an interrupted `futex_wait` with no handler to run is
/// made again, a timed one with its absolute deadline (Linux: `ERESTARTSYS`, timed or not).
#[test]
fn futex2_calls_are_emulated_and_restart_when_no_handler_runs() {
    use lintel::table::{Route, route};
    let table = fresh_table();
    for n in [449, 454, 455, 456] {
        assert_eq!(route(n), Route::Emulated, "syscall {n}");
    }
    const F: usize = 2 | 128; // FUTEX2_SIZE_U32 | FUTEX2_PRIVATE
    const ANY: usize = u32::MAX as usize;
    static W: AtomicU32 = AtomicU32::new(0);
    let a = W.as_ptr() as usize;
    for (n, args) in [
        (454, [a, ANY, 1, F, 0, 0]),
        (454, [a, 1 << 32, 1, F, 0, 0]),
        (454, [a + 1, ANY, 1, F, 0, 0]),
        (455, [a, 1, ANY, F, 0, 0]),
        (455, [a, 0, 0, F, 0, 0]),
        (456, [0, 0, 1, 1, 0, 0]),
        (449, [0, 1, 0, 0, 0, 0]),
        (449, [a, 0, 0, 0, 0, 0]),
    ] {
        assert_eq!(sys(n, args), native(n, args), "syscall {n} {args:x?}");
    }

    // Untimed, interrupted five times: back in lintel's queue each time, then woken.
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        use_table(table);
        tx.send(HOST.current()).unwrap();
        sys(455, [a, 0, ANY, F, 0, 0])
    });
    let t = rx.recv().unwrap();
    let queued = |n| {
        let start = Instant::now();
        while lintel().futex_table().waiters() != n {
            assert!(start.elapsed() < Duration::from_secs(10));
            thread::sleep(Duration::from_millis(1));
        }
    };
    queued(1);
    for _ in 0..5 {
        HOST.interrupt(t);
        thread::sleep(Duration::from_millis(5));
        queued(1);
    }
    assert!(!waiter.is_finished());
    assert_eq!(sys(454, [a, ANY, 1, F, 0, 0]), 1);
    assert_eq!(waiter.join().unwrap(), 0);

    // futex_waitv on a private word and W: queued in lintel's table, woken there by a
    // futex_wake on W, it returns W's index.
    static OTHER: AtomicU32 = AtomicU32::new(0);
    let entries: &'static [[u64; 3]; 2] = Box::leak(Box::new([
        [0, OTHER.as_ptr() as u64, F as u64],
        [0, a as u64, F as u64],
    ]));
    let waiter = thread::spawn(move || {
        use_table(table);
        sys(449, [entries.as_ptr() as usize, 2, 0, 0, 0, 0])
    });
    queued(2);
    assert_eq!(sys(454, [a, ANY, 1, F, 0, 0]), 1);
    assert_eq!(waiter.join().unwrap(), 1);
    queued(0);

    // Timed: an absolute deadline 200 ms ahead on CLOCK_MONOTONIC, interrupted at 50 and
    // 100 ms: it still times out at the deadline.
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let waiter = thread::spawn(move || {
        use_table(table);
        tx.send(HOST.current()).unwrap();
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid out-pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        ts.tv_nsec += 200_000_000;
        if ts.tv_nsec >= 1_000_000_000 {
            ts.tv_sec += 1;
            ts.tv_nsec -= 1_000_000_000;
        }
        let clock = libc::CLOCK_MONOTONIC as usize;
        sys(455, [a, 0, ANY, F, &ts as *const _ as usize, clock])
    });
    let t = rx.recv().unwrap();
    thread::sleep(Duration::from_millis(50));
    HOST.interrupt(t);
    thread::sleep(Duration::from_millis(50));
    HOST.interrupt(t);
    assert_eq!(waiter.join().unwrap(), -(libc::ETIMEDOUT as isize));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(199) && took < Duration::from_millis(290),
        "took {took:?}"
    );
    assert_eq!(lintel().futex_table().waiters(), 0);
}

#[test]
fn thread_identity_is_emulated_and_matches_linux() {
    fresh_table();
    assert_eq!(
        sys(libc::SYS_gettid, [0; 6]),
        native(libc::SYS_gettid, [0; 6])
    );
    let word = AtomicU32::new(1);
    assert_eq!(
        sys(
            libc::SYS_set_tid_address,
            [word.as_ptr() as usize, 0, 0, 0, 0, 0]
        ),
        native(libc::SYS_gettid, [0; 6])
    );
    // Undo, so this test thread's exit leaves `word` alone.
    sys(libc::SYS_set_tid_address, [0; 6]);
}

#[test]
fn robust_list_calls_match_linux() {
    fresh_table();
    let head = [0usize; 3];
    let h = head.as_ptr() as usize;
    // A bad length is EINVAL on both.
    assert_eq!(
        sys(libc::SYS_set_robust_list, [h, 23, 0, 0, 0, 0]),
        native(libc::SYS_set_robust_list, [h, 23, 0, 0, 0, 0])
    );
    assert_eq!(sys(libc::SYS_set_robust_list, [h, 24, 0, 0, 0, 0]), 0);
    let (mut got, mut len) = (0usize, 0usize);
    let out = [
        0,
        &mut got as *mut usize as usize,
        &mut len as *mut usize as usize,
        0,
        0,
        0,
    ];
    assert_eq!(sys(libc::SYS_get_robust_list, out), 0);
    assert_eq!((got, len), (h, 24));
    // The host kernel knows the list too.
    let (mut got2, mut len2) = (0usize, 0usize);
    let out2 = [
        0,
        &mut got2 as *mut usize as usize,
        &mut len2 as *mut usize as usize,
        0,
        0,
        0,
    ];
    assert_eq!(native(libc::SYS_get_robust_list, out2), 0);
    assert_eq!((got2, len2), (h, 24));
    // EFAULT on both for a bad output pointer.
    let bad = [0, 8, &mut len as *mut usize as usize, 0, 0, 0];
    assert_eq!(
        sys(libc::SYS_get_robust_list, bad),
        native(libc::SYS_get_robust_list, bad)
    );
    sys(libc::SYS_set_robust_list, [0, 24, 0, 0, 0, 0]);
}

#[test]
fn arch_prctl_is_emulated_and_matches_linux() {
    fresh_table();
    assert_eq!(
        lintel::table::route(libc::SYS_arch_prctl as usize),
        lintel::table::Route::Emulated
    );
    let (mut a, mut b) = (0usize, 1usize);
    let get_fs = 0x1003;
    assert_eq!(
        sys(
            libc::SYS_arch_prctl,
            [get_fs, &mut a as *mut usize as usize, 0, 0, 0, 0]
        ),
        0
    );
    assert_eq!(
        native(
            libc::SYS_arch_prctl,
            [get_fs, &mut b as *mut usize as usize, 0, 0, 0, 0]
        ),
        0
    );
    assert_eq!(a, b);
    // GS is lintel's: setting it is refused.
    assert_eq!(
        sys(libc::SYS_arch_prctl, [0x1001, 0x1000, 0, 0, 0, 0]),
        -(libc::EPERM as isize)
    );
    assert_eq!(
        sys(libc::SYS_arch_prctl, [0x1_0000_1001, 0x1000, 0, 0, 0, 0]),
        -(libc::EPERM as isize)
    );
    // Bad output pointer and unknown code: Linux's answers.
    for args in [[get_fs, 8, 0, 0, 0, 0], [0x9999, 0, 0, 0, 0, 0]] {
        assert_eq!(
            sys(libc::SYS_arch_prctl, args),
            native(libc::SYS_arch_prctl, args),
            "{args:x?}"
        );
    }
}

/// After `fork`, the child's futex table holds none of the parent's waiters: a wake in the
/// child finds nobody (as on Linux, where the parent's waiters are not in the child), and the
/// table is usable. The parent is unaffected.
#[test]
fn fork_gives_the_child_an_empty_usable_table() {
    let table = fresh_table();
    static W: AtomicU32 = AtomicU32::new(0);
    let a = W.as_ptr() as usize;
    let waiter = thread::spawn(move || {
        use_table(table);
        sys(libc::SYS_futex, [a, WAIT, 0, 0, 0, 0])
    });
    let start = Instant::now();
    while lintel().futex_table().waiters() != 1 {
        assert!(start.elapsed() < Duration::from_secs(10));
        thread::sleep(Duration::from_millis(1));
    }
    let pid = sys(libc::SYS_fork, [0; 6]);
    if pid == 0 {
        // The child: only raw syscalls and lintel from here on.
        let queued = lintel().futex_table().waiters();
        let woken = sys(libc::SYS_futex, [a, WAKE, 1, 0, 0, 0]);
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000,
        };
        let timed = sys(
            libc::SYS_futex,
            [a, WAIT, 0, &ts as *const _ as usize, 0, 0],
        );
        let ok = queued == 0 && woken == 0 && timed == -(libc::ETIMEDOUT as isize);
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    assert!(pid > 0, "fork: {pid}");
    let mut status = 0;
    // SAFETY: waits for our own child.
    let reaped = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
    assert_eq!(reaped, pid as i32);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status:#x}"
    );
    // The parent still has its waiter; wake it.
    assert_eq!(lintel().futex_table().waiters(), 1);
    assert_eq!(sys(libc::SYS_futex, [a, WAKE, 1, 0, 0, 0]), 1);
    assert_eq!(waiter.join().unwrap(), 0);
}
