//! The ABI edge: `futex(2)` with its raw arguments.
//!
//! Everything Linux's `kernel/futex/syscalls.c` does before an operation runs happens here, in
//! Linux's order: the timeout is copied in and checked first (`EFAULT`, then `EINVAL`) for the
//! commands that take one, then `FUTEX_CLOCK_REALTIME` is refused (`ENOSYS`) on commands that
//! do not accept it, then the command is dispatched.

use crate::{FutexError, FutexTable, Scope};
use lintel_kernel::abi::{Timespec, linux};
use lintel_kernel::time::timespec_to_ns;
use lintel_kernel::{ClockId, Deadline, Errno, Kernel};

/// `FUTEX_CMD_MASK`: the op without `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`.
const CMD_MASK: u32 = linux::FUTEX_CMD_MASK as u32;

/// Linux's `futex_cmd_has_timeout`: the commands whose fourth argument is a timespec pointer
/// (for the others it is the integer `val2`).
fn has_timeout(cmd: u32) -> bool {
    matches!(
        cmd,
        linux::FUTEX_WAIT
            | linux::FUTEX_LOCK_PI
            | linux::FUTEX_LOCK_PI2
            | linux::FUTEX_WAIT_BITSET
            | linux::FUTEX_WAIT_REQUEUE_PI
    )
}

