//! Fault-tolerant user memory: EFAULT instead of a crash, correct values otherwise; real faults
//! elsewhere still kill the process with SIGSEGV.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use lintel_host::{HOST, USER_END, spawn_raw};
use lintel_kernel::{Errno, UserMemory};
use linux_raw_sys::general as g;

/// `cmpxchg_u32` on memory the test owns or on deliberately invalid addresses.
fn cas(addr: usize, expected: u32, new: u32) -> Result<u32, Errno> {
    // SAFETY: every address the tests pass is their own scratch memory or is meant to fault.
    unsafe { HOST.cmpxchg_u32(addr, expected, new) }
}

/// `write` to memory the test owns or to deliberately invalid addresses.
fn write_user(addr: usize, buf: &[u8]) -> Result<(), Errno> {
    // SAFETY: as `cas`.
    unsafe { HOST.write(addr, buf) }
}

#[test]
fn user_end_is_task_size_max() {
    assert_eq!(HOST.user_end(), 0x7fff_ffff_f000);
    assert_eq!(USER_END, HOST.user_end());
    // Linux 6.18's access_ok: small sizes check the start only, larger ones the end.
    assert!(HOST.access_ok(USER_END - 4, 4));
    assert!(HOST.access_ok(USER_END, 4));
    assert!(!HOST.access_ok(USER_END + 1, 4));
    assert!(!HOST.access_ok(usize::MAX, 2));
    assert!(HOST.access_ok(USER_END - 8192, 8192));
    assert!(!HOST.access_ok(USER_END - 8192, 8193));
    assert!(!HOST.access_ok(usize::MAX - 4095, 8192));
}

/// The oracle for `access_ok` on a 4-byte word: a native private FUTEX_WAKE, which checks
/// `access_ok(uaddr, 4)` and never touches the word.
#[test]
fn access_ok_matches_native_futex_wake() {
    let page = 4096;
    let candidates = [
        4096,
        USER_END - page,
        USER_END - 4,
        USER_END,
        USER_END + 4,
        USER_END + page - 4,
        1 << 47,
        0xffff_8000_0000_0000,
        usize::MAX - 3,
    ];
    for addr in candidates {
        let r = sys(
            g::__NR_futex,
            &[
                addr,
                (g::FUTEX_WAKE | g::FUTEX_PRIVATE_FLAG) as usize,
                1,
                0,
                0,
                0,
            ],
        );
        let native_ok = match r {
            0 => true,
            r if r == -(linux_raw_sys::errno::EFAULT as isize) => false,
            r => panic!("unexpected {r} at {addr:#x}"),
        };
        assert_eq!(HOST.access_ok(addr, 4), native_ok, "{addr:#x}");
    }
}

#[test]
fn accessors_never_touch_user_end_or_above() {
    // Stricter than access_ok: the whole word must lie below user_end.
    assert_eq!(HOST.load_u32(USER_END), Err(Errno::EFAULT));
    assert_eq!(HOST.load_u32(USER_END - 2), Err(Errno::EFAULT));
    assert_eq!(cas(USER_END, 0, 1), Err(Errno::EFAULT));
    assert_eq!(HOST.read(USER_END - 1, &mut [0u8; 2]), Err(Errno::EFAULT));
}

#[test]
fn values_on_mapped_memory() {
    let word = AtomicU32::new(7);
    let a = word.as_ptr() as usize;
    assert_eq!(HOST.load_u32(a), Ok(7));
    assert_eq!(cas(a, 7, 9), Ok(7));
    assert_eq!(word.load(Ordering::SeqCst), 9);
    assert_eq!(cas(a, 7, 11), Ok(9), "failed CAS returns the value found");
    assert_eq!(word.load(Ordering::SeqCst), 9);

    let src: Vec<u8> = (0..200u8).collect();
    let mut dst = vec![0u8; 200];
    HOST.read(src.as_ptr() as usize, &mut dst).unwrap();
    assert_eq!(src, dst);
    let mut target = vec![0u8; 200];
    write_user(target.as_mut_ptr() as usize, &src).unwrap();
    assert_eq!(target, src);
    HOST.read(0, &mut []).unwrap();
}

