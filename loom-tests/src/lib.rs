//! # lintel-loom-tests: loom models of the real futex engine and thread exit
//!
//! [loom](https://docs.rs/loom) runs a small concurrent program under every interleaving (up to
//! a preemption bound) and every outcome the C11 memory model allows for its atomics, and
//! reports any that panics, races on an `UnsafeCell`, or deadlocks. This crate runs the *real*
//! `lintel_futex::FutexTable` that way: `lintel-futex` switches its atomics, cells and spin hint
//! to loom's under `cfg(lintel_loom)` (its private `sync` facade), and this crate provides the
//! other half, a port of every `lintel-kernel` trait onto loom primitives (`LoomKernel`). The
//! models also run `lintel-clone`'s real thread exit (`exit_thread`: the robust-list walk, then
//! the clear-tid step): that code reaches shared state only through the port, so it needs no
//! facade.
//!
//! Nothing here is compiled in a normal build: `cargo test --workspace` builds an empty library
//! and empty test binaries. The models run only with the cfg set:
//!
//! ```text
//! bash loom-tests/run.sh                          # the CI budget: LOOM_MAX_PREEMPTIONS=2
//! LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh   # a quick run
//! bash loom-tests/run.sh --test requeue           # one model file
//! bash loom-tests/run.sh stale_token              # a test-name filter
//! ```
//!
//! `run.sh` builds with `RUSTFLAGS="--cfg lintel_loom -C debug-assertions"`, `--release`, into
//! `target/loom` (so the normal build's artifacts are not invalidated). To debug a failing
//! model, run it alone with `LOOM_LOG=1 LOOM_LOCATION=1` (and see loom's docs for
//! `LOOM_CHECKPOINT_FILE`).
//!
//! # The port (`LoomKernel`)
//!
//! | trait | under loom |
//! | --- | --- |
//! | `Threads` | a handle is `Tid`, an index into the kernel's table of per-thread records (Linux tid `index + 1`); threads are started with `Model::spawn`; `exit_current` does the clear-tid step and ends the loom thread (below); `is_dead` and `tid_alive` know which threads exited |
//! | `Notify` | per record: a loom `AtomicBool` token, a loom `AtomicBool` interrupted flag and the loom `Thread` to unpark; an untimed wait parks; a **timed wait is a nondeterministic timer** (below) |
//! | `Clock` | a virtual clock that a timeout advances to its deadline |
//! | `UserMemory` | a tiny simulated address space: word `i` is a loom `AtomicU32` at `USER_BASE + 4 * i`; `Model::with_bytes` adds plain (non-atomic) bytes at `BYTES_BASE`, one loom `UnsafeCell`; `read` copies from either region (`Relaxed` loads of the words it overlaps; a loom-tracked read of the cell); `write` and everything else is `EFAULT` |
//! | `SharedFutex` | `shared_wait` and `shared_wake` on one FIFO queue under a loom `Mutex` (compare and enqueue under it; dequeue under it, signal after; the same token as `Notify`, a token that finds its waiter still queued is stale); requeue, wake-op and PI: `ENOSYS` |
//! | `Passthrough` | not modelled: `Interrupted` while the flag is set, else `ENOSYS` |
//! | `Interrupt` | spans are no-ops; no hook runs: a `kick` is posted on the target's record (a loom `AtomicBool`) and its next `leave` reports it |
//!
//! **Timeouts.** loom has no time. `wait(Some(deadline))` checks the token and the interrupted
//! flag, yields (so every other thread may run first, without spending the preemption budget),
//! checks again, and otherwise returns `TimedOut`. So a timed waiter's timer may fire at any
//! point relative to the other threads, which is what a timeout-versus-wake race needs; it
//! never sleeps beyond that. (`yield_now` is only a scheduling point, not the sleep itself, so
//! loom issue #306 does not apply.)
//!
//! **Thread exit.** `exit_current(clear_tid)` does what Linux's `mm_release` does for
//! `CLONE_CHILD_CLEARTID`: a `Release` store of 0 to the word (a `clear_tid` that is not a
//! model word is ignored, as Linux ignores a fault) and a shared wake of one; then it marks the
//! thread dead and unwinds with the payload `ThreadExit` (`std::panic::resume_unwind`, which
//! skips the panic hook), which `Model::spawn`'s wrapper catches, so the loom thread ends
//! normally; `Spawned::join_exited` checks that it ended that way. The unwind is sound under
//! loom as long as it runs no loom operation: loom stops tracking accesses while
//! `std::thread::panicking()` is true, and that flag belongs to the OS thread all loom threads
//! share, so a thread switch during the unwind would blind loom for the other threads. Hence
//! the rule below for exiting threads.
//!
//! **Rules for models.**
//! - At most 3 threads (loom's `MAX_THREADS` is 5 including the main thread; the state space
//!   grows fast).
//! - The main thread is never a futex waiter: it joins the others, and loom trips an internal
//!   assert when a thread blocked in `join` is unparked (loom issue #249), which a stale wake
//!   token aimed at a waiter that has already returned would do.
//! - Three threads may take bucket locks at once: under `cfg(lintel_loom)` the bucket lock
//!   (`futex/src/lock.rs`) parks a contended locker instead of spinning, because loom cannot
//!   bound a spin loop (two spinners on a preempted holder can alternate forever without a
//!   preemption being counted). Some models still let one waiter fall asleep first
//!   (`Model::until_waiting`) to aim the race at a particular window.
//! - Each model names the outcomes it exists to explore (`Coverage`) and fails if loom never
//!   reached one of them.
//! - One `Model` (hence one `LoomKernel`) per loom execution.
//! - A thread that exits (`lintel_clone::exit_thread`) is one started by `Model::spawn`, and
//!   its frames own no loom object whose drop is a loom operation (a loom `Arc`, a guard, ...):
//!   keep such state in the `Model`. The model's "memory of the exiting thread" (its stack,
//!   its robust-list head) is the plain bytes, which loom race-checks.
//!
//! **A loom gap the port works around.** loom 0.7 does not fully enforce RMW atomicity
//! against a concurrent plain store: an RMW may read its own thread's earlier RMW although
//! another thread's plain store was ordered after it. A wake token written with
//! `store(true)` racing the waiter's `swap(false)` is lost that way (a false lost wakeup), so
//! every write to the token and the interrupted flag is a `swap`.
//!
//! # The models (`tests/`)
//!
//! | file | what it checks |
//! | --- | --- |
//! | `litmus.rs` | the `[ORDER]` store-buffering shape on bare atomics: with the two fences the lost-wakeup outcome is unreachable, without them it is reachable |
//! | `hash.rs` | `bucket_of` agrees with the table's hash (the other models rely on it to place words in chosen buckets) |
//! | `wait_wake.rs` | no lost wakeup (the `[ORDER]` litmus on the real code); two waiters, two `wake(1)`s: exact counts |
//! | `requeue.rs` | a requeue A→B racing a wake on B, the waiter's enqueue, and the waiter's own timeout (the `unqueue` re-check when the node moved): every waiter returns, counts exact |
//! | `wake_op.rs` | the op on the second word and its wakes are atomic for a waiter on that word (one bucket, two buckets in both lock orders, failed comparison) |
//! | `timeout.rs` | timeout versus wake: `Ok` and counted, or `ETIMEDOUT` and not counted; stale tokens; a timeout next to a queued neighbour |
//! | `interrupt.rs` | interrupt versus wake (untimed and timed): the same exclusivity with `FutexError::Restart` |
//! | `pi.rs` | `[PI]` handoff (`lock_pi`/`unlock_pi`): a sleeping waiter gets the lock with `WAITERS \| tid` and releases it to 0; a lock racing the unlock (taken free, handed off, unlock started again); a timed lock: owns it or `ETIMEDOUT`, never both, the lock never lost (and Linux's `EAGAIN` for an unconditional unlock whose waiter came and went); two contenders owning in turn; a late contender. Owners' critical sections are race-checked |
//! | `cleartid.rs` | the CLEARTID join through the real `exit_thread` (`set_tid_address`, empty robust list on the thread's "stack"): a `__tl_sync`-style shared waiter always returns, and once it sees 0 no access of the exited thread's memory is unordered with its freeing it |
//! | `robust.rs` | the robust-list walk at death (`exit_thread`) against a shared waiter on the dead owner's word, mutex on the list or in `list_op_pending`: the waiter always returns and sees `OWNER_DIED \| WAITERS` |
//! | `signals.rs` | the signal layer through the real dispatcher (`Lintel::with_signals`, Linux syscall numbers): `rt_sigtimedwait` and `rt_sigsuspend` against `tkill` (the signal is taken once or ends the suspend with `EINTR`, the mask is restored); a `kill` to the process reaches a thread that does not block it, and is passed on when the thread it picked exits; a mask change racing `tkill` (a standard signal sent twice is pending once, a real-time one twice). An ignored model shows a known bug: a mask change does not pass a process-directed signal on to another thread |
//!
//! **Not modelled.** Shared requeue, wake-op and PI (the port answers `ENOSYS`); `TRYLOCK_PI`,
//! an interrupted `LOCK_PI` (restart) and `ESRCH`/`EDEADLK`; a PI owner's death (lintel queues
//! PI waiters privately and the robust walk does not wake them: a documented limitation,
//! docs/abi.md); a robust PI entry; more than one joiner (musl's `__tl_sync` passes the single
//! clear-tid wake on); `exit_group`; `UserMemory::write`; priorities (every waiter has
//! `NORMAL_PRIORITY`, so queues are FIFO).
//!
//! The whole suite takes seconds at `LOOM_MAX_PREEMPTIONS=2` (and at 3); the
//! models are small on purpose. To check that a model can fail, break the engine in a copy of
//! the tree (remove a fence of `[ORDER]`, the `unqueue` re-check, the handoff in `unlock_pi`,
//! the clear-tid address or the robust walk's wake in `lintel-clone`, ...) and run it there.

#[cfg(lintel_loom)]
mod model;
#[cfg(lintel_loom)]
mod port;

#[cfg(lintel_loom)]
pub use model::{ANY, Coverage, Model, Spawned, bucket_of, check};
#[cfg(lintel_loom)]
pub use port::{BYTES_BASE, LoomKernel, ThreadExit, Tid, USER_BASE};
