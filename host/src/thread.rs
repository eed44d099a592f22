//! Threads: handles, raw `clone` threads, exit, death detection; and [`spawn_raw`], a test and
//! benchmark convenience.
//!
//! A spawned thread is a raw `clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
//! CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID)` — no `CLONE_SETTLS`, `SETTID` or
//! `PARENT_SETTID` (lintel's `clone` layer does those itself). `CHILD_CLEARTID` points at the
//! port-private `exited` word of the new thread's TCB, so `is_dead` is a load of that word.
//!
//! Spawn sequence:
//! 1. the parent claims a TCB, writes the hand-off (entry, arg, FS base), blocks all signals
//!    (so none can land on the child before it has its own GS base and signal stack: a
//!    `CLONE_VM` child starts with no sigaltstack), saves the old mask in the TCB and clones;
//! 2. the child (assembly, then `child_start`) sets its GS base to its TCB, its FS base if
//!    asked, installs its host sigaltstack, stores its tid, restores the mask, calls
//!    `entry(arg)` and exits with the raw `exit` syscall (never `exit_group`);
//! 3. the parent restores its mask and stores the tid too (whichever comes first).
//!
//! # Raw threads in a glibc process
//! In Rust tests and benchmarks, raw threads run inside a glibc process and, unless given a
//! thread pointer, share their creator's `%fs`: **their code must not call std or glibc** — no
//! `println!`, no allocation, no thread-locals, no panics (the panic machinery uses TLS). Only
//! atomics, raw memory and lintel/`lintel-host` calls.

use core::fmt;
use core::sync::atomic::Ordering;

use lintel_kernel::{Clock, ClockId, Errno, SpawnSpec, Threads};
use linux_raw_sys::general as g;

use crate::arch;
use crate::init::{self, PID};
use crate::syscall;
use crate::tcb::{self, ADOPTED, FREE, RAW, Tcb};
use crate::{HOST, Host};

/// A handle to a thread: its record plus the record's generation when the handle was made.
///
/// Copy, comparable and always memory-safe to use (records are never unmapped). A handle whose
/// record was recycled for another thread is *stale*: `is_dead` is `true` for it, `signal`,
/// `interrupt` and `kick` ignore it (a race may still let one reach the new owner as a spurious
/// wakeup, which lintel tolerates).
#[derive(Copy, Clone)]
pub struct Thread {
    tcb: &'static Tcb,
    generation: u32,
    /// The tid, copied so that a stale handle still names its own (dead) thread.
    tid: i32,
}

impl Thread {
    /// A handle to the thread that now owns `tcb` (whose tid is known).
    pub(crate) fn new(tcb: &'static Tcb) -> Thread {
        Thread {
            tcb,
            generation: tcb.generation.load(Ordering::Acquire),
            tid: tcb.tid.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn tcb(&self) -> &'static Tcb {
        self.tcb
    }

    /// The tid this handle names.
    pub(crate) fn tid(&self) -> i32 {
        self.tid
    }

    /// Whether the record still belongs to the thread this handle was made for.
    pub(crate) fn is_current_generation(&self) -> bool {
        self.tcb.generation.load(Ordering::Acquire) == self.generation
    }

    /// The address of the thread's record (its GS base).
    pub fn record_addr(&self) -> usize {
        self.tcb.self_ptr
    }
}

impl PartialEq for Thread {
    fn eq(&self, other: &Thread) -> bool {
        core::ptr::eq(self.tcb, other.tcb) && self.generation == other.generation
    }
}
impl Eq for Thread {}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("record", &(self.tcb.self_ptr as *const u8))
            .field("generation", &self.generation)
            .field("tid", &self.tid)
            .finish()
    }
}

/// The clone flags of a spawned thread (see the module docs).
const CLONE_FLAGS: u32 = g::CLONE_VM
    | g::CLONE_FS
    | g::CLONE_FILES
    | g::CLONE_SIGHAND
    | g::CLONE_THREAD
    | g::CLONE_SYSVSEM
    | g::CLONE_CHILD_CLEARTID;

