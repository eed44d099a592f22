//! futex2 differential tests: `futex_wake` (454), `futex_wait` (455), `futex_requeue` (456) and
//! `futex_waitv` (449) run against the host kernel (Linux 6.18, the oracle) and against lintel's futex on the Linux
//! host port, with the same raw register values; results, errno, futex words and NUMA node
//! words afterwards, and which blocked waiters each step woke, are compared.
//!
//! Nothing here hard-codes an expected result except where a test states the Linux rule it pins
//! down, and then it asserts both backends.

mod support;

use lintel_futex::{Bucket, FutexError, FutexTable, Restart};
use lintel_kernel::{Clock, ClockId, Notify, Threads};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const SYS_FUTEX_WAKE: libc::c_long = 454;
const SYS_FUTEX_WAIT: libc::c_long = 455;
const SYS_FUTEX_REQUEUE: libc::c_long = 456;
const SYS_FUTEX_WAITV: libc::c_long = 449;

const U32: u64 = 2;
const NUMA: u64 = 4;
const MPOL: u64 = 8;
const PRIV: u64 = 128;
const ANY: u64 = 0xffff_ffff;
const MONO: u64 = libc::CLOCK_MONOTONIC as u64;
const RT: u64 = libc::CLOCK_REALTIME as u64;

// ---------------------------------------------------------------------------------------------
// The two backends.

mod host;
use host::{Backend, Mismatches, Outcome, PORT, lintel, lintel_table, native};

impl Backend {
    fn wake(self, uaddr: usize, mask: u64, nr: u64, flags: u64) -> Outcome {
        match self {
            Backend::Native => {
                // SAFETY: the syscall checks every argument itself.
                let r = unsafe { libc::syscall(SYS_FUTEX_WAKE, uaddr, mask, nr, flags) };
                native(r)
            }
            // SAFETY: the same call the native backend makes, on the test's own arena or on
            // deliberately bad addresses that must be refused as Linux refuses them.
            Backend::Lintel => lintel(unsafe {
                lintel_table().futex_wake2(uaddr, mask as usize, nr as usize, flags as usize)
            }),
        }
    }

    fn wait(self, uaddr: usize, val: u64, mask: u64, flags: u64, ts: usize, clock: u64) -> Outcome {
        match self {
            Backend::Native => {
                // SAFETY: as `wake`.
                let r =
                    unsafe { libc::syscall(SYS_FUTEX_WAIT, uaddr, val, mask, flags, ts, clock) };
                native(r)
            }
            // SAFETY: as `wake`.
            Backend::Lintel => lintel(unsafe {
                lintel_table().futex_wait2(
                    uaddr,
                    val as usize,
                    mask as usize,
                    flags as usize,
                    ts,
                    clock as usize,
                )
            }),
        }
    }

    fn requeue(self, waiters: usize, flags: u64, nr_wake: u64, nr_requeue: u64) -> Outcome {
        match self {
            // SAFETY: as `wake`.
            Backend::Native => native(unsafe {
                libc::syscall(SYS_FUTEX_REQUEUE, waiters, flags, nr_wake, nr_requeue)
            }),
            // SAFETY: as `wake`.
            Backend::Lintel => lintel(unsafe {
                lintel_table().futex_requeue2(
                    waiters,
                    flags as usize,
                    nr_wake as usize,
                    nr_requeue as usize,
                )
            }),
        }
    }

    fn waitv(self, waiters: usize, nr: u64, flags: u64, ts: usize, clock: u64) -> Outcome {
        let native_call = || {
            // SAFETY: as `wake`.
            let r = unsafe { libc::syscall(SYS_FUTEX_WAITV, waiters, nr, flags, ts, clock) };
            native(r)
        };
        match self {
            Backend::Native => native_call(),
            Backend::Lintel => {
                // SAFETY: as `wake`.
                let r = unsafe {
                    lintel_table().futex_waitv2(
                        waiters,
                        nr as usize,
                        flags as usize,
                        ts,
                        clock as usize,
                    )
                };
                match r {
                    Ok(Some(index)) => Ok(index),
                    // A shared entry: the dispatcher hands the call to the port (here, the
                    // host kernel), as this does.
                    Ok(None) => native_call(),
                    Err(e) => Err(e.errno().raw()),
                }
            }
        }
    }

    /// `futex(2)`'s `FUTEX_WAKE` (for the cross-API cases).
    fn futex_wake(self, uaddr: usize, nr: u32, private: bool) -> Outcome {
        let op = libc::FUTEX_WAKE | if private { libc::FUTEX_PRIVATE_FLAG } else { 0 };
        match self {
            // SAFETY: as `wake`.
            Backend::Native => native(unsafe {
                libc::syscall(libc::SYS_futex, uaddr, op, nr, 0usize, 0usize, 0u32)
            }),
            Backend::Lintel => {
                // SAFETY: as `wake`.
                let r = unsafe { lintel_table().futex(uaddr, op as u32, nr, 0, 0, 0) };
                lintel(r)
            }
        }
    }

