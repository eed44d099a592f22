//! futex2: `futex_wake` (454), `futex_wait` (455), `futex_requeue` (456), and `futex_waitv`
//! (449) for private futexes.
//!
//! The first three are Linux's `FUTEX_WAKE_BITSET`, `FUTEX_WAIT_BITSET` and `FUTEX_CMP_REQUEUE`
//! with a new flags word per futex (`FUTEX2_SIZE_*`, `FUTEX2_NUMA`, `FUTEX2_MPOL`,
//! `FUTEX2_PRIVATE`), values and masks as wide as a register, and the timeout's clock as an
//! argument. They run on the same engine as `futex(2)`; what is new is the argument checking,
//! done here in Linux's order (`kernel/futex/syscalls.c`, `futex.h`), each rule checked against
//! Linux 6.18 (`futex/tests/futex2.rs`):
//!
//! - flags: a bit outside `FUTEX2_VALID_MASK` (`SIZE_MASK | NUMA | MPOL | PRIVATE`) is `EINVAL`;
//!   so is every size but `FUTEX2_SIZE_U32` (Linux implements only 32-bit futexes);
//! - a value or mask with bits above the futex size is `EINVAL` (`futex_validate_input`); a
//!   zero mask is `EINVAL` too (after the timeout is checked, for `futex_wait`);
//! - `futex_wake` with `nr == 0` wakes nobody and returns 0 once the address is checked
//!   (`FLAGS_STRICT`; `FUTEX_WAKE` would wake one); a negative `nr` wakes one;
//! - `futex_wait`'s timeout is absolute, on `CLOCK_MONOTONIC` or `CLOCK_REALTIME` (any other
//!   clock is `EINVAL`, checked before the timespec is read; without a timeout the clock is
//!   ignored). An interrupted wait is `ERESTARTSYS`, timed or not: Linux's `sys_futex_wait`
//!   has no restart block, so after an `SA_RESTART` handler the call is made again with its
//!   absolute deadline, and after another handler it returns `EINTR`;
//! - `futex_requeue(waiters[2], flags, nr_wake, nr_requeue)`: `flags` must be 0 and `waiters`
//!   non-null (`EINVAL`); each `struct futex_waitv` is copied (`EFAULT`) and checked in turn
//!   (flags as above, `__reserved` 0, `val` within the size); both entries must have the same
//!   flags; then `FUTEX_CMP_REQUEUE`'s rules with `waiters[0].val` as the expected value;
//! - `futex_waitv(waiters, nr_futexes, flags, timeout, clockid)`: `flags` must be 0, `nr` in
//!   1..=128 and `waiters` non-null (`EINVAL`); the timeout as `futex_wait`'s, checked before
//!   any entry; then every entry copied and checked, then every key, then each entry queued in
//!   turn while its word holds its value (`EAGAIN` otherwise). Woken, it returns the index of
//!   a woken entry; interrupted, `ERESTARTSYS`. Shared entries are the port's: a call of
//!   shared entries only goes to it whole, a mixed one waits on its shared entries through it
//!   (see [`FutexTable::futex_waitv2`]).
//!
//! `FUTEX2_NUMA`: the futex is two words, the value and a NUMA node; the pair must be 8-byte
//! aligned and below the end of user space, the node word is read (`EFAULT`), a node that is
//! not possible is `EINVAL`, and `-1` ("any node") is replaced by the caller's node, written
//! back (`EFAULT` on a read-only page). lintel presents one node, 0. On Linux a private NUMA
//! futex hashes by its node and a plain one into the process's private hash, so the two never
//! meet, even on one address; lintel keeps them apart with a tag in the key. Shared NUMA and
//! plain futexes on one address do meet (one node: one bucket), and lintel hands both to the
//! port as plain shared futexes. `FUTEX2_MPOL` (take the node from the memory policy) changes
//! nothing without a memory policy on the page, which lintel assumes (docs/abi.md).

