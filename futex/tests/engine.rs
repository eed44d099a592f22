//! The futex engine's semantics on a std-based test port: counts, order, bitsets, requeue,
//! wake_op, timeouts and interruption. (Linux-differential tests of the same scenarios, with
//! the real host port, are in `lintel-host`'s tests.)

mod support;

use lintel_futex::{Bucket, FutexError, FutexTable, Restart, Scope};
use lintel_kernel::{Clock, ClockId, Deadline, Errno, Notify, Threads};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use support::{KERNEL, StdKernel, T};

const ANY: u32 = u32::MAX;
const P: Scope = Scope::Private;

fn table() -> FutexTable<'static, StdKernel> {
    let buckets: &'static [Bucket<T>] = Box::leak(
        (0..64)
            .map(|_| Bucket::new())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    FutexTable::new(&KERNEL, buckets)
}

fn word(v: u32) -> &'static AtomicU32 {
    Box::leak(Box::new(AtomicU32::new(v)))
}

fn addr(w: &AtomicU32) -> usize {
    w as *const AtomicU32 as usize
}

/// Polls until `n` threads are queued in the table (bounded).
fn wait_queued(t: &FutexTable<'static, StdKernel>, n: usize) {
    let start = Instant::now();
    while t.waiters() != n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waiters stuck at {}",
            t.waiters()
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Spawns a waiter on `w` (expecting `val`, with `bitset`); it reports its handle, then its
/// result on `done`.
fn spawn_waiter(
    t: &'static FutexTable<'static, StdKernel>,
    w: &'static AtomicU32,
    val: u32,
    bitset: u32,
    deadline: Option<Deadline>,
    id: usize,
    done: mpsc::Sender<(usize, Result<(), FutexError>)>,
) -> T {
    spawn_waiter_prio(
        t,
        w,
        val,
        bitset,
        deadline,
        id,
        done,
        lintel_kernel::NORMAL_PRIORITY,
    )
}

#[allow(
    clippy::too_many_arguments,
    reason = "mirrors wait()'s arguments plus the test's own"
)]
fn spawn_waiter_prio(
    t: &'static FutexTable<'static, StdKernel>,
    w: &'static AtomicU32,
    val: u32,
    bitset: u32,
    deadline: Option<Deadline>,
    id: usize,
    done: mpsc::Sender<(usize, Result<(), FutexError>)>,
    prio: i32,
) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        support::set_priority(prio);
        tx.send(KERNEL.current()).unwrap();
        let r = t.wait(addr(w), val, bitset, deadline, P);
        KERNEL.take_interrupt();
        done.send((id, r)).unwrap();
    });
    rx.recv().unwrap()
}

/// `FUTEX_WAKE_OP` on the test's own words.
fn wake_op(
    t: &FutexTable<'static, StdKernel>,
    a: usize,
    b: usize,
    n1: i32,
    n2: i32,
    op: u32,
    scope: Scope,
) -> Result<u32, Errno> {
    // SAFETY: `b` is a word this test owns and expects to be modified.
    unsafe { t.wake_op(a, b, n1, n2, op, scope) }
}

/// The raw `futex(2)` entry on the test's own words and timespecs.
fn futex(
    t: &FutexTable<'static, StdKernel>,
    uaddr: usize,
    op: u32,
    val: u32,
    utime: usize,
    uaddr2: usize,
    val3: u32,
) -> Result<usize, FutexError> {
    // SAFETY: every address is a word or timespec the test owns.
    unsafe { t.futex(uaddr, op, val, utime, uaddr2, val3) }
}

fn leak(t: FutexTable<'static, StdKernel>) -> &'static FutexTable<'static, StdKernel> {
    Box::leak(Box::new(t))
}

