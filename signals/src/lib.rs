//! # lintel-signals: Linux signal bookkeeping and frames, the state of lintel's signal layer
//!
//! This crate holds the process's signal state and Linux's rules over it; the dispatcher
//! (`lintel/src/signal.rs`) wires it in: it emulates the signal syscalls with it, drains the
//! port's arrivals (signals from outside) into it, and at every delivery point dequeues from it
//! and builds frames with [`setup_frame`]. `docs/signals.md` has the design.
//!
//! One Linux concept per module, Linux 6.18 as the oracle:
//!
//! | module | Linux concept |
//! | --- | --- |
//! | [`sigset`] | signal numbers, 64-bit `sigset_t`, the unblockable / synchronous / stop / default-ignore sets, `next_signal` |
//! | [`action`] | `struct sigaction` (x86_64 kernel layout), the disposition table, `do_sigaction`, default actions |
//! | [`mask`] | per-thread blocked mask and the thread's signal words, `sigprocmask`'s `how` |
//! | [`pending`] | pending sets and the bounded siginfo queue (coalescing, RT order, `EAGAIN`, `collect_signal`) |
//! | [`siginfo`] | the 128-byte `siginfo_t` and its union layouts, `si_code`s |
//! | [`frame`] | the x86_64 `rt_sigframe`: `ucontext`, `sigcontext`, XSAVE area, placement |
//! | [`deliver`] | writing a frame (`x64_setup_rt_frame`) and the alternate-stack rules |
//! | [`signalfd`] | `struct signalfd_siginfo` (`fs/signalfd.c`'s `signalfd_copyinfo`) |
//! | [`timer`] | POSIX interval timers and `setitimer` (`posix-timers.c`, `itimer.c`): ids, arming, overruns, stale signals |
//! | [`process`] | [`Signals`]: the process's state under one lock, and the syscall edges |
//! | [`lock`] | that lock, and the crate's single memory-ordering argument |
//!
//! ## Where per-thread state lives
//! A thread's blocked mask, thread-directed pending set, saved mask, state and alternate stack
//! are in the port's per-thread words ([`lintel_kernel::Threads::locals`], range
//! [`slots::SIGNALS`](lintel_kernel::thread::slots::SIGNALS)). The caller builds a
//! [`ThreadSignals`] view from them: for the calling thread from `locals()`, for another thread
//! from `Threads::locals_of(thread)`. Operations that touch other threads (`tkill`, flushing on
//! `SIG_IGN`, picking a thread for `kill`) take the views through a [`ThreadList`], which the
//! dispatcher builds from `Threads::for_each_thread`, keeping only threads marked
//! [`LIVE`](process::LIVE).
//!
//! ## Constraints
//! `#![no_std]`, no allocation (the siginfo queue is a fixed pool), no C library; nothing here
//! panics on a syscall argument. The lock's atomics come from a loom facade (`sync`) so that
//! loom models run this crate's real lock.
#![no_std]

pub mod action;
pub mod deliver;
pub mod frame;
pub mod lock;
pub mod mask;
pub mod pending;
pub mod process;
pub mod siginfo;
pub mod signalfd;
pub mod sigset;
mod sync;
pub mod timer;

pub use action::{Actions, DefaultAction, KSigaction, SIG_DFL, SIG_IGN};
pub use deliver::{FpSource, FrameFault, setup_frame};
pub use lintel_kernel::Errno;
pub use mask::{How, ThreadSignals};
pub use pending::{PendingQueue, Queued};
pub use process::{DEFAULT_QUEUE, ForkGuard, SIGSET_SIZE, Sent, Signals, Target, ThreadList};
pub use siginfo::SigInfo;
pub use sigset::{SigSet, Signal};
