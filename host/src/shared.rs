//! Shared (inter-process) futexes: the host kernel's own, without `FUTEX_PRIVATE_FLAG`.
//!
//! The wait runs inside the restartable window (see [`crate::window`]), so
//! `Notify::interrupt` on a waiting thread ends it promptly as
//! [`SharedWaitError::Interrupted`]: either before the futex syscall (no effect), or with the
//! kernel's waiter dequeued (an untimed wait is `ERESTARTSYS`, rewound and abandoned; a timed
//! one comes back `-EINTR`). A wake that raced with the interrupt wins: the kernel returns 0
//! for a woken waiter even with a signal pending, and that is reported as woken.
//! The wake, requeue and wake-op operations are non-blocking and pass straight through.
//!
//! `FUTEX_WAIT_REQUEUE_PI` runs in the window too. A waiter still on its first futex that a
//! host signal reaches is restarted by the kernel (`ERESTARTNOINTR`): abandoned if it was an
//! interrupt, made again otherwise. A waiter already requeued onto the PI futex comes back
//! `-EAGAIN` from any host signal with a handler, as Linux's own waiter does from any handled
//! signal; the host port cannot tell which host signal that was, so a host signal that is not an
//! interruption (a kick, a signal from outside that the program blocks) also ends a requeued
//! shared waiter with `EAGAIN` where Linux would have kept it waiting (docs/abi.md).

use lintel_kernel::abi::Timespec;
use lintel_kernel::{Deadline, Errno, Notify, SharedFutex, SharedWaitError, SharedWaitv};
use linux_raw_sys::general as g;

use crate::notify::{INTERRUPTED, TOKEN, WAITING, futex_deadline};
use crate::syscall::{self, nr};
use crate::window::{self, Window};
use crate::{HOST, Host};
use core::sync::atomic::Ordering;

fn errno(r: isize) -> Errno {
    Errno::from_raw(-r as i32).unwrap_or(Errno::EINVAL)
}

/// The timespec and clock flag of an absolute futex deadline (none: no timeout).
fn timeout_arg(deadline: Option<&Deadline>) -> (Option<Timespec>, u32) {
    match deadline {
        Some(d) => {
            let (ts, f) = futex_deadline(d);
            (Some(ts), f)
        }
        None => (None, 0),
    }
}

fn count(r: isize) -> Result<u32, Errno> {
    if r < 0 { Err(errno(r)) } else { Ok(r as u32) }
}

// SAFETY: every operation is the host kernel's shared futex operation of the same name, so it
// has Linux's semantics, ordering and errors by construction. The wait is interruptible through
// the restartable window, and reports Interrupted only when the kernel did not wake it (it
// returns 0 for a woken waiter), i.e. with the waiter dequeued and no wakeup consumed.
unsafe impl SharedFutex for Host {
    fn shared_wait(
        &self,
        addr: usize,
        expected: u32,
        bitset: u32,
        deadline: Option<Deadline>,
    ) -> Result<(), SharedWaitError> {
        let (ts, clock_flag) = timeout_arg(deadline.as_ref());
        let ts_ptr = ts.as_ref().map_or(0, |ts| ts as *const Timespec as usize);
        let op = (g::FUTEX_WAIT_BITSET | clock_flag) as usize;
        loop {
            let args = [addr, op, expected as usize, ts_ptr, 0, bitset as usize];
            // SAFETY: a futex wait only reads the word (the kernel reports EFAULT for a bad
            // one) and the timespec, which outlives the call.
            let r = unsafe { window::run(nr::FUTEX, args) };
            return match r {
                Window::Abandoned | Window::NotStarted => Err(SharedWaitError::Interrupted),
                Window::Done(0) => Ok(()),
                Window::Done(r) if r == -(linux_raw_sys::errno::EINTR as isize) => {
                    if HOST.is_interrupted() {
                        Err(SharedWaitError::Interrupted)
                    } else {
                        continue; // another host signal; the deadline is absolute
                    }
                }
                Window::Done(r) => Err(SharedWaitError::Errno(errno(r))),
            };
        }
    }