#[test]
fn argument_errors() {
    let t = table();
    let w = word(5);
    assert_eq!(
        t.wait(addr(w), 4, ANY, None, P),
        Err(FutexError::Errno(Errno::EAGAIN))
    );
    assert_eq!(
        t.wait(addr(w), 5, 0, None, P),
        Err(FutexError::Errno(Errno::EINVAL))
    );
    assert_eq!(
        t.wait(addr(w) + 1, 5, ANY, None, P),
        Err(FutexError::Errno(Errno::EINVAL))
    );
    assert_eq!(t.wake(addr(w), 1, 0, P), Err(Errno::EINVAL));
    assert_eq!(t.wake(addr(w) + 2, 1, ANY, P), Err(Errno::EINVAL));
    assert_eq!(t.wake(addr(w), 1, ANY, P), Ok(0));
    assert_eq!(
        t.requeue(addr(w), addr(w), -1, 0, None, P),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        t.requeue(addr(w), addr(w), 0, -1, None, P),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        t.requeue(addr(w), addr(w), 1, 1, Some(4), P),
        Err(Errno::EAGAIN)
    );
    assert_eq!(t.requeue(addr(w), addr(w), 1, 1, Some(5), P), Ok(0));
    // Past the end of user space: EFAULT without touching memory.
    assert_eq!(t.wake(0x7fff_ffff_f000, 1, ANY, P), Err(Errno::EFAULT));
    assert_eq!(t.waiters(), 0);
}

#[test]
fn wake_counts_are_exact_and_fifo() {
    let t = leak(table());
    let w = word(0);
    let (done, results) = mpsc::channel();
    for id in 0..6 {
        spawn_waiter(t, w, 0, ANY, None, id, done.clone());
        wait_queued(t, id + 1);
    }
    // nr_wake 0 wakes one (Linux quirk), the first queued.
    assert_eq!(t.wake(addr(w), 0, ANY, P), Ok(1));
    assert_eq!(results.recv().unwrap(), (0, Ok(())));
    assert_eq!(t.wake(addr(w), 2, ANY, P), Ok(2));
    let mut got = [results.recv().unwrap().0, results.recv().unwrap().0];
    got.sort();
    assert_eq!(got, [1, 2]);
    assert_eq!(t.wake(addr(w), 1, ANY, P), Ok(1));
    assert_eq!(results.recv().unwrap(), (3, Ok(())));
    assert_eq!(t.wake(addr(w), i32::MAX, ANY, P), Ok(2));
    let _ = results.recv().unwrap();
    let _ = results.recv().unwrap();
    assert_eq!(t.wake(addr(w), i32::MAX, ANY, P), Ok(0));
    assert_eq!(t.waiters(), 0);
}

#[test]
fn bitsets_select_waiters() {
    let t = leak(table());
    let w = word(0);
    let (done, results) = mpsc::channel();
    spawn_waiter(t, w, 0, 0b01, None, 1, done.clone());
    wait_queued(t, 1);
    spawn_waiter(t, w, 0, 0b10, None, 2, done.clone());
    wait_queued(t, 2);
    assert_eq!(t.wake(addr(w), 5, 0b100, P), Ok(0));
    assert_eq!(t.wake(addr(w), 5, 0b10, P), Ok(1));
    assert_eq!(results.recv().unwrap(), (2, Ok(())));
    assert_eq!(t.wake(addr(w), 5, ANY, P), Ok(1));
    assert_eq!(results.recv().unwrap(), (1, Ok(())));
}

#[test]
fn private_and_shared_do_not_see_each_other() {
    let t = leak(table());
    let w = word(0);
    let (done, results) = mpsc::channel();
    spawn_waiter(t, w, 0, ANY, None, 1, done);
    wait_queued(t, 1);
    assert_eq!(t.wake(addr(w), 1, ANY, Scope::Shared), Ok(0));
    assert_eq!(t.wake(addr(w), 1, ANY, P), Ok(1));
    let _ = results.recv().unwrap();
}

