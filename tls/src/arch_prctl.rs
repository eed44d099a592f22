//! `arch_prctl(2)`, x86_64's thread-pointer syscall, as Linux 6.18 does it.
//!
//! Linux (`arch/x86/kernel/process_64.c`):
//!
//! ```c
//! SYSCALL_DEFINE2(arch_prctl, int, option, unsigned long, arg2)
//! {
//!     long ret = do_arch_prctl_64(current, option, arg2);   // SET/GET_FS/GS, MAP_VDSO_*, LAM, SHSTK
//!     if (ret == -EINVAL)
//!         ret = do_arch_prctl_common(option, arg2);          // CPUID, XCOMP (arch/x86/kernel/process.c)
//!     return ret;
//! }
//! ```
//!
//! `option` is a C `int`: only the low 32 bits of the first argument count (probed:
//! `0x1_0000_1003` is `ARCH_GET_FS`). What lintel does with each code, and why:
//!
//! | code | Linux 6.18 (probed on this host) | lintel |
//! | --- | --- | --- |
//! | `ARCH_SET_FS` 0x1002 | `EPERM` if `addr >= TASK_SIZE_MAX`, else sets the FS base | **emulated** through [`Threads::set_thread_pointer`], the same check against [`UserMemory::user_end`] |
//! | `ARCH_GET_FS` 0x1003 | `put_user(fsbase, (unsigned long *)addr)`: `EFAULT` on a bad pointer | **emulated**: [`Threads::thread_pointer`] written through [`UserMemory::write`] |
//! | `ARCH_SET_GS` 0x1001 | `EPERM` if `addr >= TASK_SIZE_MAX`, else sets the GS base | **refused** with `EPERM` (see below) |
//! | `ARCH_GET_GS` 0x1004 | `put_user(gsbase, addr)` | **emulated**: writes 0 (see below); `EFAULT` on a bad pointer |
//! | `ARCH_GET_CPUID`/`ARCH_SET_CPUID` 0x1011/0x1012 | the calling thread's CPUID-faulting bit (`ENODEV` where the CPU lacks it) | **passed through**: state of the real thread, not lintel's |
//! | `ARCH_GET_XCOMP_SUPP`…`ARCH_REQ_XCOMP_GUEST_PERM` 0x1021–0x1025 | XSAVE feature permissions (AMX) | **passed through**: FPU state is the kernel's |
//! | `ARCH_MAP_VDSO_X32/32/64` 0x2001–0x2003 | maps a vDSO image (`CONFIG_CHECKPOINT_RESTORE`); `EEXIST` when one is mapped, `EINVAL` for X32 here | **passed through**: memory management |
//! | `ARCH_GET_UNTAG_MASK`…`ARCH_FORCE_TAGGED_SVA` 0x4001–0x4004 | LAM (`CONFIG_ADDRESS_MASKING`); `EINVAL` on this host (not built in) | **refused** with `EINVAL` |
//! | `ARCH_SHSTK_ENABLE`…`ARCH_SHSTK_STATUS` 0x5001–0x5005 | user shadow stacks (`CONFIG_X86_USER_SHADOW_STACK`); `EINVAL` on this host (not built in) | **refused** with `EINVAL` |
//! | anything else | `EINVAL` | **refused** with `EINVAL` |
//!
//! **GS.** On x86_64 lintel's own per-thread slot may live in the GS base (the host port's
//! does: `Threads::current` reads it, and [`Threads::locals`] is found through it), so a
//! program must not move it. `ARCH_SET_GS` is refused with `EPERM`, the errno Linux itself gives
//! for a base it will not accept. `ARCH_GET_GS` reports **0**: the program's view of GS is a
//! register it has never been able to set, and 0 is what Linux reports for a thread that never
//! set it, so the pair stays consistent (set is refused, get says "never set") without
//! handing the program the address of lintel's per-thread record. Refusing the read as well
//! would give an errno Linux never returns for it.
//!
//! **LAM and shadow stacks** are refused as by a kernel built without them (this host's own
//! answer), not passed through: tagged pointers would reach lintel's user-memory checks
//! untagged-unaware (lintel's `access_ok` would say `EFAULT` where Linux untags), and a shadow
//! stack forbids what lintel does to threads' control flow (switching to exit stacks,
//! rewriting contexts for signal delivery and cancellation).
//!
//! Linux's `put_user` of the 8-byte value is one store: on a fault nothing is written. Through
//! [`UserMemory::write`] a pointer whose 8 bytes straddle into an unwritable page may leave the
//! leading bytes written before `EFAULT` is returned (only such a straddling pointer can tell).
//!
//! None of this touches the program's thread pointer as memory (it runs before musl's TLS
//! exists: `__init_tp` calls `ARCH_SET_FS`), and none of it blocks.
//!
//! # References
//! - arch_prctl(2); Linux `arch/x86/kernel/process_64.c` (`do_arch_prctl_64`),
//!   `arch/x86/kernel/process.c` (`do_arch_prctl_common`),
//!   `arch/x86/include/uapi/asm/prctl.h` (the codes).
//! - musl 1.2.3 `src/env/__init_tls.c:14-28` (`__init_tp`: `__set_thread_area`, i.e.
//!   `ARCH_SET_FS`, first thing after the TLS area exists).

