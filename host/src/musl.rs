//! The piece of musl's lintel arch that must be machine code inside this port's syscall
//! section: musl's `__clone` contract over the host's clone, for a `CLONE_VM` child that is not
//! a thread (`posix_spawn`). `musl/liblintel` (the static library linked into `lintel-cc`
//! programs) calls it; the cancellation window and the sigreturn entry are liblintel's own.

use crate::arch;

/// musl's `__clone(fn, stack, flags, arg, ptid, tls, ctid)` carried out by the host kernel's
/// `clone`: the child runs `f(arg)` on `stack` and ends the thread with its return value.
/// Returns the child's tid or `-errno`.
///
/// This hands thread creation, `CLONE_SETTLS`, `PARENT_SETTID` and `CHILD_CLEARTID` to the
/// host kernel; it is the interim path until lintel's clone layer emulates them over
/// [`lintel_kernel::Threads::spawn`].
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
    // SAFETY: the caller's contract is the clone syscall's.
    unsafe { arch::lintel_host_clone_passthrough(f, stack, flags, arg, ptid, tls, ctid) }
}
