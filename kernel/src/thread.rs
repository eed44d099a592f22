//! Threads: create, identify, exit, and learn when a dead thread's stack is free.

use crate::Errno;
use core::sync::atomic::AtomicUsize;

/// How many machine words each thread record keeps for lintel's layers ([`Threads::locals`]).
pub const LOCAL_WORDS: usize = 24;

/// Which layer owns which of the [`LOCAL_WORDS`] words (one table, so no two layers collide).
pub mod slots {
    /// Words 0..8: the clone layer (clear-tid address, robust list).
    pub const CLONE: core::ops::Range<usize> = 0..8;
    /// Words 8..12: the dispatcher's per-thread statistics.
    pub const STATS: core::ops::Range<usize> = 8..12;
    /// Words 12..20: the signal layer (mask, pending set, saved mask, state, altstack).
    pub const SIGNALS: core::ops::Range<usize> = 12..20;
    /// Words 20..23: the futex layer (the PI futex the thread sleeps on, for deadlock
    /// detection; the priority it inherits from the waiters of the PI futexes it owns; whether
    /// it has begun handing its PI futexes over at exit).
    pub const FUTEX: core::ops::Range<usize> = 20..23;
    /// Word 23: free.
    pub const FREE: core::ops::Range<usize> = 23..24;
}

/// The priority every non-real-time thread has in Linux's futex plist (`MAX_RT_PRIO`).
///
/// Lower numbers are more urgent; real-time threads have `0..=99`. Waiters of equal priority
/// are woken first-in, first-out.
pub const NORMAL_PRIORITY: i32 = 100;

/// What a new thread starts with.
#[derive(Debug)]
pub struct SpawnSpec {
    /// The function the new thread runs first. When it returns, the thread exits as if by
    /// [`Threads::exit_current`].
    pub entry: unsafe extern "C" fn(arg: usize),
    /// Passed to `entry`.
    pub arg: usize,
    /// The initial stack pointer: the *top* (highest address) of the stack, 16-byte aligned.
    pub stack_top: usize,
    /// The thread pointer (x86_64: the `%fs` base) the thread starts with, or `None` to leave
    /// it to the port (the Linux host port then inherits the creator's, which is only safe for
    /// threads that never touch TLS).
    pub thread_pointer: Option<usize>,
}

/// Threads in the current address space.
///
/// # Safety
/// Implementors guarantee:
/// - [`current`](Threads::current) returns the calling thread's own handle, the same one every
///   time on that thread, distinct from every other live thread's; it must not enter the kernel
///   on the hot path and must work before the C library's TLS exists (it may not use the
///   thread pointer the program owns);
/// - a handle stays *memory-safe* to pass to every method forever: using the handle of a thread
///   that has exited must not touch freed memory (a port that recycles thread records may let a
///   stale handle reach the record's next owner; lintel tolerates that as a spurious wakeup);
/// - [`is_dead`](Threads::is_dead) returns `true` only once the thread will never run again
///   and the stack it was spawned on is no longer touched by the port.
pub unsafe trait Threads {
    /// A cheap, copyable handle to a thread.
    type Thread: Copy + Eq + Send + Sync + core::fmt::Debug;

    /// The calling thread.
    fn current(&self) -> Self::Thread;

    /// The thread's Linux thread id. A port without Linux tids returns an id that is positive,
    /// below 2^30 (robust and PI futex words hold it under `FUTEX_TID_MASK`), stable for the
    /// thread's life, and unique among all live threads of every process that may share a
    /// futex with this one (pshared robust and PI mutexes compare tids across processes).
    fn tid(&self, thread: Self::Thread) -> i32;

    /// Whether a thread with Linux thread id `tid` exists in this process (PI futexes name
    /// their owner by tid: Linux answers `ESRCH` for an owner that does not exist).
    fn tid_alive(&self, tid: i32) -> bool;

    /// The thread's priority as Linux's futex plist orders waiters: lower is more urgent,
    /// [`NORMAL_PRIORITY`] for every thread that is not real-time.
    fn priority(&self, thread: Self::Thread) -> i32 {
        let _ = thread;
        NORMAL_PRIORITY
    }

