//! Clone flags: what makes a thread, and Linux's checks.

use lintel_kernel::Errno;
use lintel_kernel::abi::linux as l;

/// The flags of a thread lintel creates. A thread shares everything with its creator: Linux's
/// checks require `CLONE_THREAD ⇒ CLONE_SIGHAND ⇒ CLONE_VM`, and lintel's threads also share
/// the file table, fs context and SysV semaphore undo list, which is all a port's thread can do.
pub const THREAD_REQUIRED: u64 = (l::CLONE_VM
    | l::CLONE_FS
    | l::CLONE_FILES
    | l::CLONE_SIGHAND
    | l::CLONE_THREAD
    | l::CLONE_SYSVSEM) as u64;

/// Flags a thread may add: its thread pointer, the tid stores, and `CLONE_DETACHED` (ignored,
/// as Linux has ignored it since 2.6).
pub const THREAD_OPTIONAL: u64 = (l::CLONE_SETTLS
    | l::CLONE_PARENT_SETTID
    | l::CLONE_CHILD_SETTID
    | l::CLONE_CHILD_CLEARTID
    | l::CLONE_DETACHED) as u64;

/// The exit-signal byte of the flags (`CSIGNAL`).
pub const CSIGNAL: u64 = 0xff;

/// A checked thread-creating flag word.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ThreadFlags(u64);

impl ThreadFlags {
    /// Whether `flag` (a `CLONE_*` bit) is set.
    pub fn has(self, flag: u32) -> bool {
        self.0 & u64::from(flag) != 0
    }
    /// The raw flags.
    pub fn bits(self) -> u64 {
        self.0
    }
}

/// Checks `flags` for a `clone` that creates a thread of this process.
///
/// First Linux's own checks, in `copy_process`'s order, each `EINVAL`:
/// `CLONE_NEWNS | CLONE_FS`, `CLONE_NEWUSER | CLONE_FS`, `CLONE_THREAD` without
/// `CLONE_SIGHAND`, `CLONE_SIGHAND` without `CLONE_VM`. Then lintel's limit: a thread must
/// have all of [`THREAD_REQUIRED`] and nothing outside it and [`THREAD_OPTIONAL`] (besides an
/// exit-signal byte, which Linux ignores for threads); anything else is refused with `EINVAL`
/// (docs/abi.md lists it).
pub fn check_thread_flags(flags: u64) -> Result<ThreadFlags, Errno> {
    let has = |f: u32| flags & u64::from(f) != 0;
    if has(l::CLONE_NEWNS) && has(l::CLONE_FS) {
        return Err(Errno::EINVAL);
    }
    if has(l::CLONE_NEWUSER) && has(l::CLONE_FS) {
        return Err(Errno::EINVAL);
    }
    if has(l::CLONE_THREAD) && !has(l::CLONE_SIGHAND) {
        return Err(Errno::EINVAL);
    }
    if has(l::CLONE_SIGHAND) && !has(l::CLONE_VM) {
        return Err(Errno::EINVAL);
    }
    let rest = flags & !CSIGNAL;
    if rest & THREAD_REQUIRED != THREAD_REQUIRED || rest & !(THREAD_REQUIRED | THREAD_OPTIONAL) != 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(ThreadFlags(flags))
}

/// Whether `flags` asks for a thread of this process (`CLONE_THREAD`), as opposed to a new
/// process (fork, vfork, `posix_spawn`).
pub fn is_thread(flags: u64) -> bool {
    flags & u64::from(l::CLONE_THREAD) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MUSL: u64 = 0x7d0f00;

    #[test]
    fn musl_flags_are_a_thread() {
        let f = check_thread_flags(MUSL).unwrap();
        assert!(f.has(l::CLONE_SETTLS) && f.has(l::CLONE_CHILD_CLEARTID));
        assert!(is_thread(MUSL));
    }

    #[test]
    fn linux_checks_come_first() {
        let t = u64::from(l::CLONE_THREAD);
        let s = u64::from(l::CLONE_SIGHAND);
        let vm = u64::from(l::CLONE_VM);
        assert_eq!(check_thread_flags(t), Err(Errno::EINVAL));
        assert_eq!(check_thread_flags(t | s), Err(Errno::EINVAL));
        assert_eq!(check_thread_flags(s), Err(Errno::EINVAL));
        assert_eq!(
            check_thread_flags(vm | s | t),
            Err(Errno::EINVAL),
            "lintel wants FS|FILES|SYSVSEM too"
        );
        assert_eq!(
            check_thread_flags(MUSL | u64::from(l::CLONE_NEWNS)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            check_thread_flags(MUSL | u64::from(l::CLONE_VFORK)),
            Err(Errno::EINVAL)
        );
        assert!(
            check_thread_flags(MUSL | 17).is_ok(),
            "the exit-signal byte is ignored for threads"
        );
        assert!(check_thread_flags(THREAD_REQUIRED).is_ok());
    }
}
