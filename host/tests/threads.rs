//! Threads: raw spawn, identity, death, stack release, adoption, thread pointer, altstack.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};

use common::*;
use lintel_host::{HOST, Host, RawThread, Thread, spawn_raw};
use lintel_kernel::{SpawnSpec, Threads};
use linux_raw_sys::general as g;

/// The stack-release check looks at addresses that any concurrent mmap (a std thread's stack,
/// another raw thread's) could reuse, so the tests of this file take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

static STARTED: AtomicU32 = AtomicU32::new(0);
static GO: AtomicU32 = AtomicU32::new(0);

struct Slot {
    ran: AtomicU32,
    tid_ok: AtomicU32,
    stable: AtomicU32,
    record: AtomicUsize,
    altstack_size: AtomicUsize,
}

fn body(a: usize) {
    // SAFETY: `a` is a leaked Slot.
    let s: &Slot = unsafe { from_arg(a) };
    let me = HOST.current();
    s.record.store(me.record_addr(), Ordering::Relaxed);
    s.tid_ok
        .store((HOST.tid(me) == gettid()) as u32, Ordering::Relaxed);
    s.stable
        .store((HOST.current() == me) as u32, Ordering::Relaxed);
    // The host sigaltstack must be installed.
    let mut ss = g::stack_t {
        ss_sp: std::ptr::null_mut(),
        ss_flags: 0,
        ss_size: 0,
    };
    sys(g::__NR_sigaltstack, &[0, &mut ss as *mut _ as usize]);
    if ss.ss_flags as u32 & g::SS_DISABLE == 0 {
        s.altstack_size
            .store(ss.ss_size as usize, Ordering::Relaxed);
    }
    // Stay alive until all sixteen are, so that their records must be distinct.
    STARTED.fetch_add(1, Ordering::AcqRel);
    raw_wait_eq(&GO, 1, 5000);
    s.stable
        .fetch_and((HOST.current() == me) as u32, Ordering::Relaxed);
    s.ran.store(1, Ordering::Release);
}

#[test]
fn sixteen_raw_threads_run_die_and_free_their_stacks() {
    let _serial = serial();
    let slots: Vec<&'static Slot> = (0..16)
        .map(|_| {
            leak(Slot {
                ran: AtomicU32::new(0),
                tid_ok: AtomicU32::new(0),
                stable: AtomicU32::new(0),
                record: AtomicUsize::new(0),
                altstack_size: AtomicUsize::new(0),
            })
        })
        .collect();
    let threads: Vec<RawThread> = slots
        .iter()
        .map(|s| spawn_raw(body, arg(*s)).unwrap())
        .collect();
    let handles: Vec<Thread> = threads.iter().map(|t| t.thread()).collect();
    let stacks: Vec<(usize, usize)> = threads.iter().map(|t| t.stack()).collect();
    let tids: HashSet<i32> = handles.iter().map(|&h| HOST.tid(h)).collect();
    assert_eq!(tids.len(), 16, "distinct tids");
    assert!(tids.iter().all(|&t| t > 0));
    assert!(eventually(std::time::Duration::from_secs(5), || STARTED
        .load(Ordering::Acquire)
        == 16));
    for &h in &handles {
        assert!(!HOST.is_dead(h));
    }
    GO.store(1, Ordering::Release);
    for t in threads {
        t.join_timeout_ns(JOIN_NS).expect("raw thread did not exit");
    }
    for (s, &h) in slots.iter().zip(&handles) {
        assert_eq!(s.ran.load(Ordering::Acquire), 1);
        assert_eq!(s.tid_ok.load(Ordering::Relaxed), 1, "tid is the host tid");
        assert_eq!(s.stable.load(Ordering::Relaxed), 1, "current() stable");
        assert_eq!(
            s.record.load(Ordering::Relaxed),
            h.record_addr(),
            "current() == handle"
        );
        assert_eq!(
            s.altstack_size.load(Ordering::Relaxed),
            Host::altstack_size()
        );
        assert!(HOST.is_dead(h));
    }
    let records: HashSet<usize> = slots
        .iter()
        .map(|s| s.record.load(Ordering::Relaxed))
        .collect();
    assert_eq!(records.len(), 16, "current() distinct per live thread");
    assert!(Host::altstack_size() >= 64 * 1024);
    assert!(Host::altstack_size() >= Host::min_sigstksz());
    // The stacks are unmapped: mincore says ENOMEM.
    for (lo, _) in stacks {
        let mut vec = [0u8; 1];
        let r = sys(g::__NR_mincore, &[lo, 4096, vec.as_mut_ptr() as usize]);
        assert_eq!(r, -(linux_raw_sys::errno::ENOMEM as isize));
    }
}

