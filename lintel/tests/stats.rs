//! `LINTEL_STATS`: the counts the dispatcher keeps are the calls a workload made, and the report
//! shows them. Statistics are process-wide, so this file is its own test binary and its tests
//! take turns ([`LOCK`]).

use lintel::Lintel;
use lintel::stats::{self, AddrStats, Event};
use lintel_futex::Bucket;
use lintel_host::{HOST, Host, Thread};
use lintel_kernel::{Notify, Threads};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

static LOCK: Mutex<()> = Mutex::new(());

/// Takes the statistics for one test: on (or off), all counts zero.
fn take(on: bool) -> MutexGuard<'static, ()> {
    let g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    stats::ENABLED.store(on, Ordering::Relaxed);
    stats::reset();
    g
}

fn table() -> &'static [Bucket<Thread>] {
    static B: [Bucket<Thread>; 64] = [const { Bucket::new() }; 64];
    &B
}

fn lintel() -> Lintel<'static, Host> {
    Lintel::new(&HOST, table())
}

fn sys(n: i64, a: [usize; 6]) -> isize {
    // SAFETY: callers pass arguments valid for the syscall.
    unsafe { lintel().syscall(n as usize, a) }
}

const WAIT: usize = (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as usize;
const WAKE: usize = (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as usize;

fn report_text() -> String {
    let mut out = Vec::new();
    stats::report(&mut |b: &[u8]| {
        assert!(b.len() <= 256);
        out.extend_from_slice(b)
    });
    String::from_utf8(out).unwrap()
}

/// The lines of the report's section that starts with `title`, up to the next section.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(title))
        .skip(1)
        .take_while(|l| !l.starts_with("lintel stats:"))
        .collect()
}

#[test]
fn counts_are_the_calls_the_workload_made() {
    let _g = take(true);
    let words: &'static [AtomicU32; 4] = Box::leak(Box::new([const { AtomicU32::new(0) }; 4]));
    let [a, b, c, d] = [0, 1, 2, 3].map(|i| words[i].as_ptr() as usize);

    // Passed through: counted with their numbers, including one Linux does not have.
    for _ in 0..3 {
        assert!(sys(libc::SYS_getppid, [0; 6]) > 0);
    }
    assert_eq!(sys(-1, [0; 6]), -(libc::ENOSYS as isize));
    // 20 timed waits on `a` that time out (200 µs each).
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 200_000,
    };
    for _ in 0..20 {
        let r = sys(
            libc::SYS_futex,
            [a, WAIT, 0, &ts as *const _ as usize, 0, 0],
        );
        assert_eq!(r, -(libc::ETIMEDOUT as isize));
    }
    // 5 waits on `b` that find another value (EAGAIN, no sleep).
    for _ in 0..5 {
        assert_eq!(
            sys(libc::SYS_futex, [b, WAIT, 7, 0, 0, 0]),
            -(libc::EAGAIN as isize)
        );
    }
    // 7 wakes on `c` with nobody waiting: with statistics on, the fast path declines, so each is
    // counted by the dispatcher.
    assert_eq!(
        lintel().fast_call(libc::SYS_futex as usize, &[c, WAKE, 1, 0, 0, 0]),
        None
    );
    for _ in 0..7 {
        assert_eq!(sys(libc::SYS_futex, [c, WAKE, 1, 0, 0, 0]), 0);
    }
    // One wait on `d` that a wake ends.
    let waiter = thread::spawn(move || sys(libc::SYS_futex, [d, WAIT, 0, 0, 0, 0]));
    let start = Instant::now();
    while lintel().futex_table().waiters() != 1 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the waiter never queued"
        );
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(sys(libc::SYS_futex, [d, WAKE, 1, 0, 0, 0]), 1);
    assert_eq!(waiter.join().unwrap(), 0);
    // The front door's clock shortcut counts too.
    let mut t = [0u64; 2];
    for _ in 0..2 {
        assert_eq!(lintel().clock_gettime_fast(1, t.as_mut_ptr() as usize), 0);
    }

    assert_eq!(stats::syscall_count(libc::SYS_getppid as usize), 3);
    assert_eq!(stats::syscall_count(usize::MAX), 1);
    assert_eq!(
        stats::syscall_count(libc::SYS_futex as usize),
        20 + 5 + 7 + 2
    );
    assert_eq!(stats::syscall_count(libc::SYS_clock_gettime as usize), 2);
    assert_eq!(stats::get(Event::FutexWait), 26);
    assert_eq!(stats::get(Event::WaitTimedOut), 20);
    assert_eq!(stats::get(Event::WaitAgain), 5);
    assert_eq!(stats::get(Event::WaitWoken), 1);
    assert_eq!(stats::get(Event::WaitInterrupted), 0);
    assert_eq!(stats::get(Event::WaitError), 0);
    assert_eq!(stats::get(Event::FutexWake), 8);
    assert_eq!(stats::get(Event::WakeNoWaiters), 7);
    assert_eq!(stats::get(Event::ThreadsWoken), 1);
    assert_eq!(stats::get(Event::FutexRequeue), 0);
    let (total, max) = stats::wait_ns();
    // A 200 µs timeout takes at least 200 µs, on Linux and here.
    assert!(total >= 20 * 200_000, "total {total}");
    assert!((200_000..=total).contains(&max), "max {max}");

    // The address table: `a` first with all 20 waits, then `b`, then `d`; `c` (wakes only) absent.
    let mut top = [AddrStats::default(); 10];
    assert_eq!(stats::ADDRESSES.top(&mut top), 3);
    assert_eq!((top[0].addr, top[0].waits), (a, 20));
    assert!(top[0].total_ns >= 20 * 200_000 && top[0].max_ns >= 200_000);
    assert!(top[0].max_ns <= top[0].total_ns);
    assert_eq!((top[1].addr, top[1].waits), (b, 5));
    assert_eq!((top[2].addr, top[2].waits), (d, 1));
    assert_eq!(stats::ADDRESSES.untracked(), (0, 0));

    // The report says the same.
    let text = report_text();
    assert!(text.starts_with("lintel: threads created 0, futex waits 26, wakes 8, requeues 0\n"));
    let calls = section(&text, "lintel stats: syscall counts");
    assert_eq!(
        calls[1].split_whitespace().collect::<Vec<_>>(),
        ["34", "202", "futex"]
    );
    assert!(
        calls
            .iter()
            .any(|l| l.split_whitespace().eq(["3", "110", "getppid"]))
    );
    assert!(
        calls
            .iter()
            .any(|l| l.split_whitespace().eq(["2", "228", "clock_gettime"]))
    );
    assert!(
        calls
            .iter()
            .any(|l| l.trim_start().starts_with("1     -  (numbers 512"))
    );
    let futex = section(&text, "lintel stats: futex\n").join("\n");
    assert!(
        text.contains(
            "  waits 26: woken 1, timed out 20, interrupted 0, EAGAIN 5, other errors 0\n"
        ),
        "{futex}"
    );
    assert!(text.contains("  wakes 8: no waiters 7, threads woken 1\n"));
    let rows = section(&text, "lintel stats: futex waits by address (top 10)");
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["addr", "waits", "total_ns", "max_ns"]
    );
    let first: Vec<_> = rows[1].split_whitespace().collect();
    assert_eq!(first[..2], [format!("{a:#x}").as_str(), "20"]);
    assert_eq!(first[2], top[0].total_ns.to_string());
    assert_eq!(rows.len(), 1 + 3);
    // No signal was delivered: the section has its heading only.
    assert_eq!(section(&text, "lintel stats: signals delivered").len(), 1);

    // Reported once per process; reset clears everything.
    let mut n = 0;
    stats::report_once(&mut |b| n += b.len());
    assert!(n > 0);
    stats::report_once(&mut |_| panic!("reported twice"));
    stats::reset();
    assert_eq!(stats::get(Event::FutexWait), 0);
    assert_eq!(stats::syscall_count(libc::SYS_futex as usize), 0);
    assert_eq!(stats::ADDRESSES.top(&mut top), 0);
}

