//! lintel-tls on the real host, with Linux as the oracle.
//!
//! - The Variant II layout computed from this test binary's own `PT_TLS` predicts where glibc
//!   put the TLS block (relative to the FS base) on the main thread (checked from an
//!   `.init_array` constructor, which runs there before `main`), on the test's thread and on a
//!   second std thread; and a raw thread whose whole TLS area this crate built and initialised
//!   reads the program's thread-locals correctly through it.
//! - `arch_prctl` through lintel against the real syscall: `ARCH_GET_FS` values, `EFAULT` for bad
//!   pointers, `EINVAL` for unknown codes, and `ARCH_SET_FS` (results and resulting FS base) on
//!   a raw thread, where moving FS is harmless because nothing there uses it.
//!
//! Raw threads here run no std and no glibc (see `lintel_host::thread`): only atomics, raw
//! syscalls, lintel calls, and (for the TLS-area test) const-initialised thread-locals without
//! destructors, which compile to plain `%fs`-relative accesses.

use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lintel_host::{HOST, USER_END, raw_syscall6};
use lintel_kernel::{LOCAL_WORDS, SpawnSpec, Threads};
use lintel_tls::arch_prctl::code::*;
use lintel_tls::{ArchPrctl, StaticTls, TcbSpec, TlsImage, Variant, arch_prctl, tls_offset};

const PROBE_INIT: u64 = 0x1122_3344_5566_7788;

thread_local! {
    /// In `.tdata`: its initial value is in the image.
    static PROBE: Cell<u64> = const { Cell::new(PROBE_INIT) };
    /// Zero-initialised: in `.tbss`, or at least zero in the image.
    static ZEROED: Cell<u64> = const { Cell::new(0) };
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The raw `arch_prctl` syscall (no libc: usable on raw threads); `-errno` on failure.
fn real(code: usize, addr: usize) -> isize {
    // SAFETY: the tests pass codes and addresses whose effects they expect (bad pointers are
    // reported with EFAULT by the kernel, not faults).
    unsafe { raw_syscall6(libc::SYS_arch_prctl as usize, [code, addr, 0, 0, 0, 0]) }
}

/// `arch_prctl` through lintel, encoded as the raw syscall result would be.
fn lintel(code: usize, addr: usize) -> isize {
    // SAFETY: as `real`: our own arguments, on the calling thread.
    match unsafe { arch_prctl(&HOST, code, addr) } {
        Ok(ArchPrctl::Done(v)) => v as isize,
        Ok(ArchPrctl::PassThrough) => real(code, addr),
        Err(e) => e.to_ret(),
    }
}

const EFAULT: isize = -(libc::EFAULT as isize);
const EINVAL: isize = -(libc::EINVAL as isize);
const EPERM: isize = -(libc::EPERM as isize);

/// This binary's `PT_TLS` and glibc's `dlpi_tls_data` (the calling thread's block of it).
struct OwnTls {
    image: TlsImage,
    tls_data: usize,
}

unsafe extern "C" fn first_object(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: glibc hands us a valid `dl_phdr_info` for the call; `data` is our `Option`.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut Option<OwnTls>)) };
    // SAFETY: `dlpi_phdr` points at `dlpi_phnum` program headers of the main program (the
    // first object dl_iterate_phdr reports).
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    if let Some(ph) = phdrs.iter().find(|p| p.p_type == libc::PT_TLS) {
        // libc's and linux-raw-sys's `Elf64_Phdr` are the same ELF64 header: copy the fields.
        let ph = linux_raw_sys::elf_uapi::Elf64_Phdr {
            p_type: ph.p_type,
            p_flags: ph.p_flags,
            p_offset: ph.p_offset,
            p_vaddr: ph.p_vaddr,
            p_paddr: ph.p_paddr,
            p_filesz: ph.p_filesz,
            p_memsz: ph.p_memsz,
            p_align: ph.p_align,
        };
        *out = Some(OwnTls {
            image: TlsImage::from_phdr(&ph, info.dlpi_addr as usize).expect("a sane PT_TLS"),
            tls_data: info.dlpi_tls_data as usize,
        });
    }
    1 // the main program only
}

/// Parses this binary's `PT_TLS` (and asks glibc where the calling thread's block is).
fn own_tls() -> OwnTls {
    let mut out: Option<OwnTls> = None;
    // SAFETY: the callback matches dl_iterate_phdr's contract and writes only `out`.
    unsafe { libc::dl_iterate_phdr(Some(first_object), &mut out as *mut _ as *mut libc::c_void) };
    out.expect("this test binary has thread-locals, so a PT_TLS")
}