use crate::table::{Key, Locked, Waiter};
use crate::wait_wake::Slept;
use crate::{FutexError, FutexTable, Restart, Scope};
use lintel_kernel::abi::linux;
use lintel_kernel::time::timespec_to_ns;
use lintel_kernel::{ClockId, Deadline, Errno, Kernel, SharedWaitError, SharedWaitv, Wakeup};

/// `FUTEX2_VALID_MASK` (Linux 6.16 and later: with `NUMA` and `MPOL`).
const VALID_MASK: u32 =
    linux::FUTEX2_SIZE_MASK | linux::FUTEX2_NUMA | linux::FUTEX2_MPOL | linux::FUTEX2_PRIVATE;

/// `FUTEX_NO_NODE`: a NUMA futex's node word before the kernel picked one.
const NO_NODE: u32 = u32::MAX;

/// Tags the key of a private `FUTEX2_NUMA` futex: such a futex never meets a plain one on the
/// same address (see the module documentation). User addresses never have the top bit set.
const NUMA_KEY: Key = 1 << (usize::BITS - 1);

/// `sizeof(struct futex_waitv)`: `u64 val; u64 uaddr; u32 flags; u32 __reserved`.
const WAITV_SIZE: usize = 24;

/// `FUTEX_WAITV_MAX`: the most futexes one `futex_waitv` waits on.
const WAITV_MAX: usize = 128;

/// A futex2 flags word, checked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Flags2 {
    scope: Scope,
    numa: bool,
}

/// Linux's `flags & ~FUTEX2_VALID_MASK` check, `futex2_to_flags` and `futex_flags_valid`.
fn flags2(flags: u32) -> Result<Flags2, Errno> {
    if flags & !VALID_MASK != 0 || flags & linux::FUTEX2_SIZE_MASK != linux::FUTEX2_SIZE_U32 {
        return Err(Errno::EINVAL);
    }
    Ok(Flags2 {
        scope: if flags & linux::FUTEX2_PRIVATE != 0 {
            Scope::Private
        } else {
            Scope::Shared
        },
        numa: flags & linux::FUTEX2_NUMA != 0,
    })
}

/// `futex_validate_input` for a 32-bit futex: no bits above the futex size.
fn fits(v: u64) -> Result<u32, Errno> {
    u32::try_from(v).map_err(|_| Errno::EINVAL)
}

/// One `struct futex_waitv`, checked.
#[derive(Copy, Clone, Debug)]
struct WaitV {
    val: u32,
    uaddr: usize,
    /// The raw flags (two entries must have equal ones).
    raw: u32,
    flags: Flags2,
}