/// The Rust half of a new thread's start, called from the clone stub on the new stack with
/// every signal blocked. Uses no C library and no TLS.
///
/// # Safety
/// Only the clone stub calls it, with the TCB the parent prepared for this thread.
pub(crate) unsafe extern "C" fn child_start(tcb: *const Tcb) -> ! {
    // SAFETY: the parent handed us our claimed record, which is never unmapped.
    let t = unsafe { &*tcb };
    // SAFETY: `t` is this thread's record; GS is lintel's slot.
    unsafe { tcb::set_gs_base(t.self_ptr) };
    if t.spawn_has_fs.load(Ordering::Relaxed) != 0 {
        // SAFETY: the spawner asked for this thread pointer; nothing ran on this thread yet.
        unsafe { tcb::set_fs_base(t.spawn_fs.load(Ordering::Relaxed)) };
    }
    t.owner_fs.store(tcb::fs_base(), Ordering::Relaxed);
    tcb::install_altstack(t);
    t.tid.store(syscall::gettid(), Ordering::Relaxed);
    let mask = t.spawn_mask.load(Ordering::Relaxed);
    // SAFETY: restores the mask the spawner had; GS and the signal stack are ready.
    unsafe { syscall::sigprocmask(g::SIG_SETMASK, &mask, core::ptr::null_mut()) };
    let entry = t.spawn_entry.load(Ordering::Relaxed);
    let arg = t.spawn_arg.load(Ordering::Relaxed);
    // SAFETY: `entry` is the `unsafe extern "C" fn(usize)` from the SpawnSpec, whose caller
    // promised it is safe to call with `arg` on the new thread.
    let entry: unsafe extern "C" fn(usize) = unsafe { core::mem::transmute(entry) };
    // SAFETY: as above.
    unsafe { entry(arg) };
    syscall::exit_thread()
}

// SAFETY: `current` reads the GS base, which only this thread's own code sets, to its own
// record (adopting the thread on first use, re-adopting a thread that merely inherited a
// creator's GS base) — no kernel entry on the hot path with FSGSBASE, and no use of `%fs`
// beyond reading its value. Handles point at records that are never unmapped; a recycled
// record is told apart by its generation. `is_dead` is true only once the kernel cleared the
// CLEARTID word (the thread has left its stack for good), the record was recycled (which
// requires the same), or an adopted owner's tid no longer exists.
unsafe impl Threads for Host {
    type Thread = Thread;

    #[inline]
    fn current(&self) -> Thread {
        Thread::new(tcb::current())
    }

    fn tid(&self, thread: Thread) -> i32 {
        thread.tid
    }

    fn priority(&self, thread: Thread) -> i32 {
        crate::priority::priority(thread)
    }

    fn inherit_priority(&self, thread: Thread, prio: i32) {
        crate::priority::inherit(thread, prio);
    }

    unsafe fn spawn(&self, spec: &SpawnSpec) -> Result<Thread, Errno> {
        // Make the spawner own its GS base first (this also initialises the port). A thread
        // that merely inherited its creator's GS base (pthread_create copies it) would
        // otherwise keep pointing at a record that a child of its own could claim once that
        // creator is dead, and the child, having inherited the spawner's FS base, would pass
        // `current`'s ownership check for the spawner.
        let _ = tcb::current();
        if spec.stack_top == 0 || spec.stack_top % 16 != 0 {
            return Err(Errno::EINVAL);
        }
        let t = tcb::claim().map_err(|_| Errno::ENOMEM)?;
        let generation = t.generation.load(Ordering::Relaxed);
        t.spawn_entry.store(spec.entry as usize, Ordering::Relaxed);
        t.spawn_arg.store(spec.arg, Ordering::Relaxed);
        t.spawn_fs
            .store(spec.thread_pointer.unwrap_or(0), Ordering::Relaxed);
        t.spawn_has_fs
            .store(spec.thread_pointer.is_some() as u32, Ordering::Relaxed);
        t.state.store(RAW, Ordering::Release); // `exited` is 1: not claimable until it dies

        let all: u64 = !0;
        let mut old: u64 = 0;
        // SAFETY: blocks every signal on this thread until the clone is done (restored below).
        unsafe { syscall::sigprocmask(g::SIG_SETMASK, &all, &mut old) };
        t.spawn_mask.store(old, Ordering::Relaxed);
        // SAFETY: the stack is the caller's (valid until is_dead, per the contract); the
        // CLEARTID word and the record outlive the thread; the child runs `child_start`.
        let r = unsafe {
            arch::lintel_host_clone(CLONE_FLAGS as usize, spec.stack_top, t.exited.as_ptr(), t)
        };
        // SAFETY: restores the mask saved above.
        unsafe { syscall::sigprocmask(g::SIG_SETMASK, &old, core::ptr::null_mut()) };
        if r < 0 {
            t.state.store(FREE, Ordering::Release);
            return Err(Errno::from_raw(-r as i32).unwrap_or(Errno::EAGAIN));
        }
        // The child stores its tid in the record itself (before any signal can reach it). The
        // parent must not: the child may already have died and the record been recycled. For
        // the same reason the handle takes the generation set up above and the clone's tid,
        // not whatever the record holds now.
        Ok(Thread {
            tcb: t,
            generation,
            tid: r as i32,
        })
    }

