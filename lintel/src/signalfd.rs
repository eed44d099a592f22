//! `signalfd` and `signalfd4`: a file descriptor whose `read` dequeues the calling thread's
//! pending signals of a mask (Linux's `fs/signalfd.c`).
//!
//! The descriptor is a port `eventfd` (a real descriptor: `close`, `fcntl`, `poll`, `select`
//! and `epoll` work on it as on any), and lintel keeps, per signalfd, its mask and whether the
//! eventfd is readable. The readiness follows the process's pending signals: it is set when a
//! signal of the mask is pending anywhere in the process (a thread's set or the shared one),
//! and cleared when none is, re-checked whenever a signal is generated, arrives from outside
//! or is dequeued ([`Lintel::signalfd_sync`]). `read` on such a descriptor is emulated:
//! `EINVAL` below 128 bytes, then as many signals as fit, dequeued for the calling thread in
//! Linux's order and written as `signalfd_siginfo`; with none, `EAGAIN` for a non-blocking
//! descriptor, else it waits as `sigtimedwait` does (another signal's handler ends the wait
//! with `ERESTARTSYS`). Signals of a signalfd's mask are not held back from the port's host
//! while a passed-through call waits, so one sent from outside reaches lintel and makes the
//! descriptor readable for a `poll` on it.
//!
//! Differences from Linux (`docs/abi.md`): readiness is per process, not per polling thread;
//! a descriptor made by `dup` is not recognised as a signalfd (its reads are the eventfd's);
//! across `execve` the descriptor stays an eventfd; at most [`MAX_SIGNALFDS`] are open.

use crate::Lintel;
use crate::signal::Walk;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use lintel_kernel::{Errno, Kernel, Passed};
use lintel_signals::signalfd::{SIGNALFD_SIGINFO_SIZE, signalfd_siginfo};
use lintel_signals::{SigSet, ThreadList};
use linux_raw_sys::general as nr;

/// How many signalfds a process may have open at once (`EMFILE` beyond).
pub const MAX_SIGNALFDS: usize = 32;

struct Slot {
    /// The descriptor, or -1.
    fd: AtomicI32,
    mask: AtomicU64,
    /// Whether the eventfd's counter is 1 (readable). Changed under [`LOCK`].
    ready: AtomicBool,
}

static SLOTS: [Slot; MAX_SIGNALFDS] = [const {
    Slot {
        fd: AtomicI32::new(-1),
        mask: AtomicU64::new(0),
        ready: AtomicBool::new(false),
    }
}; MAX_SIGNALFDS];

/// How many slots are in use: 0 makes every check here one load.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Serialises the readiness updates (and slot changes): taken inside a span, never across a
/// wait.
static LOCK: AtomicBool = AtomicBool::new(false);

fn locked<R>(f: impl FnOnce() -> R) -> R {
    while LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    let r = f();
    LOCK.store(false, Ordering::Release);
    r
}

/// Holds the table's lock across a `fork` (so the child never inherits it held by a thread
/// that does not exist there); dropped on both sides after the fork.
pub(crate) struct ForkGuard;

impl ForkGuard {
    pub(crate) fn new() -> ForkGuard {
        while LOCK
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        ForkGuard
    }
}

impl Drop for ForkGuard {
    fn drop(&mut self) {
        LOCK.store(false, Ordering::Release);
    }
}

fn slot_of(fd: i32) -> Option<&'static Slot> {
    if fd < 0 || OPEN.load(Ordering::Acquire) == 0 {
        return None;
    }
    SLOTS.iter().find(|s| s.fd.load(Ordering::Acquire) == fd)
}

/// The union of every open signalfd's mask.
pub(crate) fn watched() -> SigSet {
    if OPEN.load(Ordering::Acquire) == 0 {
        return SigSet::EMPTY;
    }
    SLOTS
        .iter()
        .filter(|s| s.fd.load(Ordering::Acquire) >= 0)
        .fold(SigSet::EMPTY, |m, s| {
            m.union(SigSet::from_bits(s.mask.load(Ordering::Acquire)))
        })
}

/// Whether eventfd `fd` is readable now (a poll that does not wait).
fn readable<K: Kernel>(l: &Lintel<'_, K>, fd: i32) -> bool {
    // struct pollfd { int fd; short events = POLLIN; short revents; }
    let mut pfd = [fd as u32, 1];
    // SAFETY: poll on our own pollfd, timeout 0.
    let r = unsafe {
        l.passthrough(
            nr::__NR_poll as usize,
            [pfd.as_mut_ptr() as usize, 1, 0, 0, 0, 0],
        )
    };
    r == 1 && pfd[1] >> 16 & 1 != 0
}

