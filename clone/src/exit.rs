//! Thread identity and thread exit: `gettid`, `set_tid_address`, `exit`.

use crate::local::CLEAR_TID;
use core::sync::atomic::Ordering;
use lintel_kernel::Kernel;

/// `gettid()`.
pub fn gettid<K: Kernel>(kernel: &K) -> i32 {
    kernel.tid(kernel.current())
}

/// The calling thread's clear-tid address (`CLONE_CHILD_CLEARTID` or `set_tid_address`; 0 if
/// none): what `prctl(PR_GET_TID_ADDRESS)` reports.
pub fn tid_address<K: Kernel>(kernel: &K) -> usize {
    kernel.locals()[CLEAR_TID].load(Ordering::Relaxed)
}

/// `set_tid_address(tidptr)`: from now on the calling thread's exit clears `*tidptr` and wakes
/// it (as `CLONE_CHILD_CLEARTID` would); returns the caller's tid. Linux never fails it (the
/// pointer is only used at exit, where a fault is ignored).
pub fn set_tid_address<K: Kernel>(kernel: &K, tidptr: usize) -> i32 {
    kernel.locals()[CLEAR_TID].store(tidptr, Ordering::Relaxed);
    gettid(kernel)
}

/// In the child of a `fork`: the child has neither a clear-tid address nor a robust list
/// (Linux's `copy_process` gives the child none), so the words that held the parent thread's are
/// cleared.
pub fn after_fork<K: Kernel>(kernel: &K) {
    for w in &kernel.locals()[lintel_kernel::thread::slots::CLONE] {
        w.store(0, Ordering::Relaxed);
    }
}

/// `exit(code)` of one thread: ends the calling thread; if it has a clear-tid address
/// (`CLONE_CHILD_CLEARTID` or `set_tid_address`), the port stores 0 there and wakes one shared
/// waiter once the thread is off its stack ([`lintel_kernel::Threads::exit_current`]).
///
/// `code` becomes the process's exit status if this was its last thread, as on Linux.
///
/// # Safety
/// Nothing on the calling thread's stack may be referenced by other threads, except through the
/// clear-tid protocol.
pub unsafe fn exit_thread<K: Kernel>(kernel: &K, code: i32) -> ! {
    // Linux's order (`mm_release`): the robust list first, then the clear-tid store.
    crate::robust::exit_robust_list(kernel);
    let clear = kernel.locals()[CLEAR_TID].load(Ordering::Relaxed);
    // SAFETY: our caller's contract.
    unsafe { kernel.exit_current(code, clear) }
}
