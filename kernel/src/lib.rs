//! # lintel-kernel: the porting interface
//!
//! lintel gives a microkernel Linux's futex, clone-with-TLS and signal semantics in userspace.
//! Everything lintel needs from the kernel underneath is in this crate, as a handful of
//! `unsafe trait`s. A port implements them once; the `futex`, `clone`, `tls` and `signals`
//! crates are written against them and nothing else.
//!
//! | trait | what the kernel provides | module |
//! | --- | --- | --- |
//! | [`Threads`] | create, identify, exit threads; learn when a dead thread's stack is free | [`thread`] |
//! | [`Notify`] | a per-thread binary notification with a wake token and an *interrupted* flag | [`notify`] |
//! | [`Clock`] | monotonic and realtime clocks, CPU-time clocks | [`time`] |
//! | [`UserMemory`] | fault-tolerant access to user memory (bad pointers give `EFAULT`) | [`usermem`] |
//! | [`SharedFutex`] | futexes in memory shared between processes | [`shared`] |
//! | [`Interrupt`] | make a running thread enter lintel at its next safe point | [`interrupt`] |
//! | [`Passthrough`] | every syscall lintel does not emulate | [`passthrough`] |
//! | [`Delivery`] | signals from outside, resuming a saved context, native default actions | [`delivery`] |
//!
//! [`Kernel`] is all of them together; it is what the layers above take as a type parameter.
//!
//! The Linux ABI types and constants the traits speak in live in [`abi`] and [`errno`]; the
//! constants come from `linux-raw-sys`, never retyped.
//!
//! `docs/porting.md` explains how each primitive maps onto seL4, Zircon, L4Re/Fiasco, Mach and
//! Redox; the crate `lintel-host` is the reference implementation on Linux.
//!
//! # Why the traits are `unsafe`
//! The layers above trust a port's answers for memory safety: a waiter node lives on the waiting
//! thread's stack and is freed as soon as that thread returns, so a port that reported
//! [`Wakeup::Notified`] without a matching [`Notify::signal`], or that let [`Threads::current`]
//! return another thread's handle, would make lintel touch freed memory. Each trait's `# Safety`
//! section is the contract an implementor signs.
#![no_std]

pub mod abi;
pub mod delivery;
pub mod errno;
pub mod interrupt;
pub mod notify;
pub mod passthrough;
pub mod shared;
pub mod thread;
pub mod time;
pub mod usermem;

pub use delivery::{Arrival, Delivery, SignalRoute};
pub use errno::Errno;
pub use interrupt::{Interrupt, Registers};
pub use notify::{Notify, Wakeup};
pub use passthrough::{Passed, Passthrough};
pub use shared::{SharedFutex, SharedWaitError, SharedWaitv};
pub use thread::{LOCAL_WORDS, NORMAL_PRIORITY, SpawnSpec, Threads};
pub use time::{Clock, ClockId, CpuClock, Deadline};
pub use usermem::UserMemory;

/// Everything lintel needs from a kernel: the porting interface as one bound.
///
/// Implemented automatically for any type that implements all the porting traits.
pub trait Kernel:
    Threads + Notify + Clock + UserMemory + SharedFutex + Interrupt + Passthrough + Delivery + Sync
{
}

impl<T> Kernel for T where
    T: Threads
        + Notify
        + Clock
        + UserMemory
        + SharedFutex
        + Interrupt
        + Passthrough
        + Delivery
        + Sync
{
}
