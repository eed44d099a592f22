//! The piece of musl's lintel arch that must be machine code inside this port's syscall
//! section: musl's `__clone` contract over the host's clone, for a `CLONE_VM` child that is not
//! a thread (`posix_spawn`). `musl/liblintel` (the static library linked into `lintel-cc`
//! programs) calls it; the cancellation window and the sigreturn entry are liblintel's own.

use crate::arch;
use linux_raw_sys::general as nr;

/// musl's `__clone(fn, stack, flags, arg, ptid, tls, ctid)` carried out by the host kernel's
/// `clone`: the child runs `f(arg)` on `stack` and ends the thread with its return value.
/// Returns the child's tid or `-errno`.
///
/// The child starts with every host signal blocked but the fault signals (the parent's host
/// mask is restored once the clone returns): until it has set up its own dispositions it must
/// not run the parent's forwarding handler on memory it shares with the parent (see
/// [`reset_forwarded_in_child`]).
///
/// # Safety
/// As the `clone` syscall with these flags: `stack` is the top of a stack the child may own,
/// `f` is safe to call with `arg` on it, and `ptid`, `tls`, `ctid` are valid for the flags.
pub unsafe fn clone_passthrough(
    f: unsafe extern "C" fn(usize) -> i32,
    stack: usize,
    flags: usize,
    arg: usize,
    ptid: usize,
    tls: usize,
    ctid: usize,
) -> i32 {
    let block = crate::delivery::HANDLER_MASK;
    let mut old = 0u64;
    // SAFETY: blocks signals on the calling thread; restored below.
    unsafe { crate::syscall::sigprocmask(nr::SIG_BLOCK, &block, &mut old) };
    // SAFETY: the caller's contract is the clone syscall's.
    let r = unsafe { arch::lintel_host_clone_passthrough(f, stack, flags, arg, ptid, tls, ctid) };
    // SAFETY: restores the mask saved above.
    unsafe { crate::syscall::sigprocmask(nr::SIG_SETMASK, &old, core::ptr::null_mut()) };
    r
}

/// In a `CLONE_VM` child that is not a thread (before it execs): gives every signal the port
/// forwards to lintel the host's default action instead, so that nothing arriving in the child
/// runs lintel's delivery on the memory it shares with the parent. The routes themselves (in
/// that shared memory) are left alone; ignored signals stay ignored, as exec keeps them.
pub fn reset_forwarded_in_child() {
    crate::delivery::reset_forwarded_in_child();
}

/// `%gs`-relative offsets of the calling thread's delivery stack (its host signal stack): the
/// base, and the size to add for the top. musl's `__restore_rt` jumps to liblintel's sigreturn
/// entry with `%rsp` at the frame, which may sit at the very bottom of a small alternate stack:
/// the entry switches to this stack before it runs any code that pushes (Linux's
/// `rt_sigreturn` touches nothing below the frame either).
pub const DELIVERY_STACK_GS_OFFSETS: (usize, usize) = (
    core::mem::offset_of!(crate::tcb::Tcb, altstack),
    core::mem::offset_of!(crate::tcb::Tcb, altstack_size),
);

/// `%gs`-relative offset of the calling thread's `Interrupt` span flag (a `u32`): the sigreturn
/// entry sets it (as `Interrupt::enter` does) before it switches to the delivery stack, so that
/// no interrupt hook runs on lintel's code there (it would build a frame over that stack).
pub const SPAN_GS_OFFSET: usize = core::mem::offset_of!(crate::tcb::Tcb, span);

/// The calling thread's lintel words (`Threads::locals`) and tid, read through `%gs:0` (its
/// record's self pointer): no `rdgsbase`/`rdfsbase` and no ownership check, for a front door's
/// lock-free path (`lintel::Lintel::sigprocmask_fast_for`).
///
/// # Safety
/// The calling thread's GS base must be its own record. In a lintel-arch program that holds for
/// every thread once the process's first call into lintel has been made (the first thread gets
/// its record in that call, every other thread from lintel's `clone` before it runs) except
/// the child of a `clone` passed through to the host ([`clone_passthrough`] zeroes its GS): a
/// front door that has made such a clone must not call this.
#[inline(always)]
pub unsafe fn own_locals() -> (
    &'static [core::sync::atomic::AtomicUsize; lintel_kernel::LOCAL_WORDS],
    i32,
) {
    // SAFETY: the caller's contract; records are never unmapped.
    let t = unsafe { &*(crate::arch::gs_self() as *const crate::tcb::Tcb) };
    (&t.locals, t.tid.load(core::sync::atomic::Ordering::Relaxed))
}