use lintel_kernel::{Errno, Threads, UserMemory};

/// The `arch_prctl` codes, from Linux's `arch/x86/include/uapi/asm/prctl.h`.
///
/// `linux-raw-sys` 0.12 carries only `ARCH_SET_FS` (in its x86 `general` modules); it is taken
/// from there on x86_64, the rest are written out with the header's values.
pub mod code {
    /// Set the GS base.
    pub const ARCH_SET_GS: u32 = 0x1001;
    /// Set the FS base (the thread pointer on x86_64).
    #[cfg(target_arch = "x86_64")]
    pub const ARCH_SET_FS: u32 = linux_raw_sys::general::ARCH_SET_FS;
    /// Set the FS base (the thread pointer on x86_64).
    #[cfg(not(target_arch = "x86_64"))]
    pub const ARCH_SET_FS: u32 = 0x1002;
    /// Read the FS base into `*(unsigned long *)addr`.
    pub const ARCH_GET_FS: u32 = 0x1003;
    /// Read the GS base into `*(unsigned long *)addr`.
    pub const ARCH_GET_GS: u32 = 0x1004;
    /// Whether `cpuid` is enabled for the calling thread (the result; `addr` is ignored).
    pub const ARCH_GET_CPUID: u32 = 0x1011;
    /// Enable (`addr != 0`) or disable `cpuid` for the calling thread.
    pub const ARCH_SET_CPUID: u32 = 0x1012;
    /// The XSAVE features the kernel supports, into `*addr`.
    pub const ARCH_GET_XCOMP_SUPP: u32 = 0x1021;
    /// The XSAVE features the process may use, into `*addr`.
    pub const ARCH_GET_XCOMP_PERM: u32 = 0x1022;
    /// Request permission for XSAVE feature `addr` (e.g. 18, AMX tile data).
    pub const ARCH_REQ_XCOMP_PERM: u32 = 0x1023;
    /// `ARCH_GET_XCOMP_PERM` for KVM guests.
    pub const ARCH_GET_XCOMP_GUEST_PERM: u32 = 0x1024;
    /// `ARCH_REQ_XCOMP_PERM` for KVM guests.
    pub const ARCH_REQ_XCOMP_GUEST_PERM: u32 = 0x1025;
    /// Map the x32 vDSO at `addr`.
    pub const ARCH_MAP_VDSO_X32: u32 = 0x2001;
    /// Map the 32-bit vDSO at `addr`.
    pub const ARCH_MAP_VDSO_32: u32 = 0x2002;
    /// Map the 64-bit vDSO at `addr`.
    pub const ARCH_MAP_VDSO_64: u32 = 0x2003;
    /// LAM: the untag mask, into `*addr`.
    pub const ARCH_GET_UNTAG_MASK: u32 = 0x4001;
    /// LAM: enable `addr` tag bits.
    pub const ARCH_ENABLE_TAGGED_ADDR: u32 = 0x4002;
    /// LAM: the maximum number of tag bits, into `*addr`.
    pub const ARCH_GET_MAX_TAG_BITS: u32 = 0x4003;
    /// LAM: allow LAM together with SVA.
    pub const ARCH_FORCE_TAGGED_SVA: u32 = 0x4004;
    /// Enable shadow-stack features `addr`.
    pub const ARCH_SHSTK_ENABLE: u32 = 0x5001;
    /// Disable shadow-stack features `addr`.
    pub const ARCH_SHSTK_DISABLE: u32 = 0x5002;
    /// Lock shadow-stack features `addr`.
    pub const ARCH_SHSTK_LOCK: u32 = 0x5003;
    /// Unlock shadow-stack features `addr` (ptrace only).
    pub const ARCH_SHSTK_UNLOCK: u32 = 0x5004;
    /// The enabled shadow-stack features, into `*addr`.
    pub const ARCH_SHSTK_STATUS: u32 = 0x5005;
}

