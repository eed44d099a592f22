//! Creating a thread: the parent's half and the child's first steps.
//!
//! ```text
//!  parent (clone_thread)                       child (child_entry, on the new stack)
//!  ----------------------------------------    -------------------------------------------
//!  check flags (EINVAL as Linux)
//!  write the ChildStart record just below
//!  the new stack's top; spawn the port thread
//!  with stack_top = the record,                 copy the record out (its memory is user stack)
//!  thread_pointer = tls if CLONE_SETTLS   ──►   CHILD_SETTID: *ctid = tid
//!                                               PARENT_SETTID: *ptid = tid
//!  PARENT_SETTID: *ptid = tid                   CHILD_CLEARTID: remember ctid (local word)
//!  return tid                                   fn(arg); then exit as SYS_exit would
//! ```
//!
//! `PARENT_SETTID` is stored by both: the child stores it before any user code runs (so the
//! thread sees its own tid in `*ptid`, as musl's lock owners require), the parent before
//! `clone` returns (so the creator sees it too). Both store the same value; the port learns the
//! tid only when its thread exists, which is why the child cannot rely on the parent's store.

use crate::flags::{ThreadFlags, check_thread_flags};
use crate::local::CLEAR_TID;
use core::sync::atomic::Ordering;
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Errno, Kernel, SpawnSpec};

/// The arguments of a thread-creating `clone`, as musl's `__clone` passes them.
#[derive(Copy, Clone, Debug)]
pub struct CloneRequest {
    /// The clone flags.
    pub flags: u64,
    /// The top of the new thread's stack (the child's user code runs below it).
    pub stack: usize,
    /// `CLONE_PARENT_SETTID`'s address.
    pub ptid: usize,
    /// `CLONE_CHILD_SETTID` / `CLONE_CHILD_CLEARTID`'s address.
    pub ctid: usize,
    /// `CLONE_SETTLS`'s thread pointer.
    pub tls: usize,
    /// Per-thread words (`Threads::locals` index, value) the child starts with, stored on the
    /// child before any of its user code runs: how it inherits its creator's signal mask (as
    /// Linux's clone copies `blocked`) without the clone layer knowing about signals.
    pub child_words: [Option<(usize, usize)>; 3],
}

/// What the parent hands the child, on the child's stack.
#[repr(C, align(16))]
struct ChildStart<K: Kernel> {
    kernel: *const K,
    f: unsafe extern "C" fn(usize) -> i32,
    arg: usize,
    flags: ThreadFlags,
    ptid: usize,
    ctid: usize,
    words: [Option<(usize, usize)>; 3],
}

/// musl's `__clone`: creates a thread that runs `f(arg)` on `req.stack` and then exits as
/// `SYS_exit` does with `f`'s return value. Returns the new thread's tid.
///
/// `EINVAL` for flags Linux rejects or lintel does not create as threads
/// ([`check_thread_flags`]); `EINVAL` for a stack top of 0; `EPERM` for a `CLONE_SETTLS` thread
/// pointer outside user space, as Linux; the port's error (e.g. `EAGAIN`) if it cannot create a
/// thread.
///
/// # Safety
/// As Linux's `clone` with these flags: `req.stack` is the top of memory the new thread may use
/// as its stack, `f` is safe to call with `arg` there, and `req.ptid`/`req.ctid`/`req.tls` are
/// what the flags say they are.
pub unsafe fn clone_thread<K: Kernel>(
    kernel: &'static K,
    f: unsafe extern "C" fn(usize) -> i32,
    arg: usize,
    req: &CloneRequest,
) -> Result<i32, Errno> {
    let flags = check_thread_flags(req.flags)?;
    if req.stack == 0 {
        return Err(Errno::EINVAL);
    }
    if flags.has(l::CLONE_SETTLS) {
        // Linux refuses a thread pointer outside user space with EPERM (do_arch_prctl_64).
        lintel_tls::check_thread_pointer(kernel, req.tls)?;
    }
    let start = (req.stack - size_of::<ChildStart<K>>()) & !15;
    let record = ChildStart {
        kernel: kernel as *const K,
        f,
        arg,
        flags,
        ptid: req.ptid,
        ctid: req.ctid,
        words: req.child_words,
    };
    // SAFETY: just below the new stack's top, which the caller gave the new thread; the thread
    // does not exist yet, so nothing else uses this memory.
    unsafe { (start as *mut ChildStart<K>).write(record) };
    let spec = SpawnSpec {
        entry: child_entry::<K>,
        arg: start,
        stack_top: start,
        thread_pointer: flags.has(l::CLONE_SETTLS).then_some(req.tls),
    };
    // SAFETY: the stack is the caller's to give (our contract); `child_entry` is safe to call
    // with the record's address.
    let thread = unsafe { kernel.spawn(&spec) }?;
    let tid = kernel.tid(thread);
    if flags.has(l::CLONE_PARENT_SETTID) {
        // SAFETY: the caller named `ptid` for this store; a fault is ignored (the child's own
        // store, or Linux's EFAULT-free put_user, decides).
        let _ = unsafe { kernel.write(req.ptid, &tid.to_ne_bytes()) };
    }
    Ok(tid)
}

/// The new thread's first code, on its new stack.
unsafe extern "C" fn child_entry<K: Kernel>(start: usize) {
    // SAFETY: the parent wrote the record here before spawning us; we copy it out at once,
    // since the memory is the user's stack from now on.
    let s = unsafe { (start as *const ChildStart<K>).read() };
    // SAFETY: the parent's `&'static K` outlives every thread.
    let kernel = unsafe { &*s.kernel };
    let tid = kernel.tid(kernel.current());
    for (i, v) in s.words.into_iter().flatten() {
        if let Some(w) = kernel.locals().get(i) {
            w.store(v, Ordering::Release);
        }
    }
    if s.flags.has(l::CLONE_CHILD_SETTID) {
        // SAFETY: the creator named `ctid` for this store; Linux ignores a fault here.
        let _ = unsafe { kernel.write(s.ctid, &tid.to_ne_bytes()) };
    }
    if s.flags.has(l::CLONE_PARENT_SETTID) {
        // SAFETY: as above, for `ptid`.
        let _ = unsafe { kernel.write(s.ptid, &tid.to_ne_bytes()) };
    }
    if s.flags.has(l::CLONE_CHILD_CLEARTID) {
        kernel.locals()[CLEAR_TID].store(s.ctid, Ordering::Relaxed);
    }
    // SAFETY: the creator's contract: `f` is safe to call with `arg` on this stack.
    let code = unsafe { (s.f)(s.arg) };
    // SAFETY: `f` returned; nothing on this stack is referenced by anyone.
    unsafe { crate::exit::exit_thread(kernel, code) }
}