    /// `futex(2)`'s untimed `FUTEX_WAIT_BITSET`.
    fn futex_wait_bitset(self, uaddr: usize, val: u32, mask: u32, private: bool) -> Outcome {
        let op = libc::FUTEX_WAIT_BITSET | if private { libc::FUTEX_PRIVATE_FLAG } else { 0 };
        match self {
            // SAFETY: as `wake`.
            Backend::Native => native(unsafe {
                libc::syscall(libc::SYS_futex, uaddr, op, val, 0usize, 0usize, mask)
            }),
            Backend::Lintel => {
                // SAFETY: as `wake`.
                let r = unsafe { lintel_table().futex(uaddr, op as u32, val, 0, 0, mask) };
                lintel(r)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Memory: page 0 read-write (the futex words, their NUMA node words, scratch), page 1
// read-only with prepared contents, page 2 unmapped. Fresh for each case and backend.

const PAGE: usize = 4096;
/// Offsets in page 0.
const W0: usize = 0;
const W1: usize = 64;
const TS: usize = 1024;
const WAITV: usize = 2048;
/// Offsets in page 1 (read-only): a value-and-node pair with node -1, one with node 0.
const RO_NODE_ANY: usize = PAGE;
const RO_NODE_0: usize = PAGE + 8;
/// A valid `futex_waitv` (private, on W0, val 0) filling the end of page 1: the entry after
/// it is on the unmapped page.
const RO_LAST_WAITV: usize = 2 * PAGE - 24;

struct Arena {
    base: usize,
}

impl Arena {
    fn new() -> Arena {
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
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
        let a = Arena { base: p as usize };
        a.store(RO_NODE_ANY + 4, u32::MAX);
        a.write_waitv(
            RO_LAST_WAITV,
            &E {
                val: 0,
                uaddr: A::W0,
                flags: (U32 | PRIV) as u32,
                reserved: 0,
            },
        );
        // SAFETY: the pages are ours.
        unsafe {
            assert_eq!(
                libc::mprotect((a.base + PAGE) as *mut _, PAGE, libc::PROT_READ),
                0
            );
            assert_eq!(
                libc::mprotect((a.base + 2 * PAGE) as *mut _, PAGE, libc::PROT_NONE),
                0
            );
        }
        a
    }

    fn word(&self, off: usize) -> &AtomicU32 {
        // SAFETY: `off` is a 4-aligned offset in the arena's mapped pages (callers).
        unsafe { &*((self.base + off) as *const AtomicU32) }
    }

    fn store(&self, off: usize, v: u32) {
        self.word(off).store(v, Ordering::SeqCst);
    }

    fn load(&self, off: usize) -> u32 {
        self.word(off).load(Ordering::SeqCst)
    }

    fn addr(&self, a: A) -> usize {
        match a {
            A::W0 => self.base + W0,
            A::W1 => self.base + W1,
            A::W0Plus4 => self.base + W0 + 4,
            A::Misaligned => self.base + 1,
            A::RoNodeAny => self.base + RO_NODE_ANY,
            A::RoNode0 => self.base + RO_NODE_0,
            A::Unmapped => self.base + 2 * PAGE,
            A::Null => 0,
            A::Kernel => 0xffff_8000_0000_0000,
            A::EndOfUser => 0x7fff_ffff_f000,
            A::EndOfUserMinus4 => 0x7fff_ffff_effc,
            A::EndOfUserMinus8 => 0x7fff_ffff_eff8,
            A::HighBit => self.base | 1 << 60,
        }
    }

    fn timespec(&self, sec: i64, nsec: i64) -> usize {
        let p = (self.base + TS) as *mut i64;
        // SAFETY: in the read-write page, 8-aligned.
        unsafe {
            p.write(sec);
            p.add(1).write(nsec);
        }
        p as usize
    }

    fn write_waitv(&self, off: usize, e: &E) {
        let p = (self.base + off) as *mut u64;
        // SAFETY: 24 bytes in a page that is still writable (callers), 8-aligned.
        unsafe {
            p.write(e.val);
            p.add(1).write(self.addr(e.uaddr) as u64);
            p.add(2).cast::<u32>().write(e.flags);
            p.add(2).cast::<u32>().add(1).write(e.reserved);
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the arena.
        unsafe { libc::munmap(self.base as *mut _, 3 * PAGE) };
    }
}

/// A symbolic address.
#[derive(Copy, Clone, Debug)]
enum A {
    W0,
    W1,
    /// W0's node word: 4-aligned, not 8-aligned.
    W0Plus4,
    Misaligned,
    RoNodeAny,
    RoNode0,
    Unmapped,
    Null,
    Kernel,
    EndOfUser,
    EndOfUserMinus4,
    EndOfUserMinus8,
    /// W0 with bit 60 set: beyond user space.
    HighBit,
}

/// A `struct futex_waitv` entry.
#[derive(Copy, Clone, Debug)]
struct E {
    val: u64,
    uaddr: A,
    flags: u32,
    reserved: u32,
}

/// Where `futex_requeue`'s `waiters` points.
#[derive(Copy, Clone, Debug)]
enum Wv {
    /// Two entries in page 0.
    Entries([E; 2]),
    Null,
    Unmapped,
    /// The prepared valid entry at the end of the read-only page: the second is unmapped.
    LastBeforeUnmapped,
}

/// Where `futex_waitv`'s `waiters` points.
#[derive(Copy, Clone, Debug)]
enum Wvv {
    /// Up to four entries in page 0 (`nr` says how many are read).
    Entries([E; 4]),
    /// This entry 130 times, in a buffer of its own.
    Repeat(E),
    Null,
    Unmapped,
    /// The prepared valid entry at the end of the read-only page: the second is unmapped.
    LastBeforeUnmapped,
}

/// `futex_wait`'s timeout argument.
#[derive(Copy, Clone, Debug)]
enum Ts {
    None,
    Abs(i64, i64),
    /// `ms` milliseconds from now on the call's clock (negative: in the past).
    FromNow(i64),
    Unmapped,
}

#[derive(Copy, Clone, Debug)]
enum Op {
    Wake {
        uaddr: A,
        mask: u64,
        nr: u64,
        flags: u64,
    },
    Wait {
        uaddr: A,
        val: u64,
        mask: u64,
        flags: u64,
        ts: Ts,
        clock: u64,
    },
    Requeue {
        waiters: Wv,
        flags: u64,
        nr_wake: u64,
        nr_requeue: u64,
    },
    Waitv {
        waiters: Wvv,
        nr: u64,
        flags: u64,
        ts: Ts,
        clock: u64,
    },
    /// `futex(2)` `FUTEX_WAKE`.
    OldWake { uaddr: A, nr: u32, private: bool },
}

fn clock_now(clock: u64) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer.
    unsafe { libc::clock_gettime(clock as libc::clockid_t, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

impl Ts {
    /// The timeout pointer for a call on `clock`.
    fn place(self, arena: &Arena, clock: u64) -> usize {
        match self {
            Ts::None => 0,
            Ts::Abs(s, ns) => arena.timespec(s, ns),
            Ts::FromNow(ms) => {
                // Any clock the test passes that is not realtime reads monotonic.
                let c = if clock == RT { RT } else { MONO };
                let t = clock_now(c) + ms as i128 * 1_000_000;
                arena.timespec((t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64)
            }
            Ts::Unmapped => arena.addr(A::Unmapped),
        }
    }
}

impl Op {
    fn run(&self, b: Backend, arena: &Arena) -> Outcome {
        match *self {
            Op::Wake {
                uaddr,
                mask,
                nr,
                flags,
            } => b.wake(arena.addr(uaddr), mask, nr, flags),
            Op::Wait {
                uaddr,
                val,
                mask,
                flags,
                ts,
                clock,
            } => {
                let ts = ts.place(arena, clock);
                b.wait(arena.addr(uaddr), val, mask, flags, ts, clock)
            }
            Op::Waitv {
                waiters,
                nr,
                flags,
                ts,
                clock,
            } => {
                let ts = ts.place(arena, clock);
                let mut buf = Vec::new();
                let w = match waiters {
                    Wvv::Entries(e) => {
                        for (i, e) in e.iter().enumerate() {
                            arena.write_waitv(WAITV + 24 * i, e);
                        }
                        arena.base + WAITV
                    }
                    Wvv::Repeat(e) => {
                        let one = [e.val, arena.addr(e.uaddr) as u64, u64::from(e.flags)];
                        buf.resize(130, one);
                        buf.as_ptr() as usize
                    }
                    Wvv::Null => 0,
                    Wvv::Unmapped => arena.addr(A::Unmapped),
                    Wvv::LastBeforeUnmapped => arena.base + RO_LAST_WAITV,
                };
                b.waitv(w, nr, flags, ts, clock)
            }
            Op::Requeue {
                waiters,
                flags,
                nr_wake,
                nr_requeue,
            } => {
                let w = match waiters {
                    Wv::Entries(e) => {
                        arena.write_waitv(WAITV, &e[0]);
                        arena.write_waitv(WAITV + 24, &e[1]);
                        arena.base + WAITV
                    }
                    Wv::Null => 0,
                    Wv::Unmapped => arena.addr(A::Unmapped),
                    Wv::LastBeforeUnmapped => arena.base + RO_LAST_WAITV,
                };
                b.requeue(w, flags, nr_wake, nr_requeue)
            }
            Op::OldWake { uaddr, nr, private } => b.futex_wake(arena.addr(uaddr), nr, private),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Single-thread cases: every value and errno.

fn wake(uaddr: A, mask: u64, nr: u64, flags: u64) -> Op {
    Op::Wake {
        uaddr,
        mask,
        nr,
        flags,
    }
}

fn wait(uaddr: A, val: u64, mask: u64, flags: u64, ts: Ts, clock: u64) -> Op {
    Op::Wait {
        uaddr,
        val,
        mask,
        flags,
        ts,
        clock,
    }
}

fn e(val: u64, uaddr: A, flags: u64) -> E {
    E {
        val,
        uaddr,
        flags: flags as u32,
        reserved: 0,
    }
}

fn requeue(waiters: Wv, flags: u64, nr_wake: u64, nr_requeue: u64) -> Op {
    Op::Requeue {
        waiters,
        flags,
        nr_wake,
        nr_requeue,
    }
}

/// A case: the op, and the value of both NUMA node words (W0's and W1's) before it.
struct Case {
    name: String,
    op: Op,
    node: u32,
}

fn single_thread_cases() -> Vec<Case> {
    use A::*;
    let mut v = Vec::new();
    for scope in [PRIV, 0] {
        let s = if scope == PRIV { "private" } else { "shared" };
        let f = U32 | scope;
        let mut add = |name: &str, op: Op, node: u32| {
            v.push(Case {
                name: format!("{s} {name}"),
                op,
                node,
            })
        };
        // futex_wake: flags.
        add("wake", wake(W0, ANY, 1, f), 0);
        for (what, flags) in [
            ("size u8", scope),
            ("size u16", scope | 1),
            ("size u64", scope | 3),
            ("flag 0x10", f | 0x10),
            ("flag 0x100", f | 0x100),
            ("flag 1<<31", f | 1 << 31),
            ("flag 0x40", f | 0x40),
        ] {
            add(&format!("wake {what}"), wake(W0, ANY, 1, flags), 0);
        }
        add(
            "wake flags upper half ignored",
            wake(W0, ANY, 1, f | 1 << 32),
            0,
        );
        add("wake mpol", wake(W0, ANY, 1, f | MPOL), u32::MAX);
        // Masks and counts.
        add("wake mask 0", wake(W0, 0, 1, f), 0);
        add("wake mask 1<<32", wake(W0, 1 << 32, 1, f), 0);
        add("wake mask u64 max", wake(W0, u64::MAX, 1, f), 0);
        add("wake mask 0, misaligned", wake(Misaligned, 0, 1, f), 0);
        add("wake mask 0, unmapped", wake(Unmapped, 0, 1, f), 0);
        add(
            "wake mask too wide, bad size",
            wake(W0, 1 << 32, 1, scope),
            0,
        );
        add("wake mask 1", wake(W0, 1, 1, f), 0);
        add("wake nr 0", wake(W0, ANY, 0, f), 0);
        add("wake nr -1", wake(W0, ANY, u32::MAX as u64, f), 0);
        add("wake nr upper half ignored", wake(W0, ANY, 1 << 32, f), 0);
        // Addresses.
        add("wake misaligned", wake(Misaligned, ANY, 1, f), 0);
        add("wake misaligned, nr 0", wake(Misaligned, ANY, 0, f), 0);
        add("wake unmapped", wake(Unmapped, ANY, 1, f), 0);
        add("wake unmapped, nr 0", wake(Unmapped, ANY, 0, f), 0);
        add("wake read-only", wake(RoNode0, ANY, 1, f), 0);
        add("wake null", wake(Null, ANY, 1, f), 0);
        add("wake kernel address", wake(Kernel, ANY, 1, f), 0);
        add("wake end of user space", wake(EndOfUser, ANY, 1, f), 0);
        add(
            "wake end of user space - 4",
            wake(EndOfUserMinus4, ANY, 1, f),
            0,
        );
        add("wake high bit", wake(HighBit, ANY, 1, f), 0);
        // FUTEX2_NUMA: the node word.
        for (what, node) in [
            ("node -1 (written)", u32::MAX),
            ("node 0", 0),
            ("node 1", 1),
            ("node -2", u32::MAX - 1),
            ("node 0x7fffffff", 0x7fff_ffff),
        ] {
            add(
                &format!("wake numa {what}"),
                wake(W0, ANY, 1, f | NUMA),
                node,
            );
            add(
                &format!("wake numa|mpol {what}"),
                wake(W0, ANY, 1, f | NUMA | MPOL),
                node,
            );
        }
        add(
            "wake numa 4-aligned",
            wake(W0Plus4, ANY, 1, f | NUMA),
            u32::MAX,
        );
        add("wake numa unmapped", wake(Unmapped, ANY, 1, f | NUMA), 0);
        add("wake numa nr 0, bad node", wake(W0, ANY, 0, f | NUMA), 5);
        add(
            "wake numa read-only, node -1 (write fails)",
            wake(RoNodeAny, ANY, 1, f | NUMA),
            0,
        );
        add(
            "wake numa read-only, node 0",
            wake(RoNode0, ANY, 1, f | NUMA),
            0,
        );
        add(
            "wake mpol read-only, node -1 (no write)",
            wake(RoNodeAny, ANY, 1, f | MPOL),
            0,
        );
        add(
            "wake numa end of user space - 4",
            wake(EndOfUserMinus4, ANY, 1, f | NUMA),
            0,
        );
        add(
            "wake numa end of user space - 8",
            wake(EndOfUserMinus8, ANY, 1, f | NUMA),
            0,
        );

        // futex_wait: flags, values, masks.
        add("wait mismatch", wait(W0, 1, ANY, f, Ts::None, 0), 0);
        add("wait val 1<<32", wait(W0, 1 << 32, ANY, f, Ts::None, 0), 0);
        add(
            "wait val 1<<32 | 0 (truncation would match)",
            wait(W0, 1 << 32, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        add("wait mask 1<<32", wait(W0, 0, 1 << 32, f, Ts::None, 0), 0);
        add("wait size u8", wait(W0, 0, 0xff, scope, Ts::None, 0), 0);
        add(
            "wait size u16",
            wait(W0, 0, 0xff, scope | 1, Ts::None, 0),
            0,
        );
        add(
            "wait size u64",
            wait(W0, 0, 0xff, scope | 3, Ts::None, 0),
            0,
        );
        add("wait flag 0x10", wait(W0, 1, ANY, f | 0x10, Ts::None, 0), 0);
        add(
            "wait bad flags, val too wide",
            wait(W0, 1 << 32, ANY, scope, Ts::None, 0),
            0,
        );
        add("wait mask 0, mismatch", wait(W0, 1, 0, f, Ts::None, 0), 0);
        add(
            "wait mask 0, misaligned",
            wait(Misaligned, 1, 0, f, Ts::None, 0),
            0,
        );
        add(
            "wait mask 0, timespec unmapped",
            wait(W0, 0, 0, f, Ts::Unmapped, MONO),
            0,
        );
        add(
            "wait mask 0, bad clock",
            wait(W0, 0, 0, f, Ts::Abs(0, 0), 7),
            0,
        );
        // Timeouts: absolute, on the given clock.
        add(
            "wait epoch monotonic",
            wait(W0, 0, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        add(
            "wait epoch realtime",
            wait(W0, 0, ANY, f, Ts::Abs(0, 0), RT),
            0,
        );
        add(
            "wait past monotonic",
            wait(W0, 0, ANY, f, Ts::FromNow(-5), MONO),
            0,
        );
        add(
            "wait past realtime",
            wait(W0, 0, ANY, f, Ts::FromNow(-5), RT),
            0,
        );
        add(
            "wait now+2ms monotonic",
            wait(W0, 0, ANY, f, Ts::FromNow(2), MONO),
            0,
        );
        add(
            "wait now+2ms realtime",
            wait(W0, 0, ANY, f, Ts::FromNow(2), RT),
            0,
        );
        add(
            "wait mismatch, expired",
            wait(W0, 1, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        for (what, clock) in [
            ("boottime", libc::CLOCK_BOOTTIME as u64),
            ("process cputime", libc::CLOCK_PROCESS_CPUTIME_ID as u64),
            ("-1", u32::MAX as u64),
            ("99", 99),
        ] {
            add(
                &format!("wait clock {what}"),
                wait(W0, 0, ANY, f, Ts::Abs(0, 0), clock),
                0,
            );
        }
        add(
            "wait clock upper half ignored",
            wait(W0, 0, ANY, f, Ts::Abs(0, 0), 1 << 32 | MONO),
            0,
        );
        add(
            "wait no timeout, bad clock ignored",
            wait(W0, 1, ANY, f, Ts::None, 99),
            0,
        );
        add(
            "wait bad clock before timespec",
            wait(W0, 0, ANY, f, Ts::Unmapped, 99),
            0,
        );
        add(
            "wait timespec unmapped",
            wait(W0, 0, ANY, f, Ts::Unmapped, MONO),
            0,
        );
        add(
            "wait nsec negative",
            wait(W0, 0, ANY, f, Ts::Abs(0, -1), MONO),
            0,
        );
        add(
            "wait nsec 1e9",
            wait(W0, 0, ANY, f, Ts::Abs(0, 1_000_000_000), RT),
            0,
        );
        add(
            "wait sec negative",
            wait(W0, 0, ANY, f, Ts::Abs(-1, 0), MONO),
            0,
        );
        add(
            "wait bad timespec, misaligned",
            wait(Misaligned, 0, ANY, f, Ts::Abs(0, -1), MONO),
            0,
        );
        add(
            "wait timespec unmapped, misaligned",
            wait(Misaligned, 0, ANY, f, Ts::Unmapped, MONO),
            0,
        );
        // Addresses.
        add(
            "wait misaligned",
            wait(Misaligned, 0, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        add(
            "wait unmapped",
            wait(Unmapped, 0, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        add(
            "wait read-only, match",
            wait(RoNode0, 0, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        add(
            "wait read-only, mismatch",
            wait(RoNode0, 3, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        add("wait null", wait(Null, 0, ANY, f, Ts::Abs(0, 0), MONO), 0);
        add(
            "wait kernel address",
            wait(Kernel, 0, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        add(
            "wait end of user space",
            wait(EndOfUser, 0, ANY, f, Ts::Abs(0, 0), MONO),
            0,
        );
        // NUMA.
        for (what, node) in [("node -1", u32::MAX), ("node 0", 0), ("node 3", 3)] {
            add(
                &format!("wait numa {what}, expired"),
                wait(W0, 0, ANY, f | NUMA, Ts::Abs(0, 0), MONO),
                node,
            );
            add(
                &format!("wait numa {what}, mismatch"),
                wait(W0, 9, ANY, f | NUMA, Ts::None, 0),
                node,
            );
        }
        add(
            "wait numa 4-aligned",
            wait(W0Plus4, 0, ANY, f | NUMA, Ts::Abs(0, 0), MONO),
            0,
        );
        add(
            "wait numa read-only, node -1 (write fails)",
            wait(RoNodeAny, 5, ANY, f | NUMA, Ts::None, 0),
            0,
        );
        add(
            "wait numa unmapped",
            wait(Unmapped, 0, ANY, f | NUMA, Ts::Abs(0, 0), MONO),
            0,
        );

        // futex_requeue.
        let ok = [e(0, W0, f), e(0, W1, f)];
        let with = |i: usize, x: E| {
            let mut w = ok;
            w[i] = x;
            Wv::Entries(w)
        };
        add("requeue nobody", requeue(Wv::Entries(ok), 0, 1, 1), 0);
        add("requeue 0 0", requeue(Wv::Entries(ok), 0, 0, 0), 0);
        add("requeue flags 1", requeue(Wv::Entries(ok), 1, 1, 1), 0);
        add(
            "requeue flags upper half ignored",
            requeue(Wv::Entries(ok), 1 << 32, 1, 1),
            0,
        );
        add("requeue null", requeue(Wv::Null, 0, 1, 1), 0);
        add("requeue null, flags 1", requeue(Wv::Null, 1, 1, 1), 0);
        add(
            "requeue null, nr -1",
            requeue(Wv::Null, 0, u32::MAX as u64, 1),
            0,
        );
        add("requeue unmapped", requeue(Wv::Unmapped, 0, 1, 1), 0);
        add(
            "requeue unmapped, nr -1",
            requeue(Wv::Unmapped, 0, u32::MAX as u64, 1),
            0,
        );
        add(
            "requeue second entry unmapped",
            requeue(Wv::LastBeforeUnmapped, 0, 1, 1),
            0,
        );
        add(
            "requeue nr_wake -1",
            requeue(Wv::Entries(ok), 0, u32::MAX as u64, 1),
            0,
        );
        add(
            "requeue nr_requeue -1",
            requeue(Wv::Entries(ok), 0, 1, u32::MAX as u64),
            0,
        );
        add(
            "requeue nr_wake 2^32 + 1 (int: 1)",
            requeue(Wv::Entries(ok), 0, 1 << 32 | 1, 1),
            0,
        );
        add(
            "requeue nr_wake 2^33 - 1 (int: -1)",
            requeue(Wv::Entries(ok), 0, (1 << 33) - 1, 1),
            0,
        );
        add(
            "requeue mismatch",
            requeue(with(0, e(5, W0, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue mismatch, nr -1",
            requeue(with(0, e(5, W0, f)), 0, u32::MAX as u64, 1),
            0,
        );
        add(
            "requeue second value ignored",
            requeue(with(1, e(5, W1, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue val 1<<32",
            requeue(with(0, e(1 << 32, W0, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue second val 1<<32",
            requeue(with(1, e(1 << 32, W1, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue reserved",
            requeue(
                with(
                    0,
                    E {
                        reserved: 1,
                        ..e(0, W0, f)
                    },
                ),
                0,
                1,
                1,
            ),
            0,
        );
        add(
            "requeue second reserved",
            requeue(
                with(
                    1,
                    E {
                        reserved: 1 << 31,
                        ..e(0, W1, f)
                    },
                ),
                0,
                1,
                1,
            ),
            0,
        );
        add(
            "requeue size u8",
            requeue(Wv::Entries([e(0, W0, scope), e(0, W1, scope)]), 0, 1, 1),
            0,
        );
        add(
            "requeue second size u16",
            requeue(with(1, e(0, W1, scope | 1)), 0, 1, 1),
            0,
        );
        add(
            "requeue flag 0x10",
            requeue(with(0, e(0, W0, f | 0x10)), 0, 1, 1),
            0,
        );
        add(
            "requeue scopes differ",
            requeue(with(1, e(0, W1, f ^ PRIV)), 0, 1, 1),
            0,
        );
        add(
            "requeue scopes differ, unmapped source",
            requeue(
                Wv::Entries([e(0, Unmapped, f), e(0, W1, f ^ PRIV)]),
                0,
                1,
                1,
            ),
            0,
        );
        add(
            "requeue numa differs",
            requeue(with(1, e(0, W1, f | NUMA)), 0, 1, 1),
            0,
        );
        add(
            "requeue mpol differs",
            requeue(with(1, e(0, W1, f | MPOL)), 0, 1, 1),
            0,
        );
        add(
            "requeue both numa, node -1",
            requeue(
                Wv::Entries([e(0, W0, f | NUMA), e(0, W1, f | NUMA)]),
                0,
                1,
                1,
            ),
            u32::MAX,
        );
        add(
            "requeue both numa, node 2",
            requeue(
                Wv::Entries([e(0, W0, f | NUMA), e(0, W1, f | NUMA)]),
                0,
                1,
                1,
            ),
            2,
        );
        add(
            "requeue both numa, mismatch",
            requeue(
                Wv::Entries([e(3, W0, f | NUMA), e(0, W1, f | NUMA)]),
                0,
                1,
                1,
            ),
            u32::MAX,
        );
        add(
            "requeue both numa, target 4-aligned",
            requeue(
                Wv::Entries([e(0, W0, f | NUMA), e(0, W0Plus4, f | NUMA)]),
                0,
                1,
                1,
            ),
            u32::MAX,
        );
        add(
            "requeue misaligned source",
            requeue(with(0, e(0, Misaligned, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue misaligned target",
            requeue(with(1, e(0, Misaligned, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue misaligned target, mismatch",
            requeue(Wv::Entries([e(5, W0, f), e(0, Misaligned, f)]), 0, 1, 1),
            0,
        );
        add(
            "requeue unmapped source",
            requeue(with(0, e(0, Unmapped, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue unmapped target",
            requeue(with(1, e(0, Unmapped, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue kernel source",
            requeue(with(0, e(0, Kernel, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue kernel target",
            requeue(with(1, e(0, Kernel, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue high-bit source",
            requeue(with(0, e(0, HighBit, f)), 0, 1, 1),
            0,
        );
        add(
            "requeue read-only source",
            requeue(with(0, e(0, RoNode0, f)), 0, 1, 1),
            0,
        );
        add("requeue to self", requeue(with(1, e(0, W0, f)), 0, 1, 1), 0);
        // futex_waitv.
        let wv = |entries: [E; 4], nr: u64, ts: Ts, clock: u64| Op::Waitv {
            waiters: Wvv::Entries(entries),
            nr,
            flags: 0,
            ts,
            clock,
        };
        let good = [e(0, W0, f), e(0, W1, f), e(0, W0, f), e(0, W1, f)];
        let set = |i: usize, x: E| {
            let mut w = good;
            w[i] = x;
            w
        };
        let epoch = Ts::Abs(0, 0);
        add("waitv 1, epoch", wv(good, 1, epoch, MONO), 0);
        add("waitv 4, epoch realtime", wv(good, 4, epoch, RT), 0);
        add("waitv 2, past", wv(good, 2, Ts::FromNow(-3), MONO), 0);
        add("waitv 2, now+2ms", wv(good, 2, Ts::FromNow(2), RT), 0);
        add("waitv nr 0", wv(good, 0, epoch, MONO), 0);
        add("waitv nr 2^32 + 1", wv(good, 1 << 32 | 1, epoch, MONO), 0);
        for nr in [5, 17, 128, 129] {
            add(
                &format!("waitv {nr} of one entry"),
                Op::Waitv {
                    waiters: Wvv::Repeat(e(0, W0, f)),
                    nr,
                    flags: 0,
                    ts: epoch,
                    clock: MONO,
                },
                0,
            );
        }
        add(
            "waitv 128, one mismatching",
            Op::Waitv {
                waiters: Wvv::Repeat(e(3, W0, f)),
                nr: 128,
                flags: 0,
                ts: Ts::None,
                clock: 0,
            },
            0,
        );
        for (what, waiters, nr, flags, ts, clock) in [
            ("flags 1", Wvv::Entries(good), 1, 1, epoch, MONO),
            (
                "flags upper half ignored",
                Wvv::Entries(good),
                1,
                1 << 32,
                epoch,
                MONO,
            ),
            ("null", Wvv::Null, 1, 0, epoch, MONO),
            ("null, nr 0, flags 1", Wvv::Null, 0, 1, epoch, MONO),
            ("unmapped", Wvv::Unmapped, 1, 0, epoch, MONO),
            ("unmapped, bad clock", Wvv::Unmapped, 1, 0, epoch, 9),
            (
                "unmapped, bad timespec",
                Wvv::Unmapped,
                1,
                0,
                Ts::Abs(0, -1),
                MONO,
            ),
            (
                "unmapped, timespec unmapped",
                Wvv::Unmapped,
                1,
                0,
                Ts::Unmapped,
                MONO,
            ),
            (
                "second entry unmapped",
                Wvv::LastBeforeUnmapped,
                2,
                0,
                epoch,
                MONO,
            ),
            (
                "bad clock",
                Wvv::Entries(good),
                1,
                0,
                epoch,
                libc::CLOCK_BOOTTIME as u64,
            ),
            (
                "clock upper half ignored",
                Wvv::Entries(good),
                1,
                0,
                epoch,
                1 << 32 | RT,
            ),
            (
                "no timeout, bad clock",
                Wvv::Entries(set(0, e(1, W0, f))),
                1,
                0,
                Ts::None,
                9,
            ),
        ] {
            add(
                &format!("waitv {what}"),
                Op::Waitv {
                    waiters,
                    nr,
                    flags,
                    ts,
                    clock,
                },
                0,
            );
        }
        add("waitv mismatch", wv(set(1, e(1, W1, f)), 2, Ts::None, 0), 0);
        add(
            "waitv entry 2 val 1<<32",
            wv(set(2, e(1 << 32, W0, f)), 3, epoch, MONO),
            0,
        );
        add(
            "waitv entry 3 unread",
            wv(set(3, e(1 << 32, W0, 0x7f)), 3, epoch, MONO),
            0,
        );
        add(
            "waitv reserved",
            wv(
                set(
                    1,
                    E {
                        reserved: 4,
                        ..e(0, W1, f)
                    },
                ),
                2,
                epoch,
                MONO,
            ),
            0,
        );
        add(
            "waitv size u8",
            wv(set(1, e(0, W1, scope)), 2, epoch, MONO),
            0,
        );
        add(
            "waitv size u64",
            wv(set(0, e(0, W0, scope | 3)), 2, epoch, MONO),
            0,
        );
        add(
            "waitv flag 0x10",
            wv(set(0, e(0, W0, f | 0x10)), 1, epoch, MONO),
            0,
        );
        add(
            "waitv other scope second",
            wv(set(1, e(0, W1, f ^ PRIV)), 2, epoch, MONO),
            0,
        );
        add(
            "waitv misaligned second, mismatch first",
            wv(
                [e(4, W0, f), e(0, Misaligned, f), e(0, W0, f), e(0, W0, f)],
                2,
                Ts::None,
                0,
            ),
            0,
        );
        add(
            "waitv unmapped second, mismatch first",
            wv(
                [e(4, W0, f), e(0, Unmapped, f), e(0, W0, f), e(0, W0, f)],
                2,
                Ts::None,
                0,
            ),
            0,
        );
        add(
            "waitv unmapped first, mismatch second",
            wv(
                [e(0, Unmapped, f), e(4, W1, f), e(0, W0, f), e(0, W0, f)],
                2,
                Ts::None,
                0,
            ),
            0,
        );
        add(
            "waitv kernel address",
            wv(set(1, e(0, Kernel, f)), 2, epoch, MONO),
            0,
        );
        add(
            "waitv read-only word",
            wv(set(1, e(0, RoNode0, f)), 2, epoch, MONO),
            0,
        );
        add(
            "waitv numa node -1",
            wv(set(0, e(0, W0, f | NUMA)), 2, epoch, MONO),
            u32::MAX,
        );
        add(
            "waitv numa node 3",
            wv(set(1, e(0, W1, f | NUMA)), 2, epoch, MONO),
            3,
        );
        add(
            "waitv numa 4-aligned",
            wv(set(1, e(0, W0Plus4, f | NUMA)), 2, epoch, MONO),
            0,
        );
        add(
            "waitv numa read-only, node -1",
            wv(set(1, e(0, RoNodeAny, f | NUMA)), 2, epoch, MONO),
            0,
        );
        // Cross-API: the plain futex(2) wake on a futex2 word.
        add(
            "futex(2) wake",
            Op::OldWake {
                uaddr: W0,
                nr: 1,
                private: scope == PRIV,
            },
            0,
        );
    }
    v
}

#[test]
fn single_thread_calls_match_native() {
    let mut mismatches = Vec::new();
    let cases = single_thread_cases();
    for case in &cases {
        let mut results = Vec::new();
        for b in [Backend::Native, Backend::Lintel] {
            let arena = Arena::new();
            arena.store(W0 + 4, case.node);
            arena.store(W1 + 4, case.node);
            let r = case.op.run(b, &arena);
            results.push((
                r,
                [W0, W0 + 4, W1, W1 + 4, RO_NODE_ANY + 4].map(|o| arena.load(o)),
            ));
        }
        if results[0] != results[1] {
            mismatches.push(format!(
                "{}: native {:?} lintel {:?}",
                case.name, results[0], results[1]
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
    assert!(cases.len() > 350, "{} cases", cases.len());
}

/// The rules that make futex2 differ from `futex(2)`, stated (both backends must agree with
/// them, not only with each other).
#[test]
fn futex2_rules_hold_on_both() {
    for b in [Backend::Native, Backend::Lintel] {
        let arena = Arena::new();
        let w0 = arena.addr(A::W0);
        // A mask or value above 32 bits is EINVAL (futex_validate_input).
        assert_eq!(
            b.wake(w0, 1 << 32, 1, U32 | PRIV),
            Err(libc::EINVAL),
            "{b:?}"
        );
        assert_eq!(
            b.wait(w0, 1 << 32, ANY, U32 | PRIV, 0, 0),
            Err(libc::EINVAL),
            "{b:?}"
        );
        // Only 32-bit futexes.
        for size in [0, 1, 3] {
            assert_eq!(b.wake(w0, ANY, 1, size | PRIV), Err(libc::EINVAL), "{b:?}");
        }
        // futex_wake with nr 0 returns 0 (FUTEX_WAKE would wake one: see the scenarios).
        assert_eq!(b.wake(w0, ANY, 0, U32 | PRIV), Ok(0), "{b:?}");
        // A NUMA futex with node -1 gets node 0 written back.
        arena.store(W0 + 4, u32::MAX);
        assert_eq!(b.wake(w0, ANY, 1, U32 | PRIV | NUMA), Ok(0), "{b:?}");
        assert_eq!(arena.load(W0 + 4), 0, "{b:?}");
        // Other clocks than MONOTONIC and REALTIME are EINVAL.
        let ts = arena.timespec(0, 0);
        assert_eq!(
            b.wait(w0, 0, ANY, U32 | PRIV, ts, libc::CLOCK_BOOTTIME as u64),
            Err(libc::EINVAL),
            "{b:?}"
        );
        // futex_requeue's flags must be 0 and both entries' flags equal.
        let ok = Op::Requeue {
            waiters: Wv::Entries([e(0, A::W0, U32 | PRIV), e(0, A::W1, U32)]),
            flags: 0,
            nr_wake: 1,
            nr_requeue: 1,
        };
        assert_eq!(ok.run(b, &arena), Err(libc::EINVAL), "{b:?}");
    }
}

/// Timed waits take at least their time, on both clocks (and lintel's not absurdly longer).
#[test]
fn timeouts_wait_at_least_their_time() {
    for b in [Backend::Native, Backend::Lintel] {
        let arena = Arena::new();
        for (flags, clock) in [(U32 | PRIV, MONO), (U32 | PRIV, RT), (U32, MONO), (U32, RT)] {
            let op = wait(A::W0, 0, ANY, flags, Ts::FromNow(20), clock);
            let start = Instant::now();
            assert_eq!(op.run(b, &arena), Err(libc::ETIMEDOUT), "{b:?} {op:?}");
            let took = start.elapsed();
            assert!(
                took >= Duration::from_millis(19),
                "{b:?} {op:?} took {took:?}"
            );
            assert!(took < Duration::from_secs(2), "{b:?} {op:?} took {took:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Blocked waiters.

/// How a waiter waits on its word (value 0, no timeout).
#[derive(Copy, Clone, Debug)]
enum How {
    /// `futex_wait` with this mask and these flags (the scope bit is the scenario's).
    Futex2 { mask: u32, flags: u64 },
    /// `futex(2)` `FUTEX_WAIT_BITSET` with this mask.
    Futex1 { mask: u32 },
    /// `futex_waitv` on these words (its own word first), each with these flags.
    Waitv { more: &'static [A], flags: u64 },
}

#[derive(Copy, Clone, Debug)]
struct Waiter {
    word: A,
    how: How,
}

struct Scenario {
    name: &'static str,
    waiters: Vec<Waiter>,
    /// Calls made once every waiter is blocked (built for the scenario's scope).
    steps: fn(u64) -> Vec<Op>,
}

/// Whether thread `tid` sleeps in `futex(2)` or `futex_wait` (native waiters sleep in their
/// own call; lintel's in the host's futex on their notification word or, shared, on the word).
fn blocked_in_futex(tid: i32) -> bool {
    let syscall =
        std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("");
    let nr = syscall.split_whitespace().next().unwrap_or("");
    [libc::SYS_futex, SYS_FUTEX_WAIT, SYS_FUTEX_WAITV]
        .iter()
        .any(|n| nr == n.to_string())
        && state == "S"
}

#[derive(Debug, PartialEq)]
struct Trace {
    /// Per step: the call's outcome and the waiters that returned after it.
    steps: Vec<(Outcome, BTreeSet<usize>)>,
    /// Every waiter's own outcome.
    waiter_results: Vec<Outcome>,
}

fn run_scenario(b: Backend, sc: &Scenario, scope: u64) -> Trace {
    // Build the table here: a waiter blocked in its one-time initialisation would look blocked
    // in a futex too.
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
            let r = match w.how {
                How::Futex2 { mask, flags } => {
                    wait(w.word, 0, u64::from(mask), flags | U32 | scope, Ts::None, 0)
                        .run(b, &arena2)
                }
                How::Futex1 { mask } => {
                    b.futex_wait_bitset(arena2.addr(w.word), 0, mask, scope == PRIV)
                }
                How::Waitv { more, flags } => {
                    let mut entries = [e(0, w.word, U32 | scope | flags); 4];
                    for (i, word) in more.iter().enumerate() {
                        entries[i + 1].uaddr = *word;
                    }
                    let mut buf = [[0u64; 3]; 4];
                    for (b, x) in buf.iter_mut().zip(entries) {
                        *b = [x.val, arena2.addr(x.uaddr) as u64, u64::from(x.flags)];
                    }
                    b.waitv(buf.as_ptr() as usize, 1 + more.len() as u64, 0, 0, 0)
                }
            };
            results2.lock().unwrap()[i] = Some(r);
        }));
        // One at a time, so that their order in the queue is defined.
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
    for op in (sc.steps)(scope) {
        let r = op.run(b, &arena);
        // How many must return: a wake's count, at most a requeue's nr_wake.
        let woken = match (op, r) {
            (Op::Requeue { nr_wake, .. }, Ok(n)) => n.min(nr_wake as i32 as usize),
            (_, Ok(n)) => n,
            (_, Err(_)) => 0,
        };
        // Wait (bounded) for those, then a grace period for any extra one.
        let start = Instant::now();
        while returned().len() < before.len() + woken.min(sc.waiters.len())
            && start.elapsed() < Duration::from_secs(5)
        {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(20));
        let now = returned();
        steps.push((r, now.difference(&before).copied().collect()));
        before = now;
    }
    // Release everyone still waiting: plain and NUMA, on both words, by both APIs.
    arena.store(W0, 1);
    arena.store(W1, 1);
    for word in [A::W0, A::W1] {
        let _ = b.futex_wake(arena.addr(word), i32::MAX as u32, scope == PRIV);
        let _ = b.wake(arena.addr(word), ANY, i32::MAX as u64, U32 | NUMA | scope);
    }
    for h in handles {
        h.join().unwrap();
    }
    let waiter_results = results.lock().unwrap().iter().map(|r| r.unwrap()).collect();
    Trace {
        steps,
        waiter_results,
    }
}

fn f2(word: A, mask: u32) -> Waiter {
    Waiter {
        word,
        how: How::Futex2 { mask, flags: 0 },
    }
}

fn numa(word: A) -> Waiter {
    Waiter {
        word,
        how: How::Futex2 {
            mask: u32::MAX,
            flags: NUMA,
        },
    }
}

fn waitv(word: A, more: &'static [A]) -> Waiter {
    Waiter {
        word,
        how: How::Waitv { more, flags: 0 },
    }
}

fn scenarios() -> Vec<Scenario> {
    use A::*;
    let any = u32::MAX;
    vec![
        Scenario {
            name: "wake counts: 1, 0 (nobody), -1 (one), all",
            waiters: vec![f2(W0, any); 4],
            steps: |s| {
                vec![
                    wake(W0, ANY, 1, U32 | s),
                    wake(W0, ANY, 0, U32 | s),
                    wake(W0, ANY, u32::MAX as u64, U32 | s),
                    wake(W0, ANY, i32::MAX as u64, U32 | s),
                ]
            },
        },
        Scenario {
            name: "masks select waiters, FIFO among the matching",
            waiters: vec![f2(W0, 1), f2(W0, 2), f2(W0, 3), f2(W0, 4), f2(W0, 2)],
            steps: |s| {
                vec![
                    wake(W0, 2, 1, U32 | s),
                    wake(W0, 8, 10, U32 | s),
                    wake(W0, 2, 10, U32 | s),
                    wake(W0, 5, 10, U32 | s),
                ]
            },
        },
        Scenario {
            name: "requeue wake 1 move 2, then wake both words",
            waiters: vec![f2(W0, any); 4],
            steps: |s| {
                let f = U32 | s;
                vec![
                    requeue(Wv::Entries([e(0, W0, f), e(0, W1, f)]), 0, 1, 2),
                    wake(W1, ANY, 1, f),
                    wake(W0, ANY, 10, f),
                    wake(W1, ANY, 10, f),
                ]
            },
        },
        Scenario {
            name: "requeue mismatch moves nothing",
            waiters: vec![f2(W0, any); 2],
            steps: |s| {
                let f = U32 | s;
                vec![
                    requeue(Wv::Entries([e(7, W0, f), e(0, W1, f)]), 0, 1, 2),
                    wake(W1, ANY, 10, f),
                    wake(W0, ANY, 10, f),
                ]
            },
        },
        Scenario {
            name: "requeue 0 wake, all moved onto existing waiters",
            waiters: vec![f2(W1, any), f2(W0, any), f2(W0, any), f2(W1, any)],
            steps: |s| {
                let f = U32 | s;
                vec![
                    requeue(Wv::Entries([e(0, W0, f), e(0, W1, f)]), 0, 0, 10),
                    wake(W1, ANY, 1, f),
                    wake(W1, ANY, 1, f),
                    wake(W0, ANY, 10, f),
                    wake(W1, ANY, 10, f),
                ]
            },
        },
        Scenario {
            name: "requeue 0 0 does nothing; requeue to self",
            waiters: vec![f2(W0, any); 3],
            steps: |s| {
                let f = U32 | s;
                vec![
                    requeue(Wv::Entries([e(0, W0, f), e(0, W1, f)]), 0, 0, 0),
                    requeue(Wv::Entries([e(0, W0, f), e(0, W0, f)]), 0, 1, 10),
                    wake(W1, ANY, 10, f),
                    wake(W0, ANY, 1, f),
                ]
            },
        },
        Scenario {
            name: "requeued waiters keep their masks",
            waiters: vec![f2(W0, 1), f2(W0, 2), f2(W0, 1)],
            steps: |s| {
                let f = U32 | s;
                vec![
                    requeue(Wv::Entries([e(0, W0, f), e(0, W1, f)]), 0, 0, 10),
                    wake(W1, 2, 10, f),
                    wake(W1, 1, 1, f),
                    wake(W1, ANY, 10, f),
                ]
            },
        },
        Scenario {
            name: "futex2 and futex(2) waiters and wakes meet",
            waiters: vec![
                f2(W0, any),
                Waiter {
                    word: W0,
                    how: How::Futex1 { mask: 2 },
                },
                f2(W0, 4),
            ],
            steps: |s| {
                vec![
                    wake(W0, 2, 10, U32 | s),
                    Op::OldWake {
                        uaddr: W0,
                        nr: 10,
                        private: s == PRIV,
                    },
                ]
            },
        },
        Scenario {
            name: "NUMA and plain waiters on one word",
            waiters: vec![numa(W0), f2(W0, any), numa(W0)],
            steps: |s| {
                vec![
                    wake(W0, ANY, 1, U32 | s),
                    wake(W0, ANY, 1, U32 | NUMA | s),
                    Op::OldWake {
                        uaddr: W0,
                        nr: 10,
                        private: s == PRIV,
                    },
                    wake(W0, ANY, 10, U32 | NUMA | MPOL | s),
                ]
            },
        },
        Scenario {
            name: "waitv woken on either word, returns its index",
            waiters: vec![waitv(W0, &[W1]), waitv(W1, &[W0]), f2(W1, any)],
            steps: |s| {
                vec![
                    wake(W1, ANY, 1, U32 | s),
                    wake(W1, ANY, 1, U32 | s),
                    wake(W0, ANY, 5, U32 | s),
                ]
            },
        },
        Scenario {
            name: "waitv twice on one word: the highest index woken",
            waiters: vec![waitv(W0, &[W0, W1])],
            steps: |s| vec![wake(W0, ANY, 2, U32 | s), wake(W1, ANY, 5, U32 | s)],
        },
        Scenario {
            name: "waitv twice on one word, one woken: the first",
            waiters: vec![waitv(W0, &[W1, W0])],
            steps: |s| vec![wake(W0, ANY, 1, U32 | s), wake(W0, ANY, 5, U32 | s)],
        },
        Scenario {
            name: "waitv requeued, woken on the target; futex(2) wakes it too",
            waiters: vec![waitv(W0, &[]), f2(W0, any), waitv(W1, &[W1])],
            steps: |s| {
                let f = U32 | s;
                vec![
                    requeue(Wv::Entries([e(0, W0, f), e(0, W1, f)]), 0, 0, 1),
                    wake(W1, ANY, 1, f),
                    Op::OldWake {
                        uaddr: W1,
                        nr: 10,
                        private: s == PRIV,
                    },
                    wake(W0, ANY, 1, f),
                ]
            },
        },
        Scenario {
            name: "waitv with NUMA entries",
            waiters: vec![
                Waiter {
                    word: W0,
                    how: How::Waitv {
                        more: &[W1],
                        flags: NUMA,
                    },
                },
                f2(W0, any),
            ],
            steps: |s| {
                vec![
                    wake(W1, ANY, 1, U32 | s),
                    wake(W0, ANY, 1, U32 | s),
                    wake(W1, ANY, 1, U32 | NUMA | s),
                ]
            },
        },
        Scenario {
            name: "NUMA requeue",
            waiters: vec![numa(W0), numa(W0), f2(W0, any)],
            steps: |s| {
                let f = U32 | NUMA | s;
                vec![
                    requeue(Wv::Entries([e(0, W0, f), e(0, W1, f)]), 0, 0, 10),
                    wake(W1, ANY, 10, U32 | s),
                    wake(W1, ANY, 1, f),
                    wake(W0, ANY, 10, U32 | s),
                    wake(W1, ANY, 10, f),
                ]
            },
        },
    ]
}

#[test]
fn blocked_waiter_scenarios_match_native() {
    let mut mismatches = Vec::new();
    for scope in [PRIV, 0] {
        for sc in scenarios() {
            // Where a requeue puts a waiter can depend on whether the two words share a hash
            // bucket (docs/abi.md, "Requeue placement depends on the hash"): a mismatch counts
            // only if it survives fresh addresses three times.
            let mut attempt = 0;
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
    assert_eq!(lintel_table().waiters(), 0);
}

// ---------------------------------------------------------------------------------------------
// Interruption (lintel only: the restart it asks for; `tests-c/futex2.c` compares what a
// program sees after a handler with and without SA_RESTART against Linux).

/// An interrupted `futex_wait` asks for `ERESTARTSYS`, timed or not (Linux's `sys_futex_wait`
/// has no restart block, unlike `FUTEX_WAIT_BITSET`), and leaves no waiter behind.
#[test]
fn an_interrupted_wait_or_waitv_is_erestartsys_timed_or_not() {
    use support::{KERNEL, StdKernel, T};
    let buckets: &'static [Bucket<T>] = Box::leak(
        (0..16)
            .map(|_| Bucket::new())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let table: &'static FutexTable<'static, StdKernel> =
        Box::leak(Box::new(FutexTable::new(&KERNEL, buckets)));
    /// A value and its NUMA node word, 8-aligned as a NUMA futex must be.
    #[repr(C, align(8))]
    struct Pair([AtomicU32; 2]);
    let pair: &'static Pair = Box::leak(Box::new(Pair([AtomicU32::new(0), AtomicU32::new(0)])));
    let addr = pair as *const Pair as usize;
    let ts: &'static [i64; 2] = {
        let now = KERNEL.now(ClockId::Monotonic) + 60_000_000_000;
        Box::leak(Box::new([
            (now / 1_000_000_000) as i64,
            (now % 1_000_000_000) as i64,
        ]))
    };
    for (timeout, flags) in [
        (0, U32 | PRIV),
        (ts.as_ptr() as usize, U32 | PRIV),
        (ts.as_ptr() as usize, U32 | PRIV | NUMA),
    ] {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = thread::spawn(move || {
            tx.send(KERNEL.current()).unwrap();
            // SAFETY: our own pair of words.
            unsafe { table.futex_wait2(addr, 0, ANY as usize, flags as usize, timeout, 1) }
        });
        let me = rx.recv().unwrap();
        let start = Instant::now();
        while table.waiters() != 1 {
            assert!(start.elapsed() < Duration::from_secs(10), "never queued");
            thread::sleep(Duration::from_millis(1));
        }
        KERNEL.interrupt(me);
        assert_eq!(
            h.join().unwrap(),
            Err(FutexError::Restart(Restart::Syscall)),
            "timeout {timeout:#x} flags {flags:#x}"
        );
        assert_eq!(table.waiters(), 0);
    }
    // futex_waitv on the pair's word and on another word: the same.
    let other: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
    let entries: &'static [[u64; 3]; 2] = Box::leak(Box::new([
        [0, addr as u64, U32 | PRIV],
        [0, other as *const AtomicU32 as u64, U32 | PRIV],
    ]));
    for timeout in [0, ts.as_ptr() as usize] {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = thread::spawn(move || {
            tx.send(KERNEL.current()).unwrap();
            // SAFETY: our own entries and words.
            unsafe { table.futex_waitv2(entries.as_ptr() as usize, 2, 0, timeout, 1) }
        });
        let me = rx.recv().unwrap();
        let start = Instant::now();
        while table.waiters() != 2 {
            assert!(start.elapsed() < Duration::from_secs(10), "never queued");
            thread::sleep(Duration::from_millis(1));
        }
        KERNEL.interrupt(me);
        assert_eq!(
            h.join().unwrap(),
            Err(FutexError::Restart(Restart::Syscall)),
            "waitv timeout {timeout:#x}"
        );
        assert_eq!(table.waiters(), 0);
    }
}

/// A `futex_waitv` mixing private and shared entries (`[W0 private, W1 shared, W0+4
/// private]`): lintel queues the private ones in its table and has the port wait on the shared
/// one together with the thread's notification. Each case against native Linux: woken by a
/// private wake of either private entry (its index), by a shared wake (index 1), not by a wake
/// of the wrong scope, a timeout, and a value that differs in either kind of entry (`EAGAIN`).
#[test]
fn mixed_waitv_matches_native() {
    /// What happens to the blocked waiter: a wake of `word` with `flags` (then, if it woke
    /// nobody, a private wake of W0 to end the wait), or nothing (it times out).
    #[derive(Copy, Clone, Debug)]
    enum Then {
        Wake(A, u64),
        Nothing,
    }
    let cases: [(&str, [u32; 2], Then); 7] = [
        ("private wake of entry 0", [0, 0], Then::Wake(A::W0, PRIV)),
        ("shared wake of entry 1", [0, 0], Then::Wake(A::W1, 0)),
        (
            "private wake of entry 2",
            [0, 0],
            Then::Wake(A::W0Plus4, PRIV),
        ),
        (
            "shared wake of entry 0 (wrong scope)",
            [0, 0],
            Then::Wake(A::W0, 0),
        ),
        (
            "private wake of entry 1 (wrong scope)",
            [0, 0],
            Then::Wake(A::W1, PRIV),
        ),
        ("timeout", [0, 0], Then::Nothing),
        ("shared value differs", [1, 0], Then::Nothing),
    ];
    let run = |b: Backend, words: [u32; 2], then: Then, private_differs: bool| -> Vec<String> {
        let _ = lintel_table();
        let arena = Arc::new(Arena::new());
        arena.store(W0, 0);
        arena.store(W0 + 4, if private_differs { 1 } else { 0 });
        arena.store(W1, words[0]);
        let _ = words[1];
        let a = arena.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let h = thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tx.send(unsafe { libc::gettid() }).unwrap();
            let entries = [
                e(0, A::W0, U32 | PRIV),
                e(0, A::W1, U32),
                e(0, A::W0Plus4, U32 | PRIV),
            ];
            let mut buf = [[0u64; 3]; 3];
            for (b, x) in buf.iter_mut().zip(entries) {
                *b = [x.val, a.addr(x.uaddr) as u64, u64::from(x.flags)];
            }
            let mut ts = [0i64; 2];
            // SAFETY: a valid timespec out-pointer.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, ts.as_mut_ptr().cast()) };
            ts[0] += 1; // 1 s: the cases that wake do so well before
            if matches!(then, Then::Nothing) {
                ts[0] -= 1;
                ts[1] += 150_000_000;
                if ts[1] >= 1_000_000_000 {
                    ts[0] += 1;
                    ts[1] -= 1_000_000_000;
                }
            }
            b.waitv(buf.as_ptr() as usize, 3, 0, ts.as_ptr() as usize, 1)
        });
        let tid = rx.recv().unwrap();
        let mut log = Vec::new();
        if let Then::Wake(word, flags) = then {
            let start = Instant::now();
            while !blocked_in_futex(tid) {
                assert!(start.elapsed() < Duration::from_secs(10), "never blocked");
                thread::sleep(Duration::from_millis(1));
            }
            let n = b.wake(arena.addr(word), ANY, 1, U32 | flags);
            log.push(format!("wake: {n:?}"));
            if n == Ok(0) {
                thread::sleep(Duration::from_millis(20));
                log.push(format!(
                    "then private wake of entry 0: {:?}",
                    b.wake(arena.addr(A::W0), ANY, 1, U32 | PRIV)
                ));
            }
        }
        log.push(format!("waitv: {:?}", h.join().unwrap()));
        log
    };
    let mut mismatches = Mismatches::default();
    let mut all: Vec<(String, [u32; 2], Then, bool)> = cases
        .iter()
        .map(|&(n, w, t)| (n.to_string(), w, t, false))
        .collect();
    all.push(("private value differs".into(), [0, 0], Then::Nothing, true));
    for (name, words, then, pd) in all {
        let native = run(Backend::Native, words, then, pd);
        let lintel = run(Backend::Lintel, words, then, pd);
        mismatches.check(&name, &native, &lintel);
    }
    mismatches.assert_none();
}

/// An interrupted mixed `futex_waitv` (private and shared entries; lintel only, see above) asks
/// for `ERESTARTSYS` whether the interrupt came before the call or during the wait, with a
/// timeout or without, and leaves no waiter behind on either word (lintel's table, the port).
#[test]
fn an_interrupted_mixed_waitv_is_erestartsys() {
    use lintel_kernel::{Notify, Threads};
    let _ = lintel_table();
    let arena = Arc::new(Arena::new());
    arena.store(W0, 0);
    arena.store(W1, 0);
    for (timed, early) in [(false, false), (true, false), (false, true)] {
        let a = arena.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let h = thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tx.send((unsafe { libc::gettid() }, PORT.current()))
                .unwrap();
            if early {
                PORT.interrupt(PORT.current());
            }
            let buf = [
                [0, a.addr(A::W0) as u64, U32 | PRIV],
                [0, a.addr(A::W1) as u64, U32],
            ];
            let mut ts = [0i64; 2];
            // SAFETY: a valid timespec out-pointer.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, ts.as_mut_ptr().cast()) };
            ts[0] += 30;
            let tsp = if timed { ts.as_ptr() as usize } else { 0 };
            let r = Backend::Lintel.waitv(buf.as_ptr() as usize, 2, 0, tsp, 1);
            (r, PORT.take_interrupt())
        });
        let (tid, handle) = rx.recv().unwrap();
        if !early {
            let start = Instant::now();
            while !blocked_in_futex(tid) {
                assert!(start.elapsed() < Duration::from_secs(10), "never blocked");
                thread::sleep(Duration::from_millis(1));
            }
            PORT.interrupt(handle);
        }
        let (r, interrupted) = h.join().unwrap();
        assert_eq!(r, Err(512), "timed {timed}, early {early}: ERESTARTSYS");
        assert!(interrupted, "the interrupt stays for the signal layer");
        // Nobody is left on either word.
        assert_eq!(
            Backend::Lintel.wake(arena.addr(A::W0), ANY, 8, U32 | PRIV),
            Ok(0)
        );
        assert_eq!(Backend::Native.wake(arena.addr(A::W1), ANY, 8, U32), Ok(0));
    }
}