use code::*;

/// What [`arch_prctl`] did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArchPrctl {
    /// Handled by lintel; the syscall's result (always 0 today).
    Done(usize),
    /// Not lintel's business: the dispatcher hands the *original* call (number 158, both
    /// arguments unchanged) to the port's `Passthrough`.
    PassThrough,
}

/// How lintel handles an `arch_prctl` code (the table in the module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Handling {
    /// lintel implements Linux's semantics over the porting traits.
    Emulated,
    /// Handed to the port unchanged.
    PassThrough,
    /// Refused with this errno, without touching anything.
    Refused(Errno),
}

/// How lintel handles `arch_prctl(code, …)`. Only the low 32 bits of `code` count (Linux's
/// `option` is an `int`).
pub const fn handling(code: usize) -> Handling {
    match code as u32 {
        ARCH_SET_FS | ARCH_GET_FS | ARCH_GET_GS => Handling::Emulated,
        // GS is lintel's per-thread slot (see the module docs).
        ARCH_SET_GS => Handling::Refused(Errno::EPERM),
        ARCH_GET_CPUID | ARCH_SET_CPUID => Handling::PassThrough,
        ARCH_GET_XCOMP_SUPP
        | ARCH_GET_XCOMP_PERM
        | ARCH_REQ_XCOMP_PERM
        | ARCH_GET_XCOMP_GUEST_PERM
        | ARCH_REQ_XCOMP_GUEST_PERM => Handling::PassThrough,
        ARCH_MAP_VDSO_X32 | ARCH_MAP_VDSO_32 | ARCH_MAP_VDSO_64 => Handling::PassThrough,
        // As a kernel built without CONFIG_ADDRESS_MASKING / CONFIG_X86_USER_SHADOW_STACK.
        ARCH_GET_UNTAG_MASK..=ARCH_FORCE_TAGGED_SVA => Handling::Refused(Errno::EINVAL),
        ARCH_SHSTK_ENABLE..=ARCH_SHSTK_STATUS => Handling::Refused(Errno::EINVAL),
        // `do_arch_prctl_common`'s default.
        _ => Handling::Refused(Errno::EINVAL),
    }
}

/// Whether `tp` is a thread pointer Linux would accept: `ARCH_SET_FS` and `CLONE_SETTLS` both
/// refuse `tp >= TASK_SIZE_MAX` with `EPERM` (`do_arch_prctl_64`; `copy_thread` →
/// `set_new_tls` → `do_set_thread_area_64`, probed: `clone(CLONE_SETTLS)` with
/// `tls = 0x7fff_ffff_f000` fails with `EPERM`). Every address below is accepted, 0 and
/// unaligned ones included.
///
/// lintel's `clone` layer must apply the same check to `CLONE_SETTLS`: on the host port a
/// non-canonical thread pointer would otherwise fault in the new thread's `wrfsbase`.
pub fn check_thread_pointer<K: UserMemory + ?Sized>(kernel: &K, tp: usize) -> Result<(), Errno> {
    if tp >= kernel.user_end() {
        Err(Errno::EPERM)
    } else {
        Ok(())
    }
}

