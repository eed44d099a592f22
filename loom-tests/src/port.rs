//! [`LoomKernel`]: every `lintel-kernel` porting trait on loom primitives.
//!
//! See the crate doc for the table of what each trait does here and for the rules models follow.

use lintel_kernel::interrupt::InterruptHook;
use lintel_kernel::{
    Arrival, Clock, ClockId, Deadline, Delivery, Errno, Interrupt, Notify, Passed, Passthrough,
    SharedFutex, SharedWaitError, SharedWaitv, SignalRoute, SpawnSpec, Threads, UserMemory, Wakeup,
};
use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{
    AtomicBool as StdAtomicBool, AtomicI32 as StdAtomicI32, AtomicU64 as StdAtomicU64,
    AtomicUsize as StdAtomicUsize,
};

/// The user address of word 0 of the simulated address space; word `i` is at
/// `USER_BASE + 4 * i`. Fixed, so that every loom execution hashes the same words to the same
/// buckets (loom needs each execution to be deterministic given its schedule).
pub const USER_BASE: usize = 0x1_0000;

/// The user address of byte 0 of the simulated *plain* memory (see [`LoomKernel::with_bytes`]):
/// non-atomic bytes that `UserMemory::read` copies from, as a robust-list head or a thread's
/// stack. Far enough above [`USER_BASE`] that the two regions never meet.
pub const BYTES_BASE: usize = 0x2_0000;

/// One past the highest user address (Linux x86_64's `TASK_SIZE_MAX`).
const USER_END: usize = 0x7fff_ffff_f000;

/// The panic payload with which [`LoomKernel`]'s `Threads::exit_current` ends a loom thread.
///
/// A loom thread cannot end in the middle of a function, and `exit_current` never returns, so
/// the port unwinds: `exit_current` does its last steps (the clear-tid store and wake), then
/// calls [`std::panic::resume_unwind`] with this payload, and [`crate::Model::spawn`]'s
/// wrapper catches it with [`std::panic::catch_unwind`] and ends the loom thread normally.
/// `resume_unwind` does not run the panic hook (no message per execution), and the unwind runs
/// no loom operation as long as the exiting thread's frames own no loom object (see the crate
/// doc), so loom's scheduler never switches threads while `std::thread::panicking()` is true.
#[derive(Debug)]
pub struct ThreadExit;

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
    /// How many times the thread has called `UserMemory::read` (bookkeeping, as `waits`; a PI
    /// unlock reads the word once per attempt), see [`LoomKernel::reads`].
    reads: StdAtomicUsize,
    /// Set by `Threads::exit_current` after its last step: the thread is dead (`is_dead`,
    /// `tid_alive`). Kernel state rather than a protocol the models explore: loom runs one
    /// thread at a time, so this std atomic is read in schedule order, like a kernel's own
    /// thread table.
    exited: StdAtomicBool,
    /// `Threads::locals`: the signal layer keeps a thread's blocked mask, pending set and
    /// state there (std atomics, invisible to loom: kernel state read in schedule order; the
    /// signal layer writes them under its own lock, which is loom's).
    locals: [StdAtomicUsize; lintel_kernel::LOCAL_WORDS],
    /// A posted kick (`Interrupt::kick`), reported and cleared by the thread's next
    /// `Interrupt::leave`. Written with RMWs only, as `token`.
    kicked: AtomicBool,
    /// How many times the thread was kicked (bookkeeping, as `waits`), see
    /// [`LoomKernel::kicks`].
    kicks: StdAtomicUsize,
    /// The thread's own priority (`Threads::priority`), set by a model before the thread runs
    /// (kernel state, as `exited`).
    priority: StdAtomicI32,
    /// What lintel last told the port the thread inherits (`Threads::inherit_priority`), for
    /// the models to check (bookkeeping, as `waits`).
    inherited: StdAtomicI32,
}

