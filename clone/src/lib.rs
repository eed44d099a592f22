//! # lintel-clone: threads as Linux's `clone` makes them
//!
//! musl creates a thread with `__clone(fn, stack, flags, arg, ptid, tls, ctid)` and the flags
//! `CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
//! CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED`; it learns a
//! thread is gone when the kernel clears `*ctid` and wakes it (a *shared* futex wake), after the
//! thread can no longer touch its stack. This crate gives those semantics over the porting
//! interface: the thread is the port's ([`Threads::spawn`]), and everything Linux does around it
//! (flag checks, `SETTLS`, `PARENT_SETTID`, `CHILD_SETTID`, `CHILD_CLEARTID`,
//! `set_tid_address`, `gettid`, thread exit) is done here.
//!
//! | file | concern |
//! | --- | --- |
//! | `flags.rs` | which flag sets are threads lintel creates, and Linux's `EINVAL` checks |
//! | `thread.rs` | creation: the parent's half and the child's first steps before user code |
//! | `exit.rs` | `set_tid_address`, `gettid`, thread exit with the CLEARTID protocol |
//!
//! Per-thread state lives in the port's [`Threads::locals`] words (see [`local`]), reachable
//! before the C library's TLS exists.
//!
//! | `robust.rs` | `set_robust_list`, `get_robust_list`, the robust-list walk at thread death |
//!
//! Not yet here (docs/abi.md): `exit_group` walking the other threads' robust lists, fork and `posix_spawn`'s `CLONE_VM | CLONE_VFORK` (the dispatcher passes those
//! through for now).
#![no_std]

pub mod exit;
pub mod flags;
pub mod robust;
pub mod thread;

pub use exit::{after_fork, exit_thread, gettid, set_tid_address, tid_address};
pub use flags::{ThreadFlags, check_thread_flags};
pub use thread::{CloneRequest, clone_thread};

#[allow(unused_imports, reason = "doc links")]
use lintel_kernel::Threads;

/// Which of the port's per-thread words ([`Threads::locals`]) this crate uses.
pub mod local {
    use lintel_kernel::thread::slots::CLONE;
    /// The `CLONE_CHILD_CLEARTID` / `set_tid_address` address: cleared and woken at exit.
    pub const CLEAR_TID: usize = CLONE.start;
    /// The `set_robust_list` head.
    pub const ROBUST_HEAD: usize = CLONE.start + 1;
    /// Non-zero once `set_robust_list` was called.
    pub const ROBUST_SET: usize = CLONE.start + 2;
    const _: () = assert!(ROBUST_SET < CLONE.end);
}