fn nothing(_: usize) {}

#[test]
fn records_are_recycled_and_stale_handles_stay_dead() {
    let _serial = serial();
    let mut seen = Vec::new();
    for _ in 0..50 {
        let t = spawn_raw(nothing, 0).unwrap();
        let h = t.thread();
        t.join_timeout_ns(JOIN_NS).expect("raw thread did not exit");
        assert!(HOST.is_dead(h));
        seen.push(h);
    }
    // All old handles stay dead, and differ from each other even when records repeat.
    for (i, a) in seen.iter().enumerate() {
        assert!(HOST.is_dead(*a));
        for b in &seen[i + 1..] {
            assert_ne!(a, b);
        }
    }
    let distinct: HashSet<usize> = seen.iter().map(|h| h.record_addr()).collect();
    assert!(distinct.len() < seen.len(), "dead records should be reused");
}

#[test]
fn current_is_distinct_per_std_thread_and_stable() {
    let _serial = serial();
    let main = HOST.current();
    assert_eq!(HOST.current(), main);
    assert_eq!(HOST.tid(main), gettid());
    assert!(!HOST.is_dead(main));
    let others: Vec<(Thread, Thread, i32, i32)> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                let a = HOST.current();
                let b = HOST.current();
                (a, b, HOST.tid(a), gettid())
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let mut all = HashSet::new();
    all.insert(main.record_addr());
    for (a, b, tid, real) in &others {
        assert_eq!(a, b);
        assert_eq!(tid, real);
        assert_ne!(*a, main);
    }
    // Threads that ran one after another may share a recycled record, but not concurrently
    // live ones: the main thread's record is never handed out while it lives.
    assert!(
        others
            .iter()
            .all(|(a, ..)| a.record_addr() != main.record_addr())
    );
    assert!(!HOST.is_dead(main));
}

#[test]
fn a_thread_that_inherits_gs_from_its_creator_is_adopted_afresh() {
    let _serial = serial();
    // The creator is adopted (GS = its record); pthread_create copies GS to the child.
    let (creator, child) = std::thread::spawn(|| {
        let creator = HOST.current();
        let child = std::thread::spawn(|| (HOST.current(), HOST.tid(HOST.current()), gettid()))
            .join()
            .unwrap();
        (creator, child)
    })
    .join()
    .unwrap();
    let (child, tid, real) = child;
    assert_ne!(creator.record_addr(), child.record_addr());
    assert_eq!(tid, real);
}

static FS_SEEN: AtomicUsize = AtomicUsize::new(0);
static FS_TID: AtomicI32 = AtomicI32::new(0);

unsafe extern "C" fn read_fs(_: usize) {
    // No TLS here: FS points at a dummy block.
    let mut fs = 0usize;
    sys(
        g::__NR_arch_prctl,
        &[
            0x1003, /* ARCH_GET_FS */
            &mut fs as *mut usize as usize,
        ],
    );
    FS_SEEN.store(fs, Ordering::Relaxed);
    FS_TID.store(HOST.tid(HOST.current()), Ordering::Release);
}

#[test]
fn spawn_sets_the_thread_pointer_when_asked() {
    let _serial = serial();
    let stack = mmap(64 * 1024, g::PROT_READ | g::PROT_WRITE);
    let tls_block = mmap(4096, g::PROT_READ | g::PROT_WRITE);
    let spec = SpawnSpec {
        entry: read_fs,
        arg: 0,
        stack_top: stack + 64 * 1024,
        thread_pointer: Some(tls_block),
    };
    // SAFETY: the stack stays mapped until is_dead; read_fs uses no TLS.
    let t = unsafe { HOST.spawn(&spec) }.unwrap();
    assert!(eventually(std::time::Duration::from_secs(5), || HOST.is_dead(t)));
    assert_eq!(FS_SEEN.load(Ordering::Relaxed), tls_block);
    assert_eq!(FS_TID.load(Ordering::Acquire), HOST.tid(t));
    munmap(stack, 64 * 1024);
}

