//! Differential tests: every scenario runs against the host's native `futex(2)` and against
//! lintel's futex on the Linux host port, and the results are compared field by field: return
//! value or errno, the futex words afterwards, and which blocked waiters each step woke.
//!
//! Linux is the oracle; nothing here hard-codes an expected result except where a scenario
//! states the behaviour it pins down (and then it asserts both sides).

use lintel_kernel::abi::linux;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod host;
use host::{Backend, Mismatches, Outcome, PORT, lintel_table};

/// Asserts that the lintel table ends with no waiter counted. The tests of this file share the
/// table and run at once, and some leave lintel waiters asleep for a while (up to the 10 s
/// timeout of `pi_chain`'s links), so this waits for the count to reach 0: a waiter the table
/// leaks keeps it above 0 and fails the test after 30 s.
fn assert_table_idle() {
    let start = Instant::now();
    while lintel_table().waiters() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} waiters still counted in the lintel table",
            lintel_table().waiters()
        );
        thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------------------
// Memory: an arena with a read-write page, a read-only page and an unmapped page, fresh for
// each scenario and each backend.

struct Arena {
    base: usize,
}

const PAGE: usize = 4096;

impl Arena {
    fn new() -> Arena {
        // SAFETY: anonymous mapping of fresh memory; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                3 * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        let base = p as usize;
        // SAFETY: the pages are ours.
        unsafe {
            assert_eq!(
                libc::mprotect((base + PAGE) as *mut _, PAGE, libc::PROT_READ),
                0
            );
            assert_eq!(
                libc::mprotect((base + 2 * PAGE) as *mut _, PAGE, libc::PROT_NONE),
                0
            );
        }
        Arena { base }
    }
    fn word(&self, i: usize) -> &AtomicU32 {
        // SAFETY: the first page is mapped read-write for the arena's lifetime.
        unsafe { &*((self.base + i * 64) as *const AtomicU32) }
    }
    fn addr(&self, a: Addr) -> usize {
        match a {
            Addr::W0 => self.base,
            Addr::W1 => self.base + 64,
            Addr::Misaligned => self.base + 1,
            Addr::ReadOnly => self.base + PAGE,
            Addr::Unmapped => self.base + 2 * PAGE,
            Addr::Null => 0,
            Addr::Kernel => 0xffff_8000_0000_0000,
            Addr::EndOfUser => 0x7fff_ffff_f000,
        }
    }
    /// A scratch timespec in the arena (page 0, offset 1024).
    fn timespec(&self, sec: i64, nsec: i64) -> usize {
        let p = (self.base + 1024) as *mut i64;
        // SAFETY: in the read-write page, 8-aligned.
        unsafe {
            p.write(sec);
            p.add(1).write(nsec);
        }
        p as usize
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the arena.
        unsafe { libc::munmap(self.base as *mut _, 3 * PAGE) };
    }
}

#[derive(Copy, Clone, Debug)]
enum Addr {
    W0,
    W1,
    Misaligned,
    ReadOnly,
    Unmapped,
    Null,
    Kernel,
    EndOfUser,
}

/// The fourth argument.
#[derive(Copy, Clone, Debug)]
enum Arg4 {
    /// NULL.
    Zero,
    /// A relative or absolute timespec, as the op reads it.
    Ts(i64, i64),
    /// An absolute timespec `ms` milliseconds from now on the op's clock (0 = now, negative =
    /// past).
    AbsFromNow(i64),
    /// A pointer to unmapped memory.
    BadPtr,
    /// An integer (`val2` for the requeue and wake_op commands).
    Val2(u32),
}

fn clock_now(realtime: bool) -> (i64, i64) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let id = if realtime {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    };
    // SAFETY: valid out-pointer.
    unsafe { libc::clock_gettime(id, &mut ts) };
    (ts.tv_sec, ts.tv_nsec)
}

#[derive(Copy, Clone, Debug)]
struct Call {
    uaddr: Addr,
    op: u32,
    val: u32,
    arg4: Arg4,
    uaddr2: Addr,
    val3: u32,
}