    unsafe fn exit_current(&self, status: i32, clear_tid: usize) -> ! {
        if clear_tid == 0 {
            syscall::exit_thread_with(status)
        }
        let t = tcb::current();
        // The last step runs on this record's host signal stack, which stays reserved until
        // the record is reclaimed (after the thread is dead). Block every signal first so no
        // host handler lands on that stack while we stand on it — except the fault signals:
        // the clear-tid store is a fault-tolerant access, whose fixup *is* the SIGSEGV/SIGBUS
        // handler (a blocked fault signal makes the kernel kill the process instead; Linux
        // ignores a bad clear-tid address). A fault handler nests on the same stack below us.
        let all = !crate::passthrough::FAULT_SIGNALS;
        // SAFETY: blocks signals on the calling thread only.
        unsafe { syscall::sigprocmask(g::SIG_BLOCK, &all, core::ptr::null_mut()) };
        let top = t.altstack() + t.altstack_size;
        // Handed over on this (old) stack, which stays valid until the clear-tid store; the
        // last step copies it out first.
        let last = LastStep { clear_tid, status };
        // SAFETY: `top` is the end of this thread's own signal stack, unused now that every
        // signal but the fault signals is blocked; `exit_clearing` never returns.
        unsafe {
            arch::lintel_host_run_on_stack(top, &last as *const LastStep as usize, exit_clearing)
        }
    }

    fn is_dead(&self, thread: Thread) -> bool {
        let t = thread.tcb;
        if !thread.is_current_generation() {
            return true; // recycled, which requires its previous owner to be dead
        }
        match t.state.load(Ordering::Acquire) {
            // A new owner bumps the generation before it sets `exited` again, so seeing a
            // non-zero `exited` and then the old generation means "our thread, alive".
            RAW => t.exited.load(Ordering::Acquire) == 0 || !thread.is_current_generation(),
            ADOPTED => tcb::owner_gone(t) || !thread.is_current_generation(),
            _ => !thread.is_current_generation(),
        }
    }

    fn yield_now(&self) {
        syscall::sched_yield();
    }

    fn before_fork(&self) {
        // The child would copy every dead thread's signal stack mapping.
        tcb::trim();
    }

    fn after_fork(&self) {
        after_fork_in_child();
    }

    fn tid_alive(&self, tid: i32) -> bool {
        tid > 0
            && syscall::tgkill(init::PID.load(Ordering::Relaxed), tid, 0)
                != -(linux_raw_sys::errno::ESRCH as isize)
    }

    fn thread_pointer(&self) -> usize {
        tcb::fs_base()
    }

    unsafe fn set_thread_pointer(&self, tp: usize) -> Result<(), Errno> {
        let t = tcb::current();
        // SAFETY: the caller's contract.
        unsafe { tcb::set_fs_base(tp) };
        // The record knows its owner by FS base (see `tcb`): keep it in step, so the next
        // `current()` needs no `gettid` to prove ownership.
        t.owner_fs.store(tp, Ordering::Relaxed);
        Ok(())
    }

