//! `Threads::thread_pointer`, `set_thread_pointer` and `locals` on the host port.

use lintel_host::{HOST, spawn_raw};
use lintel_kernel::{LOCAL_WORDS, Threads};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh anonymous read-write mapping of `len` bytes for a thread's stack.
fn map_stack(len: usize) -> *mut libc::c_void {
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
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
    p
}

static SEEN: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

fn raw_body(_: usize) {
    // A fresh thread starts with zeroed locals; what it writes is its own.
    let zero = HOST.locals().iter().all(|w| w.load(Ordering::Relaxed) == 0);
    HOST.locals()[3].store(0xabc, Ordering::Relaxed);
    SEEN[0].store(usize::from(zero), Ordering::Release);
    SEEN[1].store(HOST.locals()[3].load(Ordering::Relaxed), Ordering::Release);
}

#[test]
fn locals_are_per_thread_and_start_zeroed() {
    assert_eq!(HOST.locals().len(), LOCAL_WORDS);
    HOST.locals()[3].store(7, Ordering::Relaxed);
    spawn_raw(raw_body, 0).unwrap().join();
    assert_eq!(
        SEEN[0].load(Ordering::Acquire),
        1,
        "a new thread's locals are zero"
    );
    assert_eq!(SEEN[1].load(Ordering::Acquire), 0xabc);
    assert_eq!(
        HOST.locals()[3].load(Ordering::Relaxed),
        7,
        "ours are untouched"
    );
    let other = std::thread::spawn(|| HOST.locals()[3].load(Ordering::Relaxed))
        .join()
        .unwrap();
    assert_eq!(other, 0, "an adopted thread starts with zeroed locals");
}

#[test]
fn thread_pointer_round_trips() {
    // On a std thread the thread pointer is glibc's: read it, set the same value back.
    let tp = HOST.thread_pointer();
    assert_ne!(tp, 0);
    // SAFETY: we set the value it already has.
    unsafe { HOST.set_thread_pointer(tp) }.unwrap();
    assert_eq!(HOST.thread_pointer(), tp);
    // The record still knows its owner (no re-adoption): locals survive.
    HOST.locals()[0].store(42, Ordering::Relaxed);
    // SAFETY: as above.
    unsafe { HOST.set_thread_pointer(tp) }.unwrap();
    assert_eq!(HOST.locals()[0].load(Ordering::Relaxed), 42);
}

static TP_SEEN: [AtomicUsize; 2] = [const { AtomicUsize::new(0) }; 2];

unsafe extern "C" fn tp_body(_: usize) {
    // This thread never touches TLS, so any thread pointer will do.
    TP_SEEN[0].store(HOST.thread_pointer(), Ordering::Release);
    // SAFETY: nothing on this thread uses the thread pointer.
    unsafe { HOST.set_thread_pointer(0x5678_0000) }.unwrap();
    TP_SEEN[1].store(HOST.thread_pointer(), Ordering::Release);
}

#[test]
fn spawn_sets_the_thread_pointer_and_set_thread_pointer_changes_it() {
    const LEN: usize = 256 * 1024;
    let stack = map_stack(LEN);
    let spec = lintel_kernel::SpawnSpec {
        entry: tp_body,
        arg: 0,
        stack_top: stack as usize + LEN,
        thread_pointer: Some(0x1234_5000),
    };
    // SAFETY: the stack stays mapped until the thread is dead (checked below).
    let t = unsafe { HOST.spawn(&spec) }.unwrap();
    let start = std::time::Instant::now();
    while !HOST.is_dead(t) {
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(TP_SEEN[0].load(Ordering::Acquire), 0x1234_5000);
    assert_eq!(TP_SEEN[1].load(Ordering::Acquire), 0x5678_0000);
    // SAFETY: the thread is dead and off its stack.
    unsafe { libc::munmap(stack, LEN) };
}

static CLEAR_WORD: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

unsafe extern "C" fn exit_clearing_body(_: usize) {
    // SAFETY: nothing on this stack is referenced elsewhere; the joiner waits on CLEAR_WORD.
    unsafe { HOST.exit_current(0, CLEAR_WORD.as_ptr() as usize) }
}

/// `exit_current(clear_tid)` is Linux's CLONE_CHILD_CLEARTID: the word becomes 0 and a shared
/// waiter wakes only once the thread is off its stack, so the joiner may unmap the stack at once
/// (if the thread touched it afterwards, the process would die of SIGSEGV).
#[test]
fn exit_current_clears_and_wakes_after_leaving_the_stack() {
    const LEN: usize = 64 * 1024;
    for _ in 0..50 {
        CLEAR_WORD.store(1, Ordering::SeqCst);
        let stack = map_stack(LEN);
        let spec = lintel_kernel::SpawnSpec {
            entry: exit_clearing_body,
            arg: 0,
            stack_top: stack as usize + LEN,
            thread_pointer: None,
        };
        // SAFETY: the stack stays mapped until CLEAR_WORD says the thread left it.
        unsafe { HOST.spawn(&spec) }.unwrap();
        // Join as musl does: a *shared* futex wait while the word is non-zero.
        let start = std::time::Instant::now();
        while CLEAR_WORD.load(Ordering::SeqCst) != 0 {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "never cleared"
            );
            let ts = libc::timespec {
                tv_sec: 1,
                tv_nsec: 0,
            };
            // SAFETY: a shared futex wait on our word with a valid timeout.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    CLEAR_WORD.as_ptr(),
                    libc::FUTEX_WAIT,
                    1,
                    &ts,
                )
            };
            let _ = r; // woken, EAGAIN (already 0) or timed out: the loop re-checks
        }
        // SAFETY: the thread is off its stack (that is what the 0 means).
        assert_eq!(unsafe { libc::munmap(stack, LEN) }, 0);
    }
}

static VFORK_CHILD_TID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

unsafe extern "C" fn vfork_child(_: usize) -> i32 {
    // A new process sharing our memory: only atomics and lintel calls here.
    VFORK_CHILD_TID.store(HOST.tid(HOST.current()), Ordering::SeqCst);
    0
}

/// A `CLONE_VM` child that is not a thread (posix_spawn's) gets a thread record of its own: it
/// must not run on (and change the flags of) its parent's.
#[test]
fn a_clone_vm_child_gets_its_own_record() {
    const LEN: usize = 64 * 1024;
    let me = HOST.tid(HOST.current());
    let stack = map_stack(LEN);
    let flags = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as usize;
    // SAFETY: the stack is ours; the child touches only atomics and lintel; CLONE_VFORK makes us
    // wait until it has exited.
    let pid = unsafe {
        lintel_host::musl::clone_passthrough(vfork_child, stack as usize + LEN, flags, 0, 0, 0, 0)
    };
    assert!(pid > 0);
    let mut status = 0;
    // SAFETY: waits for our own child.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(reaped, pid);
    assert_eq!(
        VFORK_CHILD_TID.load(Ordering::SeqCst),
        pid,
        "the child saw its own tid"
    );
    assert_eq!(HOST.tid(HOST.current()), me, "our record is still ours");
    // SAFETY: the child is gone.
    unsafe { libc::munmap(stack, LEN) };
}