impl<K: Kernel> FutexTable<'_, K> {
    /// `syscall(SYS_futex_wake, uaddr, mask, nr, flags)` with the raw registers: wakes up to
    /// `nr` waiters on `uaddr` whose bitset intersects `mask`; returns how many.
    ///
    /// # Safety
    /// As the syscall: with `FUTEX2_NUMA` the node word after `*uaddr` may be written, so the
    /// program must have handed lintel these arguments as a `futex_wake` call.
    ///
    /// # References
    /// Linux `kernel/futex/syscalls.c` (`sys_futex_wake`), `waitwake.c` (`futex_wake`).
    pub unsafe fn futex_wake2(
        &self,
        uaddr: usize,
        mask: usize,
        nr: usize,
        flags: usize,
    ) -> Result<usize, FutexError> {
        // The C prototype: `unsigned long mask, int nr, unsigned int flags`.
        let (nr, flags) = (nr as i32, flags as u32);
        let f = flags2(flags)?;
        let mask = fits(mask as u64)?;
        if mask == 0 {
            return Err(Errno::EINVAL.into());
        }
        // SAFETY: our caller's contract.
        let key = unsafe { self.key2(uaddr, f) }?;
        let woken = match f.scope {
            // FLAGS_STRICT: zero wakes nobody, once the key is known (for a shared futex the
            // port resolves it: a requeue of nobody to itself does exactly that).
            Scope::Shared if nr == 0 => self.kernel.shared_requeue(uaddr, uaddr, 0, 0, None),
            Scope::Shared => self.kernel.shared_wake(uaddr, nr, mask),
            Scope::Private if nr == 0 => Ok(0),
            Scope::Private => self.wake_private(key, nr, mask),
        }?;
        Ok(woken as usize)
    }

    /// `syscall(SYS_futex_wait, uaddr, val, mask, flags, timeout, clockid)` with the raw
    /// registers: sleeps while `*uaddr == val` until a wake whose mask intersects `mask`, the
    /// absolute `timeout` on `clockid` (`ETIMEDOUT`), or an interruption
    /// ([`Restart::Syscall`], timed or not).
    ///
    /// # Safety
    /// As [`futex_wake2`](Self::futex_wake2).
    ///
    /// # References
    /// Linux `kernel/futex/syscalls.c` (`sys_futex_wait`, `futex2_setup_timeout`),
    /// `waitwake.c` (`__futex_wait`).
    pub unsafe fn futex_wait2(
        &self,
        uaddr: usize,
        val: usize,
        mask: usize,
        flags: usize,
        timeout: usize,
        clockid: usize,
    ) -> Result<usize, FutexError> {
        // `unsigned long val, unsigned long mask, unsigned int flags, ..., clockid_t clockid`.
        let f = flags2(flags as u32)?;
        let (val, mask) = (fits(val as u64)?, fits(mask as u64)?);
        let deadline = self.timeout2(timeout, clockid)?;
        if mask == 0 {
            return Err(Errno::EINVAL.into());
        }
        // SAFETY: our caller's contract.
        let key = unsafe { self.key2(uaddr, f) }?;
        match self.wait_keyed(uaddr, key, val, mask, deadline, f.scope) {
            Ok(()) => Ok(0),
            // `__futex_wait` returns -ERESTARTSYS; only `futex(2)`'s wait sets a restart block.
            Err(FutexError::Restart(Restart::Block(_))) => {
                Err(FutexError::Restart(Restart::Syscall))
            }
            Err(e) => Err(e),
        }
    }

    /// `syscall(SYS_futex_requeue, waiters, flags, nr_wake, nr_requeue)` with the raw
    /// registers: if `*waiters[0].uaddr == waiters[0].val`, wakes up to `nr_wake` waiters on
    /// `waiters[0].uaddr` and moves up to `nr_requeue` more onto `waiters[1].uaddr`; returns
    /// woken + moved (`EAGAIN` on a mismatch).
    ///
    /// # Safety
    /// As [`futex_wake2`](Self::futex_wake2) (for both entries' node words).
    ///
    /// # References
    /// Linux `kernel/futex/syscalls.c` (`sys_futex_requeue`, `futex_parse_waitv`),
    /// `requeue.c` (`futex_requeue`).
    pub unsafe fn futex_requeue2(
        &self,
        waiters: usize,
        flags: usize,
        nr_wake: usize,
        nr_requeue: usize,
    ) -> Result<usize, FutexError> {
        // `unsigned int flags, int nr_wake, int nr_requeue`.
        if flags as u32 != 0 || waiters == 0 {
            return Err(Errno::EINVAL.into());
        }
        let from = self.read_waitv(waiters)?;
        let to = self.read_waitv(waiters.wrapping_add(WAITV_SIZE))?;
        // "For now mandate both flags are identical" (sys_futex_requeue).
        if from.raw != to.raw {
            return Err(Errno::EINVAL.into());
        }
        let (nr_wake, nr_requeue) = (nr_wake as i32, nr_requeue as i32);
        if nr_wake < 0 || nr_requeue < 0 {
            return Err(Errno::EINVAL.into());
        }
        // SAFETY: our caller's contract.
        let key1 = unsafe { self.key2(from.uaddr, from.flags) }?;
        // Linux resolves the first key completely (for a shared futex: the port's page lookup)
        // before it looks at the second (`second_key`). A NUMA second key writes its node
        // word, so then the port resolves the first one before, not only on an error.
        let scope = from.flags.scope;
        if scope == Scope::Shared && to.flags.numa {
            self.shared_key(from.uaddr)?;
        }
        // SAFETY: our caller's contract.
        let key2 = self.second_key(from.uaddr, scope, unsafe { self.key2(to.uaddr, to.flags) })?;
        let n = self.requeue_keyed(
            (from.uaddr, key1),
            (to.uaddr, key2),
            nr_wake,
            nr_requeue,
            Some(from.val),
            from.flags.scope,
        )?;
        Ok(n as usize)
    }

    /// `syscall(SYS_futex_waitv, waiters, nr_futexes, flags, timeout, clockid)` with the raw
    /// registers, for private futexes: sleeps while every `*waiters[i].uaddr == waiters[i].val`
    /// until one of them is woken (returns its index; the highest of those woken, as Linux),
    /// the absolute `timeout` on `clockid` passes (`ETIMEDOUT`), or an interruption
    /// ([`Restart::Syscall`]). `EAGAIN` if a value differs when its turn comes (entries are
    /// queued in order; a futex woken meanwhile wins).
    ///
    /// `Ok(None)`: every entry is shared (or the port cannot wait on shared words together with
    /// lintel's: `ENOSYS`), so the caller hands the whole call to the port (on the host port,
    /// the host kernel, which is where lintel's shared futexes live). Every check that comes
    /// before an entry's key is made first, so the port sees only calls that parse. A call
    /// with private and shared entries queues the private ones here and waits on the shared
    /// ones through [`lintel_kernel::SharedFutex::shared_waitv`].
    ///
    /// Stack: the waiter nodes live on the caller's stack, as for every lintel wait, in an
    /// array of 4, 16 or 128 nodes by `nr_futexes` (about 64 bytes each with the host port).
    ///
    /// # Safety
    /// As [`futex_wake2`](Self::futex_wake2) (for every entry's node word).
    ///
    /// # References
    /// Linux `kernel/futex/syscalls.c` (`sys_futex_waitv`, `futex_parse_waitv`),
    /// `waitwake.c` (`futex_wait_multiple`, `futex_wait_multiple_setup`,
    /// `futex_unqueue_multiple`).
    pub unsafe fn futex_waitv2(
        &self,
        waiters: usize,
        nr_futexes: usize,
        flags: usize,
        timeout: usize,
        clockid: usize,
    ) -> Result<Option<usize>, FutexError> {
        // `unsigned int nr_futexes, unsigned int flags, ..., clockid_t clockid`.
        let (nr, flags) = (nr_futexes as u32 as usize, flags as u32);
        if flags != 0 || nr == 0 || nr > WAITV_MAX || waiters == 0 {
            return Err(Errno::EINVAL.into());
        }
        let deadline = self.timeout2(timeout, clockid)?;
        // SAFETY: our caller's contract.
        unsafe {
            match nr {
                1..=4 => self.waitv_in::<4>(waiters, nr, deadline),
                5..=16 => self.waitv_in::<16>(waiters, nr, deadline),
                _ => self.waitv_in::<WAITV_MAX>(waiters, nr, deadline),
            }
        }
    }

    /// [`futex_waitv2`](Self::futex_waitv2) for `nr <= N` entries, with arrays of `N`. Never
    /// inlined: the caller's frame would then hold the arrays of every `N`, whatever `nr`.
    ///
    /// # Safety
    /// As [`futex_waitv2`](Self::futex_waitv2).
    #[inline(never)]
    unsafe fn waitv_in<const N: usize>(
        &self,
        waiters: usize,
        nr: usize,
        deadline: Option<Deadline>,
    ) -> Result<Option<usize>, FutexError> {
        // futex_parse_waitv: every entry copied and checked, in order.
        let mut words = [(0usize, 0u32); N];
        let mut flags = [Flags2 {
            scope: Scope::Private,
            numa: false,
        }; N];
        for i in 0..nr {
            let e = self.read_waitv(waiters.wrapping_add(i * WAITV_SIZE))?;
            words[i] = (e.uaddr, e.val);
            flags[i] = e.flags;
        }
        let shared = |i: usize| flags[i].scope == Scope::Shared;
        let nr_shared = (0..nr).filter(|&i| shared(i)).count();
        if nr_shared == nr {
            return Ok(None);
        }
        // futex_wait_multiple_setup: every key first, in order (a shared one's page lookup is
        // the port's: it comes in its turn).
        let mut keys = [0 as Key; N];
        for i in 0..nr {
            // SAFETY: our caller's contract.
            keys[i] = unsafe { self.key2(words[i].0, flags[i]) }?;
            if shared(i) {
                self.shared_key(words[i].0)?;
            }
        }
        let k = self.kernel;
        let me = k.current();
        let prio = k.priority(me);
        // [LIFETIME]: the nodes stay in this frame until every queued one is off its queue
        // (each return below unqueues what it queued). A shared entry's node is never queued.
        let nodes: [Waiter<K::Thread>; N] =
            core::array::from_fn(|i| Waiter::new(keys[i], u32::MAX, prio, me));
        if nr_shared > 0 {
            return self.waitv_mixed::<N>(&nodes[..nr], &words[..nr], &flags[..nr], deadline);
        }
        if let Err(e) = self.queue_each(&nodes[..nr], &words[..nr], |_| true) {
            return e.map(Some).map_err(Into::into);
        }
        let slept = self.sleep_any(&nodes[..nr], deadline);
        match (self.unqueue_all(&nodes[..nr]), slept) {
            (Some(woken), _) => Ok(Some(woken)),
            (None, Slept::TimedOut) => Err(Errno::ETIMEDOUT.into()),
            // Linux: the timer first, then the signal (`futex_wait_multiple`).
            (None, Slept::Interrupted) if deadline.is_some_and(|d| k.now(d.clock) >= d.ns) => {
                Err(Errno::ETIMEDOUT.into())
            }
            // `Woken` always finds its node dequeued; were it not so, making the call again is
            // what Linux does after a spurious wakeup.
            (None, Slept::Interrupted | Slept::Woken) => Err(FutexError::Restart(Restart::Syscall)),
        }
    }

    /// A `futex_waitv` with private and shared entries (`nodes`, `words` and `flags` are the
    /// call's, in its order; a shared entry's node is not used): the private entries are queued
    /// in lintel's table as in [`futex_waitv2`](Self::futex_waitv2), then the port waits on the
    /// shared ones until one is woken or the thread's notification is signalled (a private
    /// entry's wake: [`lintel_kernel::SharedFutex::shared_waitv`]). The answer is the highest
    /// index woken in either. A token with no private entry woken is stale (a waker of an
    /// earlier wait): the port is asked again, which compares the shared words again (Linux
    /// would not: a shared word changed without a wake meanwhile then gives `EAGAIN`,
    /// docs/abi.md). A port without the operation (`ENOSYS`) gets the call whole, as before.
    fn waitv_mixed<const N: usize>(
        &self,
        nodes: &[Waiter<K::Thread>],
        words: &[(usize, u32)],
        flags: &[Flags2],
        deadline: Option<Deadline>,
    ) -> Result<Option<usize>, FutexError> {
        let k = self.kernel;
        let private = |i: usize| flags[i].scope == Scope::Private;
        if let Err(e) = self.queue_each(nodes, words, private) {
            return e.map(Some).map_err(Into::into);
        }
        // The shared entries, and the index of each in the call.
        let (mut shared, mut index) = ([(0usize, 0u32); N], [0usize; N]);
        let mut ns = 0;
        for i in (0..words.len()).filter(|&i| !private(i)) {
            shared[ns] = words[i];
            index[ns] = i;
            ns += 1;
        }
        loop {
            let r = k.shared_waitv(&shared[..ns], deadline);
            // (A shared entry's node, never queued, has no bucket: it does not count.)
            let any_woken = (0..nodes.len()).any(|i| private(i) && nodes[i].is_woken());
            if r == Ok(SharedWaitv::Notified) && !any_woken {
                continue; // a stale token: wait again
            }
            let woken = self.unqueue_where(nodes, private);
            return match r {
                Ok(SharedWaitv::Woken(j)) => Ok(Some(woken.map_or(index[j], |p| p.max(index[j])))),
                _ if woken.is_some() => Ok(woken),
                Err(SharedWaitError::Errno(Errno::ENOSYS)) => Ok(None),
                Err(SharedWaitError::Errno(e)) => Err(e.into()),
                // Linux: the timer first, then the signal.
                Err(SharedWaitError::Interrupted)
                    if deadline.is_some_and(|d| k.now(d.clock) >= d.ns) =>
                {
                    Err(Errno::ETIMEDOUT.into())
                }
                // `Notified` found a node dequeued; were it not so, making the call again is
                // what Linux does after a spurious wakeup.
                Err(SharedWaitError::Interrupted) | Ok(SharedWaitv::Notified) => {
                    Err(FutexError::Restart(Restart::Syscall))
                }
            };
        }
    }

    /// Queues each of `nodes` for which `queue(i)` holds, in order, while its word
    /// (`words[i]`) holds its value (as `wait`, [ORDER]). On a value that differs (`EAGAIN`) or
    /// a fault, takes those it queued off again: `Err(Ok(i))` if a futex was woken meanwhile
    /// (it wins, `futex_unqueue_multiple`), else `Err(Err(errno))`.
    fn queue_each(
        &self,
        nodes: &[Waiter<K::Thread>],
        words: &[(usize, u32)],
        queue: impl Fn(usize) -> bool,
    ) -> Result<(), Result<usize, Errno>> {
        let k = self.kernel;
        for i in (0..nodes.len()).filter(|&i| queue(i)) {
            let (uaddr, val) = words[i];
            let bucket = self.bucket(nodes[i].key());
            // Fault the word in without a lock held (see `wait`).
            let check = k.load_u32(uaddr).and_then(|_| {
                bucket.waiters_inc(); // [ORDER] A
                let locked = Locked::lock(bucket, k);
                let same = match k.load_u32(uaddr) {
                    Ok(v) if v == val => Ok(()),
                    Ok(_) => Err(Errno::EAGAIN),
                    Err(e) => Err(e),
                };
                if same.is_ok() {
                    locked.enqueue(&nodes[i]);
                } else {
                    drop(locked);
                    bucket.waiters_dec();
                }
                same
            });
            if let Err(e) = check {
                // A futex woken meanwhile wins over the error (futex_unqueue_multiple).
                return Err(match self.unqueue_where(&nodes[..i], &queue) {
                    Some(woken) => Ok(woken),
                    None => Err(e),
                });
            }
        }
        Ok(())
    }

    /// Sleeps until a waker dequeued one of `nodes` (all queued by the caller), the deadline
    /// passes or the thread is interrupted. The nodes stay queued: the caller unqueues them.
    fn sleep_any(&self, nodes: &[Waiter<K::Thread>], deadline: Option<Deadline>) -> Slept {
        loop {
            match self.kernel.wait(deadline) {
                Wakeup::Notified if nodes.iter().any(Waiter::is_woken) => return Slept::Woken,
                // A token without a dequeue is stale or spurious: sleep again.
                Wakeup::Notified => {}
                Wakeup::TimedOut => return Slept::TimedOut,
                Wakeup::Interrupted => return Slept::Interrupted,
            }
        }
    }

    /// Takes every one of `nodes` (each queued) off its queue; returns the highest index of
    /// those a waker had dequeued first (Linux's `futex_unqueue_multiple`).
    fn unqueue_all(&self, nodes: &[Waiter<K::Thread>]) -> Option<usize> {
        self.unqueue_where(nodes, |_| true)
    }

    /// [`unqueue_all`](Self::unqueue_all) for the nodes `i` for which `queued(i)` holds (the
    /// others were never queued).
    fn unqueue_where(
        &self,
        nodes: &[Waiter<K::Thread>],
        queued: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let mut woken = None;
        for (i, node) in nodes.iter().enumerate() {
            if queued(i) && !self.unqueue(node) {
                woken = Some(i);
            }
        }
        woken
    }

    /// `futex2_setup_timeout`: no timeout without a pointer (the clock is then ignored);
    /// otherwise the clock must be `CLOCK_MONOTONIC` or `CLOCK_REALTIME` (`EINVAL`, before
    /// the timespec is read), then the timespec is copied (`EFAULT`) and checked (`EINVAL`).
    /// The time is absolute.
    fn timeout2(&self, timeout: usize, clockid: usize) -> Result<Option<Deadline>, Errno> {
        if timeout == 0 {
            return Ok(None);
        }
        let clock = match clockid as i32 as u32 {
            linux::CLOCK_MONOTONIC => ClockId::Monotonic,
            linux::CLOCK_REALTIME => ClockId::Realtime,
            _ => return Err(Errno::EINVAL),
        };
        let ns = timespec_to_ns(&self.read_timespec(timeout)?)?;
        Ok(Some(Deadline { clock, ns }))
    }

    /// Copies and checks one `struct futex_waitv` (`futex_parse_waitv`): `EFAULT` if it cannot
    /// be read, `EINVAL` for bad flags, a nonzero `__reserved` or a value too wide.
    fn read_waitv(&self, addr: usize) -> Result<WaitV, Errno> {
        let mut raw = [0u8; WAITV_SIZE];
        self.kernel.read(addr, &mut raw)?;
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[at..at + 8]);
            u64::from_ne_bytes(b)
        };
        let u32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&raw[at..at + 4]);
            u32::from_ne_bytes(b)
        };
        let (val, uaddr, flags, reserved) = (u64_at(0), u64_at(8), u32_at(16), u32_at(20));
        if flags & !VALID_MASK != 0 || reserved != 0 {
            return Err(Errno::EINVAL);
        }
        let checked = flags2(flags)?;
        Ok(WaitV {
            val: fits(val)?,
            uaddr: uaddr as usize,
            raw: flags,
            flags: checked,
        })
    }

    /// Linux's `get_futex_key` for a futex2 futex: without `FUTEX2_NUMA` the plain key; with
    /// it, the value-and-node pair is checked (alignment `EINVAL`, `access_ok` `EFAULT`), the
    /// node word read (`EFAULT`) and checked (`EINVAL` unless 0 or `-1`), a `-1` replaced by
    /// this node (0) in user memory, and a private key tagged.
    ///
    /// # Safety
    /// With `FUTEX2_NUMA`, the program handed lintel `uaddr + 4` as the node word to update.
    unsafe fn key2(&self, uaddr: usize, f: Flags2) -> Result<Key, Errno> {
        if !f.numa {
            return self.key(uaddr);
        }
        if uaddr % 8 != 0 {
            return Err(Errno::EINVAL);
        }
        if !self.kernel.access_ok(uaddr, 8) {
            return Err(Errno::EFAULT);
        }
        let naddr = uaddr + 4;
        let mut node = self.kernel.load_u32(naddr)?;
        if node == NO_NODE {
            // Linux's `put_user(node, naddr)`: a plain store of the node, whatever the word
            // holds by now; an atomic one here.
            loop {
                // SAFETY: our caller's contract.
                let found = unsafe { self.kernel.cmpxchg_u32(naddr, node, 0) }?;
                if found == node {
                    break;
                }
                node = found;
            }
        } else if node != 0 {
            // Not a possible node: lintel presents one, node 0.
            return Err(Errno::EINVAL);
        }
        Ok(match f.scope {
            Scope::Private => uaddr | NUMA_KEY,
            Scope::Shared => uaddr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_linux() {
        let ok = |f| flags2(f).is_ok();
        assert!(ok(linux::FUTEX2_SIZE_U32));
        assert!(ok(linux::FUTEX2_SIZE_U32 | linux::FUTEX2_PRIVATE));
        assert!(ok(0x8e));
        for bad in [0, 1, 3, 0x80, 0x81, 0x83, 0x10, 0x92, 0x182, 0x8000_0082] {
            assert!(!ok(bad), "{bad:#x}");
        }
        assert_eq!(fits(u64::from(u32::MAX)), Ok(u32::MAX));
        assert_eq!(fits(1 << 32), Err(Errno::EINVAL));
    }
}
