//! The robust-list walk at thread death, against Linux's: the same list, owned by a thread that
//! dies, once on the host kernel (real `set_robust_list`, thread killed by its own `exit`) and
//! once on lintel (emulated `set_robust_list`, thread ended by lintel's exit); the futex words
//! afterwards and which shared waiters woke must be identical.

use lintel_clone::robust::{HEAD_SIZE, get_robust_list, set_robust_list};
use lintel_clone::{CloneRequest, clone_thread};
use lintel_host::HOST;
use lintel_kernel::{Errno, Threads};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WAITERS: u32 = 0x8000_0000;
const OWNER_DIED: u32 = 0x4000_0000;
const MUSL_FLAGS: u64 = 0x7d0f00;
const STACK: usize = 64 * 1024;

/// One robust-list entry: the list link, and the futex word at `futex_offset` (8) from it.
#[repr(C, align(16))]
struct Entry {
    next: AtomicUsize,
    word: AtomicU32,
}

/// The scenario's memory: a head, six entries, and the tid/ctid words.
#[repr(C)]
struct Scene {
    head: [AtomicUsize; 3],
    e: [Entry; 6],
    ctid: AtomicU32,
    /// The dying thread's tid, as it saw it.
    tid: AtomicU32,
    /// How the dying thread builds the words: a function of its tid per entry.
    cyclic: bool,
}

impl Scene {
    fn new(cyclic: bool) -> Box<Scene> {
        Box::new(Scene {
            head: [const { AtomicUsize::new(0) }; 3],
            e: [const {
                Entry {
                    next: AtomicUsize::new(0),
                    word: AtomicU32::new(0),
                }
            }; 6],
            ctid: AtomicU32::new(0),
            tid: AtomicU32::new(0),
            cyclic,
        })
    }

    /// Built by the dying thread itself, once it knows its tid:
    /// - e0: owned, no waiters        -> OWNER_DIED
    /// - e1: owned, waiters           -> WAITERS | OWNER_DIED, one shared waiter woken
    /// - e2: owned by someone else    -> unchanged
    /// - e3: owned, PI flag on its link (bit 0) -> OWNER_DIED, nobody woken
    /// - e4: the pending op, owned and also on the list -> handled once
    /// - e5: not on the list (pending is e4)    -> unchanged
    fn build(&self, tid: u32) {
        let a = |i: usize| &self.e[i] as *const Entry as usize;
        let head = self.head.as_ptr() as usize;
        self.e[0].word.store(tid, Ordering::SeqCst);
        self.e[1].word.store(tid | WAITERS, Ordering::SeqCst);
        self.e[2]
            .word
            .store((tid + 1) & 0x3fff_ffff, Ordering::SeqCst);
        self.e[3].word.store(tid, Ordering::SeqCst);
        self.e[4].word.store(tid, Ordering::SeqCst);
        self.e[5].word.store(tid, Ordering::SeqCst);
        self.head[0].store(a(0), Ordering::SeqCst);
        self.e[0].next.store(a(1), Ordering::SeqCst);
        self.e[1].next.store(a(2), Ordering::SeqCst);
        self.e[2].next.store(a(3) | 1, Ordering::SeqCst); // e3 is a PI futex
        self.e[3].next.store(a(4), Ordering::SeqCst);
        // The last link closes the list, or (cyclic) points back into it forever.
        self.e[4]
            .next
            .store(if self.cyclic { a(0) } else { head }, Ordering::SeqCst);
        self.head[1].store(8, Ordering::SeqCst); // futex_offset
        self.head[2].store(a(4), Ordering::SeqCst); // list_op_pending
    }

    fn words(&self, tid: u32) -> Vec<u32> {
        // Report relative to the tid, so two runs with different tids compare.
        self.e
            .iter()
            .map(|e| {
                let w = e.word.load(Ordering::SeqCst);
                if w & 0x3fff_ffff == tid {
                    (w & !0x3fff_ffff) | 1
                } else if w & 0x3fff_ffff == (tid + 1) & 0x3fff_ffff {
                    w & !0x3fff_ffff | 2
                } else {
                    w
                }
            })
            .collect()
    }
}

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

