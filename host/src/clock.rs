//! Clocks: `CLOCK_MONOTONIC` and `CLOCK_REALTIME` in nanoseconds, and the CPU-time clocks.
//!
//! The fast path calls the vDSO's `__vdso_clock_gettime`, found once at init by walking the
//! vDSO's ELF dynamic symbol table (`AT_SYSINFO_EHDR`). Without a vDSO, or if the lookup fails,
//! the raw `clock_gettime` syscall is used. The vDSO itself may fall back to a `syscall`
//! instruction outside this crate's syscall section (for clock sources it cannot read in user
//! mode); a Syscall User Dispatch front door must exempt the vDSO too, or disable this path.

use core::sync::atomic::{AtomicUsize, Ordering};

use lintel_kernel::abi::Timespec;
use lintel_kernel::{Clock, ClockId, CpuClock};
use linux_raw_sys::elf_uapi as elf;
use linux_raw_sys::general as g;

use crate::Host;
use crate::syscall;

/// `__vdso_clock_gettime`, or 0 to use the syscall.
static VDSO_CLOCK_GETTIME: AtomicUsize = AtomicUsize::new(0);

type VdsoClockGettime = unsafe extern "C" fn(clock: i32, ts: *mut Timespec) -> i32;

/// Reads `clock` (a Linux clock id) into a timespec.
#[inline]
fn gettime(clock: u32) -> Timespec {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let f = VDSO_CLOCK_GETTIME.load(Ordering::Relaxed);
    if f != 0 {
        // SAFETY: `f` is the vDSO's clock_gettime, validated at init; it writes one timespec.
        let f: VdsoClockGettime = unsafe { core::mem::transmute(f) };
        // SAFETY: `ts` is a valid, writable timespec.
        if unsafe { f(clock as i32, &mut ts) } == 0 {
            return ts;
        }
    }
    syscall::clock_gettime(clock, &mut ts);
    ts
}

fn to_ns(ts: &Timespec) -> u64 {
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

// SAFETY: CLOCK_MONOTONIC from the kernel (vDSO or syscall) never decreases, across threads
// too. Notification and shared-futex deadlines are handed to the kernel on the same clock
// (FUTEX_CLOCK_REALTIME for realtime), whose ETIMEDOUT comes only once that clock passed them.
unsafe impl Clock for Host {
    #[inline]
    fn now(&self, clock: ClockId) -> u64 {
        crate::init::ensure_init(); // finds the vDSO; one load once done
        let id = match clock {
            ClockId::Monotonic => g::CLOCK_MONOTONIC,
            ClockId::Realtime => g::CLOCK_REALTIME,
        };
        to_ns(&gettime(id))
    }

    fn cpu_now(&self, clock: CpuClock) -> Option<u64> {
        // Linux's CPU clock ids (`MAKE_PROCESS_CPUCLOCK`, `MAKE_THREAD_CPUCLOCK`): the pid or
        // tid inverted in the high bits, bit 2 for a thread, the low two bits the kind
        // (1: user time, 2: scheduler time). Emulated tids are host tids.
        const PROCESS_SCHED: i32 = g::CLOCK_PROCESS_CPUTIME_ID as i32;
        const PROCESS_VIRT: i32 = (!0 << 3) | 1;
        let id = match clock {
            CpuClock::Process => PROCESS_SCHED,
            CpuClock::ProcessUser => PROCESS_VIRT,
            CpuClock::Thread(tid) if tid > 0 => (!tid << 3) | 4 | 2,
            CpuClock::Thread(_) => return None,
        };
        let mut ts = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        (syscall::clock_gettime(id as u32, &mut ts) == 0).then(|| to_ns(&ts))
    }
}

/// Whether clocks are read through the vDSO (for tests and benchmarks).
pub fn uses_vdso() -> bool {
    crate::init::ensure_init();
    VDSO_CLOCK_GETTIME.load(Ordering::Relaxed) != 0
}

/// Finds `__vdso_clock_gettime` in the vDSO image at `ehdr` and enables it if it answers.
pub(crate) fn init_vdso(ehdr: usize) {
    if ehdr == 0 {
        return;
    }
    // SAFETY: AT_SYSINFO_EHDR is the address of the vDSO's complete ELF image, mapped
    // readable for the life of the process.
    let Some(f) = (unsafe { find_vdso_symbol(ehdr, b"__vdso_clock_gettime") }) else {
        return;
    };
    // Check it works and agrees with the syscall before trusting it.
    // SAFETY: a symbol of the vDSO with the documented clock_gettime signature.
    let f: VdsoClockGettime = unsafe { core::mem::transmute(f) };
    let mut a = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut b = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    syscall::clock_gettime(g::CLOCK_MONOTONIC, &mut a);
    // SAFETY: as above; `b` is a valid, writable timespec.
    let r = unsafe { f(g::CLOCK_MONOTONIC as i32, &mut b) };
    if r == 0 && to_ns(&b) >= to_ns(&a) {
        VDSO_CLOCK_GETTIME.store(f as usize, Ordering::Relaxed);
    }
}

/// Looks `name` up in the vDSO's `.dynsym` through its section headers (the vDSO image is
/// mapped whole, headers included). Returns the symbol's address.
///
/// # Safety
/// `base` must be the address of a mapped ELF image that stays mapped.
unsafe fn find_vdso_symbol(base: usize, name: &[u8]) -> Option<usize> {
    // SAFETY: (whole body) every read is inside the image, as its own headers describe it;
    // the vDSO is the kernel's and trusted to be well formed. Indices are bounds-checked
    // against the header counts.
    unsafe {
        let eh = &*(base as *const elf::Elf64_Ehdr);
        if eh.e_ident[..4] != elf::ELFMAG[..4] || eh.e_ident[4] as u32 != elf::ELFCLASS64 {
            return None;
        }
        // Load bias: symbol values are vaddrs; the first PT_LOAD maps file offset p_offset at
        // p_vaddr, and the image is mapped from file offset 0 at `base`.
        let phdrs = core::slice::from_raw_parts(
            (base + eh.e_phoff as usize) as *const elf::Elf64_Phdr,
            eh.e_phnum as usize,
        );
        let load = phdrs.iter().find(|p| p.p_type == elf::PT_LOAD)?;
        let bias = base
            .wrapping_add(load.p_offset as usize)
            .wrapping_sub(load.p_vaddr as usize);
        if eh.e_shentsize as usize != size_of::<elf::Elf64_Shdr>() {
            return None;
        }
        let shdrs = core::slice::from_raw_parts(
            (base + eh.e_shoff as usize) as *const elf::Elf64_Shdr,
            eh.e_shnum as usize,
        );
        let dynsym = shdrs.iter().find(|s| s.sh_type == elf::SHT_DYNSYM)?;
        let strtab = shdrs.get(dynsym.sh_link as usize)?;
        if dynsym.sh_entsize as usize != size_of::<elf::Elf64_Sym>() {
            return None;
        }
        let syms = core::slice::from_raw_parts(
            (base + dynsym.sh_offset as usize) as *const elf::Elf64_Sym,
            dynsym.sh_size as usize / size_of::<elf::Elf64_Sym>(),
        );
        let strs = core::slice::from_raw_parts(
            (base + strtab.sh_offset as usize) as *const u8,
            strtab.sh_size as usize,
        );
        for s in syms {
            let start = s.st_name as usize;
            let Some(rest) = strs.get(start..) else {
                continue;
            };
            let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
            if &rest[..end] == name && s.st_value != 0 && s.st_shndx != 0 {
                return Some(bias.wrapping_add(s.st_value as usize));
            }
        }
        None
    }
}
