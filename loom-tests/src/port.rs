//! [`LoomKernel`]: every `lintel-kernel` porting trait on loom primitives.
//!
//! See the crate doc for the table of what each trait does here and for the rules models follow.

use lintel_kernel::interrupt::InterruptHook;
use lintel_kernel::{
    Clock, ClockId, Deadline, Errno, Interrupt, Notify, Passed, Passthrough, SharedFutex,
    SharedWaitError, SpawnSpec, Threads, UserMemory, Wakeup,
};
use loom::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64 as StdAtomicU64, AtomicUsize as StdAtomicUsize};

/// The user address of word 0 of the simulated address space; word `i` is at
/// `USER_BASE + 4 * i`. Fixed, so that every loom execution hashes the same words to the same
/// buckets (loom needs each execution to be deterministic given its schedule).
pub const USER_BASE: usize = 0x1_0000;

/// One past the highest user address (Linux x86_64's `TASK_SIZE_MAX`).
const USER_END: usize = 0x7fff_ffff_f000;

loom::thread_local! {
    /// The calling loom thread's record index: 0 for the model's main thread, set by
    /// [`LoomKernel::spawn_thread`] for the others. loom resets thread-locals every execution.
    static ME: Cell<usize> = Cell::new(0);
}

/// A thread handle: an index into the kernel's table of thread records.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Tid(pub usize);

/// A thread's notification state (`Notify`'s token and interrupted flag) and its loom handle.
#[derive(Debug)]
struct Record {
    /// The loom thread, for `unpark`. Set once, by the spawner, before the [`Tid`] is handed out.
    thread: OnceLock<loom::thread::Thread>,
    /// The wake token (binary semaphore). Every write to it is an RMW (`swap`), never a plain
    /// store: loom 0.7 does not fully enforce RMW atomicity against a concurrent plain store
    /// (an RMW may read the thread's own earlier RMW although another thread's store was
    /// ordered after it), so `store(true)` racing the waiter's `swap(false)` lets loom lose the
    /// token — a false lost wakeup. Real hardware has no such outcome; the swap costs nothing.
    token: AtomicBool,
    /// The sticky interrupted flag; written with RMWs only, as `token`.
    interrupted: AtomicBool,
    /// How many times the thread has entered `Notify::wait`: model bookkeeping, not part of
    /// any protocol (a std atomic, invisible to loom), see [`LoomKernel::waits`].
    waits: StdAtomicUsize,
    /// How many of those waits returned `TimedOut` (bookkeeping, as `waits`).
    timeouts: StdAtomicUsize,
    /// `Threads::locals` (no model uses them; std atomics, invisible to loom).
    locals: [StdAtomicUsize; lintel_kernel::LOCAL_WORDS],
}

impl Record {
    fn new() -> Self {
        Record {
            thread: OnceLock::new(),
            token: AtomicBool::new(false),
            interrupted: AtomicBool::new(false),
            waits: StdAtomicUsize::new(0),
            timeouts: StdAtomicUsize::new(0),
            locals: [const { StdAtomicUsize::new(0) }; lintel_kernel::LOCAL_WORDS],
        }
    }

    /// What a wait would return now without blocking, if anything: the token first, as the
    /// `Notify` contract says, then the interrupted flag.
    fn poll(&self) -> Option<Wakeup> {
        if self.token.swap(false, Ordering::Acquire) {
            Some(Wakeup::Notified)
        } else if self.interrupted.load(Ordering::Acquire) {
            Some(Wakeup::Interrupted)
        } else {
            None
        }
    }

    fn unpark(&self) {
        self.thread
            .get()
            .expect("LoomKernel: a Tid is handed out only after its thread is registered")
            .unpark();
    }
}