/// The dying thread on the host kernel: real set_robust_list, then the real exit.
unsafe extern "C" fn native_body(arg: usize) {
    // SAFETY: the test keeps the scene alive until the thread is dead.
    let s = unsafe { &*(arg as *const Scene) };
    let tid = HOST.tid(HOST.current()) as u32;
    s.tid.store(tid, Ordering::SeqCst);
    s.build(tid);
    // SAFETY: registers our own list with the host kernel, which walks it when we die.
    unsafe { libc::syscall(libc::SYS_set_robust_list, s.head.as_ptr(), HEAD_SIZE) };
    // SAFETY: ends this raw thread; the host kernel clears its CLEARTID word.
    unsafe { HOST.exit_current(0, 0) }
}

/// The dying thread on lintel: emulated set_robust_list, then lintel's exit.
unsafe extern "C" fn lintel_body(arg: usize) -> i32 {
    // SAFETY: as above.
    let s = unsafe { &*(arg as *const Scene) };
    let tid = HOST.tid(HOST.current()) as u32;
    s.tid.store(tid, Ordering::SeqCst);
    s.build(tid);
    set_robust_list(&HOST, s.head.as_ptr() as usize, HEAD_SIZE).unwrap();
    0 // returning exits the thread through lintel_clone::exit_thread
}

/// Waits until `word` is 0 (shared futex, as a joiner).
fn wait_zero(word: &AtomicU32) {
    let start = Instant::now();
    while word.load(Ordering::SeqCst) != 0 {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn run(lintel: bool, cyclic: bool) -> Vec<u32> {
    let s = Scene::new(cyclic);
    let stack = mmap_stack();
    let arg = &*s as *const Scene as usize;
    if lintel {
        s.ctid.store(1, Ordering::SeqCst);
        let req = CloneRequest {
            flags: MUSL_FLAGS,
            stack: stack + STACK,
            ptid: 0,
            ctid: s.ctid.as_ptr() as usize,
            tls: 0,
            child_words: [None; 3],
        };
        // SAFETY: the stack and the scene outlive the thread (we wait for ctid == 0).
        unsafe { clone_thread(&HOST, lintel_body, arg, &req) }.unwrap();
        wait_zero(&s.ctid);
    } else {
        let spec = lintel_kernel::SpawnSpec {
            entry: native_body,
            arg,
            stack_top: stack + STACK,
            thread_pointer: None,
        };
        // SAFETY: as above; we wait until the port reports the thread dead.
        let t = unsafe { HOST.spawn(&spec) }.unwrap();
        let start = Instant::now();
        while !HOST.is_dead(t) {
            assert!(start.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let words = s.words(s.tid.load(Ordering::SeqCst));
    // SAFETY: the thread is gone.
    unsafe { libc::munmap(stack as *mut _, STACK) };
    words
}

#[test]
fn the_walk_at_death_matches_linux() {
    let native = run(false, false);
    let lintel = run(true, false);
    assert_eq!(native, lintel);
    // And it is not vacuous: the owned words changed as Linux changes them.
    assert_eq!(native[0], OWNER_DIED);
    assert_eq!(native[1], WAITERS | OWNER_DIED);
    assert_eq!(native[2], 2);
    assert_eq!(native[5], 1);
}

#[test]
fn a_cyclic_list_ends_the_walk_as_on_linux() {
    let native = run(false, true);
    let lintel = run(true, true);
    assert_eq!(native, lintel);
}

#[test]
fn set_and_get_robust_list() {
    assert_eq!(set_robust_list(&HOST, 0x1000, 23), Err(Errno::EINVAL));
    let head = [0usize; 3];
    set_robust_list(&HOST, head.as_ptr() as usize, HEAD_SIZE).unwrap();
    let (mut h, mut len) = (0usize, 0usize);
    // SAFETY: our own output words.
    unsafe {
        get_robust_list(
            &HOST,
            &mut h as *mut usize as usize,
            &mut len as *mut usize as usize,
        )
    }
    .unwrap();
    assert_eq!((h, len), (head.as_ptr() as usize, 24));
    // SAFETY: a bad pointer gets EFAULT, as on Linux.
    let r = unsafe { get_robust_list(&HOST, 8, &mut len as *mut usize as usize) };
    assert_eq!(r, Err(Errno::EFAULT));
    set_robust_list(&HOST, 0, HEAD_SIZE).unwrap();
}