    fn locals(&self) -> &[core::sync::atomic::AtomicUsize; lintel_kernel::LOCAL_WORDS] {
        &tcb::current().locals
    }

    fn locals_of(
        &self,
        thread: Thread,
    ) -> &[core::sync::atomic::AtomicUsize; lintel_kernel::LOCAL_WORDS] {
        // Records are never unmapped: a stale handle reaches the next owner's words, or a free
        // record's (the contract allows both).
        &thread.tcb.locals
    }

    fn for_each_thread(&self, f: &mut dyn FnMut(Thread)) {
        tcb::for_each(|t| {
            let s = t.state.load(Ordering::Acquire);
            if (s == RAW || s == ADOPTED) && t.tid.load(Ordering::Relaxed) > 0 {
                f(Thread::new(t));
            }
        });
    }
}

/// The last step of `exit_current(clear_tid)`, on the record's own stack: Linux's
/// `CLONE_CHILD_CLEARTID` at thread death (`mm_release`: a put_user of 0, errors ignored, then
/// a shared futex wake of one).
extern "C" fn exit_clearing(last: usize) -> ! {
    use lintel_kernel::UserMemory;
    // SAFETY: `exit_current` passed a `LastStep` on the old stack, valid until the store below.
    let LastStep { clear_tid, status } = unsafe { (last as *const LastStep).read() };
    // SAFETY: the thread registered this word for exactly this store (set_tid_address or
    // CLONE_CHILD_CLEARTID); a fault is ignored, as Linux ignores it.
    let _ = unsafe { crate::HOST.write(clear_tid, &0u32.to_ne_bytes()) };
    // SAFETY: a shared futex wake on a user address; the kernel validates it.
    unsafe { syscall::futex(clear_tid as *const u32, g::FUTEX_WAKE, 1, 0, 0, 0) };
    syscall::exit_thread_with(status)
}

/// What the last step of `exit_current` needs, handed from the old stack.
struct LastStep {
    clear_tid: usize,
    status: i32,
}

/// A raw thread made by [`spawn_raw`], with the stack this crate mapped for it.
///
/// Dropping it without [`join`](RawThread::join) leaks the stack (it cannot be unmapped while
/// the thread may run).
#[derive(Debug)]
pub struct RawThread {
    thread: Thread,
    stack: usize,
    stack_len: usize,
}

/// The default stack size of [`spawn_raw`].
pub const RAW_STACK_SIZE: usize = 256 * 1024;

unsafe extern "C" fn raw_trampoline(pair: usize) {
    // SAFETY: `pair` points at the (f, arg) words spawn_raw wrote at the top of this thread's
    // own stack, above our frame.
    let (f, arg) = unsafe { *(pair as *const (fn(usize), usize)) };
    f(arg);
}

/// Spawns a raw host thread running `f(arg)` on a fresh `mmap`ed stack of
/// [`RAW_STACK_SIZE`] bytes, inheriting the caller's thread pointer.
///
/// **`f` must not call std or glibc** (no printing, allocation, thread-locals or panics): the
/// thread shares the creator's `%fs` and has no C-library thread descriptor of its own. Use
/// atomics and lintel calls only. Returns when the thread exists; [`RawThread::join`] waits.
pub fn spawn_raw(f: fn(usize), arg: usize) -> Result<RawThread, Errno> {
    spawn_raw_with_stack(f, arg, RAW_STACK_SIZE)
}