impl Record {
    fn new() -> Self {
        Record {
            thread: OnceLock::new(),
            token: AtomicBool::new(false),
            interrupted: AtomicBool::new(false),
            waits: StdAtomicUsize::new(0),
            timeouts: StdAtomicUsize::new(0),
            reads: StdAtomicUsize::new(0),
            exited: StdAtomicBool::new(false),
            locals: [const { StdAtomicUsize::new(0) }; lintel_kernel::LOCAL_WORDS],
            kicked: AtomicBool::new(false),
            kicks: StdAtomicUsize::new(0),
            priority: StdAtomicI32::new(lintel_kernel::NORMAL_PRIORITY),
            inherited: StdAtomicI32::new(lintel_kernel::NORMAL_PRIORITY),
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

/// The plain user memory: a loom cell, shared by the model's threads the way user memory is.
#[derive(Debug)]
struct Plain(loom::cell::UnsafeCell<Vec<u8>>);

// SAFETY: the cell is only accessed through `with`/`with_mut` in `LoomKernel::read_bytes` and
// `write_bytes`, which hold no reference beyond the closure; loom runs one thread at a time and
// reports (panics on) any two accesses, one a write, that happens-before does not order, so a
// model that shares it racily fails instead of racing.
unsafe impl Sync for Plain {}

/// A thread queued on a shared futex of the port ([`SharedFutex::shared_wait`], or one entry
/// of a [`SharedFutex::shared_waitv`]).
#[derive(Debug)]
struct SharedWaiter {
    addr: usize,
    bitset: u32,
    thread: Tid,
    /// The entry's index in its `shared_waitv` call (0 for `shared_wait`).
    index: usize,
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
    /// The simulated user memory: atomic words at [`USER_BASE`].
    words: Vec<AtomicU32>,
    /// The simulated plain user memory at [`BYTES_BASE`]: one loom cell, so loom checks that
    /// every pair of accesses to it with a write is ordered by happens-before.
    bytes: Plain,
    /// `bytes`' length, known without touching the cell (bounds checks are not accesses).
    bytes_len: usize,
    /// The port's shared futexes: one queue of waiters, in arrival order, under one loom mutex
    /// (the real port's kernel keeps shared futex queues; this is the smallest sound one).
    shared: Mutex<Vec<SharedWaiter>>,
    /// Virtual time, in ns; a timeout advances it to its deadline.
    clock: StdAtomicU64,
}

impl LoomKernel {
    /// A kernel with `words.len()` user words holding `words`, no plain memory, and the calling
    /// thread (the model's main thread) registered as `Tid(0)`.
    pub fn new(words: &[u32]) -> Self {
        Self::with_bytes(words, &[])
    }

    /// As [`LoomKernel::new`], with `bytes.len()` bytes of plain user memory at [`BYTES_BASE`]
    /// holding `bytes`.
    pub fn with_bytes(words: &[u32], bytes: &[u8]) -> Self {
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
            bytes: Plain(loom::cell::UnsafeCell::new(bytes.to_vec())),
            bytes_len: bytes.len(),
            shared: Mutex::new(Vec::new()),
            clock: StdAtomicU64::new(0),
        }
    }

    /// Spawns a loom thread registered with this kernel; returns its handle and loom's join
    /// handle. loom's `spawn` is not a scheduling point, so the new thread cannot run before its
    /// record is complete.
    pub fn spawn_thread<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> (Tid, loom::thread::JoinHandle<R>) {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert!(
            i < self.records.len(),
            "loom allows at most MAX_THREADS threads"
        );
        // 1 MiB: loom's default coroutine stack is too small for `futex_waitv`, whose frame
        // holds its waiter nodes (up to 128, each larger under loom than in a normal build).
        let handle = loom::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                ME.with(|me| me.set(i));
                f()
            })
            .expect("loom spawns");
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

    /// The user address of byte `off` of the plain memory.
    pub fn bytes_addr(&self, off: usize) -> usize {
        assert!(off <= self.bytes_len, "no byte {off}");
        BYTES_BASE + off
    }

    /// The model's own (user-level, non-atomic) read of plain bytes `off..off + buf.len()`.
    /// loom records it as a read of the whole plain memory.
    pub fn read_bytes(&self, off: usize, buf: &mut [u8]) {
        self.bytes.0.with(|p| {
            // SAFETY: loom runs one thread at a time and the reference does not outlive the
            // closure; loom reports (panics on) any write to the cell not ordered with this read
            // by happens-before, so the model never relies on a racy access.
            let bytes = unsafe { &*p };
            buf.copy_from_slice(&bytes[off..off + buf.len()]);
        });
    }

    /// The model's own (user-level, non-atomic) write of `data` to plain bytes
    /// `off..off + data.len()`. loom records it as a write of the whole plain memory.
    pub fn write_bytes(&self, off: usize, data: &[u8]) {
        self.bytes.0.with_mut(|p| {
            // SAFETY: as in `read_bytes`, for any access not ordered with this write.
            let bytes = unsafe { &mut *p };
            bytes[off..off + data.len()].copy_from_slice(data);
        });
    }

    /// A deadline `ns` after the current virtual time.
    pub fn deadline_after(&self, ns: u64) -> Deadline {
        Deadline::after(ClockId::Monotonic, self.now(ClockId::Monotonic), ns)
    }

    /// How many times thread `t` has entered `Notify::wait`. The futex engine calls it only
    /// after the waiter is queued and the bucket unlocked, so a model can use this to start
    /// the rest of a scenario once a waiter is asleep (see [`crate::Model::until_waiting`]).
    /// Sets thread `t`'s own priority (before it runs lintel code).
    pub fn set_priority(&self, t: Tid, prio: i32) {
        self.record(t)
            .priority
            .store(prio, std::sync::atomic::Ordering::Relaxed);
    }

    /// What lintel last told the port thread `t` inherits.
    pub fn told_inherited(&self, t: Tid) -> i32 {
        self.record(t)
            .inherited
            .load(std::sync::atomic::Ordering::Relaxed)
    }

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

    /// How many times thread `t` has called `UserMemory::read` (a PI unlock reads the word
    /// once per attempt, so a model can tell that an unlock started again).
    pub fn reads(&self, t: Tid) -> usize {
        self.record(t)
            .reads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many times thread `t` was kicked (`Interrupt::kick`: the signal layer kicks the
    /// thread it tells about a deliverable signal), so a model can tell whether a sender
    /// notified it.
    pub fn kicks(&self, t: Tid) -> usize {
        self.record(t)
            .kicks
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn record(&self, t: Tid) -> &Record {
        &self.records[t.0]
    }

    /// Whether `Shared` waiter `t` is still queued (callers hold the queue's lock).
    fn shared_position(queue: &[SharedWaiter], t: Tid) -> Option<usize> {
        queue.iter().position(|w| w.thread == t)
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

/// The offset of `[addr, addr + len)` in a region of `size` bytes at `base`, if it lies wholly
/// inside.
fn region(base: usize, size: usize, addr: usize, len: usize) -> Option<usize> {
    let off = addr.checked_sub(base)?;
    (off.checked_add(len)? <= size).then_some(off)
}

// SAFETY: `current` reads a loom thread-local set before the thread runs any model code and
// distinct per thread (records are never reused within an execution); records live as long as
// the kernel, so every handle stays memory-safe; `is_dead` is true only after `exit_current`
// took its last step (the loom thread then only unwinds to `Model::spawn`'s wrapper and ends,
// touching no model memory).
unsafe impl Threads for LoomKernel {
    type Thread = Tid;

    fn current(&self) -> Tid {
        Tid(ME.with(Cell::get))
    }

    fn tid(&self, thread: Tid) -> i32 {
        thread.0 as i32 + 1
    }

    fn priority(&self, thread: Tid) -> i32 {
        self.record(thread)
            .priority
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn inherit_priority(&self, thread: Tid, prio: i32) {
        self.record(thread)
            .inherited
            .store(prio, std::sync::atomic::Ordering::Relaxed);
    }

    /// Not modelled: models start threads with [`crate::Model::spawn`].
    unsafe fn spawn(&self, _spec: &SpawnSpec) -> Result<Tid, Errno> {
        Err(Errno::ENOSYS)
    }

    /// Linux's `mm_release` for `CLONE_CHILD_CLEARTID`: stores 0 to the word at `clear_tid`
    /// (`Release`: the store hands the thread's memory to whoever sees the 0) and wakes one
    /// waiter of the shared futex there; a `clear_tid` that is not one of the model's words is
    /// ignored, as Linux ignores a fault. Then the thread is marked dead and the loom thread
    /// ends by unwinding with [`ThreadExit`] to [`crate::Model::spawn`]'s wrapper (only threads
    /// started there may exit). The model's "stack" is its plain memory, which the port never
    /// touches here.
    unsafe fn exit_current(&self, _status: i32, clear_tid: usize) -> ! {
        if clear_tid != 0 {
            if let Ok(word) = self.user_word(clear_tid) {
                word.store(0, Ordering::Release);
                let _ = self.shared_wake(clear_tid, 1, u32::MAX);
            }
        }
        self.record(self.current())
            .exited
            .store(true, std::sync::atomic::Ordering::Relaxed);
        std::panic::resume_unwind(Box::new(ThreadExit))
    }

    fn is_dead(&self, thread: Tid) -> bool {
        self.record(thread)
            .exited
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn yield_now(&self) {
        loom::thread::yield_now();
    }

    /// Not modelled: there is no fork in a model.
    fn after_fork(&self) {}

    fn tid_alive(&self, tid: i32) -> bool {
        tid > 0 && (tid as usize) <= self.records.len() && !self.is_dead(Tid(tid as usize - 1))
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

    fn locals_of(&self, thread: Tid) -> &[StdAtomicUsize; lintel_kernel::LOCAL_WORDS] {
        &self.record(thread).locals
    }

    /// Every thread started so far (a model's threads are fixed up front).
    fn for_each_thread(&self, f: &mut dyn FnMut(Tid)) {
        let n = self.next.load(std::sync::atomic::Ordering::Relaxed);
        for i in 0..n.min(self.records.len()) {
            f(Tid(i));
        }
    }
}

// SAFETY: routes are ignored and nothing ever arrives from outside (a model's signals are all
// generated by its own threads, through the dispatcher); no model builds a frame, so nothing is
// resumed (those paths are exercised on the host port).
unsafe impl Delivery for LoomKernel {
    fn route_signal(&self, _sig: u32, _route: SignalRoute) {}
    fn set_child_flags(&self, _nocldstop: bool, _nocldwait: bool) {}
    fn block_arrivals(&self, _mask: u64) {}

    fn take_arrival(&self) -> Option<Arrival> {
        None
    }

    unsafe fn resume(&self, _uc: usize, _redeliver: bool) -> ! {
        panic!("LoomKernel: contexts are not modelled")
    }

    unsafe fn on_delivery_stack(&self, _f: extern "C" fn(usize) -> !, _arg: usize) -> ! {
        panic!("LoomKernel: delivery stacks are not modelled")
    }

    fn raise_default(&self, sig: u32) {
        panic!("LoomKernel: default action of signal {sig} is not modelled")
    }

    fn fpstate_size(&self) -> usize {
        0
    }

    unsafe fn save_fpstate(&self, _dst: usize) {}
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

// SAFETY: every access is to a loom atomic or the loom cell the kernel owns, or `EFAULT`
// without an access; `load_u32` is `Acquire` (the weakest the contract allows, so the models do
// not get ordering for free from the port) and `cmpxchg_u32` is `SeqCst`; addresses at or above
// `USER_END` are never mapped.
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

    /// A plain copy (as the real port's fault-tolerant `memcpy`) from a range that lies wholly
    /// in the words or wholly in the plain bytes, else `EFAULT`. Words are read with one
    /// `Relaxed` load each (the weakest ordering: a copy promises none; `unlock_pi` reads its
    /// word this way, as Linux's `get_user`); plain bytes with one loom-tracked read of the
    /// cell (the robust-list walk reads its head and entries this way).
    fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let me = self.record(self.current());
        me.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let len = buf.len();
        if len == 0 {
            return Ok(());
        }
        if let Some(off) = region(USER_BASE, 4 * self.words.len(), addr, len) {
            for i in off / 4..=(off + len - 1) / 4 {
                let word = self.words[i].load(Ordering::Relaxed).to_ne_bytes();
                for (j, byte) in word.iter().enumerate() {
                    let at = (4 * i + j).wrapping_sub(off);
                    if at < len {
                        buf[at] = *byte;
                    }
                }
            }
            Ok(())
        } else if let Some(off) = region(BYTES_BASE, self.bytes_len, addr, len) {
            self.read_bytes(off, buf);
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// Not modelled: `EFAULT`.
    unsafe fn write(&self, _addr: usize, _buf: &[u8]) -> Result<(), Errno> {
        Err(Errno::EFAULT)
    }
}

// SAFETY: `shared_wait` compares the word and queues the waiter under the queue's loom mutex,
// and `shared_wake` dequeues under the same mutex after the waker's store (the callers' order),
// so a waiter blocks only if it read `expected` after every wake that happened before its
// enqueue (a wake whose critical section came first also made its store visible to the
// waiter's load, through the mutex). A wake dequeues in arrival order and signals after
// unlocking; a waiter returns `Ok` exactly when a wake dequeued it (a token that finds it still
// queued is stale and it sleeps again), and a timeout or interruption dequeues it and returns
// `ETIMEDOUT` or `Interrupted` without consuming a wake ([`Notify::wait`] returns promptly on
// an interrupt). `shared_waitv` queues every entry under the same mutex after comparing its
// word, and returns after one `Notify::wait`: `Woken(i)` if a wake dequeued entry `i` (the
// highest), else `Notified` (the token that ended the wait was consumed by it), `ETIMEDOUT` or
// `Interrupted`, every entry of the thread removed. `EFAULT` for a word the model does not
// have. Requeue, wake-op, PI and requeue-PI are not modelled (`ENOSYS`, no effect).
unsafe impl SharedFutex for LoomKernel {
    fn shared_wait(
        &self,
        addr: usize,
        expected: u32,
        bitset: u32,
        deadline: Option<Deadline>,
    ) -> Result<(), SharedWaitError> {
        let word = self.user_word(addr).map_err(SharedWaitError::Errno)?;
        let me = self.current();
        {
            let mut queue = self
                .shared
                .lock()
                .expect("no model thread panics holding it");
            if word.load(Ordering::Acquire) != expected {
                return Err(SharedWaitError::Errno(Errno::EAGAIN));
            }
            queue.push(SharedWaiter {
                addr,
                bitset,
                thread: me,
                index: 0,
            });
        }
        loop {
            let why = self.wait(deadline);
            let mut queue = self
                .shared
                .lock()
                .expect("no model thread panics holding it");
            let Some(i) = Self::shared_position(&queue, me) else {
                // A wake dequeued us: woken, whatever else happened ([LIFETIME]).
                return Ok(());
            };
            match why {
                Wakeup::Notified => continue, // a stale token: sleep again
                Wakeup::TimedOut => {
                    queue.remove(i);
                    return Err(SharedWaitError::Errno(Errno::ETIMEDOUT));
                }
                Wakeup::Interrupted => {
                    queue.remove(i);
                    return Err(SharedWaitError::Interrupted);
                }
            }
        }
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

    fn shared_wait_requeue_pi(
        &self,
        _addr: usize,
        _expected: u32,
        _deadline: Option<Deadline>,
        _addr2: usize,
    ) -> Result<(), SharedWaitError> {
        Err(SharedWaitError::Errno(Errno::ENOSYS))
    }

    fn shared_cmp_requeue_pi(
        &self,
        _addr: usize,
        _addr2: usize,
        _nr_wake: i32,
        _nr_requeue: i32,
        _expected: u32,
    ) -> Result<u32, Errno> {
        Err(Errno::ENOSYS)
    }

    fn shared_waitv(
        &self,
        entries: &[(usize, u32)],
        deadline: Option<Deadline>,
    ) -> Result<SharedWaitv, SharedWaitError> {
        let me = self.current();
        let mut words = Vec::new();
        for &(addr, _) in entries {
            words.push(self.user_word(addr).map_err(SharedWaitError::Errno)?);
        }
        let remove_mine = |queue: &mut Vec<SharedWaiter>| queue.retain(|w| w.thread != me);
        {
            let mut queue = self
                .shared
                .lock()
                .expect("no model thread panics holding it");
            for (i, (&(addr, val), word)) in entries.iter().zip(&words).enumerate() {
                if word.load(Ordering::Acquire) != val {
                    remove_mine(&mut queue);
                    return Err(SharedWaitError::Errno(Errno::EAGAIN));
                }
                queue.push(SharedWaiter {
                    addr,
                    bitset: u32::MAX,
                    thread: me,
                    index: i,
                });
            }
        }
        let why = self.wait(deadline);
        let mut queue = self
            .shared
            .lock()
            .expect("no model thread panics holding it");
        // A wake dequeued an entry: woken, whatever else happened ([LIFETIME]).
        let woken =
            (0..entries.len()).rfind(|&i| !queue.iter().any(|w| w.thread == me && w.index == i));
        remove_mine(&mut queue);
        match (woken, why) {
            (Some(i), _) => Ok(SharedWaitv::Woken(i)),
            (None, Wakeup::Notified) => Ok(SharedWaitv::Notified),
            (None, Wakeup::TimedOut) => Err(SharedWaitError::Errno(Errno::ETIMEDOUT)),
            (None, Wakeup::Interrupted) => Err(SharedWaitError::Interrupted),
        }
    }

    fn shared_wake(&self, addr: usize, nr_wake: i32, bitset: u32) -> Result<u32, Errno> {
        self.user_word(addr)?;
        let max = nr_wake.max(1) as usize;
        let mut woken = Vec::new();
        self.shared
            .lock()
            .expect("no model thread panics holding it")
            .retain(|w| {
                let wake = woken.len() < max && w.addr == addr && w.bitset & bitset != 0;
                if wake {
                    woken.push(w.thread);
                }
                !wake
            });
        for &t in &woken {
            self.signal(t);
        }
        Ok(woken.len() as u32)
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

// SAFETY: the hook is never run (a model has no front door, so there is no register file to
// hand it): every kick is posted, with a `Release` swap on the target's record, and the
// target's next `leave` reports it and clears it with an `Acquire` swap (RMWs, so a post is
// never lost). That is the contract for a target inside a span; a model thread outside a span
// is between two dispatcher calls, with no user code to interrupt, and its next call's `leave`
// reports the kick, so that call's delivery point runs again where the hook would have run one.
unsafe impl Interrupt for LoomKernel {
    fn set_interrupt_hook(&self, _hook: InterruptHook) {}

    fn kick(&self, thread: Tid) {
        let r = self.record(thread);
        r.kicks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A swap, not a store: see `Record::token`.
        r.kicked.swap(true, Ordering::Release);
    }

    fn enter(&self) {}

    fn leave(&self) -> bool {
        self.record(self.current())
            .kicked
            .swap(false, Ordering::Acquire)
    }
}

// SAFETY: no syscall is modelled: while the interrupted flag is set every call is
// `Interrupted` (with no effect), otherwise it fails with `ENOSYS` and has no effect, as Linux
// does for an unknown syscall number.
unsafe impl Passthrough for LoomKernel {
    unsafe fn passthrough(&self, _nr: usize, _args: [usize; 6]) -> Passed {
        if self.is_interrupted() {
            Passed::NotStarted
        } else {
            Passed::Done(Errno::ENOSYS.to_ret())
        }
    }
}