/// What the layout check saw on one thread.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Seen {
    tp: usize,
    predicted_block: usize,
    glibc_block: usize,
    memsz: usize,
    probe: usize,
    zeroed: usize,
    /// The u64 in the *image* at PROBE's offset in the block.
    image_at_probe: u64,
}

/// Predicts the calling thread's block from its FS base and the image; reads where its
/// thread-locals are.
fn look() -> Seen {
    let own = own_tls();
    let tp = HOST.thread_pointer();
    let off = tls_offset(Variant::X86_64, &own.image).unwrap();
    let block = tp.wrapping_add_signed(off);
    let probe = PROBE.with(|c| c as *const Cell<u64> as usize);
    let zeroed = ZEROED.with(|c| c as *const Cell<u64> as usize);
    let image_at_probe = if probe >= block && probe + 8 <= block + own.image.filesz() {
        // SAFETY: inside the image's `filesz` bytes, which are mapped (part of a PT_LOAD).
        unsafe { ((own.image.addr() + (probe - block)) as *const u64).read_unaligned() }
    } else {
        0
    };
    Seen {
        tp,
        predicted_block: block,
        glibc_block: own.tls_data,
        memsz: own.image.memsz(),
        probe,
        zeroed,
        image_at_probe,
    }
}

fn check(seen: &Seen, which: &str) {
    assert_ne!(seen.tp, 0, "{which}: {seen:x?}");
    assert_eq!(
        seen.predicted_block, seen.glibc_block,
        "{which}: glibc disagrees: {seen:x?}"
    );
    let inside = |a: usize| a >= seen.predicted_block && a + 8 <= seen.predicted_block + seen.memsz;
    assert!(
        inside(seen.probe),
        "{which}: PROBE outside the predicted block: {seen:x?}"
    );
    assert!(
        inside(seen.zeroed),
        "{which}: ZEROED outside the predicted block: {seen:x?}"
    );
    assert_eq!(
        seen.image_at_probe, PROBE_INIT,
        "{which}: the offset is wrong: {seen:x?}"
    );
}

/// Maps `len` bytes read-write (page-aligned).
fn map(len: usize) -> usize {
    // SAFETY: a fresh anonymous mapping.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p as usize
}

/// Runs `entry` on a raw host thread with a fresh stack and the given thread pointer, and
/// waits for it to die.
fn run_raw(entry: unsafe extern "C" fn(usize), thread_pointer: Option<usize>) {
    const LEN: usize = 256 * 1024;
    let stack = map(LEN);
    let spec = SpawnSpec {
        entry,
        arg: 0,
        stack_top: stack + LEN,
        thread_pointer,
    };
    // SAFETY: the stack stays mapped until the thread is dead (waited for below).
    let t = unsafe { HOST.spawn(&spec) }.unwrap();
    let start = Instant::now();
    while !HOST.is_dead(t) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "raw thread hangs"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: the thread is dead and off its stack.
    unsafe { libc::munmap(stack as *mut libc::c_void, LEN) };
}

// ---------------------------------------------------------------------------------------------
// The layout against glibc's threads

/// What the constructor saw on the main thread, and whether it was the main thread.
static MAIN_SEEN: std::sync::Mutex<Option<(Seen, bool)>> = std::sync::Mutex::new(None);

extern "C" fn on_main_thread() {
    // SAFETY: plain getters.
    let is_main = unsafe { libc::gettid() == libc::getpid() };
    *MAIN_SEEN.lock().unwrap() = Some((look(), is_main));
}

/// Runs before `main`, on the main thread, with glibc's TLS already set up.
#[used]
#[unsafe(link_section = ".init_array")]
static ON_MAIN_THREAD: extern "C" fn() = on_main_thread;

#[test]
fn layout_predicts_glibcs_block_on_the_main_thread() {
    let (seen, is_main) = MAIN_SEEN.lock().unwrap().expect("the constructor ran");
    assert!(is_main, "the constructor ran on the main thread");
    check(&seen, "main thread");
}

#[test]
fn layout_predicts_glibcs_block_on_this_and_a_second_thread() {
    check(&look(), "test thread");
    let second = std::thread::spawn(look).join().unwrap();
    check(&second, "second thread");
    assert_ne!(second.tp, look().tp, "two threads, two blocks");
}

