//! # lintel-signals: Linux signal bookkeeping, the foundation of lintel's emulated signals
//!
//! **Not yet wired: signals still pass through to the host.** This crate holds the state and
//! the rules; the dispatcher does not route any signal syscall here yet, and nothing is
//! delivered. `docs/signals.md` has the delivery plan.
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
//! | [`process`] | [`Signals`]: the process's state under one lock, and the syscall edges |
//! | [`lock`] | that lock, and the crate's single memory-ordering argument |
//!
//! ## Where per-thread state lives
//! A thread's blocked mask and thread-directed pending set are in the port's per-thread words
//! ([`lintel_kernel::Threads::locals`], range
//! [`slots::SIGNALS`](lintel_kernel::thread::slots::SIGNALS)). The caller builds a
//! [`ThreadSignals`] view from them. For the *calling* thread that works today; operations that
//! touch other threads (`tkill`, flushing on `SIG_IGN`, picking a thread for `kill`) take the
//! views through a [`ThreadList`], which needs a way to reach another live thread's words: a
//! port accessor (`Threads::locals_of(thread)`) and a walk of the process's threads (the clone
//! layer's registry). Neither exists yet.
//!
//! ## Constraints
//! `#![no_std]`, no allocation (the siginfo queue is a fixed pool), no C library; nothing here
//! panics on a syscall argument.
#![no_std]

pub mod action;
pub mod deliver;
pub mod frame;
pub mod lock;
pub mod mask;
pub mod pending;
pub mod process;
pub mod siginfo;
pub mod sigset;
mod sync;

pub use action::{Actions, DefaultAction, KSigaction, SIG_DFL, SIG_IGN};
pub use lintel_kernel::Errno;
pub use mask::{How, ThreadSignals};
pub use pending::{PendingQueue, Queued};
pub use deliver::{FpSource, FrameFault, setup_frame};
pub use process::{DEFAULT_QUEUE, ForkGuard, SIGSET_SIZE, Sent, Signals, Target, ThreadList};
pub use siginfo::SigInfo;
pub use sigset::{SigSet, Signal};