#[test]
fn statistics_off_count_nothing() {
    let _g = take(false);
    let w = AtomicU32::new(0);
    let a = w.as_ptr() as usize;
    // The fast path answers again.
    assert_eq!(
        lintel().fast_call(libc::SYS_futex as usize, &[a, WAKE, 1, 0, 0, 0]),
        Some(0)
    );
    assert_eq!(
        sys(libc::SYS_futex, [a, WAIT, 1, 0, 0, 0]),
        -(libc::EAGAIN as isize)
    );
    assert!(sys(libc::SYS_getppid, [0; 6]) > 0);
    let mut t = [0u64; 2];
    assert_eq!(lintel().clock_gettime_fast(0, t.as_mut_ptr() as usize), 0);
    stats::count_global(Event::ThreadCreated);
    stats::count_signal(10);
    assert_eq!(stats::syscall_count(libc::SYS_futex as usize), 0);
    assert_eq!(stats::syscall_count(libc::SYS_getppid as usize), 0);
    assert_eq!(stats::syscall_count(libc::SYS_clock_gettime as usize), 0);
    assert_eq!(stats::get(Event::FutexWait), 0);
    assert_eq!(stats::get(Event::ThreadCreated), 0);
    assert_eq!(stats::signal_count(10), 0);
    assert_eq!(stats::ADDRESSES.top(&mut [AddrStats::default(); 1]), 0);
}