/// lintel's porting interface on loom: build one inside each `loom::model` execution (through
/// [`crate::Model`]).
///
/// The atomics a model cares about are loom's (the wake token, the interrupted flag, the user
/// words), so loom explores their interleavings and memory orderings. The bookkeeping that is
/// not part of any protocol (which record a thread owns, the virtual clock) uses std atomics:
/// loom runs one thread at a time, and each execution builds a fresh kernel, so they are
/// deterministic given the schedule.
#[derive(Debug)]
pub struct LoomKernel {
    records: Vec<Record>,
    /// The next free record.
    next: StdAtomicUsize,
    /// The simulated user memory.
    words: Vec<AtomicU32>,
    /// Virtual time, in ns; a timeout advances it to its deadline.
    clock: StdAtomicU64,
}

impl LoomKernel {
    /// A kernel with `words.len()` user words holding `words`, and the calling thread (the
    /// model's main thread) registered as `Tid(0)`.
    pub fn new(words: &[u32]) -> Self {
        let records: Vec<Record> = (0..loom::MAX_THREADS).map(|_| Record::new()).collect();
        records[0]
            .thread
            .set(loom::thread::current())
            .expect("fresh record");
        ME.with(|me| me.set(0));
        LoomKernel {
            records,
            next: StdAtomicUsize::new(1),
            words: words.iter().map(|&v| AtomicU32::new(v)).collect(),
            clock: StdAtomicU64::new(0),
        }
    }

    /// Spawns a loom thread registered with this kernel; returns its handle and loom's join
    /// handle. loom's `spawn` is not a scheduling point, so the new thread cannot run before its
    /// record is complete.
    pub fn spawn_thread<R: 'static>(
        &self,
        f: impl FnOnce() -> R + 'static,
    ) -> (Tid, loom::thread::JoinHandle<R>) {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert!(
            i < self.records.len(),
            "loom allows at most MAX_THREADS threads"
        );
        let handle = loom::thread::spawn(move || {
            ME.with(|me| me.set(i));
            f()
        });
        self.records[i]
            .thread
            .set(handle.thread().clone())
            .expect("fresh record");
        (Tid(i), handle)
    }

    /// The user address of word `i`.
    pub fn addr(&self, i: usize) -> usize {
        assert!(i < self.words.len(), "no word {i}");
        USER_BASE + 4 * i
    }

    /// Word `i` itself, for the model's own (user-level) loads and stores.
    pub fn word(&self, i: usize) -> &AtomicU32 {
        &self.words[i]
    }

    /// The number of user words.
    pub fn words(&self) -> usize {
        self.words.len()
    }

    /// A deadline `ns` after the current virtual time.
    pub fn deadline_after(&self, ns: u64) -> Deadline {
        Deadline::after(ClockId::Monotonic, self.now(ClockId::Monotonic), ns)
    }

    /// How many times thread `t` has entered `Notify::wait`. The futex engine calls it only
    /// after the waiter is queued and the bucket unlocked, so a model can use this to start
    /// the rest of a scenario once a waiter is asleep (see [`crate::Model::until_waiting`]).
    pub fn waits(&self, t: Tid) -> usize {
        self.record(t)
            .waits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many of thread `t`'s `Notify::wait`s returned `TimedOut`. Lets a model tell which
    /// path a futex wait took (a wait that returns `Ok` after its timer fired lost the race to a
    /// waker that had already dequeued it) and check that loom reached it.
    pub fn timeouts(&self, t: Tid) -> usize {
        self.record(t)
            .timeouts
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn record(&self, t: Tid) -> &Record {
        &self.records[t.0]
    }

    /// The word at user address `addr`, or `EFAULT` (unmapped, or not a whole aligned word).
    fn user_word(&self, addr: usize) -> Result<&AtomicU32, Errno> {
        let off = addr.checked_sub(USER_BASE).ok_or(Errno::EFAULT)?;
        if off % 4 != 0 {
            return Err(Errno::EFAULT);
        }
        self.words.get(off / 4).ok_or(Errno::EFAULT)
    }
}

// SAFETY: `current` reads a loom thread-local set before the thread runs any model code and
// distinct per thread (records are never reused within an execution); records live as long as
// the kernel, so every handle stays memory-safe; `is_dead` never claims a thread is dead.
unsafe impl Threads for LoomKernel {
    type Thread = Tid;

    fn current(&self) -> Tid {
        Tid(ME.with(Cell::get))
    }

    fn tid(&self, thread: Tid) -> i32 {
        thread.0 as i32 + 1
    }

    /// Not modelled: models start threads with [`crate::Model::spawn`].
    unsafe fn spawn(&self, _spec: &SpawnSpec) -> Result<Tid, Errno> {
        Err(Errno::ENOSYS)
    }

    unsafe fn exit_current(&self, _clear_tid: usize) -> ! {
        panic!("LoomKernel: exit_current is not modelled")
    }

    fn is_dead(&self, _thread: Tid) -> bool {
        false
    }

    fn yield_now(&self) {
        loom::thread::yield_now();
    }

    /// Not modelled: there is no fork in a model.
    fn after_fork(&self) {}

    fn tid_alive(&self, tid: i32) -> bool {
        tid > 0 && (tid as usize) <= self.records.len()
    }

    /// Not modelled: there is no thread pointer in a model.
    fn thread_pointer(&self) -> usize {
        0
    }

    /// Not modelled: `ENOSYS`.
    unsafe fn set_thread_pointer(&self, _tp: usize) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }

    fn locals(&self) -> &[StdAtomicUsize; lintel_kernel::LOCAL_WORDS] {
        &self.record(self.current()).locals
    }
}