#[test]
fn requeue_moves_and_counts() {
    let t = leak(table());
    let (a, b) = (word(7), word(0));
    let (done, results) = mpsc::channel();
    for id in 0..5 {
        spawn_waiter(t, a, 7, ANY, None, id, done.clone());
        wait_queued(t, id + 1);
    }
    // Wake 1, move 2: returns 3.
    assert_eq!(t.requeue(addr(a), addr(b), 1, 2, Some(7), P), Ok(3));
    assert_eq!(results.recv().unwrap(), (0, Ok(())));
    // The moved ones (1, 2) now wait on b, in their order; 3, 4 still on a.
    assert_eq!(t.wake(addr(b), 1, ANY, P), Ok(1));
    assert_eq!(results.recv().unwrap(), (1, Ok(())));
    // nr_wake 0 and nr_requeue 0: nothing at all (unlike FUTEX_WAKE).
    assert_eq!(t.requeue(addr(a), addr(b), 0, 0, None, P), Ok(0));
    // Requeue everything from a to b with no wakes, then wake b.
    assert_eq!(t.requeue(addr(a), addr(b), 0, 100, None, P), Ok(2));
    assert_eq!(t.wake(addr(b), 10, ANY, P), Ok(3));
    let mut ids: Vec<_> = (0..3).map(|_| results.recv().unwrap().0).collect();
    ids.sort();
    assert_eq!(ids, [2, 3, 4]);
    assert_eq!(t.waiters(), 0);
}

#[test]
fn requeue_to_same_address_keeps_order() {
    let t = leak(table());
    let a = word(0);
    let (done, results) = mpsc::channel();
    for id in 0..3 {
        spawn_waiter(t, a, 0, ANY, None, id, done.clone());
        wait_queued(t, id + 1);
    }
    assert_eq!(t.requeue(addr(a), addr(a), 0, 3, None, P), Ok(3));
    for id in 0..3 {
        assert_eq!(t.wake(addr(a), 1, ANY, P), Ok(1));
        assert_eq!(results.recv().unwrap(), (id, Ok(())));
    }
}

#[test]
fn wake_op_wakes_both_when_comparison_holds() {
    let t = leak(table());
    let (a, b) = (word(0), word(0));
    let (done, results) = mpsc::channel();
    spawn_waiter(t, a, 0, ANY, None, 1, done.clone());
    wait_queued(t, 1);
    spawn_waiter(t, b, 0, ANY, None, 2, done.clone());
    wait_queued(t, 2);
    // op = SET 1, cmp = GT 0: old value 0 > 0 is false -> only `a` is woken.
    let set1_gt0 = (4 << 24) | (1 << 12); // op SET (0)
    assert_eq!(wake_op(t, addr(a), addr(b), 1, 1, set1_gt0, P), Ok(1));
    assert_eq!(results.recv().unwrap(), (1, Ok(())));
    assert_eq!(b.load(Ordering::SeqCst), 1);
    // op = ADD 1, cmp = EQ 1: old 1 == 1 -> `b`'s waiter (which waited for 0; it is queued) wakes.
    let add1_eq1 = (1 << 28) | (1 << 12) | 1; // cmp EQ (0)
    assert_eq!(wake_op(t, addr(a), addr(b), 1, 1, add1_eq1, P), Ok(1));
    assert_eq!(results.recv().unwrap(), (2, Ok(())));
    assert_eq!(b.load(Ordering::SeqCst), 2);
    // Bad op: ENOSYS, nothing written. Bad cmp: written, then ENOSYS.
    assert_eq!(
        wake_op(t, addr(a), addr(b), 1, 1, 6 << 28, P),
        Err(Errno::ENOSYS)
    );
    assert_eq!(b.load(Ordering::SeqCst), 2);
    assert_eq!(
        wake_op(
            t,
            addr(a),
            addr(b),
            1,
            1,
            (1 << 28) | (9 << 24) | (1 << 12),
            P
        ),
        Err(Errno::ENOSYS)
    );
    assert_eq!(b.load(Ordering::SeqCst), 3);
}