#[test]
fn a_wait_interrupted_and_restarted_counts_each_attempt() {
    // An untimed wait interrupted with no handler to run restarts (Linux's rule): the program
    // made one futex call, the address saw two wait attempts, one of them interrupted.
    let _g = take(true);
    let w: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
    let a = w.as_ptr() as usize;
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || {
        tx.send(HOST.current()).unwrap();
        sys(libc::SYS_futex, [a, WAIT, 0, 0, 0, 0])
    });
    let t = rx.recv().unwrap();
    let start = Instant::now();
    while lintel().futex_table().waiters() != 1 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the waiter never queued"
        );
        thread::sleep(Duration::from_millis(1));
    }
    HOST.interrupt(t);
    // The restarted wait queues again; then it is woken.
    while stats::get(Event::WaitInterrupted) != 1 || lintel().futex_table().waiters() != 1 {
        assert!(start.elapsed() < Duration::from_secs(10), "no restart");
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(sys(libc::SYS_futex, [a, WAKE, 1, 0, 0, 0]), 1);
    assert_eq!(waiter.join().unwrap(), 0);
    assert_eq!(stats::syscall_count(libc::SYS_futex as usize), 2);
    assert_eq!(stats::get(Event::FutexWait), 2);
    assert_eq!(stats::get(Event::WaitInterrupted), 1);
    assert_eq!(stats::get(Event::WaitWoken), 1);
    let mut top = [AddrStats::default(); 2];
    assert_eq!(stats::ADDRESSES.top(&mut top), 1);
    assert_eq!((top[0].addr, top[0].waits), (a, 2));

    // A timed wait resumes through its restart block: also a second attempt on the address.
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || {
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
    let start = Instant::now();
    while lintel().futex_table().waiters() != 1 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the waiter never queued"
        );
        thread::sleep(Duration::from_millis(1));
    }
    HOST.interrupt(t);
    assert_eq!(waiter.join().unwrap(), -(libc::ETIMEDOUT as isize));
    assert_eq!(stats::syscall_count(libc::SYS_futex as usize), 3);
    assert_eq!(stats::get(Event::FutexWait), 4);
    assert_eq!(stats::get(Event::WaitInterrupted), 2);
    assert_eq!(stats::get(Event::WaitTimedOut), 1);
    assert_eq!(stats::ADDRESSES.top(&mut top), 1);
    assert_eq!((top[0].addr, top[0].waits), (a, 4));
    assert!(top[0].max_ns >= 100_000_000, "{top:?}");
}