#[test]
fn spawn_rejects_a_misaligned_stack() {
    let _serial = serial();
    let spec = SpawnSpec {
        entry: read_fs,
        arg: 0,
        stack_top: 0x1008,
        thread_pointer: None,
    };
    // SAFETY: rejected before any thread exists.
    let r = unsafe { HOST.spawn(&spec) };
    assert_eq!(r.unwrap_err(), lintel_kernel::Errno::EINVAL);
}

static EXITED_EARLY: AtomicU32 = AtomicU32::new(0);

fn exits_early(_: usize) {
    EXITED_EARLY.store(1, Ordering::Release);
    // SAFETY: nothing on this stack is referenced elsewhere.
    unsafe { HOST.exit_current(0, 0) };
}

#[test]
fn exit_current_ends_only_the_raw_thread() {
    let _serial = serial();
    let t = spawn_raw(exits_early, 0).unwrap();
    let h = t.thread();
    t.join_timeout_ns(JOIN_NS).expect("raw thread did not exit");
    assert!(HOST.is_dead(h));
    assert_eq!(EXITED_EARLY.load(Ordering::Acquire), 1);
    HOST.yield_now();
}

#[test]
fn syscall_section_holds_the_window() {
    let _serial = serial();
    let (start, end) = lintel_host::syscall_section();
    let (begin, sc, wend, abort) = lintel_host::window_labels();
    assert!(start < end);
    for l in [begin, sc, wend, abort] {
        assert!((start..end).contains(&l));
    }
    assert!(begin < sc && sc < wend && wend <= abort);
    assert_eq!(wend - sc, 2, "the syscall instruction is 2 bytes");
}

/// Every `syscall` instruction of this crate lies in `[__lintel_host_syscalls_start,
/// __lintel_host_syscalls_end)` (the one range Syscall User Dispatch can exempt). Checked on
/// this very test binary with objdump; skipped if objdump is not installed.
#[test]
fn every_syscall_instruction_of_the_crate_is_in_the_section() {
    let _serial = serial();
    let exe = std::env::current_exe().unwrap();
    let Ok(out) = std::process::Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(&exe)
        .output()
    else {
        eprintln!("objdump not found: skipped");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // objdump names an address by one symbol only; nm lists them all.
    let nm = std::process::Command::new("nm")
        .arg(&exe)
        .output()
        .expect("nm");
    let (mut start, mut end) = (None, None);
    for line in String::from_utf8_lossy(&nm.stdout).lines() {
        let mut cols = line.split_whitespace();
        let (Some(addr), Some(_), Some(name)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        let addr = u64::from_str_radix(addr, 16).ok();
        match name {
            "__lintel_host_syscalls_start" => start = addr,
            "__lintel_host_syscalls_end" => end = addr,
            _ => {}
        }
    }
    let mut func = String::new();
    let mut ours = Vec::new();
    for line in text.lines() {
        // "0000000000012340 <name>:" starts a symbol.
        if let Some(name) = line.strip_suffix(">:").and_then(|l| l.split_once(" <")) {
            func = name.1.to_string();
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(addr), Some(insn)) = (cols.next(), cols.next()) else {
            continue;
        };
        if insn.trim() == "syscall" && func.contains("lintel_host") {
            let a = u64::from_str_radix(addr.trim().trim_end_matches(':'), 16).unwrap();
            ours.push((a, func.clone()));
        }
    }
    let (start, end) = (start.expect("start symbol"), end.expect("end symbol"));
    assert!(ours.len() >= 5, "found {ours:?}");
    for (a, f) in ours {
        assert!(
            (start..end).contains(&a),
            "syscall at {a:#x} in {f} outside the section"
        );
    }
}

#[test]
fn after_fork_the_child_knows_its_own_tid() {
    let _serial = serial();
    let me = HOST.current();
    let parent_tid = HOST.tid(me);
    // Raw fork (clone with SIGCHLD); the child uses raw syscalls only, then _exit.
    let pid = sys(g::__NR_clone, &[g::SIGCHLD as usize, 0, 0, 0, 0]);
    assert!(pid >= 0, "fork: {pid}");
    if pid == 0 {
        lintel_host::after_fork_in_child();
        let c = HOST.current();
        let ok = HOST.tid(c) == gettid()
            && HOST.tid(c) != parent_tid
            && c.record_addr() == me.record_addr();
        sys(g::__NR_exit_group, &[if ok { 0 } else { 1 }]);
        unreachable!();
    }
    let mut status = 0i32;
    let r = sys(
        g::__NR_wait4,
        &[pid as usize, &mut status as *mut i32 as usize, 0, 0],
    );
    assert_eq!(r, pid);
    assert_eq!(status, 0, "child status {status:#x}");
    assert_eq!(HOST.tid(HOST.current()), parent_tid);
}

/// Many std threads adopted at once, round after round, while the records of the previous
/// round's dead threads are being reclaimed: no two live threads ever share a record (a claimer
/// that judged a record dead, lost the race for it, and then found it adopted again by a live
/// thread once took it over: two threads on one record, and lost wakeups).
#[test]
fn concurrent_adoption_never_shares_a_record() {
    let _s = serial();
    for _round in 0..400 {
        let n = 16;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let b = barrier.clone();
                std::thread::spawn(move || {
                    b.wait();
                    let me = HOST.current();
                    let addr = me.record_addr();
                    // Everyone holds its record until all have one.
                    b.wait();
                    let still = HOST.current() == me && HOST.tid(me) == gettid();
                    b.wait();
                    (addr, still)
                })
            })
            .collect();
        let got: Vec<(usize, bool)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let distinct: HashSet<usize> = got.iter().map(|g| g.0).collect();
        assert_eq!(
            distinct.len(),
            n,
            "two live threads on one record: {got:x?}"
        );
        assert!(
            got.iter().all(|g| g.1),
            "a thread lost its record: {got:x?}"
        );
    }
}