static AREA_SEEN: [AtomicUsize; 5] = [const { AtomicUsize::new(0) }; 5];

unsafe extern "C" fn area_body(_: usize) {
    // This thread's FS base is the area the test built: these thread-locals are in it.
    AREA_SEEN[0].store(HOST.thread_pointer(), Ordering::Relaxed);
    PROBE.with(|c| {
        AREA_SEEN[1].store(c.get() as usize, Ordering::Relaxed);
        AREA_SEEN[2].store(c as *const Cell<u64> as usize, Ordering::Relaxed);
        c.set(0xfeed_f00d);
    });
    ZEROED.with(|c| {
        AREA_SEEN[3].store(c.get() as usize, Ordering::Relaxed);
        AREA_SEEN[4].store(c as *const Cell<u64> as usize, Ordering::Release);
    });
}

/// A raw thread whose static TLS area lintel-tls laid out and initialised (block copied and
/// zeroed, `%fs:0` pointing at itself as the x86_64 psABI requires) reads the program's
/// thread-locals at the linker's offsets and with their initial values.
#[test]
fn a_raw_thread_runs_on_an_area_built_from_pt_tls() {
    let own = own_tls();
    let tcb = TcbSpec {
        size: 64,
        align: 64,
    };
    let layout = StaticTls::new(Variant::X86_64, &own.image, tcb).unwrap();
    assert!(
        layout.align() <= 4096,
        "page-aligned mappings suffice: {layout:?}"
    );
    let base = map(layout.size());
    // SAFETY: our fresh mapping of `size` bytes, used by nothing else until the thread runs.
    let area = unsafe { std::slice::from_raw_parts_mut(base as *mut u8, layout.size()) };
    area.fill(0xaa); // so that zeroing `.tbss` is observable
    // SAFETY: the image's `filesz` bytes are mapped (part of a PT_LOAD of this binary).
    let image =
        unsafe { std::slice::from_raw_parts(own.image.addr() as *const u8, own.image.filesz()) };
    let tp = layout.init(area, image).unwrap();
    assert_eq!(tp, base + layout.tp_offset());
    // The descriptor's first word is the thread pointer itself (`mov %fs:0` reads it).
    area[layout.tp_offset()..layout.tp_offset() + 8].copy_from_slice(&(tp as u64).to_ne_bytes());

    run_raw(area_body, Some(tp));

    // Where our own thread keeps PROBE, relative to its block, is where the raw thread's is.
    let mine = look();
    let probe_off = mine.probe - mine.predicted_block;
    let zeroed_off = mine.zeroed - mine.predicted_block;
    let block = base + layout.block_offset();
    assert_eq!(AREA_SEEN[0].load(Ordering::Relaxed), tp);
    assert_eq!(AREA_SEEN[2].load(Ordering::Relaxed), block + probe_off);
    assert_eq!(AREA_SEEN[4].load(Ordering::Acquire), block + zeroed_off);
    assert_eq!(AREA_SEEN[1].load(Ordering::Relaxed) as u64, PROBE_INIT);
    assert_eq!(AREA_SEEN[3].load(Ordering::Relaxed), 0);
    // And its write landed in our area.
    let at = block + probe_off - base;
    assert_eq!(
        u64::from_ne_bytes(area[at..at + 8].try_into().unwrap()),
        0xfeed_f00d
    );
    // SAFETY: the thread is dead; nothing uses the area any more.
    unsafe { libc::munmap(base as *mut libc::c_void, layout.size()) };
}

// ---------------------------------------------------------------------------------------------
// arch_prctl against Linux

#[test]
fn get_fs_is_the_real_fs_base() {
    for code in [
        ARCH_GET_FS as usize,
        0xdead_0000_0000_0000 | ARCH_GET_FS as usize,
    ] {
        let (mut via_lintel, mut via_linux) = (0u64, 1u64);
        assert_eq!(lintel(code, &mut via_lintel as *mut u64 as usize), 0);
        assert_eq!(real(code, &mut via_linux as *mut u64 as usize), 0);
        assert_eq!(via_lintel, via_linux, "code {code:#x}");
        assert_eq!(via_lintel as usize, HOST.thread_pointer());
    }
}