// SAFETY:
// - `Notified` is returned only after consuming a token, and tokens are set only by `signal`;
// - `signal` writes the token with `Release` and the consuming `swap` is `Acquire` (and an RMW,
//   so it reads the latest write), so a `Notified` wait acquires every signal it consumed;
// - a signal is never lost: `signal` sets the token before unparking, and `wait` checks the
//   token after every return from `park`; loom's park keeps std's token semantics, so an unpark
//   between the check and the park makes the park return at once;
// - an interrupt is never lost, by the same argument, and the flag stays set until
//   `take_interrupt`;
// - `TimedOut` is returned only after advancing the virtual clock to the deadline, so `now`
//   has reached it;
// - `signal` and `interrupt` never block.
// The token is checked before the flag, so `Notified` wins when both are set.
unsafe impl Notify for LoomKernel {
    fn wait(&self, deadline: Option<Deadline>) -> Wakeup {
        let me = self.record(self.current());
        me.waits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match deadline {
            None => loop {
                if let Some(w) = me.poll() {
                    return w;
                }
                loom::thread::park();
            },
            Some(deadline) => {
                // The nondeterministic timer: other threads may run (wake us, interrupt us, or
                // not) before it fires.
                if let Some(w) = me.poll() {
                    return w;
                }
                loom::thread::yield_now();
                if let Some(w) = me.poll() {
                    return w;
                }
                self.clock
                    .fetch_max(deadline.ns, std::sync::atomic::Ordering::Relaxed);
                me.timeouts
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Wakeup::TimedOut
            }
        }
    }

    fn signal(&self, thread: Tid) {
        let r = self.record(thread);
        // A swap, not a store: see `Record::token`.
        r.token.swap(true, Ordering::Release);
        r.unpark();
    }

    fn interrupt(&self, thread: Tid) {
        let r = self.record(thread);
        // A swap, not a store: see `Record::token`.
        r.interrupted.swap(true, Ordering::Release);
        r.unpark();
    }

    fn take_interrupt(&self) -> bool {
        self.record(self.current())
            .interrupted
            .swap(false, Ordering::Acquire)
    }

    fn is_interrupted(&self) -> bool {
        self.record(self.current())
            .interrupted
            .load(Ordering::Acquire)
    }
}