static TRIM_GO: AtomicU32 = AtomicU32::new(0);
static TRIM_STARTED: AtomicU32 = AtomicU32::new(0);

/// A thread that checks its host signal stack is installed, waits for `TRIM_GO`, and then
/// writes over the whole stack (a released stack would fault): 1 in its slot when all held.
fn stack_user(a: usize) {
    // SAFETY: `a` is a leaked AtomicUsize.
    let ok: &AtomicUsize = unsafe { from_arg(a) };
    let stack_now = || {
        let mut ss = g::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: 0,
            ss_size: 0,
        };
        sys(g::__NR_sigaltstack, &[0, &mut ss as *mut _ as usize]);
        (ss.ss_flags as u32 & g::SS_DISABLE == 0)
            .then_some((ss.ss_sp as usize, ss.ss_size as usize))
    };
    let before = stack_now();
    TRIM_STARTED.fetch_add(1, Ordering::AcqRel);
    raw_wait_eq(&TRIM_GO, 1, 5000);
    let after = stack_now();
    if let (Some((sp, size)), true) = (before, before == after) {
        // SAFETY: our own host signal stack, unused while no signal runs on it.
        unsafe { std::ptr::write_bytes(sp as *mut u8, 0xa5, size) };
        ok.store(1, Ordering::Release);
    }
}

fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

/// `before_fork` releases the signal stacks of dead threads beyond a few spares (a fork copies
/// every mapping); live threads keep theirs, and a record whose stack went gets a new one when
/// a thread claims it.
#[test]
fn before_fork_releases_dead_stacks_and_new_threads_get_fresh_ones() {
    let _serial = serial();
    const N: usize = 40;
    let round = |n: usize| -> Vec<&'static AtomicUsize> {
        TRIM_GO.store(0, Ordering::Release);
        TRIM_STARTED.store(0, Ordering::Release);
        let slots: Vec<&'static AtomicUsize> = (0..n).map(|_| leak(AtomicUsize::new(0))).collect();
        let threads: Vec<RawThread> = slots
            .iter()
            .map(|s| spawn_raw(stack_user, arg(*s)).unwrap())
            .collect();
        assert!(eventually(std::time::Duration::from_secs(5), || {
            TRIM_STARTED.load(Ordering::Acquire) == n as u32
        }));
        // Live threads keep their stacks through a trim.
        HOST.before_fork();
        TRIM_GO.store(1, Ordering::Release);
        for t in threads {
            t.join_timeout_ns(JOIN_NS).expect("raw thread did not exit");
        }
        slots
    };
    let first = round(N);
    assert!(first.iter().all(|s| s.load(Ordering::Acquire) == 1));
    let before = map_count();
    HOST.before_fork();
    let after = map_count();
    // Each released stack is two mappings (the guard page and the stack).
    assert!(
        before >= after + 2 * (N - 16),
        "maps: {before} before the trim, {after} after"
    );
    // The records come back with new stacks.
    let second = round(N);
    assert!(second.iter().all(|s| s.load(Ordering::Acquire) == 1));
}