/// `arch_prctl(code, addr)` as Linux x86_64 does it, for the calling thread (see the module
/// docs for every code). On [`ArchPrctl::PassThrough`] the caller makes the original call
/// through the port.
///
/// Runs before the C library's TLS exists: it never dereferences the thread pointer, and it
/// takes no locks and never blocks.
///
/// # Safety
/// Call it on the thread that made the syscall, with the program's own two arguments:
/// `ARCH_SET_FS` replaces the calling thread's thread pointer (the program asked for that;
/// lintel itself must not rely on the old one), and `ARCH_GET_FS`/`ARCH_GET_GS` write 8 bytes
/// at `addr` through [`UserMemory::write`], as Linux's `put_user` does.
///
/// # References
/// arch_prctl(2); Linux `arch/x86/kernel/process_64.c` (`do_arch_prctl_64`).
pub unsafe fn arch_prctl<K: Threads + UserMemory + ?Sized>(
    kernel: &K,
    code: usize,
    addr: usize,
) -> Result<ArchPrctl, Errno> {
    match handling(code) {
        Handling::PassThrough => Ok(ArchPrctl::PassThrough),
        Handling::Refused(e) => Err(e),
        Handling::Emulated => match code as u32 {
            ARCH_SET_FS => {
                check_thread_pointer(kernel, addr)?;
                // SAFETY: the program asked for this thread pointer on this thread (our
                // caller's contract); nothing in lintel reads through the old one.
                unsafe { kernel.set_thread_pointer(addr) }?;
                Ok(ArchPrctl::Done(0))
            }
            ARCH_GET_FS => {
                let fs = kernel.thread_pointer() as u64;
                // SAFETY: `addr` is the program's `unsigned long *` output, as Linux's
                // `put_user` takes it (our caller's contract).
                unsafe { put_user_u64(kernel, addr, fs) }
            }
            // The program's GS has never been set (ARCH_SET_GS is refused): it reads as 0.
            // SAFETY: as for ARCH_GET_FS.
            ARCH_GET_GS => unsafe { put_user_u64(kernel, addr, 0) },
            _ => Err(Errno::EINVAL), // `handling` emulates nothing else
        },
    }
}