#[test]
fn get_gs_reports_zero_where_linux_reports_lintels_record() {
    let _ = HOST.current(); // this thread has a record, so a real GS base
    let (mut via_lintel, mut via_linux) = (1u64, 0u64);
    assert_eq!(
        lintel(ARCH_GET_GS as usize, &mut via_lintel as *mut u64 as usize),
        0
    );
    assert_eq!(
        real(ARCH_GET_GS as usize, &mut via_linux as *mut u64 as usize),
        0
    );
    assert_eq!(via_lintel, 0, "the program's view of GS");
    assert_ne!(
        via_linux, 0,
        "lintel's slot, which the program must not see"
    );
}

#[test]
fn bad_pointers_are_efault_on_both() {
    let page = 4096;
    // One read-only page, and one inaccessible but still reserved (an unmapped hole could be
    // reused by a parallel test's mapping).
    let (ro, none) = (map(page), map(page));
    // SAFETY: our own fresh mappings.
    let r = unsafe {
        libc::mprotect(ro as *mut libc::c_void, page, libc::PROT_READ)
            | libc::mprotect(none as *mut libc::c_void, page, libc::PROT_NONE)
    };
    assert_eq!(r, 0);
    let bad = [
        0,
        8,
        ro,
        none,
        none + page - 8,
        USER_END,
        USER_END - 4,
        0x8000_0000_0000,
        0xffff_ffff_8100_0000,
        usize::MAX - 3,
    ];
    for code in [ARCH_GET_FS, ARCH_GET_GS] {
        for addr in bad {
            let (l, r) = (lintel(code as usize, addr), real(code as usize, addr));
            assert_eq!((l, r), (EFAULT, EFAULT), "code {code:#x} addr {addr:#x}");
        }
    }
    // SAFETY: our own mappings.
    unsafe {
        libc::munmap(ro as *mut libc::c_void, page);
        libc::munmap(none as *mut libc::c_void, page);
    }
}

#[test]
fn unknown_codes_are_einval_on_both() {
    let mut word = 0u64;
    let w = &mut word as *mut u64 as usize;
    for code in [
        0usize,
        1,
        0x1000,
        0x1005,
        0x1010,
        0x1013,
        0x1026,
        0x2004,
        0x3001,
        0x4005,
        0x5006,
        0x9999,
        0xffff_ffff,
        usize::MAX,
    ] {
        assert_eq!(
            (lintel(code, w), real(code, w)),
            (EINVAL, EINVAL),
            "code {code:#x}"
        );
    }
}

/// LAM and shadow stacks are refused as a kernel without them does. Only read-only codes are
/// asked of the real kernel; where it has the feature its answer differs, by design.
#[test]
fn lam_and_shadow_stack_codes_answer_as_a_kernel_without_them() {
    let mut word = 0u64;
    let w = &mut word as *mut u64 as usize;
    for code in [
        ARCH_GET_UNTAG_MASK,
        ARCH_GET_MAX_TAG_BITS,
        ARCH_SHSTK_STATUS,
    ] {
        assert_eq!(lintel(code as usize, w), EINVAL, "code {code:#x}");
        let r = real(code as usize, w);
        if r == EINVAL {
            continue;
        }
        eprintln!("note: this host kernel supports arch_prctl {code:#x} (returned {r})");
    }
    for code in [
        ARCH_ENABLE_TAGGED_ADDR,
        ARCH_FORCE_TAGGED_SVA,
        ARCH_SHSTK_ENABLE,
    ] {
        assert_eq!(lintel(code as usize, 1), EINVAL, "code {code:#x}");
    }
}

#[test]
fn passed_through_codes_reach_linux() {
    // GET_CPUID returns the flag itself (1: cpuid enabled); GET_XCOMP_SUPP writes a mask.
    assert_eq!(
        lintel(ARCH_GET_CPUID as usize, 0),
        real(ARCH_GET_CPUID as usize, 0)
    );
    let (mut a, mut b) = (0u64, 1u64);
    assert_eq!(
        lintel(ARCH_GET_XCOMP_SUPP as usize, &mut a as *mut u64 as usize),
        real(ARCH_GET_XCOMP_SUPP as usize, &mut b as *mut u64 as usize)
    );
    assert_eq!(a, b);
}