impl<K: Kernel> Lintel<'_, K> {
    /// `signalfd4(fd, mask, sizemask, flags)` (`signalfd` is it with flags 0), in Linux's order
    /// of checks: the size (`EINVAL`), the mask (`EFAULT`), the flags (`EINVAL`), then the
    /// descriptor (`EBADF` if not open, `EINVAL` if not a signalfd).
    pub(crate) fn signalfd4(&self, a: [usize; 6], flags: usize) -> Result<isize, Errno> {
        let k = self.kernel;
        if a[2] != 8 {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; 8];
        k.read(a[1], &mut b)?;
        let mask = SigSet::from_bits(u64::from_ne_bytes(b)).minus(SigSet::UNBLOCKABLE);
        // An int: the upper half of the register is not looked at.
        let flags = flags as u32 as usize;
        if flags & !((nr::O_NONBLOCK | nr::O_CLOEXEC) as usize) != 0 {
            return Err(Errno::EINVAL);
        }
        let fd = a[0] as i32;
        if fd != -1 {
            let Some(slot) = slot_of(fd) else {
                // SAFETY: F_GETFD on a descriptor number: no memory involved.
                let open = unsafe {
                    self.passthrough(nr::__NR_fcntl as usize, [fd as usize, 1, 0, 0, 0, 0])
                };
                return Err(if open < 0 {
                    Errno::EBADF
                } else {
                    Errno::EINVAL
                });
            };
            slot.mask.store(mask.bits(), Ordering::Release);
            self.signalfd_sync();
            return Ok(fd as isize);
        }
        // SAFETY: eventfd2(0, flags): SFD_NONBLOCK and SFD_CLOEXEC are EFD_NONBLOCK and
        // EFD_CLOEXEC.
        let efd = unsafe { self.passthrough(nr::__NR_eventfd2 as usize, [0, flags, 0, 0, 0, 0]) };
        if efd < 0 {
            return Ok(efd);
        }
        let placed = locked(|| {
            let slot = SLOTS.iter().find(|s| s.fd.load(Ordering::Relaxed) < 0)?;
            slot.mask.store(mask.bits(), Ordering::Release);
            slot.ready.store(false, Ordering::Relaxed);
            slot.fd.store(efd as i32, Ordering::Release);
            OPEN.fetch_add(1, Ordering::AcqRel);
            Some(())
        });
        if placed.is_none() {
            // SAFETY: closes the eventfd we just made.
            let _ =
                unsafe { self.passthrough(nr::__NR_close as usize, [efd as usize, 0, 0, 0, 0, 0]) };
            return Err(Errno::EMFILE);
        }
        self.signalfd_sync();
        Ok(efd)
    }

    /// `close(fd)` of a signalfd: forgets it (the caller then closes the descriptor).
    pub(crate) fn signalfd_close(&self, fd: i32) {
        if slot_of(fd).is_none() {
            return;
        }
        locked(|| {
            if let Some(s) = SLOTS.iter().find(|s| s.fd.load(Ordering::Relaxed) == fd) {
                s.fd.store(-1, Ordering::Release);
                OPEN.fetch_sub(1, Ordering::AcqRel);
            }
        });
    }

    /// After a successful passed-through call `n`: a descriptor number it closed stops being
    /// a signalfd (`dup2`/`dup3` onto one closes it first). (`close_range` is not looked at:
    /// musl never issues it, and a signalfd it closes stays one to lintel.)
    pub(crate) fn signalfd_replaced(&self, n: usize, a: [usize; 6]) {
        if (n as u32 == nr::__NR_dup2 || n as u32 == nr::__NR_dup3)
            && a[0] as i32 != a[1] as i32
            && OPEN.load(Ordering::Acquire) != 0
        {
            self.signalfd_close(a[1] as i32);
        }
    }

    /// `read(fd, buf, count)` if `fd` is a signalfd, else `None`.
    pub(crate) fn signalfd_read(&self, a: [usize; 6]) -> Option<Result<isize, crate::Interrupted>> {
        let slot = slot_of(a[0] as i32)?;
        let k = self.kernel;
        let count = a[2];
        if count < SIGNALFD_SIGINFO_SIZE {
            return Some(Ok(Errno::EINVAL.to_ret()));
        }
        let mask = SigSet::from_bits(slot.mask.load(Ordering::Acquire));
        // SAFETY: F_GETFL on a descriptor number.
        let fl = unsafe { self.passthrough(nr::__NR_fcntl as usize, [a[0], 3, 0, 0, 0, 0]) };
        let nonblock = fl >= 0 && fl as u32 & nr::O_NONBLOCK != 0;
        let me = self.me();
        let mut done = 0usize;
        let mut r = Ok(0);
        while done + SIGNALFD_SIGINFO_SIZE <= count {
            self.drain_arrivals();
            let info = match self.take_signal(me, SigSet::FULL.minus(mask)) {
                Some(info) => info,
                None if done > 0 || nonblock => break,
                None => match self.wait_dequeue(mask, None) {
                    Ok(info) => info,
                    Err(Errno::EINTR) => {
                        r = Err(crate::Interrupted::Sys);
                        break;
                    }
                    Err(e) => {
                        r = Ok(e.to_ret());
                        break;
                    }
                },
            };
            // SAFETY: the program's buffer, one signalfd_siginfo at a time.
            if let Err(e) = unsafe { k.write(a[1] + done, &signalfd_siginfo(&info)) } {
                if done == 0 {
                    r = Ok(e.to_ret());
                }
                break;
            }
            done += SIGNALFD_SIGINFO_SIZE;
        }
        self.signalfd_sync();
        Some(if done > 0 {
            Ok(done as isize)
        } else if r == Ok(0) {
            Ok(Errno::EAGAIN.to_ret())
        } else {
            r
        })
    }

    /// In a fork child: each signalfd gets an eventfd of its own at the same descriptor (with
    /// the same flags). The inherited one is the parent's too, and readiness is per process:
    /// the child clearing it would take the parent's.
    pub(crate) fn signalfd_after_fork(&self) {
        if OPEN.load(Ordering::Acquire) == 0 {
            return;
        }
        for slot in &SLOTS {
            let fd = slot.fd.load(Ordering::Acquire);
            if fd < 0 {
                continue;
            }
            let call = |n: u32, a: [usize; 6]| {
                // SAFETY: descriptor calls with no memory arguments.
                unsafe { self.passthrough(n as usize, a) }
            };
            let fl = call(nr::__NR_fcntl, [fd as usize, 3, 0, 0, 0, 0]); // F_GETFL
            let fdfl = call(nr::__NR_fcntl, [fd as usize, 1, 0, 0, 0, 0]); // F_GETFD
            let mut flags = 0;
            if fl >= 0 && fl as u32 & nr::O_NONBLOCK != 0 {
                flags |= nr::O_NONBLOCK as usize;
            }
            if fdfl >= 0 && fdfl & 1 != 0 {
                flags |= nr::O_CLOEXEC as usize;
            }
            let new = call(nr::__NR_eventfd2, [0, flags, 0, 0, 0, 0]);
            if new >= 0 {
                let _ = call(
                    nr::__NR_dup3,
                    [
                        new as usize,
                        fd as usize,
                        flags & nr::O_CLOEXEC as usize,
                        0,
                        0,
                        0,
                    ],
                );
                let _ = call(nr::__NR_close, [new as usize, 0, 0, 0, 0, 0]);
            }
            slot.ready.store(false, Ordering::Relaxed);
        }
        self.signalfd_sync();
    }

    /// Makes every signalfd's eventfd readable exactly when a signal of its mask is pending in
    /// the process.
    pub(crate) fn signalfd_sync(&self) {
        if OPEN.load(Ordering::Acquire) == 0 {
            return;
        }
        let Some(s) = self.signals else { return };
        locked(|| {
            let mut pending = s.shared_pending();
            Walk(self.kernel).for_each(&mut |t| pending = pending.union(t.pending()));
            for slot in &SLOTS {
                let fd = slot.fd.load(Ordering::Acquire);
                if fd < 0 {
                    continue;
                }
                let mask = SigSet::from_bits(slot.mask.load(Ordering::Acquire));
                let want = !pending.intersect(mask).is_empty();
                if want == slot.ready.load(Ordering::Relaxed) {
                    continue;
                }
                if !want && !readable(self, fd) {
                    // Someone read the counter through another descriptor: already clear.
                    slot.ready.store(false, Ordering::Relaxed);
                    continue;
                }
                let mut v = 1u64;
                let n = if want { nr::__NR_write } else { nr::__NR_read };
                // SAFETY: 8 bytes to or from our own counter; a read only when the counter is
                // readable (checked just above), so it does not block.
                let r = unsafe {
                    self.kernel.passthrough(
                        n as usize,
                        [fd as usize, &mut v as *mut u64 as usize, 8, 0, 0, 0],
                    )
                };
                if r == Passed::Done(8) {
                    slot.ready.store(want, Ordering::Relaxed);
                }
            }
        });
    }
}