    fn shared_lock_pi(
        &self,
        addr: usize,
        deadline: Option<Deadline>,
        trylock: bool,
    ) -> Result<(), SharedWaitError> {
        if trylock {
            // SAFETY: the program asked to take the lock at `addr`; the kernel checks it.
            let r = unsafe { syscall::futex(addr as *const u32, g::FUTEX_TRYLOCK_PI, 0, 0, 0, 0) };
            return if r == 0 {
                Ok(())
            } else {
                Err(SharedWaitError::Errno(errno(r)))
            };
        }
        let (ts, clock_flag) = timeout_arg(deadline.as_ref());
        let ts_ptr = ts.as_ref().map_or(0, |ts| ts as *const Timespec as usize);
        let args = [
            addr,
            (g::FUTEX_LOCK_PI2 | clock_flag) as usize,
            0,
            ts_ptr,
            0,
            0,
        ];
        // SAFETY: LOCK_PI2 writes only the futex word the program named, as Linux does; the
        // timespec outlives the call. The kernel restarts an interrupted LOCK_PI itself
        // (ERESTARTNOINTR), rewinding onto the window's syscall instruction, where an
        // interrupt abandons it before it took effect.
        match unsafe { window::run(nr::FUTEX, args) } {
            Window::Abandoned | Window::NotStarted => Err(SharedWaitError::Interrupted),
            Window::Done(0) => Ok(()),
            Window::Done(r) => Err(SharedWaitError::Errno(errno(r))),
        }
    }

    fn shared_wait_requeue_pi(
        &self,
        addr: usize,
        expected: u32,
        deadline: Option<Deadline>,
        addr2: usize,
    ) -> Result<(), SharedWaitError> {
        let (ts, clock_flag) = timeout_arg(deadline.as_ref());
        let ts_ptr = ts.as_ref().map_or(0, |ts| ts as *const Timespec as usize);
        let op = (g::FUTEX_WAIT_REQUEUE_PI | clock_flag) as usize;
        let args = [addr, op, expected as usize, ts_ptr, addr2, 0];
        // SAFETY: WAIT_REQUEUE_PI reads the word at `addr` and, once the waiter owns the lock
        // at `addr2`, writes that word (the owner fix-up), as Linux would for the program that
        // asked; the timespec outlives the call. A waiter interrupted while still on `addr` is
        // restarted by the kernel (ERESTARTNOINTR), rewound onto the window's syscall
        // instruction, where an interrupt abandons it with no effect; a requeued one comes back
        // with -EAGAIN by itself (the kernel does not restart it), which is its answer.
        match unsafe { window::run(nr::FUTEX, args) } {
            Window::Abandoned | Window::NotStarted => Err(SharedWaitError::Interrupted),
            Window::Done(0) => Ok(()),
            Window::Done(r) => Err(SharedWaitError::Errno(errno(r))),
        }
    }

    fn shared_cmp_requeue_pi(
        &self,
        addr: usize,
        addr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        expected: u32,
    ) -> Result<u32, Errno> {
        // SAFETY: CMP_REQUEUE_PI writes the lock word at `addr2` (taking it for a waiter, or
        // setting FUTEX_WAITERS) as Linux would for the program that asked; it never blocks.
        count(unsafe {
            syscall::futex(
                addr as *const u32,
                g::FUTEX_CMP_REQUEUE_PI,
                nr_wake as u32,
                nr_requeue as u32 as usize,
                addr2,
                expected,
            )
        })
    }

    fn shared_waitv(
        &self,
        entries: &[(usize, u32)],
        deadline: Option<Deadline>,
    ) -> Result<SharedWaitv, SharedWaitError> {
        match entries.len() {
            0 => Err(SharedWaitError::Errno(Errno::EINVAL)),
            1..=3 => waitv_with_notify::<4>(entries, deadline),
            4..=15 => waitv_with_notify::<16>(entries, deadline),
            16..=127 => waitv_with_notify::<128>(entries, deadline),
            _ => Err(SharedWaitError::Errno(Errno::EINVAL)),
        }
    }

    fn shared_unlock_pi(&self, addr: usize) -> Result<(), Errno> {
        // SAFETY: the program asked to release the lock at `addr`; the kernel checks it.
        let r = unsafe { syscall::futex(addr as *const u32, g::FUTEX_UNLOCK_PI, 0, 0, 0, 0) };
        if r == 0 { Ok(()) } else { Err(errno(r)) }
    }

    fn shared_wake(&self, addr: usize, nr_wake: i32, bitset: u32) -> Result<u32, Errno> {
        // SAFETY: a wake touches no user memory beyond looking the word's key up.
        count(unsafe {
            syscall::futex(
                addr as *const u32,
                g::FUTEX_WAKE_BITSET,
                nr_wake as u32,
                0,
                0,
                bitset,
            )
        })
    }

    fn shared_requeue(
        &self,
        addr: usize,
        addr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        expected: Option<u32>,
    ) -> Result<u32, Errno> {
        let (op, val3) = match expected {
            None => (g::FUTEX_REQUEUE, 0),
            Some(v) => (g::FUTEX_CMP_REQUEUE, v),
        };
        // SAFETY: requeue reads the word (CMP) and moves kernel waiters; no writes.
        count(unsafe {
            syscall::futex(
                addr as *const u32,
                op,
                nr_wake as u32,
                nr_requeue as u32 as usize,
                addr2,
                val3,
            )
        })
    }