/// Linux's `put_user` of an `unsigned long`: 8 bytes at `addr`, `EFAULT` if they are not
/// writable user memory.
///
/// # Safety
/// The program handed `addr` to the syscall as its output word.
unsafe fn put_user_u64<K: UserMemory + ?Sized>(
    kernel: &K,
    addr: usize,
    value: u64,
) -> Result<ArchPrctl, Errno> {
    // SAFETY: our caller's contract.
    unsafe { kernel.write(addr, &value.to_ne_bytes()) }?;
    Ok(ArchPrctl::Done(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::{Cell, RefCell};
    use core::sync::atomic::AtomicUsize;
    use lintel_kernel::{LOCAL_WORDS, SpawnSpec};

    const USER_END: usize = 0x7fff_ffff_f000;
    /// The fake user memory: 64 bytes at this address.
    const MEM: usize = 0x1000;

    /// A one-thread port: a thread pointer, 64 bytes of user memory, a log of what happened.
    struct Fake {
        tp: Cell<usize>,
        sets: Cell<usize>,
        mem: RefCell<[u8; 64]>,
        locals: [AtomicUsize; LOCAL_WORDS],
    }

    impl Fake {
        fn new(tp: usize) -> Fake {
            Fake {
                tp: Cell::new(tp),
                sets: Cell::new(0),
                mem: RefCell::new([0xee; 64]),
                locals: [const { AtomicUsize::new(0) }; LOCAL_WORDS],
            }
        }
        fn word(&self, off: usize) -> u64 {
            u64::from_ne_bytes(self.mem.borrow()[off..off + 8].try_into().unwrap())
        }
    }

    // SAFETY: a single-threaded fake; no test spawns or exits through it.
    unsafe impl Threads for Fake {
        type Thread = u32;
        fn current(&self) -> u32 {
            1
        }
        fn tid(&self, _: u32) -> i32 {
            1
        }
        unsafe fn spawn(&self, _: &SpawnSpec) -> Result<u32, Errno> {
            Err(Errno::EAGAIN)
        }
        unsafe fn exit_current(&self, _: i32, _: usize) -> ! {
            unreachable!("the fake never exits")
        }
        fn is_dead(&self, _: u32) -> bool {
            false
        }
        fn yield_now(&self) {}
        fn after_fork(&self) {}
        fn tid_alive(&self, tid: i32) -> bool {
            tid == 1
        }
        fn thread_pointer(&self) -> usize {
            self.tp.get()
        }
        unsafe fn set_thread_pointer(&self, tp: usize) -> Result<(), Errno> {
            self.tp.set(tp);
            self.sets.set(self.sets.get() + 1);
            Ok(())
        }
        fn locals(&self) -> &[AtomicUsize; LOCAL_WORDS] {
            &self.locals
        }
        fn locals_of(&self, _: u32) -> &[AtomicUsize; LOCAL_WORDS] {
            &self.locals
        }
        fn for_each_thread(&self, f: &mut dyn FnMut(u32)) {
            f(1)
        }
    }

    // SAFETY: accesses outside the 64 fake bytes fail with EFAULT and touch nothing.
    unsafe impl UserMemory for Fake {
        fn user_end(&self) -> usize {
            USER_END
        }
        fn load_u32(&self, _: usize) -> Result<u32, Errno> {
            Err(Errno::EFAULT)
        }
        unsafe fn cmpxchg_u32(&self, _: usize, _: u32, _: u32) -> Result<u32, Errno> {
            Err(Errno::EFAULT)
        }
        fn read(&self, _: usize, _: &mut [u8]) -> Result<(), Errno> {
            Err(Errno::EFAULT)
        }
        unsafe fn write(&self, addr: usize, buf: &[u8]) -> Result<(), Errno> {
            let off = addr.checked_sub(MEM).ok_or(Errno::EFAULT)?;
            let end = off.checked_add(buf.len()).ok_or(Errno::EFAULT)?;
            let mut mem = self.mem.borrow_mut();
            mem.get_mut(off..end)
                .ok_or(Errno::EFAULT)?
                .copy_from_slice(buf);
            Ok(())
        }
    }

    fn call(k: &Fake, code: usize, addr: usize) -> Result<ArchPrctl, Errno> {
        // SAFETY: the fake's memory and thread pointer are plain cells.
        unsafe { arch_prctl(k, code, addr) }
    }

    #[test]
    fn set_fs_accepts_every_address_below_task_size_max() {
        let k = Fake::new(0x7000);
        for tp in [0, 1, 0x1234_5000, 0x7fff_ffff_efff, USER_END - 1] {
            assert_eq!(call(&k, ARCH_SET_FS as usize, tp), Ok(ArchPrctl::Done(0)));
            assert_eq!(k.tp.get(), tp);
        }
    }

    #[test]
    fn set_fs_refuses_task_size_max_and_above_with_eperm_and_changes_nothing() {
        let k = Fake::new(0x7000);
        for tp in [
            USER_END,
            0x7fff_ffff_ffff,
            0x8000_0000_0000,
            0xffff_ffff_8100_0000,
            usize::MAX,
        ] {
            assert_eq!(call(&k, ARCH_SET_FS as usize, tp), Err(Errno::EPERM));
        }
        assert_eq!(k.tp.get(), 0x7000);
        assert_eq!(k.sets.get(), 0, "the port was never asked");
    }

    #[test]
    fn get_fs_writes_the_thread_pointer_as_8_bytes() {
        let k = Fake::new(0x7f12_3456_7740);
        assert_eq!(
            call(&k, ARCH_GET_FS as usize, MEM + 8),
            Ok(ArchPrctl::Done(0))
        );
        assert_eq!(k.word(8), 0x7f12_3456_7740);
        assert_eq!(k.mem.borrow()[7], 0xee, "nothing before");
        assert_eq!(k.mem.borrow()[16], 0xee, "nothing after");
        // Unaligned is fine, as on Linux.
        assert_eq!(
            call(&k, ARCH_GET_FS as usize, MEM + 3),
            Ok(ArchPrctl::Done(0))
        );
        assert_eq!(k.word(3), 0x7f12_3456_7740);
    }

    #[test]
    fn get_fs_and_get_gs_report_efault_for_bad_pointers() {
        let k = Fake::new(0x7000);
        for code in [ARCH_GET_FS, ARCH_GET_GS] {
            for addr in [0, 8, MEM + 60, USER_END, usize::MAX - 3] {
                assert_eq!(call(&k, code as usize, addr), Err(Errno::EFAULT));
            }
        }
    }

    #[test]
    fn gs_is_lintels_set_is_eperm_and_get_reports_zero() {
        let k = Fake::new(0x7000);
        for addr in [0, 0x5000, USER_END, usize::MAX] {
            assert_eq!(call(&k, ARCH_SET_GS as usize, addr), Err(Errno::EPERM));
        }
        assert_eq!(call(&k, ARCH_GET_GS as usize, MEM), Ok(ArchPrctl::Done(0)));
        assert_eq!(k.word(0), 0);
        assert_eq!(k.tp.get(), 0x7000, "FS untouched");
    }

    #[test]
    fn only_the_low_32_bits_of_the_code_count() {
        let k = Fake::new(0x7000);
        let hi = 0xdead_beef_0000_0000usize;
        assert_eq!(
            call(&k, hi | ARCH_SET_FS as usize, 0x9000),
            Ok(ArchPrctl::Done(0))
        );
        assert_eq!(k.tp.get(), 0x9000);
        assert_eq!(
            call(&k, hi | ARCH_GET_FS as usize, MEM),
            Ok(ArchPrctl::Done(0))
        );
        assert_eq!(k.word(0), 0x9000);
        assert_eq!(call(&k, hi | ARCH_SET_GS as usize, 0), Err(Errno::EPERM));
        assert_eq!(
            call(&k, hi | ARCH_GET_CPUID as usize, 0),
            Ok(ArchPrctl::PassThrough)
        );
    }

    #[test]
    fn every_code_has_its_documented_route() {
        use Handling::*;
        let table = [
            (ARCH_SET_GS, Refused(Errno::EPERM)),
            (ARCH_SET_FS, Emulated),
            (ARCH_GET_FS, Emulated),
            (ARCH_GET_GS, Emulated),
            (ARCH_GET_CPUID, PassThrough),
            (ARCH_SET_CPUID, PassThrough),
            (ARCH_GET_XCOMP_SUPP, PassThrough),
            (ARCH_GET_XCOMP_PERM, PassThrough),
            (ARCH_REQ_XCOMP_PERM, PassThrough),
            (ARCH_GET_XCOMP_GUEST_PERM, PassThrough),
            (ARCH_REQ_XCOMP_GUEST_PERM, PassThrough),
            (ARCH_MAP_VDSO_X32, PassThrough),
            (ARCH_MAP_VDSO_32, PassThrough),
            (ARCH_MAP_VDSO_64, PassThrough),
            (ARCH_GET_UNTAG_MASK, Refused(Errno::EINVAL)),
            (ARCH_ENABLE_TAGGED_ADDR, Refused(Errno::EINVAL)),
            (ARCH_GET_MAX_TAG_BITS, Refused(Errno::EINVAL)),
            (ARCH_FORCE_TAGGED_SVA, Refused(Errno::EINVAL)),
            (ARCH_SHSTK_ENABLE, Refused(Errno::EINVAL)),
            (ARCH_SHSTK_DISABLE, Refused(Errno::EINVAL)),
            (ARCH_SHSTK_LOCK, Refused(Errno::EINVAL)),
            (ARCH_SHSTK_UNLOCK, Refused(Errno::EINVAL)),
            (ARCH_SHSTK_STATUS, Refused(Errno::EINVAL)),
        ];
        for (code, want) in table {
            assert_eq!(handling(code as usize), want, "code {code:#x}");
        }
        for unknown in [
            0, 1, 0x1000, 0x1005, 0x1010, 0x1013, 0x1020, 0x1026, 0x2000, 0x2004,
        ] {
            assert_eq!(handling(unknown), Refused(Errno::EINVAL), "{unknown:#x}");
        }
        for unknown in [
            0x3001,
            0x4000,
            0x4005,
            0x5000,
            0x5006,
            0xffff_ffff,
            usize::MAX,
        ] {
            assert_eq!(handling(unknown), Refused(Errno::EINVAL), "{unknown:#x}");
        }
    }

    #[test]
    fn refused_and_passed_codes_touch_nothing() {
        let k = Fake::new(0x7000);
        assert_eq!(
            call(&k, ARCH_REQ_XCOMP_PERM as usize, 18),
            Ok(ArchPrctl::PassThrough)
        );
        assert_eq!(
            call(&k, ARCH_SHSTK_STATUS as usize, MEM),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            call(&k, ARCH_GET_UNTAG_MASK as usize, MEM),
            Err(Errno::EINVAL)
        );
        assert_eq!(call(&k, 0x9999, MEM), Err(Errno::EINVAL));
        assert!(k.mem.borrow().iter().all(|&b| b == 0xee));
        assert_eq!(k.sets.get(), 0);
    }

    #[test]
    fn check_thread_pointer_is_the_set_fs_rule() {
        let k = Fake::new(0);
        assert_eq!(check_thread_pointer(&k, 0), Ok(()));
        assert_eq!(check_thread_pointer(&k, USER_END - 1), Ok(()));
        assert_eq!(check_thread_pointer(&k, USER_END), Err(Errno::EPERM));
        assert_eq!(check_thread_pointer(&k, usize::MAX), Err(Errno::EPERM));
    }
}
