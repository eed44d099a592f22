//! The CLEARTID join protocol through the real `lintel_clone::exit_thread`: a thread that
//! registered a clear-tid word (`set_tid_address`) exits; once it no longer touches its
//! memory, the port stores 0 to the word and wakes one waiter of the *shared* futex there
//! (`Threads::exit_current`'s contract in `kernel/src/thread.rs`). A joiner that waits like
//! musl's `__tl_sync` (`while word != 0 { futex_wait(word, v) }`, shared) always returns, and
//! may then free the exited thread's memory.
//!
//! The exiting thread's memory is the model's plain memory (a loom cell): the thread writes its
//! robust-list head there (it "uses its stack", and musl keeps that head in the thread's own
//! mapping), `exit_thread`'s robust-list walk reads it back through `UserMemory::read`, and the
//! joiner overwrites all of it once it sees 0 (the `munmap`). loom reports any access of the
//! exiting thread that is not ordered before the joiner's by happens-before, so the model
//! checks both the order inside `exit_thread` (walk, then clear-tid) and the port's store
//! (`Release`, seen by the joiner's `Acquire` load). A lost wake hangs the joiner, which loom
//! reports as a deadlock.
//!
//! Run: `bash loom-tests/run.sh --test cleartid`.
#![cfg(lintel_loom)]

use lintel_clone::robust::{HEAD_SIZE, set_robust_list};
use lintel_clone::{exit_thread, set_tid_address};
use lintel_futex::Scope;
use lintel_kernel::{Errno, Threads};
use lintel_loom_tests::{ANY, Coverage, Model, Tid, check};
use loom::sync::atomic::Ordering;

/// The exiting thread: the first one spawned.
const EXITING: Tid = Tid(1);

/// The exiting thread registers the clear-tid word and an empty robust list whose head is in
/// its own memory, and exits; the joiner waits for the word to become 0 and frees that memory.
#[test]
fn join_waits_for_cleartid() {
    let cov = Coverage::new(&["slept and woken", "saw 0 first", "EAGAIN"]);
    let c = cov.clone();
    check(move || {
        let m = Model::with_bytes(1, &[0], &[0; HEAD_SIZE]);
        let tid = m.kernel.tid(EXITING) as u32;
        // CLONE_PARENT_SETTID's store, done before the thread runs.
        m.kernel.word(0).store(tid, Ordering::Relaxed);
        let w = m.addr(0);
        let exiting = m.spawn(move |m| {
            assert_eq!(set_tid_address(&m.kernel, w) as u32, tid);
            // "Uses its stack": an empty robust list (`next` points at the head itself).
            let head = m.kernel.bytes_addr(0);
            let mut h = [0u8; HEAD_SIZE];
            h[..8].copy_from_slice(&head.to_ne_bytes());
            m.kernel.write_bytes(0, &h);
            set_robust_list(&m.kernel, head, HEAD_SIZE).unwrap();
            // SAFETY: nothing on this thread's stack is referenced by other threads; its
            // plain memory is handed over through the clear-tid protocol.
            unsafe { exit_thread(&m.kernel, 0) }
        });
        assert_eq!(exiting.tid, EXITING);
        let joiner = m.spawn(move |m| {
            let t = m.table();
            let (mut woken, mut eagain) = (false, false);
            loop {
                let v = m.kernel.word(0).load(Ordering::Acquire);
                if v == 0 {
                    break;
                }
                assert_eq!(v, tid);
                match t.wait(w, v, ANY, None, Scope::Shared) {
                    Ok(()) => woken = true,
                    Err(e) if e == Errno::EAGAIN.into() => eagain = true,
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            // Free the exited thread's memory: every access it made must happen-before this.
            m.kernel.write_bytes(0, &[0xdd; HEAD_SIZE]);
            (woken, eagain)
        });
        let jt = joiner.tid;
        exiting.join_exited();
        let (woken, eagain) = joiner.join();
        assert!(m.kernel.is_dead(EXITING));
        assert!(!m.kernel.tid_alive(tid as i32));
        assert_eq!(m.kernel.word(0).load(Ordering::Relaxed), 0);
        if woken {
            c.hit("slept and woken");
        }
        if eagain {
            c.hit("EAGAIN");
        }
        if m.kernel.waits(jt) == 0 && !eagain {
            c.hit("saw 0 first");
        }
    });
    cov.assert_all();
}
