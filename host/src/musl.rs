//! The pieces of musl's lintel arch that must be machine code inside this port's syscall
//! section: a cancellation point with musl's `__syscall_cp_asm` contract, musl's `__clone`
//! contract over the host's clone, and the signal restorer `__lintel_sigreturn` jumps to.
//!
//! `musl/liblintel` (the static library linked into `lintel-cc` programs) calls these; with the
//! `musl-abi` feature this module also defines the symbols musl refers to by name:
//! `__cp_begin`/`__cp_end` (the bounds musl's cancellation handler compares the interrupted PC
//! with) and `__lintel_sigreturn` (musl's `__restore_rt` jumps there with `%rsp` at the frame).

use crate::arch;

/// The outcome of [`syscall_cp`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CpResult {
    /// The syscall ran; its raw result.
    Done(isize),
    /// The cancellation flag was set before the call committed; the call was not made.
    Cancelled,
}

/// A cancellation point: syscall `nr` unless `*cancel` is set at the check just before the
/// `syscall` instruction. While the thread is between the check and the instruction (or
/// blocked in a call that `SA_RESTART` rewinds onto it), its PC is inside [`cp_window`].
///
/// # Safety
/// `cancel` is readable; the arguments are valid for the syscall, as for
/// [`crate::raw_syscall6`].
pub unsafe fn syscall_cp(cancel: *const i32, nr: usize, a: [usize; 6]) -> CpResult {
    // SAFETY: the routine follows the C ABI; the caller vouches for `cancel` and the call.
    let p = unsafe { arch::lintel_host_syscall_cp(cancel, nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if p.flag != 0 {
        CpResult::Cancelled
    } else {
        CpResult::Done(p.value as isize)
    }
}

/// `[begin, end)`: PCs at which a [`syscall_cp`] call is still uncommitted.
pub fn cp_window() -> (usize, usize) {
    arch::labels::cp_window()
}

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

#[cfg(feature = "musl-abi")]
core::arch::global_asm!(
    ".globl __cp_begin",
    ".hidden __cp_begin",
    ".set __cp_begin, __lintel_host_cp_begin", // musl: first PC of the uncommitted range
    ".globl __cp_end",
    ".hidden __cp_end",
    ".set __cp_end, __lintel_host_cp_end", // musl: just past the syscall instruction
    ".globl __lintel_sigreturn",
    ".hidden __lintel_sigreturn",
    ".set __lintel_sigreturn, lintel_host_restore_rt", // musl's __restore_rt jumps here
    options(att_syntax),
);