/// [`spawn_raw`] with a stack of `stack_len` bytes (rounded up to pages; at least one page),
/// above a guard page.
pub fn spawn_raw_with_stack(
    f: fn(usize),
    arg: usize,
    stack_len: usize,
) -> Result<RawThread, Errno> {
    init::ensure_init();
    let page = init::PAGE_SIZE.load(Ordering::Relaxed);
    // One PROT_NONE guard page below the stack: an overflow faults instead of corrupting.
    let len = stack_len.max(page).next_multiple_of(page) + page;
    let stack = syscall::mmap_anon(len, g::PROT_READ | g::PROT_WRITE, g::MAP_STACK)
        .map_err(|e| Errno::from_raw(-e as i32).unwrap_or(Errno::ENOMEM))?;
    // SAFETY: the lowest page of our fresh mapping; nothing uses it.
    unsafe { syscall::mprotect(stack, page, g::PROT_NONE) };
    let top = stack + len;
    let pair = top - 16;
    // SAFETY: the top 16 bytes of the fresh stack mapping; the new thread reads them once.
    unsafe { (pair as *mut (fn(usize), usize)).write((f, arg)) };
    let spec = SpawnSpec {
        entry: raw_trampoline,
        arg: pair,
        stack_top: pair,
        thread_pointer: None,
    };
    // SAFETY: the stack stays mapped until join has seen the thread dead; the trampoline is
    // safe to call with `pair`.
    match unsafe { HOST.spawn(&spec) } {
        Ok(thread) => Ok(RawThread {
            thread,
            stack,
            stack_len: len,
        }),
        Err(e) => {
            // SAFETY: no thread was created; the stack is unused.
            unsafe { syscall::munmap(stack, len) };
            Err(e)
        }
    }
}

impl RawThread {
    /// The thread's handle.
    pub fn thread(&self) -> Thread {
        self.thread
    }

    /// Waits until the thread is dead, then unmaps its stack.
    pub fn join(self) {
        let mut me = self;
        while let Err(again) = me.join_timeout_ns(u64::MAX) {
            me = again;
        }
    }

    /// The `[start, end)` of the mapping this crate made for the thread's stack (guard page
    /// included).
    pub fn stack(&self) -> (usize, usize) {
        (self.stack, self.stack + self.stack_len)
    }

    /// Waits at most `timeout_ns` (monotonic) for the thread to die; on success unmaps its
    /// stack, else gives the thread back.
    pub fn join_timeout_ns(self, timeout_ns: u64) -> Result<(), RawThread> {
        let start = HOST.now(ClockId::Monotonic);
        let t = self.thread.tcb;
        loop {
            if HOST.is_dead(self.thread) {
                // SAFETY: the kernel cleared the CLEARTID word: the thread is off its stack
                // for good.
                unsafe { syscall::munmap(self.stack, self.stack_len) };
                return Ok(());
            }
            let waited = HOST.now(ClockId::Monotonic).saturating_sub(start);
            if waited >= timeout_ns {
                return Err(self);
            }
            // Sleep on the CLEARTID word. The kernel's wake is a *shared* futex wake, so this
            // wait must be shared too (private and shared keys never match). Slices of at most
            // 50 ms bound the latency should the record be recycled under us.
            let slice = (timeout_ns - waited).min(50_000_000);
            let ts = lintel_kernel::abi::Timespec {
                tv_sec: (slice / 1_000_000_000) as i64,
                tv_nsec: (slice % 1_000_000_000) as i64,
            };
            let v = t.exited.load(Ordering::Acquire);
            if v != 0 {
                // SAFETY: valid word and timespec.
                unsafe {
                    syscall::futex(
                        t.exited.as_ptr(),
                        g::FUTEX_WAIT,
                        v,
                        &ts as *const _ as usize,
                        0,
                        0,
                    )
                };
            }
        }
    }
}

/// Call in the child after a host `fork` (on its only thread): refreshes the cached pid and
/// the calling thread's tid, and marks every other raw thread's record dead (those threads do
/// not exist in the child).
pub fn after_fork_in_child() {
    init::ensure_init();
    PID.store(syscall::getpid(), Ordering::Relaxed);
    let me = tcb::current_if_owned_after_fork();
    // Host signals that reached the parent's thread are the parent's.
    me.arrivals.reset();
    // Only live ones are written: a store to every pooled record would copy each record's
    // page (copy-on-write), and a process that once ran thousands of threads forks slowly.
    tcb::for_each(|t| {
        if !core::ptr::eq(t, me)
            && t.state.load(Ordering::Acquire) == RAW
            && t.exited.load(Ordering::Relaxed) != 0
        {
            t.exited.store(0, Ordering::Release);
        }
    });
}