#[test]
fn efault_on_unmapped_memory() {
    // Address 0 is never mapped (mmap_min_addr); a PROT_NONE reservation stands for the rest
    // (a munmapped range could be reused by a test running in parallel).
    let page = mmap(8192, g::PROT_NONE);
    for addr in [0usize, 4, 4096, page, page + 4096] {
        assert_eq!(HOST.load_u32(addr), Err(Errno::EFAULT), "load {addr:#x}");
        assert_eq!(cas(addr, 0, 1), Err(Errno::EFAULT));
        assert_eq!(HOST.read(addr, &mut [0u8; 16]), Err(Errno::EFAULT));
        assert_eq!(write_user(addr, &[1u8; 16]), Err(Errno::EFAULT));
    }
    munmap(page, 8192);
}

#[test]
fn efault_when_a_copy_runs_off_the_end_of_a_mapping() {
    let base = mmap(8192, g::PROT_READ | g::PROT_WRITE);
    assert_eq!(
        sys(
            g::__NR_mprotect,
            &[base + 4096, 4096, g::PROT_NONE as usize]
        ),
        0
    );
    let mut buf = [0u8; 64];
    assert_eq!(HOST.read(base + 4096 - 32, &mut buf), Err(Errno::EFAULT));
    assert_eq!(write_user(base + 4096 - 32, &buf), Err(Errno::EFAULT));
    assert_eq!(HOST.read(base + 4096 - 64, &mut buf), Ok(()));
    munmap(base, 8192);
}

#[test]
fn cmpxchg_on_read_only_memory_is_efault_even_when_it_would_fail() {
    let page = mmap(4096, g::PROT_READ | g::PROT_WRITE);
    // SAFETY: our fresh page.
    unsafe { *(page as *mut u32) = 5 };
    assert_eq!(
        sys(g::__NR_mprotect, &[page, 4096, g::PROT_READ as usize]),
        0
    );
    assert_eq!(HOST.load_u32(page), Ok(5));
    assert_eq!(cas(page, 5, 6), Err(Errno::EFAULT));
    assert_eq!(cas(page, 4, 6), Err(Errno::EFAULT));
    assert_eq!(write_user(page, &[1]), Err(Errno::EFAULT));
    assert_eq!(HOST.load_u32(page), Ok(5));
    munmap(page, 4096);
}

#[test]
fn kernel_half_and_misaligned_are_rejected_without_access() {
    for addr in [
        USER_END,
        USER_END + 4,
        0xffff_8000_0000_0000,
        usize::MAX - 3,
    ] {
        assert_eq!(HOST.load_u32(addr), Err(Errno::EFAULT));
        assert_eq!(cas(addr, 0, 0), Err(Errno::EFAULT));
        assert_eq!(HOST.read(addr, &mut [0u8; 1]), Err(Errno::EFAULT));
        assert_eq!(write_user(addr, &[0u8; 1]), Err(Errno::EFAULT));
    }
    assert_eq!(HOST.read(USER_END - 8, &mut [0u8; 16]), Err(Errno::EFAULT));
    let word = AtomicU32::new(0);
    assert_eq!(
        HOST.load_u32(word.as_ptr() as usize + 1),
        Err(Errno::EINVAL)
    );
}

static RAW_RESULT: AtomicU32 = AtomicU32::new(0);

fn raw_faults(_: usize) {
    let ok = HOST.load_u32(8) == Err(Errno::EFAULT) && cas(16, 0, 1) == Err(Errno::EFAULT);
    RAW_RESULT.store(if ok { 1 } else { 2 }, Ordering::Release);
}

#[test]
fn faults_are_fixed_up_on_raw_threads_too() {
    spawn_raw(raw_faults, 0)
        .unwrap()
        .join_timeout_ns(JOIN_NS)
        .expect("join");
    assert_eq!(RAW_RESULT.load(Ordering::Acquire), 1);
}

/// Run in a child process by `a_real_segfault_still_kills_with_sigsegv`.
#[test]
fn crash_helper() {
    if std::env::var_os("LINTEL_HOST_CRASH").is_none() {
        return;
    }
    lintel_host::Host::init();
    assert_eq!(HOST.load_u32(0), Err(Errno::EFAULT));
    // SAFETY: deliberately not: a real fault outside lintel's accessors.
    unsafe { std::ptr::read_volatile(8 as *const u32) };
    unreachable!();
}

#[test]
fn a_real_segfault_still_kills_with_sigsegv() {
    use std::os::unix::process::ExitStatusExt;
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_helper", "--test-threads=1", "--nocapture"])
        .env("LINTEL_HOST_CRASH", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(g::SIGSEGV as i32), "{out:?}");
}