#[test]
fn timeouts() {
    let t = table();
    let w = word(0);
    let start = Instant::now();
    let d = Deadline::after(
        ClockId::Monotonic,
        KERNEL.now(ClockId::Monotonic),
        20_000_000,
    );
    assert_eq!(
        t.wait(addr(w), 0, ANY, Some(d), P),
        Err(FutexError::Errno(Errno::ETIMEDOUT))
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
    // A deadline in the past times out at once (after the value check).
    let past = Deadline {
        clock: ClockId::Realtime,
        ns: 1,
    };
    assert_eq!(
        t.wait(addr(w), 0, ANY, Some(past), P),
        Err(FutexError::Errno(Errno::ETIMEDOUT))
    );
    // The same for a shared futex interrupted in the port.
    assert_eq!(
        t.wait(addr(w), 0, ANY, Some(past), Scope::Shared),
        Err(FutexError::Errno(Errno::ETIMEDOUT))
    );
    assert_eq!(
        t.wait(addr(w), 1, ANY, Some(past), P),
        Err(FutexError::Errno(Errno::EAGAIN))
    );
    assert_eq!(t.waiters(), 0);
}

#[test]
fn interrupt_is_a_restart_request_and_leaves_no_node() {
    let t = leak(table());
    let w = word(0);
    let (done, results) = mpsc::channel();
    let th = spawn_waiter(t, w, 0, ANY, None, 1, done.clone());
    wait_queued(t, 1);
    KERNEL.interrupt(th);
    assert_eq!(
        results.recv().unwrap(),
        (1, Err(FutexError::Restart(Restart::Syscall)))
    );
    assert_eq!(t.waiters(), 0);
    // Timed: a restart block with the original absolute deadline.
    let d = Deadline::after(
        ClockId::Monotonic,
        KERNEL.now(ClockId::Monotonic),
        60_000_000_000,
    );
    let th = spawn_waiter(t, w, 0, ANY, Some(d), 2, done.clone());
    wait_queued(t, 1);
    KERNEL.interrupt(th);
    match results.recv().unwrap() {
        (2, Err(FutexError::Restart(Restart::Block(r)))) => {
            assert_eq!((r.uaddr, r.val, r.deadline), (addr(w), 0, d));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(t.waiters(), 0);
    // Nothing is woken by a later wake.
    assert_eq!(t.wake(addr(w), 1, ANY, P), Ok(0));
}

#[test]
fn abi_edge_decodes_ops() {
    use lintel_kernel::abi::{Timespec, linux};
    let t = table();
    let w = word(3);
    let priv_ = linux::FUTEX_PRIVATE_FLAG;
    let e = |r: Result<usize, FutexError>| r.map_err(|e| e.errno());
    assert_eq!(
        e(futex(&t, addr(w), linux::FUTEX_WAKE | priv_, 1, 0, 0, 0)),
        Ok(0)
    );
    assert_eq!(
        e(futex(&t, addr(w), linux::FUTEX_WAIT | priv_, 2, 0, 0, 0)),
        Err(Errno::EAGAIN)
    );
    let bad = Timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000_000,
    };
    let ts = |x: &Timespec| x as *const Timespec as usize;
    assert_eq!(
        e(futex(
            &t,
            addr(w),
            linux::FUTEX_WAIT | priv_,
            3,
            ts(&bad),
            0,
            0
        )),
        Err(Errno::EINVAL)
    );
    // CLOCK_REALTIME on FUTEX_WAIT: ENOSYS, but only after the timespec passed its checks.
    let rt = linux::FUTEX_CLOCK_REALTIME;
    assert_eq!(
        e(futex(
            &t,
            addr(w),
            linux::FUTEX_WAIT | priv_ | rt,
            3,
            ts(&bad),
            0,
            0
        )),
        Err(Errno::EINVAL)
    );
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    assert_eq!(
        e(futex(
            &t,
            addr(w),
            linux::FUTEX_WAIT | priv_ | rt,
            3,
            ts(&zero),
            0,
            0
        )),
        Err(Errno::ENOSYS)
    );
    assert_eq!(
        e(futex(
            &t,
            addr(w),
            linux::FUTEX_WAKE | priv_ | rt,
            1,
            0,
            0,
            0
        )),
        Err(Errno::ENOSYS)
    );
    assert_eq!(
        e(futex(
            &t,
            addr(w),
            linux::FUTEX_WAIT | priv_,
            3,
            ts(&zero),
            0,
            0
        )),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(
        e(futex(
            &t,
            addr(w),
            linux::FUTEX_WAIT_BITSET | priv_ | rt,
            3,
            ts(&zero),
            0,
            ANY
        )),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(
        e(futex(&t, addr(w), 99 | priv_, 0, 0, 0, 0)),
        Err(Errno::ENOSYS)
    );
    assert_eq!(
        e(futex(&t, addr(w), linux::FUTEX_FD | priv_, 0, 0, 0, 0)),
        Err(Errno::ENOSYS)
    );
    // val2 rides in the timeout slot for requeue: negative -> EINVAL.
    assert_eq!(
        e(futex(
            &t,
            addr(w),
            linux::FUTEX_CMP_REQUEUE | priv_,
            1,
            u32::MAX as usize,
            addr(w),
            3
        )),
        Err(Errno::EINVAL)
    );
}

#[test]
fn many_threads_all_return() {
    let t = leak(table());
    let w = word(0);
    let returned = &*Box::leak(Box::new(AtomicUsize::new(0)));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                for _ in 0..200 {
                    let _ = t.wait(addr(w), 0, ANY, None, P);
                }
                returned.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let start = Instant::now();
    while returned.load(Ordering::SeqCst) < 8 {
        assert!(start.elapsed() < Duration::from_secs(30));
        t.wake(addr(w), 3, ANY, P).unwrap();
        thread::yield_now();
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(t.waiters(), 0);
}

#[test]
fn waiters_are_ordered_by_priority_then_fifo() {
    let t = leak(table());
    let w = word(0);
    let (done, results) = mpsc::channel();
    // Queued in this order; woken by priority (lower first), FIFO among equals.
    for (id, prio) in [(0, 100), (1, 50), (2, 100), (3, 10), (4, 50)] {
        spawn_waiter_prio(t, w, 0, ANY, None, id, done.clone(), prio);
        wait_queued(t, id + 1);
    }
    for expect in [3, 1, 4, 0, 2] {
        assert_eq!(t.wake(addr(w), 1, ANY, P), Ok(1));
        assert_eq!(results.recv().unwrap(), (expect, Ok(())));
    }
}

#[test]
fn waking_more_threads_than_a_wake_batch() {
    // A wake collects up to 32 threads to notify after unlocking; beyond that it notifies in
    // place. Both halves must deliver.
    let t = leak(table());
    let w = word(0);
    let (done, results) = mpsc::channel();
    for id in 0..40 {
        spawn_waiter(t, w, 0, ANY, None, id, done.clone());
    }
    wait_queued(t, 40);
    assert_eq!(t.wake(addr(w), i32::MAX, ANY, P), Ok(40));
    let mut ids: Vec<_> = (0..40).map(|_| results.recv().unwrap().0).collect();
    ids.sort();
    assert_eq!(ids, (0..40).collect::<Vec<_>>());
    assert_eq!(t.waiters(), 0);
}

#[test]
fn an_expired_deadline_wins_over_an_interrupt() {
    // Linux's `__futex_wait` checks "woken", then "timer fired", then "signal pending": a wait
    // whose deadline has passed is ETIMEDOUT even with a signal pending.
    let t = table();
    let w = word(0);
    KERNEL.interrupt(KERNEL.current());
    let past = Deadline {
        clock: ClockId::Monotonic,
        ns: 1,
    };
    assert_eq!(
        t.wait(addr(w), 0, ANY, Some(past), P),
        Err(FutexError::Errno(Errno::ETIMEDOUT))
    );
    let later = Deadline::after(
        ClockId::Monotonic,
        KERNEL.now(ClockId::Monotonic),
        60_000_000_000,
    );
    assert!(matches!(
        t.wait(addr(w), 0, ANY, Some(later), P),
        Err(FutexError::Restart(Restart::Block(_)))
    ));
    assert_eq!(
        t.wait(addr(w), 0, ANY, None, P),
        Err(FutexError::Restart(Restart::Syscall))
    );
    assert!(KERNEL.take_interrupt());
    assert_eq!(t.waiters(), 0);
}