impl<K: Kernel> FutexTable<'_, K> {
    /// `syscall(SYS_futex, uaddr, op, val, utime, uaddr2, val3)`, with Linux's exact results.
    ///
    /// Returns the syscall's non-negative result (0, or a count), a Linux errno, or a restart
    /// request for an interrupted wait.
    ///
    /// Supported: `FUTEX_WAIT`, `WAKE`, `REQUEUE`, `CMP_REQUEUE`, `WAKE_OP`, `WAIT_BITSET`,
    /// `WAKE_BITSET`, each private or shared; `FUTEX_CLOCK_REALTIME` with `WAIT_BITSET` and
    /// `LOCK_PI2`; `LOCK_PI`, `LOCK_PI2`, `TRYLOCK_PI`, `UNLOCK_PI` (private in lintel's
    /// table, shared through the port); `WAIT_REQUEUE_PI` and `CMP_REQUEUE_PI` (likewise).
    /// `FUTEX_FD` and unknown commands return `ENOSYS` as on Linux.
    ///
    /// # Safety
    /// As the syscall: `FUTEX_WAKE_OP` writes `*uaddr2`, so the caller vouches that the program
    /// handed lintel these arguments as a `futex(2)` call (see [`FutexTable::wake_op`]).
    ///
    /// # References
    /// futex(2); Linux `kernel/futex/syscalls.c` (`sys_futex`, `do_futex`).
    pub unsafe fn futex(
        &self,
        uaddr: usize,
        op: u32,
        val: u32,
        utime: usize,
        uaddr2: usize,
        val3: u32,
    ) -> Result<usize, FutexError> {
        let cmd = op & CMD_MASK;
        let scope = if op & linux::FUTEX_PRIVATE_FLAG != 0 {
            Scope::Private
        } else {
            Scope::Shared
        };
        let realtime = op & linux::FUTEX_CLOCK_REALTIME != 0;

        let mut deadline = None;
        if utime != 0 && has_timeout(cmd) {
            let ns = timespec_to_ns(&self.read_timespec(utime)?)?;
            let k = self.kernel();
            deadline = Some(match cmd {
                // FUTEX_WAIT's timeout is relative, on CLOCK_MONOTONIC.
                linux::FUTEX_WAIT => {
                    Deadline::after(ClockId::Monotonic, k.now(ClockId::Monotonic), ns)
                }
                // FUTEX_LOCK_PI's is absolute on CLOCK_REALTIME, always.
                linux::FUTEX_LOCK_PI => Deadline {
                    clock: ClockId::Realtime,
                    ns,
                },
                _ if realtime => Deadline {
                    clock: ClockId::Realtime,
                    ns,
                },
                _ => Deadline {
                    clock: ClockId::Monotonic,
                    ns,
                },
            });
        }

        if realtime
            && !matches!(
                cmd,
                linux::FUTEX_WAIT_BITSET | linux::FUTEX_WAIT_REQUEUE_PI | linux::FUTEX_LOCK_PI2
            )
        {
            return Err(Errno::ENOSYS.into());
        }

        // For the commands without a timeout, the fourth argument is an integer (Linux passes
        // `(unsigned long)utime` as `u32 val2`, read as `int`).
        let val2 = utime as u32 as i32;
        let count = |r: Result<u32, Errno>| r.map(|n| n as usize).map_err(FutexError::from);
        match cmd {
            linux::FUTEX_WAIT => self
                .wait(uaddr, val, linux::FUTEX_BITSET_MATCH_ANY, deadline, scope)
                .map(|()| 0),
            linux::FUTEX_WAIT_BITSET => self.wait(uaddr, val, val3, deadline, scope).map(|()| 0),
            linux::FUTEX_WAKE => {
                count(self.outlined_wake(uaddr, val as i32, linux::FUTEX_BITSET_MATCH_ANY, scope))
            }
            linux::FUTEX_WAKE_BITSET => count(self.outlined_wake(uaddr, val as i32, val3, scope)),
            linux::FUTEX_REQUEUE => {
                count(self.outlined_requeue(uaddr, uaddr2, val as i32, val2, None, scope))
            }
            linux::FUTEX_CMP_REQUEUE => {
                count(self.outlined_requeue(uaddr, uaddr2, val as i32, val2, Some(val3), scope))
            }
            linux::FUTEX_WAKE_OP => {
                // SAFETY: our caller's contract.
                count(unsafe {
                    self.outlined_wake_op(uaddr, uaddr2, val as i32, val2, val3, scope)
                })
            }
            linux::FUTEX_LOCK_PI | linux::FUTEX_LOCK_PI2 => self
                .outlined_lock_pi(uaddr, deadline, false, scope)
                .map(|()| 0),
            linux::FUTEX_TRYLOCK_PI => self.outlined_lock_pi(uaddr, None, true, scope).map(|()| 0),
            linux::FUTEX_UNLOCK_PI => self.unlock_pi(uaddr, scope).map(|()| 0).map_err(Into::into),
            linux::FUTEX_WAIT_REQUEUE_PI => self
                .outlined_wait_requeue_pi(uaddr, val, deadline, uaddr2, scope)
                .map(|()| 0),
            linux::FUTEX_CMP_REQUEUE_PI => self
                .outlined_cmp_requeue_pi(uaddr, uaddr2, val as i32, val2, val3, scope)
                .map(|n| n as usize),
            // FUTEX_FD and unknown commands: ENOSYS as on Linux.
            _ => Err(Errno::ENOSYS.into()),
        }
    }

    // The commands with large frames (wake lists, two buckets, PI state) are kept out of
    // `futex`'s frame: lintel runs on the calling thread's stack, which may be as small as
    // PTHREAD_STACK_MIN, and a wait or wake there must fit.
    #[inline(never)]
    fn outlined_wake(
        &self,
        uaddr: usize,
        nr_wake: i32,
        bitset: u32,
        scope: Scope,
    ) -> Result<u32, Errno> {
        self.wake(uaddr, nr_wake, bitset, scope)
    }

    #[inline(never)]
    fn outlined_requeue(
        &self,
        uaddr: usize,
        uaddr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        expected: Option<u32>,
        scope: Scope,
    ) -> Result<u32, Errno> {
        self.requeue(uaddr, uaddr2, nr_wake, nr_requeue, expected, scope)
    }

    /// # Safety
    /// As [`FutexTable::wake_op`].
    #[inline(never)]
    unsafe fn outlined_wake_op(
        &self,
        uaddr: usize,
        uaddr2: usize,
        nr_wake: i32,
        nr_wake2: i32,
        op: u32,
        scope: Scope,
    ) -> Result<u32, Errno> {
        // SAFETY: our caller's contract.
        unsafe { self.wake_op(uaddr, uaddr2, nr_wake, nr_wake2, op, scope) }
    }

    #[inline(never)]
    fn outlined_lock_pi(
        &self,
        uaddr: usize,
        deadline: Option<Deadline>,
        try_only: bool,
        scope: Scope,
    ) -> Result<(), FutexError> {
        self.lock_pi(uaddr, deadline, try_only, scope)
    }

    #[inline(never)]
    fn outlined_wait_requeue_pi(
        &self,
        uaddr: usize,
        val: u32,
        deadline: Option<Deadline>,
        uaddr2: usize,
        scope: Scope,
    ) -> Result<(), FutexError> {
        self.wait_requeue_pi(uaddr, val, deadline, uaddr2, scope)
    }

    #[inline(never)]
    fn outlined_cmp_requeue_pi(
        &self,
        uaddr: usize,
        uaddr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        cmpval: u32,
        scope: Scope,
    ) -> Result<u32, FutexError> {
        self.cmp_requeue_pi(uaddr, uaddr2, nr_wake, nr_requeue, cmpval, scope)
    }

    pub(crate) fn read_timespec(&self, addr: usize) -> Result<Timespec, Errno> {
        let mut raw = [0u8; 16];
        self.kernel().read(addr, &mut raw)?;
        let (sec, nsec) = raw.split_at(8);
        Ok(Timespec {
            tv_sec: i64::from_ne_bytes(sec.try_into().map_err(|_| Errno::EFAULT)?),
            tv_nsec: i64::from_ne_bytes(nsec.try_into().map_err(|_| Errno::EFAULT)?),
        })
    }
}