/// `ARCH_SET_FS` cases: accepted below `TASK_SIZE_MAX`, `EPERM` from it up.
const SET_CASES: [usize; 8] = [
    0x1234_5000,
    0,
    1,
    USER_END - 1,
    USER_END,
    0x7fff_ffff_ffff,
    0x8000_0000_0000,
    0xffff_ffff_8100_0000,
];
/// Per case: lintel's result, FS after it, Linux's result, FS after it.
static SET_SEEN: [[AtomicIsize; 4]; SET_CASES.len()] =
    [const { [const { AtomicIsize::new(0) }; 4] }; SET_CASES.len()];
/// GS checks: SET_GS via lintel, GS base before, after, GET_GS via lintel (value), locals ok,
/// SET_FS with high code bits, FS after it, GET_FS via lintel (value).
static GS_SEEN: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

/// A raw thread never uses FS, so it may move it freely. No std, no glibc: raw syscalls only.
unsafe extern "C" fn set_fs_body(_: usize) {
    let real_fs = || {
        let mut v = 0u64;
        real(ARCH_GET_FS as usize, &mut v as *mut u64 as usize);
        v as isize
    };
    let reset = 0x5555_0000;
    for (i, &addr) in SET_CASES.iter().enumerate() {
        lintel(ARCH_SET_FS as usize, reset);
        let l = lintel(ARCH_SET_FS as usize, addr);
        let l_fs = real_fs();
        lintel(ARCH_SET_FS as usize, reset);
        let r = real(ARCH_SET_FS as usize, addr);
        let r_fs = real_fs();
        for (slot, v) in SET_SEEN[i].iter().zip([l, l_fs, r, r_fs]) {
            slot.store(v, Ordering::Relaxed);
        }
    }
    let real_gs = || {
        let mut v = 0u64;
        real(ARCH_GET_GS as usize, &mut v as *mut u64 as usize);
        v
    };
    let before = real_gs();
    GS_SEEN[0].store(
        lintel(ARCH_SET_GS as usize, 0x5000) as u64,
        Ordering::Relaxed,
    );
    GS_SEEN[1].store(before, Ordering::Relaxed);
    GS_SEEN[2].store(real_gs(), Ordering::Relaxed);
    let mut gs = 1u64;
    lintel(ARCH_GET_GS as usize, &mut gs as *mut u64 as usize);
    GS_SEEN[3].store(gs, Ordering::Relaxed);
    // lintel's slot still works after all the FS moves and the refused GS move.
    HOST.locals()[LOCAL_WORDS - 1].store(0x77, Ordering::Relaxed);
    GS_SEEN[4].store(
        HOST.locals()[LOCAL_WORDS - 1].load(Ordering::Relaxed) as u64,
        Ordering::Relaxed,
    );
    GS_SEEN[5].store(
        lintel(0xdead_0000_0000_0000 | ARCH_SET_FS as usize, 0x4321_0000) as u64,
        Ordering::Relaxed,
    );
    GS_SEEN[6].store(real_fs() as u64, Ordering::Relaxed);
    let mut fs = 0u64;
    lintel(ARCH_GET_FS as usize, &mut fs as *mut u64 as usize);
    GS_SEEN[7].store(fs, Ordering::Release);
}

#[test]
fn set_fs_on_a_raw_thread_matches_linux_and_gs_stays_lintels() {
    run_raw(set_fs_body, None);
    for (i, &addr) in SET_CASES.iter().enumerate() {
        let [l, l_fs, r, r_fs] = SET_SEEN[i].each_ref().map(|a| a.load(Ordering::Relaxed));
        assert_eq!(l, r, "result for {addr:#x}");
        assert_eq!(l_fs, r_fs, "FS after {addr:#x}");
        if addr < USER_END {
            assert_eq!((l, l_fs), (0, addr as isize), "{addr:#x} is accepted");
        } else {
            assert_eq!(
                (l, l_fs),
                (EPERM, 0x5555_0000),
                "{addr:#x} is refused, FS kept"
            );
        }
    }
    let gs: Vec<u64> = GS_SEEN.iter().map(|a| a.load(Ordering::Acquire)).collect();
    assert_eq!(gs[0] as isize, EPERM, "ARCH_SET_GS is refused");
    assert_ne!(gs[1], 0, "the raw thread has lintel's record in GS");
    assert_eq!(gs[2], gs[1], "and keeps it");
    assert_eq!(gs[3], 0, "ARCH_GET_GS reports 0");
    assert_eq!(gs[4], 0x77, "lintel's locals still work");
    assert_eq!(gs[5], 0, "only the low 32 bits of the code count");
    assert_eq!((gs[6], gs[7]), (0x4321_0000, 0x4321_0000));
}