// SAFETY: the virtual clock only moves forward (`fetch_max`), for both clocks, and `wait` moves
// it to a deadline before reporting that deadline passed.
unsafe impl Clock for LoomKernel {
    fn now(&self, _clock: ClockId) -> u64 {
        self.clock.load(std::sync::atomic::Ordering::Relaxed)
    }
}

// SAFETY: every access is to a loom atomic the kernel owns, or `EFAULT` without an access;
// `load_u32` is `Acquire` (the weakest the contract allows, so the models do not get ordering
// for free from the port) and `cmpxchg_u32` is `SeqCst`; addresses at or above `USER_END`
// are never mapped.
unsafe impl UserMemory for LoomKernel {
    fn user_end(&self) -> usize {
        USER_END
    }

    fn load_u32(&self, addr: usize) -> Result<u32, Errno> {
        Ok(self.user_word(addr)?.load(Ordering::Acquire))
    }

    unsafe fn cmpxchg_u32(&self, addr: usize, expected: u32, new: u32) -> Result<u32, Errno> {
        let w = self.user_word(addr)?;
        Ok(
            match w.compare_exchange(expected, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(v) | Err(v) => v,
            },
        )
    }

    /// Not modelled (the models use the typed futex API, which copies nothing in): `EFAULT`.
    fn read(&self, _addr: usize, _buf: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::EFAULT)
    }

    /// Not modelled: `EFAULT`.
    unsafe fn write(&self, _addr: usize, _buf: &[u8]) -> Result<(), Errno> {
        Err(Errno::EFAULT)
    }
}

// SAFETY: no shared futex exists in a model; every operation fails with `ENOSYS` and has no
// effect.
unsafe impl SharedFutex for LoomKernel {
    fn shared_wait(
        &self,
        _addr: usize,
        _expected: u32,
        _bitset: u32,
        _deadline: Option<Deadline>,
    ) -> Result<(), SharedWaitError> {
        Err(SharedWaitError::Errno(Errno::ENOSYS))
    }

    fn shared_lock_pi(
        &self,
        _addr: usize,
        _deadline: Option<Deadline>,
        _trylock: bool,
    ) -> Result<(), SharedWaitError> {
        Err(SharedWaitError::Errno(Errno::ENOSYS))
    }

    fn shared_unlock_pi(&self, _addr: usize) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }

    fn shared_wake(&self, _addr: usize, _nr_wake: i32, _bitset: u32) -> Result<u32, Errno> {
        Err(Errno::ENOSYS)
    }

    fn shared_requeue(
        &self,
        _addr: usize,
        _addr2: usize,
        _nr_wake: i32,
        _nr_requeue: i32,
        _expected: Option<u32>,
    ) -> Result<u32, Errno> {
        Err(Errno::ENOSYS)
    }

    fn shared_wake_op(
        &self,
        _addr: usize,
        _addr2: usize,
        _nr_wake: i32,
        _nr_wake2: i32,
        _encoded_op: u32,
    ) -> Result<u32, Errno> {
        Err(Errno::ENOSYS)
    }
}

// SAFETY: nothing ever kicks a thread (`kick` panics rather than lose a kick), so the hook never
// runs and no kick is ever posted.
unsafe impl Interrupt for LoomKernel {
    fn set_interrupt_hook(&self, _hook: InterruptHook) {}

    fn kick(&self, _thread: Tid) {
        panic!("LoomKernel: kick is not modelled (use Notify::interrupt)")
    }

    fn enter(&self) {}

    fn leave(&self) -> bool {
        false
    }
}

// SAFETY: no syscall is modelled: while the interrupted flag is set every call is
// `Interrupted` (with no effect), otherwise it fails with `ENOSYS` and has no effect, as Linux
// does for an unknown syscall number.
unsafe impl Passthrough for LoomKernel {
    unsafe fn passthrough(&self, _nr: usize, _args: [usize; 6]) -> Passed {
        if self.is_interrupted() {
            Passed::Interrupted
        } else {
            Passed::Done(Errno::ENOSYS.to_ret())
        }
    }
}