    /// Priority inheritance (Linux's `rt_mutex_setprio`): `thread` now inherits `prio` from
    /// the waiters of the PI futexes it owns, [`NORMAL_PRIORITY`] when it inherits nothing
    /// (undo). The port runs the thread at the more urgent of `prio` and its own
    /// [`priority`](Threads::priority) until told otherwise, without changing what
    /// `priority` reports (Linux's boost is invisible to `sched_getparam`).
    ///
    /// lintel calls this only on ports whose `priority` reports real-time priorities (a
    /// waiter of [`NORMAL_PRIORITY`] boosts nobody, as in Linux, where every non-real-time
    /// waiter has the same PI priority), serialised process-wide (calls for one thread arrive
    /// in the order lintel decided them), with no futex lock held; it must not call back into
    /// lintel. The default does nothing: the PI ownership protocol holds either way.
    fn inherit_priority(&self, thread: Self::Thread, prio: i32) {
        let _ = (thread, prio);
    }

    /// Creates a thread in this address space.
    ///
    /// # Safety
    /// `spec.stack_top` must point just past a writable stack that stays valid until
    /// [`is_dead`](Threads::is_dead) reports the thread dead, and `spec.entry` must be safe to
    /// call with `spec.arg` on the new thread.
    unsafe fn spawn(&self, spec: &SpawnSpec) -> Result<Self::Thread, Errno>;

    /// Ends the calling thread with `status` (the process's exit status if it was the last
    /// thread, as Linux's `exit`). Nothing after the call runs on it.
    ///
    /// If `clear_tid` is non-zero, the port then does what Linux does at the death of a thread
    /// with `CLONE_CHILD_CLEARTID`: once the thread no longer touches its stack (the port runs
    /// this last step on memory of its own, freed with the thread record), it stores 0 to the
    /// `u32` at `clear_tid` and wakes one waiter of the *shared* futex there. A fault on
    /// `clear_tid` is ignored, as Linux ignores it. musl's thread-list lock and its shared
    /// `__unmapself` stack depend on exactly this order: the store releases memory the exiting
    /// thread was still standing on.
    ///
    /// # Safety
    /// Nothing on the calling thread's stack may still be referenced by other threads, except
    /// through the `clear_tid` protocol above.
    unsafe fn exit_current(&self, status: i32, clear_tid: usize) -> !;

    /// Whether `thread` has exited and its stack is free.
    fn is_dead(&self, thread: Self::Thread) -> bool;

    /// Gives up the CPU to another ready thread, if any.
    fn yield_now(&self);

    /// Called by lintel in the parent just before a `fork`, with no lock of lintel's held: a
    /// chance to release what dead threads left (the child gets a copy of every mapping, so
    /// a process that once had thousands of threads forks faster without their leftovers).
    /// The default does nothing.
    fn before_fork(&self) {}

    /// Called by lintel in the child of a `fork`, on its only thread, before anything else runs
    /// there: the port refreshes what it caches about the process and the calling thread (pid,
    /// tid) and forgets the parent's other threads, which do not exist in the child.
    fn after_fork(&self);

    /// The calling thread's thread pointer: the register the C library owns for TLS (x86_64:
    /// the FS base; aarch64: `TPIDR_EL0`; riscv64: `tp`).
    fn thread_pointer(&self) -> usize;

    /// Sets the calling thread's thread pointer (what `arch_prctl(ARCH_SET_FS)` and
    /// `CLONE_SETTLS` do on Linux).
    ///
    /// # Safety
    /// Nothing on the calling thread may use the old thread pointer afterwards.
    unsafe fn set_thread_pointer(&self, tp: usize) -> Result<(), Errno>;

    /// The calling thread's words for lintel's layers (its CLEARTID address, robust-list head,
    /// and so on): [`LOCAL_WORDS`] words, all zero when a thread is spawned or adopted. They
    /// must be reachable without the thread pointer the program owns (so before the C
    /// library's TLS exists) and without entering the kernel.
    fn locals(&self) -> &[AtomicUsize; LOCAL_WORDS];

    /// Another thread's words (what [`locals`](Threads::locals) returns on that thread). For a
    /// stale handle the port may return the words of the record's next owner, or a record no
    /// one owns: memory-safe either way (the signal layer keeps a "live" mark in its own words
    /// and ignores records without it).
    fn locals_of(&self, thread: Self::Thread) -> &[AtomicUsize; LOCAL_WORDS];

    /// Calls `f` with every thread of the process that may be alive (it may include threads
    /// that are exiting or have just exited; it must include every thread that has run lintel
    /// code and not exited). The signal layer walks this to pick the thread for a
    /// process-directed signal and to flush pending sets.
    fn for_each_thread(&self, f: &mut dyn FnMut(Self::Thread));
}