    fn shared_wake_op(
        &self,
        addr: usize,
        addr2: usize,
        nr_wake: i32,
        nr_wake2: i32,
        encoded_op: u32,
    ) -> Result<u32, Errno> {
        // SAFETY: wake-op writes `*addr2` as the program asked, as Linux would.
        count(unsafe {
            syscall::futex(
                addr as *const u32,
                g::FUTEX_WAKE_OP,
                nr_wake as u32,
                nr_wake2 as u32 as usize,
                addr2,
                encoded_op,
            )
        })
    }
}

/// [`SharedFutex::shared_waitv`] with room for `N` entries (the call's and the notification
/// word): the host kernel's `futex_waitv` on the shared words and, as one more (private) entry,
/// the calling thread's notification word, expected to hold "no token, not interrupted, owner
/// waiting" — the value [`Notify::wait`] sleeps on, announced with `WAITING` in the same way,
/// so `Notify::signal` and `Notify::interrupt` (an RMW of the word, then a private futex wake
/// because `WAITING` is set) end this wait exactly as they end `Notify::wait`. The call runs in
/// the restartable window: an interrupt either finds the flag before the syscall or abandons
/// the call rewound by `SA_RESTART` (`futex_waitv` is `ERESTARTSYS`), with every entry
/// dequeued by the kernel.
fn waitv_with_notify<const N: usize>(
    entries: &[(usize, u32)],
    deadline: Option<Deadline>,
) -> Result<SharedWaitv, SharedWaitError> {
    let n = entries.len();
    let w = &crate::tcb::current().notify;
    let (ts, clockid) = match &deadline {
        Some(d) => {
            let (ts, flag) = futex_deadline(d);
            let id = if flag == 0 {
                g::CLOCK_MONOTONIC
            } else {
                g::CLOCK_REALTIME
            };
            (Some(ts), id)
        }
        None => (None, 0),
    };
    let ts_ptr = ts.as_ref().map_or(0, |ts| ts as *const Timespec as usize);
    let blank = g::futex_waitv {
        val: 0,
        uaddr: 0,
        flags: 0,
        __reserved: 0,
    };
    let mut v = [blank; N];
    for (e, &(addr, val)) in v.iter_mut().zip(entries) {
        e.val = u64::from(val);
        e.uaddr = addr as u64;
        e.flags = g::FUTEX2_SIZE_U32;
    }
    let done = |r| {
        w.fetch_and(!WAITING, Ordering::Relaxed);
        r
    };
    loop {
        let cur = w.load(Ordering::Acquire);
        if cur & TOKEN != 0 {
            w.fetch_and(!(TOKEN | WAITING), Ordering::AcqRel);
            return Ok(SharedWaitv::Notified);
        }
        if cur & INTERRUPTED != 0 {
            return done(Err(SharedWaitError::Interrupted));
        }
        let sleeping = cur | WAITING;
        if cur & WAITING == 0
            && w.compare_exchange(cur, sleeping, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            continue;
        }
        v[n] = g::futex_waitv {
            val: u64::from(sleeping),
            uaddr: w.as_ptr() as u64,
            flags: g::FUTEX2_SIZE_U32 | g::FUTEX2_PRIVATE,
            __reserved: 0,
        };
        let args = [v.as_ptr() as usize, n + 1, 0, ts_ptr, clockid as usize, 0];
        // SAFETY: futex_waitv only reads the array (which outlives the call), the words it
        // names (the program's, and our own notification word) and the timespec.
        let r = unsafe { window::run(g::__NR_futex_waitv as usize, args) };
        match r {
            Window::Abandoned | Window::NotStarted => {
                return done(Err(SharedWaitError::Interrupted));
            }
            // The notification word: a token or the flag, looked at above.
            Window::Done(i) if i == n as isize => {}
            Window::Done(i) if i >= 0 => return done(Ok(SharedWaitv::Woken(i as usize))),
            Window::Done(r) => {
                let e = errno(r);
                let changed = w.load(Ordering::Acquire) != sleeping;
                match e {
                    // The notification word changed before the kernel compared it (or a token
                    // came with the timeout): report that first; a shared word that differs
                    // too is seen again on the next call.
                    Errno::EAGAIN | Errno::ETIMEDOUT if changed => {}
                    // A host signal without SA_RESTART: the flag (if set) is seen above, the
                    // deadline is absolute.
                    Errno::EINTR => {}
                    _ => return done(Err(SharedWaitError::Errno(e))),
                }
            }
        }
    }
}
