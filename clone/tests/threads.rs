//! Thread creation and exit on the Linux host port, checked against what Linux does.

use lintel_clone::{CloneRequest, check_thread_flags, clone_thread, gettid, set_tid_address};
use lintel_host::HOST;
use lintel_kernel::{Errno, Threads};
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const MUSL_FLAGS: u64 = 0x7d0f00;
const STACK: usize = 64 * 1024;

fn mmap_stack() -> usize {
    // SAFETY: a fresh anonymous mapping.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p as usize
}

/// What the child saw, written before it returns (it touches no TLS and no std: atomics only).
#[repr(C)]
struct Seen {
    ptid_at_start: AtomicI32,
    ctid_at_start: AtomicI32,
    gettid: AtomicI32,
    tp: AtomicUsize,
}

/// The shared words of one creation: `ptid`, `ctid`, and what the child saw.
#[repr(C)]
struct Words {
    ptid: AtomicI32,
    ctid: AtomicU32,
    seen: Seen,
}

unsafe extern "C" fn child(arg: usize) -> i32 {
    // SAFETY: the parent passes a `Words` that outlives the thread (it waits on `ctid`).
    let w = unsafe { &*(arg as *const Words) };
    w.seen
        .ptid_at_start
        .store(w.ptid.load(Ordering::SeqCst), Ordering::SeqCst);
    w.seen
        .ctid_at_start
        .store(w.ctid.load(Ordering::SeqCst) as i32, Ordering::SeqCst);
    w.seen.gettid.store(gettid(&HOST), Ordering::SeqCst);
    w.seen.tp.store(HOST.thread_pointer(), Ordering::SeqCst);
    7
}

/// Waits as musl's joiner does: a shared futex wait until the clear-tid word is 0.
fn join(ctid: &AtomicU32) {
    let start = Instant::now();
    loop {
        let v = ctid.load(Ordering::SeqCst);
        if v == 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the thread never cleared ctid"
        );
        let ts = libc::timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        // SAFETY: a shared futex wait on our word.
        unsafe { libc::syscall(libc::SYS_futex, ctid.as_ptr(), libc::FUTEX_WAIT, v, &ts) };
    }
}

#[test]
fn musl_style_thread_creation_and_exit() {
    for round in 0..200 {
        let stack = mmap_stack();
        let words = Box::new(Words {
            ptid: AtomicI32::new(0),
            ctid: AtomicU32::new(0xdead),
            seen: Seen {
                ptid_at_start: AtomicI32::new(0),
                ctid_at_start: AtomicI32::new(0),
                gettid: AtomicI32::new(0),
                tp: AtomicUsize::new(0),
            },
        });
        let tls = 0x7000_0000 + round * 0x1000;
        let req = CloneRequest {
            flags: MUSL_FLAGS | u64::from(libc::CLONE_CHILD_SETTID as u32),
            stack: stack + STACK,
            ptid: words.ptid.as_ptr() as usize,
            ctid: words.ctid.as_ptr() as usize,
            tls,
            child_words: [None; 3],
        };
        // SAFETY: the stack is ours to give; `child` uses only `words`, which outlives it.
        let tid =
            unsafe { clone_thread(&HOST, child, &*words as *const Words as usize, &req) }.unwrap();
        assert!(tid > 0);
        // PARENT_SETTID is visible when clone returns...
        assert_eq!(words.ptid.load(Ordering::SeqCst), tid);
        join(&words.ctid);
        // ...and was visible to the child before its own code ran, as were CHILD_SETTID and its
        // thread pointer; its gettid is the tid clone returned.
        assert_eq!(words.seen.ptid_at_start.load(Ordering::SeqCst), tid);
        assert_eq!(words.seen.ctid_at_start.load(Ordering::SeqCst), tid);
        assert_eq!(words.seen.gettid.load(Ordering::SeqCst), tid);
        assert_eq!(words.seen.tp.load(Ordering::SeqCst), tls);
        // ctid == 0 means the thread is off its stack: unmap it at once.
        // SAFETY: see above.
        assert_eq!(unsafe { libc::munmap(stack as *mut _, STACK) }, 0);
    }
}

/// Flag sets Linux itself rejects get Linux's errno from lintel (the real clone is called only
/// with sets it rejects before creating anything).
#[test]
fn flag_errors_match_linux() {
    let vm = libc::CLONE_VM as u64;
    let sighand = libc::CLONE_SIGHAND as u64;
    let thread = libc::CLONE_THREAD as u64;
    let fs = libc::CLONE_FS as u64;
    for flags in [
        thread,
        thread | vm,
        sighand,
        sighand | thread,
        MUSL_FLAGS & !sighand,
        MUSL_FLAGS & !vm,
        fs | libc::CLONE_NEWNS as u64,
        fs | libc::CLONE_NEWUSER as u64,
    ] {
        // SAFETY: each set fails Linux's checks before anything is created.
        let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
        let native = if r < 0 {
            std::io::Error::last_os_error().raw_os_error()
        } else {
            None
        };
        assert_eq!(native, Some(libc::EINVAL), "flags {flags:#x}: Linux");
        assert_eq!(
            check_thread_flags(flags),
            Err(Errno::EINVAL),
            "flags {flags:#x}: lintel"
        );
    }
}

#[test]
fn set_tid_address_returns_the_tid() {
    let word = AtomicU32::new(1);
    let tid = set_tid_address(&HOST, word.as_ptr() as usize);
    // SAFETY: gettid has no preconditions.
    assert_eq!(tid, unsafe { libc::gettid() });
    assert_eq!(gettid(&HOST), tid);
    // Undo, so this test thread's exit does not write to `word`.
    set_tid_address(&HOST, 0);
}

#[test]
fn a_zero_stack_is_einval() {
    let req = CloneRequest {
        flags: MUSL_FLAGS,
        stack: 0,
        ptid: 0,
        ctid: 0,
        tls: 0,
        child_words: [None; 3],
    };
    // SAFETY: refused before anything happens.
    let r = unsafe { clone_thread(&HOST, child, 0, &req) };
    assert_eq!(r, Err(Errno::EINVAL));
}

/// A CLONE_SETTLS thread pointer outside user space is EPERM, as Linux answers (probed on 6.18:
/// any value at or above TASK_SIZE_MAX), and no thread is created.
#[test]
fn settls_outside_user_space_is_eperm() {
    for tls in [0x7fff_ffff_f000usize, 0xffff_8000_0000_0000] {
        let req = CloneRequest {
            flags: MUSL_FLAGS,
            stack: 0x1000_0000,
            ptid: 0,
            ctid: 0,
            tls,
            child_words: [None; 3],
        };
        // SAFETY: refused before the stack is touched.
        let r = unsafe { clone_thread(&HOST, child, 0, &req) };
        assert_eq!(r, Err(Errno::EPERM), "tls {tls:#x}");
    }
}