impl Call {
    fn run(&self, b: Backend, arena: &Arena) -> Outcome {
        let utime = match self.arg4 {
            Arg4::Zero => 0,
            Arg4::Ts(s, ns) => arena.timespec(s, ns),
            Arg4::AbsFromNow(ms) => {
                let (s, ns) = clock_now(self.op & linux::FUTEX_CLOCK_REALTIME != 0);
                let t = s as i128 * 1_000_000_000 + ns as i128 + ms as i128 * 1_000_000;
                arena.timespec((t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64)
            }
            Arg4::BadPtr => arena.addr(Addr::Unmapped),
            Arg4::Val2(v) => v as usize,
        };
        b.futex(
            arena.addr(self.uaddr),
            self.op,
            self.val,
            utime,
            arena.addr(self.uaddr2),
            self.val3,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Single-thread scenarios: every value and errno.

const PRIV: u32 = linux::FUTEX_PRIVATE_FLAG;
const RT: u32 = linux::FUTEX_CLOCK_REALTIME;
const ANY: u32 = linux::FUTEX_BITSET_MATCH_ANY;

fn c(uaddr: Addr, op: u32, val: u32, arg4: Arg4, uaddr2: Addr, val3: u32) -> Call {
    Call {
        uaddr,
        op,
        val,
        arg4,
        uaddr2,
        val3,
    }
}

const fn wake_op(op: u32, cmp: u32, oparg: u32, cmparg: u32) -> u32 {
    (op << 28) | (cmp << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff)
}

/// Every single-thread case, for both scopes.
fn single_thread_cases() -> Vec<(String, Call)> {
    use Addr::*;
    use Arg4::*;
    let mut v = Vec::new();
    for scope in [PRIV, 0] {
        let s = if scope == PRIV { "private" } else { "shared" };
        let mut add = |name: &str, call: Call| v.push((format!("{s} {name}"), call));
        let wait = linux::FUTEX_WAIT | scope;
        let wait_bs = linux::FUTEX_WAIT_BITSET | scope;
        let wake = linux::FUTEX_WAKE | scope;
        let wake_bs = linux::FUTEX_WAKE_BITSET | scope;
        let requeue = linux::FUTEX_REQUEUE | scope;
        let cmp_requeue = linux::FUTEX_CMP_REQUEUE | scope;
        let wop = linux::FUTEX_WAKE_OP | scope;

        // FUTEX_WAIT
        add("wait mismatch", c(W0, wait, 1, Zero, Null, 0));
        add("wait zero timeout", c(W0, wait, 0, Ts(0, 0), Null, 0));
        add(
            "wait 2ms timeout",
            c(W0, wait, 0, Ts(0, 2_000_000), Null, 0),
        );
        add(
            "wait mismatch with timeout",
            c(W0, wait, 7, Ts(0, 2_000_000), Null, 0),
        );
        add(
            "wait nsec too big",
            c(W0, wait, 0, Ts(0, 1_000_000_000), Null, 0),
        );
        add("wait nsec negative", c(W0, wait, 0, Ts(0, -1), Null, 0));
        add("wait sec negative", c(W0, wait, 0, Ts(-1, 0), Null, 0));
        add("wait timespec unmapped", c(W0, wait, 0, BadPtr, Null, 0));
        add("wait misaligned", c(Misaligned, wait, 0, Ts(0, 0), Null, 0));
        add(
            "wait misaligned, bad timespec",
            c(Misaligned, wait, 0, Ts(0, -5), Null, 0),
        );
        add(
            "wait misaligned, timespec unmapped",
            c(Misaligned, wait, 0, BadPtr, Null, 0),
        );
        add("wait unmapped", c(Unmapped, wait, 0, Ts(0, 0), Null, 0));
        add("wait null", c(Null, wait, 0, Ts(0, 0), Null, 0));
        add("wait kernel address", c(Kernel, wait, 0, Ts(0, 0), Null, 0));
        add(
            "wait end of user space",
            c(EndOfUser, wait, 0, Ts(0, 0), Null, 0),
        );
        add(
            "wait read-only page mismatch",
            c(ReadOnly, wait, 1, Ts(0, 0), Null, 0),
        );
        add(
            "wait read-only page match",
            c(ReadOnly, wait, 0, Ts(0, 0), Null, 0),
        );
        add("wait realtime flag", c(W0, wait | RT, 0, Ts(0, 0), Null, 0));
        add(
            "wait realtime flag, bad timespec",
            c(W0, wait | RT, 0, Ts(0, -1), Null, 0),
        );
        add(
            "wait realtime flag, no timeout, mismatch",
            c(W0, wait | RT, 1, Zero, Null, 0),
        );
        // FUTEX_WAIT_BITSET (absolute timeouts)
        add("wait_bitset bitset 0", c(W0, wait_bs, 0, Ts(0, 0), Null, 0));
        add(
            "wait_bitset bitset 0, mismatch",
            c(W0, wait_bs, 1, Zero, Null, 0),
        );
        add(
            "wait_bitset bitset 0, misaligned",
            c(Misaligned, wait_bs, 0, Zero, Null, 0),
        );
        add("wait_bitset mismatch", c(W0, wait_bs, 1, Zero, Null, ANY));
        add(
            "wait_bitset past monotonic",
            c(W0, wait_bs, 0, AbsFromNow(-5), Null, 1),
        );
        add(
            "wait_bitset epoch monotonic",
            c(W0, wait_bs, 0, Ts(0, 0), Null, ANY),
        );
        add(
            "wait_bitset now+2ms monotonic",
            c(W0, wait_bs, 0, AbsFromNow(2), Null, ANY),
        );
        add(
            "wait_bitset past realtime",
            c(W0, wait_bs | RT, 0, AbsFromNow(-5), Null, ANY),
        );
        add(
            "wait_bitset now+2ms realtime",
            c(W0, wait_bs | RT, 0, AbsFromNow(2), Null, ANY),
        );
        add(
            "wait_bitset realtime bad timespec",
            c(W0, wait_bs | RT, 0, Ts(1, 1_000_000_000), Null, ANY),
        );
        add(
            "wait_bitset unmapped",
            c(Unmapped, wait_bs, 0, Zero, Null, ANY),
        );
        // FUTEX_WAKE / WAKE_BITSET
        add("wake nobody", c(W0, wake, 1, Zero, Null, 0));
        add("wake count 0", c(W0, wake, 0, Zero, Null, 0));
        add("wake count -1", c(W0, wake, u32::MAX, Zero, Null, 0));
        add("wake misaligned", c(Misaligned, wake, 1, Zero, Null, 0));
        add("wake unmapped", c(Unmapped, wake, 1, Zero, Null, 0));
        add("wake null", c(Null, wake, 1, Zero, Null, 0));
        add("wake kernel address", c(Kernel, wake, 1, Zero, Null, 0));
        add(
            "wake end of user space",
            c(EndOfUser, wake, 1, Zero, Null, 0),
        );
        add("wake read-only", c(ReadOnly, wake, 1, Zero, Null, 0));
        add("wake realtime flag", c(W0, wake | RT, 1, Zero, Null, 0));
        add(
            "wake ignores timespec slot",
            c(W0, wake, 1, BadPtr, Null, 0),
        );
        add("wake_bitset bitset 0", c(W0, wake_bs, 1, Zero, Null, 0));
        add(
            "wake_bitset bitset 0, misaligned",
            c(Misaligned, wake_bs, 1, Zero, Null, 0),
        );
        add("wake_bitset", c(W0, wake_bs, 1, Zero, Null, 0b1010));
        // FUTEX_REQUEUE / CMP_REQUEUE
        add("requeue nobody", c(W0, requeue, 1, Val2(1), W1, 0));
        add(
            "requeue negative nr_wake",
            c(W0, requeue, u32::MAX, Val2(1), W1, 0),
        );
        add(
            "requeue negative nr_requeue",
            c(W0, requeue, 1, Val2(u32::MAX), W1, 0),
        );
        add(
            "requeue misaligned target",
            c(W0, requeue, 1, Val2(1), Misaligned, 0),
        );
        add(
            "requeue unmapped target",
            c(W0, requeue, 1, Val2(1), Unmapped, 0),
        );
        add(
            "requeue unmapped source",
            c(Unmapped, requeue, 1, Val2(1), W1, 0),
        );
        add("requeue to self", c(W0, requeue, 1, Val2(1), W0, 0));
        add(
            "requeue realtime flag",
            c(W0, requeue | RT, 1, Val2(1), W1, 0),
        );
        add("cmp_requeue match", c(W0, cmp_requeue, 1, Val2(1), W1, 0));
        add(
            "cmp_requeue mismatch",
            c(W0, cmp_requeue, 1, Val2(1), W1, 3),
        );
        add(
            "cmp_requeue unmapped source",
            c(Unmapped, cmp_requeue, 1, Val2(1), W1, 0),
        );
        add(
            "cmp_requeue unmapped target",
            c(W0, cmp_requeue, 1, Val2(1), Unmapped, 0),
        );
        add(
            "cmp_requeue negative, mismatch",
            c(W0, cmp_requeue, 1, Val2(u32::MAX), W1, 3),
        );
        add(
            "cmp_requeue misaligned source, mismatch",
            c(Misaligned, cmp_requeue, 1, Val2(1), W1, 3),
        );
        add(
            "cmp_requeue kernel target",
            c(W0, cmp_requeue, 1, Val2(1), Kernel, 0),
        );
        // FUTEX_WAKE_OP: every op and comparison, shifts, faults.
        for op in 0..8 {
            for cmp in [0, 1, 2, 3, 4, 5, 6, 15] {
                add(
                    &format!("wake_op op {op} cmp {cmp}"),
                    c(W0, wop, 1, Val2(1), W1, wake_op(op, cmp, 5, 7)),
                );
            }
        }
        for shift in [0u32, 3, 31, 32, 40, 0x7ff, 0xfff] {
            add(
                &format!("wake_op shift {shift:#x}"),
                c(W0, wop, 1, Val2(1), W1, wake_op(8 | 4, 0, shift, 0)),
            );
        }
        add(
            "wake_op negative oparg",
            c(W0, wop, 1, Val2(1), W1, wake_op(1, 2, 0x800, 0x801)),
        );
        add(
            "wake_op read-only target",
            c(W0, wop, 1, Val2(1), ReadOnly, wake_op(1, 0, 1, 0)),
        );
        add(
            "wake_op unmapped target",
            c(W0, wop, 1, Val2(1), Unmapped, wake_op(1, 0, 1, 0)),
        );
        add(
            "wake_op unmapped target, bad op",
            c(W0, wop, 1, Val2(1), Unmapped, wake_op(6, 0, 1, 0)),
        );
        add(
            "wake_op misaligned target",
            c(W0, wop, 1, Val2(1), Misaligned, wake_op(1, 0, 1, 0)),
        );
        add(
            "wake_op unmapped source",
            c(Unmapped, wop, 1, Val2(1), W1, wake_op(1, 0, 1, 0)),
        );
        add(
            "wake_op same word",
            c(W0, wop, 1, Val2(1), W0, wake_op(1, 0, 1, 0)),
        );
        add(
            "wake_op realtime flag",
            c(W0, wop | RT, 1, Val2(1), W1, wake_op(1, 0, 1, 0)),
        );
        // The first key before the second: for a shared futex, `get_futex_key(uaddr)` includes
        // the page lookup (EFAULT for memory with no shared key), which Linux does before it
        // checks `uaddr2`'s alignment.
        for (src, sname) in [
            (ReadOnly, "read-only"),
            (Unmapped, "unmapped"),
            (Null, "null"),
            (EndOfUser, "end of user space"),
            (Kernel, "kernel"),
            (W0, "mapped"),
        ] {
            add(
                &format!("requeue {sname} source, misaligned target"),
                c(src, requeue, 1, Val2(1), Misaligned, 0),
            );
            add(
                &format!("cmp_requeue {sname} source, misaligned target"),
                c(src, cmp_requeue, 1, Val2(1), Misaligned, 0),
            );
            add(
                &format!("wake_op {sname} source, misaligned target"),
                c(src, wop, 1, Val2(1), Misaligned, wake_op(1, 0, 1, 0)),
            );
            add(
                &format!("wake_op {sname} source, misaligned target, bad op"),
                c(src, wop, 1, Val2(1), Misaligned, wake_op(6, 0, 1, 0)),
            );
        }
        // Requeue-PI, both scopes (a shared one is the port's once lintel's checks pass).
        // Nothing here blocks: values differ, deadlines have passed, or nobody waits.
        {
            let wrpi = linux::FUTEX_WAIT_REQUEUE_PI | scope;
            let crpi = linux::FUTEX_CMP_REQUEUE_PI | scope;
            add("wait_requeue_pi same address", c(W0, wrpi, 0, Zero, W0, 0));
            add("wait_requeue_pi mismatch", c(W0, wrpi, 1, Zero, W1, 0));
            for (a2, n) in [
                (Misaligned, "misaligned"),
                (Null, "null"),
                (Unmapped, "unmapped"),
                (ReadOnly, "read-only"),
                (Kernel, "kernel"),
                (EndOfUser, "end of user space"),
            ] {
                add(
                    &format!("wait_requeue_pi mismatch, uaddr2 {n}"),
                    c(W0, wrpi, 1, Zero, a2, 0),
                );
                // A private read-only uaddr2 whose page is not present yet is EFAULT on
                // Linux (the read under the lock faults, and its fault path asks for write
                // access); a present one is read, and with nobody waiting the answer is 0.
                // lintel cannot see presence and answers as for a present page
                // (docs/abi.md). A shared one is EFAULT either way (its key needs write
                // access), which the port's own call gives.
                if scope != PRIV || !matches!(a2, ReadOnly) {
                    add(
                        &format!("cmp_requeue_pi nobody, uaddr2 {n}"),
                        c(W0, crpi, 1, Val2(1), a2, 0),
                    );
                }
            }
            add(
                "wait_requeue_pi past deadline",
                c(W0, wrpi, 0, AbsFromNow(-5), W1, 0),
            );
            add(
                "wait_requeue_pi past deadline, realtime",
                c(W0, wrpi | RT, 0, AbsFromNow(-5), W1, 0),
            );
            add(
                "wait_requeue_pi past deadline, bitset 0",
                c(W0, wrpi, 0, AbsFromNow(-5), W1, 0),
            );
            add(
                "wait_requeue_pi misaligned",
                c(Misaligned, wrpi, 0, AbsFromNow(-5), W1, 0),
            );
            add(
                "wait_requeue_pi unmapped",
                c(Unmapped, wrpi, 0, AbsFromNow(-5), W1, 0),
            );
            add(
                "wait_requeue_pi bad timespec",
                c(W0, wrpi, 1, BadPtr, W1, 0),
            );
            add(
                "wait_requeue_pi nsec too large",
                c(W0, wrpi, 1, Ts(0, 1_000_000_000), W1, 0),
            );
            add(
                "wait_requeue_pi same address, bad timespec",
                c(W0, wrpi, 0, BadPtr, W0, 0),
            );
            for nr_wake in [0, 2, u32::MAX] {
                add(
                    &format!("cmp_requeue_pi nr_wake {nr_wake}"),
                    c(W0, crpi, nr_wake, Val2(1), W1, 0),
                );
            }
            add(
                "cmp_requeue_pi same address",
                c(W0, crpi, 1, Val2(1), W0, 0),
            );
            add(
                "cmp_requeue_pi nr_requeue -1",
                c(W0, crpi, 1, Val2(u32::MAX), W1, 0),
            );
            add("cmp_requeue_pi mismatch", c(W0, crpi, 1, Val2(1), W1, 5));
            add("cmp_requeue_pi nobody", c(W0, crpi, 1, Val2(1), W1, 0));
            add(
                "cmp_requeue_pi nobody, nr_requeue 0",
                c(W0, crpi, 1, Val2(0), W1, 0),
            );
            add(
                "cmp_requeue_pi realtime",
                c(W0, crpi | RT, 1, Val2(1), W1, 0),
            );
            add(
                "cmp_requeue_pi unmapped",
                c(Unmapped, crpi, 1, Val2(1), W1, 0),
            );
            add(
                "cmp_requeue_pi misaligned",
                c(Misaligned, crpi, 1, Val2(1), W1, 0),
            );
            // The key of the address checked first includes, for a shared futex, the page
            // lookup, before the other's alignment: uaddr2 first for WAIT_REQUEUE_PI, uaddr
            // first for CMP_REQUEUE_PI.
            for (a, n) in [
                (ReadOnly, "read-only"),
                (Unmapped, "unmapped"),
                (Null, "null"),
                (W1, "mapped"),
            ] {
                add(
                    &format!("wait_requeue_pi misaligned, uaddr2 {n}"),
                    c(Misaligned, wrpi, 0, Zero, a, 0),
                );
                add(
                    &format!("cmp_requeue_pi {n}, misaligned uaddr2"),
                    c(a, crpi, 1, Val2(1), Misaligned, 0),
                );
                add(
                    &format!("cmp_requeue_pi uaddr2 {n}, mismatch"),
                    c(W0, crpi, 1, Val2(1), a, 7),
                );
            }
        }
        // Unknown commands.
        for cmd in [linux::FUTEX_FD, 14, 15, 0x7f] {
            add(
                &format!("command {cmd}"),
                c(W0, cmd | scope, 0, Zero, W1, 0),
            );
        }
    }
    v
}

#[test]
fn single_thread_ops_match_native() {
    let mut mismatches = Vec::new();
    let cases = single_thread_cases();
    for (name, call) in &cases {
        let mut results = Vec::new();
        for b in [Backend::Native, Backend::Lintel] {
            let arena = Arena::new();
            arena.word(0).store(0, Ordering::SeqCst);
            arena.word(1).store(0, Ordering::SeqCst);
            let r = call.run(b, &arena);
            results.push((
                r,
                arena.word(0).load(Ordering::SeqCst),
                arena.word(1).load(Ordering::SeqCst),
            ));
        }
        if results[0] != results[1] {
            mismatches.push(format!(
                "{name}: native {:?} lintel {:?}",
                results[0], results[1]
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
    assert!(cases.len() > 200);
}

/// Timed waits take at least their timeout on both (and the lintel one not absurdly longer).
#[test]
fn timeouts_wait_at_least_their_time() {
    for b in [Backend::Native, Backend::Lintel] {
        let arena = Arena::new();
        for call in [
            c(
                Addr::W0,
                linux::FUTEX_WAIT | PRIV,
                0,
                Arg4::Ts(0, 20_000_000),
                Addr::Null,
                0,
            ),
            c(
                Addr::W0,
                linux::FUTEX_WAIT_BITSET | PRIV,
                0,
                Arg4::AbsFromNow(20),
                Addr::Null,
                ANY,
            ),
            c(
                Addr::W0,
                linux::FUTEX_WAIT_BITSET | PRIV | RT,
                0,
                Arg4::AbsFromNow(20),
                Addr::Null,
                ANY,
            ),
            c(
                Addr::W0,
                linux::FUTEX_WAIT,
                0,
                Arg4::Ts(0, 20_000_000),
                Addr::Null,
                0,
            ),
        ] {
            let start = Instant::now();
            assert_eq!(call.run(b, &arena), Err(libc::ETIMEDOUT), "{b:?} {call:?}");
            let took = start.elapsed();
            assert!(
                took >= Duration::from_millis(19),
                "{b:?} {call:?} took {took:?}"
            );
            assert!(
                took < Duration::from_secs(2),
                "{b:?} {call:?} took {took:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios with blocked waiters.

/// A waiter: which word, expected value, bitset.
#[derive(Copy, Clone, Debug)]
struct W {
    word: Addr,
    bitset: u32,
}

struct Scenario {
    name: &'static str,
    waiters: Vec<W>,
    /// Calls made once every waiter is blocked; after each, the set of waiters that returned.
    steps: Vec<Call>,
}

/// Whether thread `tid` is asleep inside `futex(2)` (the host's view: native waiters sleep in
/// their own futex; lintel's in the host's futex on their notification word or, for shared
/// futexes, on the word itself).
fn blocked_in_futex(tid: i32) -> bool {
    let syscall =
        std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("");
    syscall.split_whitespace().next() == Some(&libc::SYS_futex.to_string()) && state == "S"
}

#[derive(Debug, PartialEq)]
struct Trace {
    /// Per step: the call's outcome and the waiters that returned after it.
    steps: Vec<(Outcome, BTreeSet<usize>)>,
    /// Every waiter's own outcome.
    waiter_results: Vec<Outcome>,
    words: (u32, u32),
}

fn run_scenario(b: Backend, sc: &Scenario, scope: u32) -> Trace {
    // Build the table here, not in a waiter: a waiter blocked in the table's one-time
    // initialisation would look "blocked in futex" too.
    let _ = lintel_table();
    let arena = Arc::new(Arena::new());
    let results: Arc<Mutex<Vec<Option<Outcome>>>> =
        Arc::new(Mutex::new(vec![None; sc.waiters.len()]));
    let mut handles = Vec::new();
    for (i, w) in sc.waiters.iter().copied().enumerate() {
        let (arena2, results2) = (arena.clone(), results.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        handles.push(thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tx.send(unsafe { libc::gettid() }).unwrap();
            let call = c(
                w.word,
                linux::FUTEX_WAIT_BITSET | scope,
                0,
                Arg4::Zero,
                Addr::Null,
                w.bitset,
            );
            let r = call.run(b, &arena2);
            results2.lock().unwrap()[i] = Some(r);
        }));
        // Queue waiters one at a time so their order is defined.
        let tid = rx.recv().unwrap();
        let start = Instant::now();
        while !blocked_in_futex(tid) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{} waiter {i} never blocked",
                sc.name
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
    let returned = || -> BTreeSet<usize> {
        results
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_some())
            .map(|(i, _)| i)
            .collect()
    };
    let mut steps = Vec::new();
    let mut before = BTreeSet::new();
    for call in &sc.steps {
        let mut call = *call;
        call.op |= scope;
        let r = call.run(b, &arena);
        let expect = r.unwrap_or_default();
        // Wait for the woken to return, then a grace period for any extra.
        let start = Instant::now();
        while returned().len() < before.len() + expect.min(sc.waiters.len())
            && start.elapsed() < Duration::from_secs(5)
        {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(20));
        let now = returned();
        steps.push((r, now.difference(&before).copied().collect()));
        before = now;
    }
    // Release everyone still waiting.
    for word in [Addr::W0, Addr::W1] {
        arena.word(0).store(1, Ordering::SeqCst);
        arena.word(1).store(1, Ordering::SeqCst);
        let wake_all = c(
            word,
            linux::FUTEX_WAKE | scope,
            i32::MAX as u32,
            Arg4::Zero,
            Addr::Null,
            0,
        );
        let _ = wake_all.run(b, &arena);
    }
    for h in handles {
        h.join().unwrap();
    }
    let waiter_results = results.lock().unwrap().iter().map(|r| r.unwrap()).collect();
    Trace {
        steps,
        waiter_results,
        words: (
            arena.word(0).load(Ordering::SeqCst),
            arena.word(1).load(Ordering::SeqCst),
        ),
    }
}

fn scenarios() -> Vec<Scenario> {
    use Addr::*;
    use Arg4::*;
    let w0 = W {
        word: W0,
        bitset: ANY,
    };
    let w1 = W {
        word: W1,
        bitset: ANY,
    };
    let wake = |word, n: u32| c(word, linux::FUTEX_WAKE, n, Zero, Null, 0);
    vec![
        Scenario {
            name: "wake counts: 1, 0 (wakes one), -1 (wakes one), all",
            waiters: vec![w0; 5],
            steps: vec![
                wake(W0, 1),
                wake(W0, 0),
                wake(W0, u32::MAX),
                wake(W0, i32::MAX as u32),
                wake(W0, 1),
            ],
        },
        Scenario {
            name: "wake 2 of 4, FIFO",
            waiters: vec![w0; 4],
            steps: vec![wake(W0, 2), wake(W0, 1), wake(W0, 5)],
        },
        Scenario {
            name: "bitset selection",
            waiters: vec![
                W {
                    word: W0,
                    bitset: 1,
                },
                W {
                    word: W0,
                    bitset: 2,
                },
                W {
                    word: W0,
                    bitset: 3,
                },
                W {
                    word: W0,
                    bitset: 4,
                },
            ],
            steps: vec![
                c(W0, linux::FUTEX_WAKE_BITSET, 10, Zero, Null, 2),
                c(W0, linux::FUTEX_WAKE_BITSET, 10, Zero, Null, 8),
                c(W0, linux::FUTEX_WAKE_BITSET, 1, Zero, Null, ANY),
                c(W0, linux::FUTEX_WAKE, 10, Zero, Null, 0),
            ],
        },
        Scenario {
            name: "cmp_requeue wake 1 move 2, then wake both words",
            waiters: vec![w0; 4],
            steps: vec![
                c(W0, linux::FUTEX_CMP_REQUEUE, 1, Val2(2), W1, 0),
                wake(W1, 1),
                wake(W0, 10),
                wake(W1, 10),
            ],
        },
        Scenario {
            name: "cmp_requeue mismatch moves nothing",
            waiters: vec![w0; 2],
            steps: vec![
                c(W0, linux::FUTEX_CMP_REQUEUE, 1, Val2(2), W1, 9),
                wake(W1, 10),
                wake(W0, 10),
            ],
        },
        Scenario {
            name: "requeue 0 wake, all moved, onto existing waiters",
            waiters: vec![w1, w0, w0, w1],
            steps: vec![
                c(W0, linux::FUTEX_REQUEUE, 0, Val2(10), W1, 0),
                wake(W1, 1),
                wake(W1, 1),
                wake(W1, 1),
                wake(W0, 10),
                wake(W1, 10),
            ],
        },
        Scenario {
            name: "requeue nr_wake 0 nr_requeue 0 does nothing",
            waiters: vec![w0; 2],
            steps: vec![
                c(W0, linux::FUTEX_REQUEUE, 0, Val2(0), W1, 0),
                wake(W1, 10),
                wake(W0, 10),
            ],
        },
        Scenario {
            name: "wake_op: cmp true wakes both words",
            waiters: vec![w0, w0, w1, w1],
            steps: vec![
                c(
                    W0,
                    linux::FUTEX_WAKE_OP,
                    1,
                    Val2(5),
                    W1,
                    wake_op(0, 0, 1, 0),
                ),
                wake(W0, 10),
            ],
        },
        Scenario {
            name: "wake_op: cmp false wakes only the first word",
            waiters: vec![w0, w1],
            steps: vec![
                c(
                    W0,
                    linux::FUTEX_WAKE_OP,
                    5,
                    Val2(5),
                    W1,
                    wake_op(1, 1, 1, 0),
                ),
                wake(W1, 10),
            ],
        },
        Scenario {
            name: "wake_op: nr_wake 0 and nr_wake2 0 each wake one",
            waiters: vec![w0, w0, w1, w1],
            steps: vec![
                c(
                    W0,
                    linux::FUTEX_WAKE_OP,
                    0,
                    Val2(0),
                    W1,
                    wake_op(0, 0, 1, 0),
                ),
                wake(W0, 10),
                wake(W1, 10),
            ],
        },
        Scenario {
            name: "wake_op bad comparison wakes nobody",
            waiters: vec![w0, w1],
            steps: vec![
                c(
                    W0,
                    linux::FUTEX_WAKE_OP,
                    5,
                    Val2(5),
                    W1,
                    wake_op(1, 9, 1, 0),
                ),
                wake(W0, 10),
                wake(W1, 10),
            ],
        },
    ]
}

#[test]
fn blocked_waiter_scenarios_match_native() {
    let mut mismatches = Vec::new();
    for scope in [PRIV, 0] {
        for sc in scenarios() {
            // Each run puts the words at new (heap) addresses. Where a requeue puts a waiter
            // depends on whether the two words share a hash bucket, in Linux's table and in
            // lintel's (docs/abi.md, "Requeue placement depends on the hash"); a pair that
            // happens to collide in one table only changes the wake order. So a mismatch
            // counts only if it survives fresh addresses three times.
            let mut attempt = 0;
            // Mappings held while retrying, so that the next arenas land elsewhere (an unmapped
            // arena's hole would be handed out again).
            let mut spacers = Vec::new();
            let (native, lintel) = loop {
                let native = run_scenario(Backend::Native, &sc, scope);
                let lintel = run_scenario(Backend::Lintel, &sc, scope);
                attempt += 1;
                if native == lintel || attempt == 3 {
                    break (native, lintel);
                }
                spacers.push(Arena::new());
            };
            if native != lintel {
                mismatches.push(format!(
                    "{} (scope {scope:#x}):\n  native {native:?}\n  lintel {lintel:?}",
                    sc.name
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_table_idle();
}

// ---------------------------------------------------------------------------------------------
// Priority-inheritance locks: values and errno, then a contended handoff.

/// The futex word before a PI case, relative to the calling thread.
#[derive(Copy, Clone, Debug)]
enum PiWord {
    Value(u32),
    /// The calling thread's tid, or'ed with these bits.
    Mine(u32),
    /// A thread that exists (the process's main thread), or'ed with these bits.
    Other(u32),
    /// A tid no thread has.
    Nobody,
}

fn gettid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::gettid() as u32 }
}

fn getpid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::getpid() as u32 }
}

#[test]
fn pi_ops_match_native() {
    use Addr::*;
    use Arg4::*;
    const W: u32 = 0x8000_0000;
    const D: u32 = 0x4000_0000;
    let mut mismatches = Vec::new();
    let mut total = 0;
    for scope in [PRIV, 0] {
        let lock = linux::FUTEX_LOCK_PI | scope;
        let lock2 = linux::FUTEX_LOCK_PI2 | scope;
        let trylock = linux::FUTEX_TRYLOCK_PI | scope;
        let unlock = linux::FUTEX_UNLOCK_PI | scope;
        let cases: Vec<(&str, PiWord, Call)> = vec![
            ("lock free", PiWord::Value(0), c(W0, lock, 0, Zero, Null, 0)),
            (
                "lock free, owner died",
                PiWord::Value(D),
                c(W0, lock, 0, Zero, Null, 0),
            ),
            ("lock own", PiWord::Mine(0), c(W0, lock, 0, Zero, Null, 0)),
            (
                "lock own with waiters",
                PiWord::Mine(W),
                c(W0, lock, 0, Zero, Null, 0),
            ),
            (
                "lock owned by nobody",
                PiWord::Nobody,
                c(W0, lock, 0, Zero, Null, 0),
            ),
            (
                "lock owned, 2ms timeout",
                PiWord::Other(0),
                c(W0, lock, 0, AbsFromNow(2), Null, 0),
            ),
            (
                "lock owned, past timeout",
                PiWord::Other(0),
                c(W0, lock, 0, AbsFromNow(-5), Null, 0),
            ),
            (
                "lock realtime flag",
                PiWord::Value(0),
                c(W0, lock | RT, 0, Zero, Null, 0),
            ),
            (
                "lock2 realtime, owned, 2ms",
                PiWord::Other(0),
                c(W0, lock2 | RT, 0, AbsFromNow(2), Null, 0),
            ),
            (
                "lock2 monotonic, owned, 2ms",
                PiWord::Other(0),
                c(W0, lock2, 0, AbsFromNow(2), Null, 0),
            ),
            (
                "lock bad timespec",
                PiWord::Value(0),
                c(W0, lock, 0, Ts(0, -1), Null, 0),
            ),
            (
                "lock misaligned",
                PiWord::Value(0),
                c(Misaligned, lock, 0, Zero, Null, 0),
            ),
            (
                "lock unmapped",
                PiWord::Value(0),
                c(Unmapped, lock, 0, Zero, Null, 0),
            ),
            (
                "lock read-only",
                PiWord::Value(0),
                c(ReadOnly, lock, 0, Zero, Null, 0),
            ),
            (
                "trylock free",
                PiWord::Value(0),
                c(W0, trylock, 0, Zero, Null, 0),
            ),
            (
                "trylock own",
                PiWord::Mine(0),
                c(W0, trylock, 0, Zero, Null, 0),
            ),
            (
                "trylock owned",
                PiWord::Other(0),
                c(W0, trylock, 0, Zero, Null, 0),
            ),
            (
                "trylock owned by nobody",
                PiWord::Nobody,
                c(W0, trylock, 0, Zero, Null, 0),
            ),
            (
                "trylock owned with waiters",
                PiWord::Other(W),
                c(W0, trylock, 0, Zero, Null, 0),
            ),
            (
                "unlock own",
                PiWord::Mine(0),
                c(W0, unlock, 0, Zero, Null, 0),
            ),
            (
                "unlock own with waiters bit",
                PiWord::Mine(W),
                c(W0, unlock, 0, Zero, Null, 0),
            ),
            (
                "unlock own, owner died",
                PiWord::Mine(D),
                c(W0, unlock, 0, Zero, Null, 0),
            ),
            (
                "unlock other's",
                PiWord::Other(0),
                c(W0, unlock, 0, Zero, Null, 0),
            ),
            (
                "unlock free",
                PiWord::Value(0),
                c(W0, unlock, 0, Zero, Null, 0),
            ),
            (
                "unlock unmapped",
                PiWord::Value(0),
                c(Unmapped, unlock, 0, Zero, Null, 0),
            ),
            (
                "unlock misaligned",
                PiWord::Value(0),
                c(Misaligned, unlock, 0, Zero, Null, 0),
            ),
        ];
        total += cases.len();
        for (name, word, call) in &cases {
            let mut results = Vec::new();
            for b in [Backend::Native, Backend::Lintel] {
                let arena = Arena::new();
                let v = match *word {
                    PiWord::Value(v) => v,
                    PiWord::Mine(bits) => gettid() | bits,
                    PiWord::Other(bits) => getpid() | bits,
                    PiWord::Nobody => 0x3fff_fff0,
                };
                arena.word(0).store(v, Ordering::SeqCst);
                let r = call.run(b, &arena);
                // Report the word relative to the caller's tid so both runs compare.
                let w = arena.word(0).load(Ordering::SeqCst);
                let rel = if w & 0x3fff_ffff == gettid() {
                    (w & !0x3fff_ffff) | 1
                } else {
                    w
                };
                results.push((r, rel));
                if std::env::var_os("LINTEL_SHOW").is_some() {
                    eprintln!("{name} {b:?}: {r:?} {rel:#x}");
                }
            }
            if results[0] != results[1] {
                mismatches.push(format!(
                    "scope {scope:#x} {name}: native {:?} lintel {:?}",
                    results[0], results[1]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} PI cases differ:\n{}",
        mismatches.len(),
        total,
        mismatches.join("\n")
    );
}

/// A contended PI lock: the owner unlocks while another thread waits; the lock is handed off
/// (the word becomes WAITERS | the waiter's tid, never free), and the waiter's own unlock then
/// frees it. Both backends must show the same sequence.
#[test]
fn pi_handoff_matches_native() {
    fn scenario(b: Backend) -> Vec<String> {
        let _ = lintel_table();
        let arena = Arc::new(Arena::new());
        let lock = c(
            Addr::W0,
            linux::FUTEX_LOCK_PI | PRIV,
            0,
            Arg4::Zero,
            Addr::Null,
            0,
        );
        let unlock = c(
            Addr::W0,
            linux::FUTEX_UNLOCK_PI | PRIV,
            0,
            Arg4::Zero,
            Addr::Null,
            0,
        );
        let mut log = Vec::new();
        assert_eq!(lock.run(b, &arena), Ok(0));
        log.push(format!(
            "owner took it: {}",
            arena.word(0).load(Ordering::SeqCst) == gettid()
        ));
        let (tx, rx) = std::sync::mpsc::channel();
        let a2 = arena.clone();
        let waiter = thread::spawn(move || {
            tx.send(gettid()).unwrap();
            let r = lock.run(b, &a2);
            let word = a2.word(0).load(Ordering::SeqCst);
            let r2 = unlock.run(b, &a2);
            (r, word, r2, a2.word(0).load(Ordering::SeqCst))
        });
        let wtid = rx.recv().unwrap() as i32;
        let start = Instant::now();
        while !blocked_in_futex(wtid) {
            assert!(start.elapsed() < Duration::from_secs(10));
            thread::sleep(Duration::from_millis(1));
        }
        log.push(format!(
            "waiters bit set: {:#x}",
            arena.word(0).load(Ordering::SeqCst) & 0xc000_0000
        ));
        log.push(format!("unlock: {:?}", unlock.run(b, &arena)));
        let (r, word, r2, after) = waiter.join().unwrap();
        log.push(format!(
            "waiter lock: {r:?}; word = WAITERS|waiter: {}",
            word == 0x8000_0000 | wtid as u32
        ));
        log.push(format!("waiter unlock: {r2:?}; word after: {after:#x}"));
        log
    }
    let native = scenario(Backend::Native);
    let lintel = scenario(Backend::Lintel);
    assert_eq!(native, lintel);
    assert!(
        native
            .iter()
            .any(|l| l.contains("word = WAITERS|waiter: true")),
        "{native:?}"
    );
}

/// A PI owner's death (Linux's `exit_pi_state_list`, lintel's `FutexTable::exit_pi_state`,
/// which the dispatcher calls at every thread exit): the owner takes word 0 in user space,
/// `waiters` threads sleep in `FUTEX_LOCK_PI` on it, and the owner exits (for lintel, calling
/// `exit_pi_state` first, as the dispatcher does), after rewriting the word as a robust-list walk
/// would (`OWNER_DIED | WAITERS`, tid 0) if `robust`. The first waiter gets the lock with the
/// word `OWNER_DIED | WAITERS | its tid`; each then unlocks and the next gets it by handoff.
#[test]
fn pi_owner_death_matches_native() {
    fn scenario(b: Backend, waiters: usize, robust: bool) -> Vec<String> {
        let _ = lintel_table();
        let arena = Arc::new(Arena::new());
        let lock = c(
            Addr::W0,
            linux::FUTEX_LOCK_PI | PRIV,
            0,
            Arg4::Zero,
            Addr::Null,
            0,
        );
        let unlock = c(
            Addr::W0,
            linux::FUTEX_UNLOCK_PI | PRIV,
            0,
            Arg4::Zero,
            Addr::Null,
            0,
        );
        let (owned_tx, owned) = std::sync::mpsc::channel();
        let (die_tx, die) = std::sync::mpsc::channel::<()>();
        let a = arena.clone();
        let owner = thread::spawn(move || {
            let word = a.word(0);
            assert!(
                word.compare_exchange(0, gettid(), Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            );
            owned_tx.send(gettid()).unwrap();
            die.recv().unwrap();
            if robust {
                word.store(
                    linux::FUTEX_OWNER_DIED | linux::FUTEX_WAITERS,
                    Ordering::SeqCst,
                );
            }
            if b == Backend::Lintel {
                lintel_table().exit_pi_state();
            }
        });
        let otid = owned.recv().unwrap();
        // Each waiter logs the word it owns the lock with (tids by waiter number), then unlocks.
        let (log_tx, log_rx) = std::sync::mpsc::channel();
        let mut tids = Vec::new();
        let mut handles = Vec::new();
        let order = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for i in 0..waiters {
            let (a, log_tx, order) = (arena.clone(), log_tx.clone(), order.clone());
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            handles.push(thread::spawn(move || {
                tid_tx.send(gettid()).unwrap();
                let r = lock.run(b, &a);
                let w = a.word(0).load(Ordering::SeqCst);
                let nth = order.fetch_add(1, Ordering::SeqCst);
                let r2 = unlock.run(b, &a);
                log_tx.send((i, nth, r, w, r2)).unwrap();
            }));
            let tid = tid_rx.recv().unwrap();
            let start = Instant::now();
            while !blocked_in_futex(tid as i32) {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "waiter {i} never slept"
                );
                thread::sleep(Duration::from_millis(1));
            }
            tids.push(tid);
        }
        die_tx.send(()).unwrap();
        owner.join().unwrap();
        let name = |w: u32| {
            let t = w & linux::FUTEX_TID_MASK;
            let who = if t == otid {
                "owner".to_string()
            } else {
                tids.iter()
                    .position(|&x| x == t)
                    .map_or(format!("{t}"), |i| format!("waiter {i}"))
            };
            format!("{:#x}|{who}", w & !linux::FUTEX_TID_MASK)
        };
        let mut log = Vec::new();
        for _ in 0..waiters {
            let (i, nth, r, w, r2) = log_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            log.push(format!(
                "owner #{nth}: waiter {i}: lock {r:?} word {} unlock {r2:?}",
                name(w)
            ));
        }
        log.sort();
        for h in handles {
            h.join().unwrap();
        }
        log.push(format!(
            "end {}",
            name(arena.word(0).load(Ordering::SeqCst))
        ));
        log
    }
    let mut mismatches = Mismatches::default();
    for (waiters, robust) in [(1, false), (2, false), (1, true), (3, true)] {
        let native = scenario(Backend::Native, waiters, robust);
        let lintel = scenario(Backend::Lintel, waiters, robust);
        assert!(
            native[0].contains("#0: waiter 0: lock Ok(0) word 0xc0000000|waiter 0"),
            "{native:?}"
        );
        mismatches.check(&format!("{waiters} robust={robust}"), &native, &lintel);
    }
    mismatches.assert_none();
    assert_table_idle();
}

/// A thread that sleeps until told to end, for a live tid of this process.
struct Sleeper {
    tid: u32,
    stop: std::sync::mpsc::Sender<()>,
    handle: thread::JoinHandle<()>,
}

impl Sleeper {
    fn new() -> Sleeper {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let handle = thread::spawn(move || {
            tx.send(gettid()).unwrap();
            let _ = stopped.recv();
        });
        let tid = rx.recv().unwrap();
        Sleeper { tid, stop, handle }
    }
    fn end(self) {
        self.stop.send(()).unwrap();
        self.handle.join().unwrap();
    }
}

/// An absolute `CLOCK_REALTIME` timespec `ms` milliseconds from now (LOCK_PI's clock), in
/// memory that lives as long as the box.
fn realtime_in(ms: i64) -> Box<[i64; 2]> {
    let (s, ns) = clock_now(true);
    let t = s as i128 * 1_000_000_000 + ns as i128 + ms as i128 * 1_000_000;
    Box::new([(t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64])
}

/// A PI word on a read-only page: Linux's futex_lock_pi_atomic writes the word (a
/// compare-and-exchange, even when `FUTEX_WAITERS` is already set) before it looks at the
/// owner, so every contended case is `EFAULT`; the owner's own tid is `EDEADLK` (read only).
#[test]
fn pi_read_only_word_matches_native() {
    const W: u32 = 0x8000_0000;
    const D: u32 = 0x4000_0000;
    let _ = lintel_table();
    let other = Sleeper::new();
    let me = gettid();
    let values = [
        ("0xffffffff", u32::MAX),
        ("free", 0),
        ("free, waiters", W),
        ("free, owner died", D),
        ("own", me),
        ("own, waiters", me | W),
        ("other thread", other.tid),
        ("other thread, waiters", other.tid | W),
        ("main thread, waiters", getpid() | W),
        ("pid 1, waiters", 1 | W),
        ("nobody", 0x3fff_fff0),
        ("nobody, waiters", 0x3fff_fff0 | W),
    ];
    let mut mismatches = Vec::new();
    let mut total = 0;
    for scope in [PRIV, 0] {
        for (op, oname) in [
            (linux::FUTEX_LOCK_PI, "lock_pi"),
            (linux::FUTEX_LOCK_PI2 | RT, "lock_pi2"),
            (linux::FUTEX_TRYLOCK_PI, "trylock_pi"),
        ] {
            for (vname, v) in values {
                total += 1;
                let mut results = Vec::new();
                for b in [Backend::Native, Backend::Lintel] {
                    // SAFETY: a fresh anonymous page, written, then made read-only.
                    let page = unsafe {
                        let p = libc::mmap(
                            std::ptr::null_mut(),
                            PAGE,
                            libc::PROT_READ | libc::PROT_WRITE,
                            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                            -1,
                            0,
                        );
                        assert_ne!(p, libc::MAP_FAILED);
                        (p as *mut u32).write(v);
                        assert_eq!(libc::mprotect(p, PAGE, libc::PROT_READ), 0);
                        p as usize
                    };
                    // A bounded wait, should a case block after all.
                    let ts = realtime_in(20);
                    let r = b.futex(page, op | scope, 0, ts.as_ptr() as usize, 0, 0);
                    // SAFETY: the page is still mapped, readable.
                    let after = unsafe { (page as *const u32).read_volatile() };
                    // SAFETY: unmaps exactly the page.
                    unsafe { libc::munmap(page as *mut _, PAGE) };
                    results.push((r, after));
                }
                if results[0] != results[1] {
                    mismatches.push(format!(
                        "scope {scope:#x} {oname} {vname}: native {:?} lintel {:?}",
                        results[0], results[1]
                    ));
                }
            }
        }
    }
    other.end();
    assert!(
        mismatches.is_empty(),
        "{} of {} read-only PI cases differ:\n{}",
        mismatches.len(),
        total,
        mismatches.join("\n")
    );
}

/// A PI word naming a task of another process: for a private futex Linux 6.18 refuses it with
/// `EPERM` (after setting `FUTEX_WAITERS`), whether it is init, a kernel thread, a parent, a
/// child or a child's second thread; a tid no task has is `ESRCH`. (A shared futex attaches
/// to the task and waits: it goes to the host kernel on both sides.)
#[test]
fn pi_owner_in_another_process_matches_native() {
    const W: u32 = 0x8000_0000;
    let _ = lintel_table();
    // A child process with a second thread, both asleep until killed.
    let mut fds = [0; 2];
    // SAFETY: a valid two-int array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let [rd, wr] = fds;
    // The child's second thread: a raw clone (no allocation: the fork child of a
    // multi-threaded process may only make async-signal-safe calls) on a stack mapped before
    // the fork, that only makes raw syscalls.
    const STACK: usize = 64 * 1024;
    // SAFETY: a fresh anonymous mapping.
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(stack, libc::MAP_FAILED);
    extern "C" fn sleep_forever(_: *mut libc::c_void) -> libc::c_int {
        loop {
            // SAFETY: no preconditions.
            unsafe { libc::syscall(libc::SYS_pause) };
        }
    }
    // SAFETY: the child makes only async-signal-safe calls (clone, write, pause) and never
    // returns.
    let child = unsafe { libc::fork() };
    assert!(child >= 0);
    if child == 0 {
        // SAFETY: in the child: the new thread runs `sleep_forever` on the child's copy of
        // `stack`, which nothing else uses.
        unsafe {
            let flags = libc::CLONE_VM
                | libc::CLONE_FS
                | libc::CLONE_FILES
                | libc::CLONE_SIGHAND
                | libc::CLONE_THREAD
                | libc::CLONE_SYSVSEM;
            let top = (stack as *mut u8).add(STACK).cast();
            let ok = libc::clone(sleep_forever, top, flags, std::ptr::null_mut()) > 0;
            libc::write(wr, [u8::from(ok)].as_ptr().cast(), 1);
            loop {
                libc::syscall(libc::SYS_pause);
            }
        }
    }
    // SAFETY: closes our copy of the write end; polls and reads the read end into valid
    // buffers.
    unsafe {
        libc::close(wr);
        let mut p = libc::pollfd {
            fd: rd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ready = libc::poll(&mut p, 1, 10_000) == 1;
        let mut b = 0u8;
        let started = ready && libc::read(rd, (&mut b as *mut u8).cast(), 1) == 1 && b == 1;
        libc::close(rd);
        libc::munmap(stack, STACK);
        if !started {
            libc::kill(child, libc::SIGKILL);
            libc::waitpid(child, std::ptr::null_mut(), 0);
            panic!("the child's thread never started");
        }
    }
    let child_thread = std::fs::read_dir(format!("/proc/{child}/task"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|&t| t != child as u32)
        .expect("the child's second thread");
    // SAFETY: no preconditions.
    let parent = unsafe { libc::getppid() } as u32;
    let owners = [
        ("pid 1", 1),
        ("kthreadd", 2),
        ("parent", parent),
        ("child", child as u32),
        ("child's thread", child_thread),
        ("nobody", 0x3fff_fff0),
    ];
    let mut mismatches = Vec::new();
    let mut total = 0;
    for scope in [PRIV, 0] {
        for (op, oname) in [
            (linux::FUTEX_LOCK_PI, "lock_pi"),
            (linux::FUTEX_LOCK_PI2 | RT, "lock_pi2"),
            (linux::FUTEX_TRYLOCK_PI, "trylock_pi"),
        ] {
            for (name, owner) in owners {
                for bits in [0, W] {
                    total += 1;
                    let mut results = Vec::new();
                    for b in [Backend::Native, Backend::Lintel] {
                        let arena = Arena::new();
                        arena.word(0).store(owner | bits, Ordering::SeqCst);
                        let ts = realtime_in(5);
                        let r = b.futex(
                            arena.addr(Addr::W0),
                            op | scope,
                            0,
                            ts.as_ptr() as usize,
                            0,
                            0,
                        );
                        results.push((r, arena.word(0).load(Ordering::SeqCst)));
                    }
                    if results[0] != results[1] {
                        mismatches.push(format!(
                            "scope {scope:#x} {oname} owner {name} bits {bits:#x}: native {:?} \
                             lintel {:?}",
                            results[0], results[1]
                        ));
                    }
                }
            }
        }
    }
    // SAFETY: our child.
    unsafe {
        libc::kill(child, libc::SIGKILL);
        libc::waitpid(child, std::ptr::null_mut(), 0);
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} PI cases with an owner elsewhere differ:\n{}",
        mismatches.len(),
        total,
        mismatches.join("\n")
    );
}

/// A chain of PI waiters: thread `i` owns word `i` and (for `i < n - 1`) sleeps in LOCK_PI on
/// word `i + 1`, queued one at a time. Then the last thread makes `op` on word 0 with the
/// timeout `ms` (milliseconds from now, absolute on `CLOCK_REALTIME`; `None` for none): with
/// `cycle`, that is thread `n - 1` (which owns word `n - 1`); without, one more thread that
/// owns nothing, while thread `n - 1` holds its word without waiting. Linux's rt_mutex chain
/// walk fails a LOCK_PI that would close the cycle with `EDEADLK`, whatever its timeout; a
/// chain that does not come back waits. Afterwards every lock is released down the chain.
/// Returns the log, with tids as thread numbers.
fn pi_chain(b: Backend, n: usize, cycle: bool, op: u32, ms: Option<i64>) -> Vec<String> {
    #[derive(Copy, Clone, PartialEq)]
    enum Role {
        /// Sleeps on the next word.
        Link,
        /// Holds its word until told to release it.
        Holder,
        /// Makes `op` on word 0.
        Last,
    }
    let _ = lintel_table();
    let arena = Arc::new(Arena::new());
    for i in 0..n {
        arena.word(i).store(0, Ordering::SeqCst);
    }
    let lock = linux::FUTEX_LOCK_PI | PRIV;
    let unlock = linux::FUTEX_UNLOCK_PI | PRIV;
    let threads = if cycle { n } else { n + 1 };
    let role = |i: usize| {
        if i + 1 < n {
            Role::Link
        } else if i + 1 == n && !cycle {
            Role::Holder
        } else {
            Role::Last
        }
    };
    let mut tids = Vec::new();
    let mut handles = Vec::new();
    let mut gos = Vec::new();
    for i in 0..threads {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let arena = arena.clone();
        let role = role(i);
        handles.push(thread::spawn(move || {
            let w = |i: usize| arena.base + 64 * i;
            let owns = i < n;
            if owns {
                assert_eq!(b.futex(w(i), lock, 0, 0, 0, 0), Ok(0));
            }
            ready_tx.send(gettid()).unwrap();
            go_rx.recv().unwrap();
            let mut out = None;
            if role != Role::Holder {
                let (want, op, ts) = match role {
                    Role::Last => (0, op | PRIV, ms.map(realtime_in)),
                    _ => (i + 1, lock, Some(realtime_in(10_000))),
                };
                let tsp = ts.as_ref().map_or(0, |t| t.as_ptr() as usize);
                let r = b.futex(w(want), op, 0, tsp, 0, 0);
                out = Some((r, arena.word(want).load(Ordering::SeqCst)));
                if r == Ok(0) {
                    assert_eq!(b.futex(w(want), unlock, 0, 0, 0, 0), Ok(0));
                }
            }
            if owns {
                assert_eq!(b.futex(w(i), unlock, 0, 0, 0, 0), Ok(0));
            }
            out
        }));
        tids.push(ready_rx.recv().unwrap());
        gos.push(go_tx);
    }
    let rel = |w: u32| -> String {
        let t = w & 0x3fff_ffff;
        match tids.iter().position(|&x| x == t) {
            Some(i) => format!("{:#x}|thread {i}", w & !0x3fff_ffff),
            None => format!("{w:#x}"),
        }
    };
    // The chain, one sleeper at a time.
    for i in (0..threads).filter(|&i| role(i) == Role::Link) {
        gos[i].send(()).unwrap();
        let start = Instant::now();
        while !blocked_in_futex(tids[i] as i32) {
            assert!(start.elapsed() < Duration::from_secs(10), "{i} never slept");
            thread::sleep(Duration::from_millis(1));
        }
    }
    let mut log = Vec::new();
    let last = threads - 1;
    gos[last].send(()).unwrap();
    let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
    let (r, word) = handles[last].take().unwrap().join().unwrap().unwrap();
    log.push(format!("thread {last}: {r:?}, word {}", rel(word)));
    if !cycle {
        gos[n - 1].send(()).unwrap();
    }
    for (i, h) in handles.into_iter().enumerate() {
        if let Some(h) = h {
            if let Some((r, word)) = h.join().unwrap() {
                log.push(format!("thread {i}: {r:?}, word {}", rel(word)));
            }
        }
    }
    for i in 0..n {
        log.push(format!(
            "word {i} after: {}",
            rel(arena.word(i).load(Ordering::SeqCst))
        ));
    }
    log
}

/// PI deadlock detection (Linux's rt_mutex chain walk): closing a cycle of two or three PI
/// waiters is `EDEADLK` (also with a timeout already past, which Linux checks only after the
/// walk); TRYLOCK_PI does not walk (`EAGAIN`); LOCK_PI2 walks too; a chain that does not come
/// back to the caller waits (`ETIMEDOUT`).
#[test]
fn pi_deadlock_matches_native() {
    let lock = linux::FUTEX_LOCK_PI;
    let cases: Vec<(&str, usize, bool, u32, Option<i64>)> = vec![
        ("2-cycle", 2, true, lock, Some(500)),
        ("2-cycle untimed", 2, true, lock, None),
        ("2-cycle, past timeout", 2, true, lock, Some(-5)),
        (
            "2-cycle, lock_pi2",
            2,
            true,
            linux::FUTEX_LOCK_PI2 | RT,
            Some(500),
        ),
        ("2-cycle, trylock", 2, true, linux::FUTEX_TRYLOCK_PI, None),
        ("3-cycle", 3, true, lock, Some(500)),
        ("chain of 3, no cycle", 3, false, lock, Some(20)),
        ("chain of 1, no cycle", 1, false, lock, Some(20)),
    ];
    let mut mismatches = Mismatches::default();
    for (name, n, cycle, op, ms) in &cases {
        let native = pi_chain(Backend::Native, *n, *cycle, *op, *ms);
        let lintel = pi_chain(Backend::Lintel, *n, *cycle, *op, *ms);
        mismatches.check(name, &native, &lintel);
    }
    mismatches.assert_none();
    assert_table_idle();
}

/// A shared wait the port gives up on before its host call (an interrupt is pending) answers
/// as Linux's `futex_wait` would before it looks at signals: the shared key first (`EFAULT`
/// for a read-only anonymous page, which can be read but has no shared key), then the value
/// (`EAGAIN`); only a matching word on a page with a key is an interrupted wait.
#[test]
fn a_shared_wait_given_up_on_checks_the_key_then_the_value() {
    use lintel_kernel::{Notify, Threads};
    let _ = lintel_table();
    let arena = Arena::new();
    let cases = [
        ("read-only page, mismatch", Addr::ReadOnly, 1),
        ("read-only page, match", Addr::ReadOnly, 0),
        ("unmapped", Addr::Unmapped, 0),
        ("mapped, mismatch", Addr::W0, 1),
    ];
    let mut mismatches = Vec::new();
    for (name, addr, val) in cases {
        let call = c(addr, linux::FUTEX_WAIT, val, Arg4::Zero, Addr::Null, 0);
        let native = call.run(Backend::Native, &arena);
        PORT.interrupt(PORT.current());
        let lintel = call.run(Backend::Lintel, &arena);
        assert!(PORT.take_interrupt(), "{name}: the interrupt was consumed");
        if native != lintel {
            mismatches.push(format!("{name}: native {native:?} lintel {lintel:?}"));
        }
    }
    // A matching word with a key: the wait was interrupted (a restart request).
    PORT.interrupt(PORT.current());
    let r =
        c(Addr::W0, linux::FUTEX_WAIT, 0, Arg4::Zero, Addr::Null, 0).run(Backend::Lintel, &arena);
    assert!(PORT.take_interrupt());
    assert_eq!(r, Err(512), "ERESTARTSYS");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// One requeue-PI scenario (the condvar of glibc over a PI mutex): `waiters` threads sleep in
/// `FUTEX_WAIT_REQUEUE_PI` on word 0 for word 1 (each with `timeout_ms` if given, absolute on
/// `CLOCK_MONOTONIC`), queued one at a time; word 1 is free or owned by the main thread; then
/// the main thread makes `FUTEX_CMP_REQUEUE_PI(word 0, 1, nr_requeue, word 1, 0)` (after
/// `before`, a plain op on word 0 that must refuse the waiters). Each waiter that returns 0
/// owns word 1: it logs the word it sees and unlocks it. The main thread, if it owned word 1,
/// unlocks it once the requeue is done. The log names tids by thread number.
fn requeue_pi_scenario(
    b: Backend,
    scope: u32,
    waiters: usize,
    owned: bool,
    nr_requeue: u32,
    timeout_ms: Option<i64>,
    before: Option<u32>,
) -> Vec<String> {
    let _ = lintel_table();
    let arena = Arc::new(Arena::new());
    arena.word(0).store(0, Ordering::SeqCst);
    let me = gettid();
    arena
        .word(1)
        .store(if owned { me } else { 0 }, Ordering::SeqCst);
    let (w0, w1) = (arena.addr(Addr::W0), arena.addr(Addr::W1));
    let mut tids = vec![me];
    let mut handles = Vec::new();
    let mut gos = Vec::new();
    for _ in 0..waiters {
        let (tx, rx) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel::<()>();
        gos.push(go);
        let a = arena.clone();
        handles.push(thread::spawn(move || {
            tx.send(gettid()).unwrap();
            let ts = timeout_ms.map(|ms| {
                let (s, ns) = clock_now(false);
                let t = s as i128 * 1_000_000_000 + ns as i128 + ms as i128 * 1_000_000;
                Box::new([(t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64])
            });
            let tsp = ts.as_ref().map_or(0, |t| t.as_ptr() as usize);
            let op = linux::FUTEX_WAIT_REQUEUE_PI | scope;
            let r = b.futex(w0, op, 0, tsp, w1, 0);
            let word = a.word(1).load(Ordering::SeqCst);
            // Hold the lock until the main thread has logged the requeue.
            go_rx.recv().unwrap();
            let unlock =
                (r == Ok(0)).then(|| b.futex(w1, linux::FUTEX_UNLOCK_PI | scope, 0, 0, 0, 0));
            (r, word, unlock)
        }));
        let tid = rx.recv().unwrap();
        tids.push(tid);
        let start = Instant::now();
        while !blocked_in_futex(tid as i32) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "waiter never slept"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
    let rel = |w: u32| -> String {
        let t = w & 0x3fff_ffff;
        match tids.iter().position(|&x| x == t) {
            Some(0) => format!("{:#x}|main", w & !0x3fff_ffff),
            Some(i) => format!("{:#x}|waiter {}", w & !0x3fff_ffff, i - 1),
            None => format!("{w:#x}"),
        }
    };
    let mut log = Vec::new();
    if let Some(op) = before {
        log.push(format!(
            "op {op:#x} on word 0: {:?}",
            b.futex(w0, op | scope, 1, 1, w1, 0)
        ));
    }
    let crpi = linux::FUTEX_CMP_REQUEUE_PI | scope;
    log.push(format!(
        "cmp_requeue_pi: {:?}, word 1 {}",
        b.futex(w0, crpi, 1, nr_requeue as usize, w1, 0),
        rel(arena.word(1).load(Ordering::SeqCst))
    ));
    if let Some(ms) = timeout_ms {
        // Let the timeouts of the requeued waiters pass while the main thread holds word 1.
        thread::sleep(Duration::from_millis(ms as u64 + 50));
    }
    for go in gos {
        go.send(()).unwrap();
    }
    if owned {
        log.push(format!(
            "main unlock: {:?}",
            b.futex(w1, linux::FUTEX_UNLOCK_PI | scope, 0, 0, 0, 0)
        ));
    }
    // The waiters still on word 0: all of them onto word 1 (their count is the answer).
    log.push(format!(
        "the rest: {:?}",
        b.futex(w0, crpi, 1, i32::MAX as usize, w1, 0)
    ));
    for (i, h) in handles.into_iter().enumerate() {
        let (r, word, unlock) = h.join().unwrap();
        log.push(format!(
            "waiter {i}: {r:?}, word 1 {}, unlock {unlock:?}",
            rel(word)
        ));
    }
    log.push(format!(
        "word 1 after: {}",
        rel(arena.word(1).load(Ordering::SeqCst))
    ));
    log
}

/// Requeue-PI against the host kernel (`[REQUEUE-PI]` in futex/src/requeue_pi.rs): a free
/// lock taken for the first waiter (`FUTEX_WAITERS` with it only when more are to be
/// requeued), a contended lock with waiters requeued and handed the lock one by one, one more
/// than `nr_requeue` requeued when the lock was not free, requeued waiters timing out (the word
/// keeps `FUTEX_WAITERS`), and plain ops refusing a requeue-PI waiter (`EINVAL`); private, and
/// shared (the port's: on this host port, the host kernel's own).
#[test]
fn requeue_pi_matches_native() {
    /// Name, waiters, word 1 owned by main, `nr_requeue`, waiters' timeout, plain op first.
    type Case = (&'static str, usize, bool, u32, Option<i64>, Option<u32>);
    let cases: Vec<Case> = vec![
        ("free, 1 waiter", 1, false, 1, None, None),
        ("free, 1 waiter, nr_requeue 0", 1, false, 0, None, None),
        ("free, 3 waiters, nr_requeue 1", 3, false, 1, None, None),
        ("free, 3 waiters, nr_requeue 5", 3, false, 5, None, None),
        ("owned, 1 waiter, nr_requeue 0", 1, true, 0, None, None),
        ("owned, 3 waiters, nr_requeue 1", 3, true, 1, None, None),
        ("owned, 3 waiters, nr_requeue 2", 3, true, 2, None, None),
        (
            "owned, 2 waiters time out requeued",
            2,
            true,
            5,
            Some(500),
            None,
        ),
        ("wake refuses", 1, false, 1, None, Some(linux::FUTEX_WAKE)),
        (
            "cmp_requeue refuses",
            1,
            false,
            1,
            None,
            Some(linux::FUTEX_CMP_REQUEUE),
        ),
        (
            "trylock_pi refuses",
            1,
            false,
            1,
            None,
            Some(linux::FUTEX_TRYLOCK_PI),
        ),
    ];
    let mut mismatches = Mismatches::default();
    for scope in [PRIV, 0] {
        for &(name, n, owned, nr, t, before) in &cases {
            let name = format!("{name}{}", if scope == 0 { ", shared" } else { "" });
            let native = requeue_pi_scenario(Backend::Native, scope, n, owned, nr, t, before);
            let lintel = requeue_pi_scenario(Backend::Lintel, scope, n, owned, nr, t, before);
            mismatches.check(&name, &native, &lintel);
        }
    }
    mismatches.assert_none();
    assert_table_idle();
}

/// One flag (`FUTEX_PRIVATE_FLAG`) covers both addresses of a requeue-PI call, so the only
/// mixing is between calls: a waiter of one scope and a requeue of the other never meet (the
/// requeue finds nobody: 0, and the word stays as it was). Then the requeue of the waiter's
/// own scope takes the lock for it.
#[test]
fn requeue_pi_scopes_do_not_meet() {
    let _ = lintel_table();
    let mut mismatches = Mismatches::default();
    for (wscope, rscope) in [(PRIV, 0), (0, PRIV)] {
        let run = |b: Backend| -> Vec<String> {
            let arena = Arc::new(Arena::new());
            arena.word(0).store(0, Ordering::SeqCst);
            arena.word(1).store(0, Ordering::SeqCst);
            let (w0, w1) = (arena.addr(Addr::W0), arena.addr(Addr::W1));
            let (tx, rx) = std::sync::mpsc::channel();
            let a = arena.clone();
            let h = thread::spawn(move || {
                tx.send(gettid()).unwrap();
                let (s, ns) = clock_now(false);
                let t = s as i128 * 1_000_000_000 + ns as i128 + 300_000_000;
                let ts = [(t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64];
                let op = linux::FUTEX_WAIT_REQUEUE_PI | wscope;
                let r = b.futex(w0, op, 0, ts.as_ptr() as usize, w1, 0);
                let owned = a.word(1).load(Ordering::SeqCst) & 0x3fff_ffff == gettid();
                let unlock =
                    (r == Ok(0)).then(|| b.futex(w1, linux::FUTEX_UNLOCK_PI | wscope, 0, 0, 0, 0));
                (r, owned, unlock)
            });
            let tid = rx.recv().unwrap();
            let start = Instant::now();
            while !blocked_in_futex(tid as i32) {
                assert!(start.elapsed() < Duration::from_secs(10), "never slept");
                thread::sleep(Duration::from_millis(1));
            }
            let other = linux::FUTEX_CMP_REQUEUE_PI | rscope;
            let own = linux::FUTEX_CMP_REQUEUE_PI | wscope;
            let mut log = vec![
                format!("other scope: {:?}", b.futex(w0, other, 1, 1, w1, 0)),
                format!("word 1 {:#x}", arena.word(1).load(Ordering::SeqCst)),
                format!("own scope: {:?}", b.futex(w0, own, 1, 1, w1, 0)),
            ];
            let (r, owned, unlock) = h.join().unwrap();
            log.push(format!("waiter: {r:?}, owned {owned}, unlock {unlock:?}"));
            log.push(format!(
                "word 1 {:#x}",
                arena.word(1).load(Ordering::SeqCst)
            ));
            log
        };
        let (native, lintel) = (run(Backend::Native), run(Backend::Lintel));
        mismatches.check(&format!("waiter scope {wscope:#x}"), &native, &lintel);
    }
    mismatches.assert_none();
    assert_table_idle();
}

/// A requeue-PI waiter that would close a cycle of PI waiters (Linux's
/// `rt_mutex_start_proxy_lock` runs the deadlock walk for each waiter it requeues): waiter `W`
/// owns word 2 and sleeps in `FUTEX_WAIT_REQUEUE_PI` on word 0 for word 1 (timeout 700 ms),
/// after `W1` (a waiter that owns nothing, with a timeout of 300 ms: it is gone before `B`
/// releases word 1) if `w1_first`. With `cycle`, thread `B` owns word 1 and sleeps in LOCK_PI
/// on word 2; without, `W` itself owns word 1. Then the main thread makes
/// `FUTEX_CMP_REQUEUE_PI(word 0, 1, nr_requeue, word 1, 0)` twice; `W` and `W1` time out, `W`
/// releases word 2, `B` takes and releases it and releases word 1. The log names tids by role.
fn requeue_pi_deadlock_scenario(
    b: Backend,
    scope: u32,
    cycle: bool,
    w1_first: bool,
    nr_requeue: u32,
) -> Vec<String> {
    let _ = lintel_table();
    let arena = Arc::new(Arena::new());
    for i in 0..3 {
        arena.word(i).store(0, Ordering::SeqCst);
    }
    let (w0, w1, w2) = (arena.base, arena.base + 64, arena.base + 128);
    let wrpi = linux::FUTEX_WAIT_REQUEUE_PI | scope;
    let unlock = linux::FUTEX_UNLOCK_PI | scope;
    let mono_in = |ms: i64| {
        let (s, ns) = clock_now(false);
        let t = s as i128 * 1_000_000_000 + ns as i128 + ms as i128 * 1_000_000;
        Box::new([(t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64])
    };
    let wait_for_sleep = |tid: u32| {
        let start = Instant::now();
        while !blocked_in_futex(tid as i32) {
            assert!(start.elapsed() < Duration::from_secs(10), "never slept");
            thread::sleep(Duration::from_millis(1));
        }
    };
    let mut names: Vec<(u32, &str)> = Vec::new();
    let mut handles = Vec::new();
    let spawn_waiter = |owns: &'static [usize], name: &'static str, ms: i64| {
        let (tx, rx) = std::sync::mpsc::channel();
        let a = arena.clone();
        let h = thread::spawn(move || {
            let me = gettid();
            for &i in owns {
                a.word(i).store(me, Ordering::SeqCst);
            }
            tx.send(me).unwrap();
            let ts = mono_in(ms);
            let r = b.futex(w0, wrpi, 0, ts.as_ptr() as usize, w1, 0);
            let word = a.word(1).load(Ordering::SeqCst);
            let mut out = vec![(r, word)];
            if r == Ok(0) {
                out.push((b.futex(w1, unlock, 0, 0, 0, 0), 0));
            }
            for &i in owns {
                // The word after this unlock races with B taking and releasing it: not logged.
                out.push((b.futex(a.base + 64 * i, unlock, 0, 0, 0, 0), 0));
            }
            (name, out)
        });
        let tid = rx.recv().unwrap();
        wait_for_sleep(tid);
        (tid, h)
    };
    if w1_first {
        let (tid, h) = spawn_waiter(&[], "W1", 300);
        names.push((tid, "W1"));
        handles.push(h);
    }
    let (tid, h) = spawn_waiter(if cycle { &[2] } else { &[1, 2] }, "W", 700);
    names.push((tid, "W"));
    handles.push(h);
    if cycle {
        let (tx, rx) = std::sync::mpsc::channel();
        let a = arena.clone();
        let h = thread::spawn(move || {
            let me = gettid();
            a.word(1).store(me, Ordering::SeqCst);
            tx.send(me).unwrap();
            let ts = realtime_in(5_000);
            let lock = linux::FUTEX_LOCK_PI | scope;
            let r = b.futex(w2, lock, 0, ts.as_ptr() as usize, 0, 0);
            let mut out = vec![(r, a.word(2).load(Ordering::SeqCst))];
            if r == Ok(0) {
                out.push((
                    b.futex(w2, unlock, 0, 0, 0, 0),
                    a.word(2).load(Ordering::SeqCst),
                ));
            }
            out.push((
                b.futex(w1, unlock, 0, 0, 0, 0),
                a.word(1).load(Ordering::SeqCst),
            ));
            ("B", out)
        });
        let tid = rx.recv().unwrap();
        wait_for_sleep(tid);
        names.push((tid, "B"));
        handles.push(h);
    }
    let rel = |w: u32| -> String {
        let t = w & 0x3fff_ffff;
        match names.iter().find(|&&(x, _)| x == t) {
            Some((_, n)) => format!("{:#x}|{n}", w & !0x3fff_ffff),
            None => format!("{w:#x}"),
        }
    };
    let crpi = linux::FUTEX_CMP_REQUEUE_PI | scope;
    let mut log = Vec::new();
    for call in ["cmp_requeue_pi", "again"] {
        let r = b.futex(w0, crpi, 1, nr_requeue as usize, w1, 0);
        log.push(format!(
            "{call}: {r:?}, word 1 {}",
            rel(arena.word(1).load(Ordering::SeqCst))
        ));
    }
    for h in handles {
        let (name, out) = h.join().unwrap();
        for (r, w) in out {
            log.push(format!("{name}: {r:?}, word {}", rel(w)));
        }
    }
    for i in 0..3 {
        log.push(format!(
            "word {i} after: {}",
            rel(arena.word(i).load(Ordering::SeqCst))
        ));
    }
    log
}

/// `[REQUEUE-PI]` 6 against the host kernel: a requeue that would close a cycle is `EDEADLK`
/// to the requeuer, the waiter stays on word 0 (the second requeue finds it first and fails
/// the same way), the waiters requeued before it stay requeued, and the lock keeps
/// `FUTEX_WAITERS`; a waiter owning the lock it would be requeued to is a cycle too. Private
/// (lintel's walk) and shared (the port's).
#[test]
fn requeue_pi_deadlock_matches_native() {
    let cases = [
        ("cycle", true, false, 1),
        ("cycle, nr_requeue 0", true, false, 0),
        ("cycle behind a waiter", true, true, 2),
        ("cycle behind a waiter, nr_requeue 0", true, true, 0),
        ("waiter owns the lock, behind a waiter", false, true, 1),
    ];
    let mut mismatches = Mismatches::default();
    for scope in [PRIV, 0] {
        for &(name, cycle, w1_first, nr) in &cases {
            let name = format!("{name}{}", if scope == 0 { ", shared" } else { "" });
            let native = requeue_pi_deadlock_scenario(Backend::Native, scope, cycle, w1_first, nr);
            let lintel = requeue_pi_deadlock_scenario(Backend::Lintel, scope, cycle, w1_first, nr);
            mismatches.check(&name, &native, &lintel);
        }
    }
    mismatches.assert_none();
    assert_table_idle();
}

/// An interrupted WAIT_REQUEUE_PI (the signal layer interrupts the thread; these expectations
/// were probed on 6.18 with a handler installed without `SA_RESTART`): still on the plain futex,
/// the call is restarted (`ERESTARTNOINTR`, 513: the thread kept waiting and was then requeued
/// and woken with the lock); once requeued onto the PI futex it ends with `EAGAIN` and leaves
/// the lock to its owner (the word keeps `FUTEX_WAITERS`, the unlock then frees it). An
/// interrupt pending before a call whose value differs is `EAGAIN` (Linux compares first).
/// Private and shared alike.
#[test]
fn requeue_pi_interruptions_are_linuxs() {
    for scope in [PRIV, 0] {
        requeue_pi_interruptions(scope);
    }
}

/// [`requeue_pi_interruptions_are_linuxs`] in one scope (a shared waiter is the host port's:
/// the host kernel's own waiter in the restartable window).
fn requeue_pi_interruptions(scope: u32) {
    use lintel_kernel::{Notify, Threads};
    let _ = lintel_table();
    let arena = Arc::new(Arena::new());
    let (w0, w1) = (arena.addr(Addr::W0), arena.addr(Addr::W1));
    let wrpi = linux::FUTEX_WAIT_REQUEUE_PI | scope;
    // Early: an interrupt already pending.
    PORT.interrupt(PORT.current());
    let r = Backend::Lintel.futex(w0, wrpi, 0, 0, w1, 0);
    assert!(PORT.take_interrupt(), "the interrupt was consumed");
    assert_eq!(r, Err(513), "ERESTARTNOINTR, scope {scope:#x}");
    // Early, but the value differs: Linux compares before it looks at signals.
    PORT.interrupt(PORT.current());
    let r = Backend::Lintel.futex(w0, wrpi, 1, 0, w1, 0);
    assert!(PORT.take_interrupt(), "the interrupt was consumed");
    assert_eq!(r, Err(libc::EAGAIN), "scope {scope:#x}");
    // Waiting on word 0, then interrupted: restarted.
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || {
        tx.send((gettid(), PORT.current())).unwrap();
        let r = Backend::Lintel.futex(w0, wrpi, 0, 0, w1, 0);
        let interrupted = PORT.take_interrupt();
        (r, interrupted)
    });
    let (tid, handle) = rx.recv().unwrap();
    let start = Instant::now();
    while !blocked_in_futex(tid as i32) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waiter never slept"
        );
        thread::sleep(Duration::from_millis(1));
    }
    PORT.interrupt(handle);
    let (r, interrupted) = waiter.join().unwrap();
    assert_eq!(r, Err(513), "ERESTARTNOINTR, scope {scope:#x}");
    assert!(interrupted);
    // Requeued, then interrupted.
    let me = gettid();
    arena.word(1).store(me, Ordering::SeqCst);
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || {
        tx.send((gettid(), PORT.current())).unwrap();
        let r = Backend::Lintel.futex(w0, wrpi, 0, 0, w1, 0);
        let interrupted = PORT.take_interrupt();
        (r, interrupted)
    });
    let (tid, handle) = rx.recv().unwrap();
    let start = Instant::now();
    while !blocked_in_futex(tid as i32) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waiter never slept"
        );
        thread::sleep(Duration::from_millis(1));
    }
    let crpi = linux::FUTEX_CMP_REQUEUE_PI | scope;
    assert_eq!(Backend::Lintel.futex(w0, crpi, 1, 1, w1, 0), Ok(1));
    assert_eq!(arena.word(1).load(Ordering::SeqCst), 0x8000_0000 | me);
    PORT.interrupt(handle);
    let (r, interrupted) = waiter.join().unwrap();
    assert_eq!(r, Err(libc::EAGAIN), "scope {scope:#x}");
    assert!(interrupted);
    assert_eq!(arena.word(1).load(Ordering::SeqCst), 0x8000_0000 | me);
    let unlock = linux::FUTEX_UNLOCK_PI | scope;
    assert_eq!(Backend::Lintel.futex(w1, unlock, 0, 0, 0, 0), Ok(0));
    assert_eq!(arena.word(1).load(Ordering::SeqCst), 0);
    assert_table_idle();
}
