//! Priority inheritance against native Linux: the same scenarios of real-time threads and PI
//! futexes run on the host's `futex(2)` and on lintel's futex layer (the host port), and each
//! step's observations are compared: the effective priority of each thread (Linux's, read from
//! `/proc/self/task/<tid>/stat`, where a PI boost shows; lintel's, what `[PI-BOOST]` computed and
//! told the port), which thread a handoff chose, and each call's outcome.
//!
//! The threads use `SCHED_FIFO`, which needs `CAP_SYS_NICE` (root, as in CI); without it the
//! test fails with a message saying so rather than passing without checking anything. All
//! scenarios run in one test, one at a time: real-time threads of two scenarios at once would
//! compete for the two CPUs of a CI machine.

use lintel_kernel::abi::linux;
use lintel_kernel::{NORMAL_PRIORITY, Passthrough, Threads};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

mod host;
use host::{Backend, Mismatches, Outcome, PORT, Port, lintel_table as table};
type Handle = <Port as Threads>::Thread;

impl Backend {
    /// `futex(uaddr, op | FUTEX_PRIVATE_FLAG, 0, utime, NULL, 0)`.
    fn futex_private(self, uaddr: usize, op: u32, utime: usize) -> Outcome {
        self.futex6(uaddr, op, 0, utime, 0, 0)
    }

    /// `futex(uaddr, op | FUTEX_PRIVATE_FLAG, val, utime_or_val2, uaddr2, val3)`.
    fn futex6(
        self,
        uaddr: usize,
        op: u32,
        val: u32,
        utime: usize,
        uaddr2: usize,
        val3: u32,
    ) -> Outcome {
        self.futex(
            uaddr,
            op | linux::FUTEX_PRIVATE_FLAG,
            val,
            utime,
            uaddr2,
            val3,
        )
    }

    /// Makes the calling thread `SCHED_FIFO` with `rt` (or `SCHED_OTHER` for 0).
    fn set_priority(self, rt: i32) {
        self.set_priority_of(0, rt);
    }

    /// Makes thread `tid` (0: the caller) `SCHED_FIFO` with `rt` (or `SCHED_OTHER` for 0), as
    /// a program on lintel would: through the port's passthrough for lintel (which is how the
    /// host port learns that priorities changed), then what the dispatcher does after it
    /// (`FutexTable::priority_changed`); directly for native.
    fn set_priority_of(self, tid: i32, rt: i32) {
        let policy = if rt == 0 {
            libc::SCHED_OTHER
        } else {
            libc::SCHED_FIFO
        };
        let param = libc::sched_param { sched_priority: rt };
        let args = [
            tid as usize,
            policy as usize,
            &raw const param as usize,
            0,
            0,
            0,
        ];
        let r = match self {
            // SAFETY: sched_setscheduler reads one sched_param from `param`.
            Backend::Native => unsafe {
                libc::syscall(libc::SYS_sched_setscheduler, args[0], args[1], args[2]) as isize
            },
            Backend::Lintel => {
                // SAFETY: as above.
                let passed =
                    unsafe { PORT.passthrough(libc::SYS_sched_setscheduler as usize, args) };
                match passed {
                    lintel_kernel::Passed::Done(r) => r,
                    other => panic!("sched_setscheduler: {other:?}"),
                }
            }
        };
        assert!(
            r >= 0,
            "sched_setscheduler(SCHED_FIFO, {rt}) failed ({r}, errno {}): this test needs \
             CAP_SYS_NICE (run it as root)",
            std::io::Error::last_os_error()
        );
        if self == Backend::Lintel {
            table().priority_changed(tid);
        }
    }
}

fn gettid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::gettid() }
}

/// Thread `tid`'s `/proc` stat fields after the command name (field 3, the state, first).
fn stat_fields(tid: i32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or("");
    rest.split_whitespace().map(str::to_owned).collect()
}

/// Whether thread `tid` sleeps inside `futex(2)` (lintel's waiters sleep in the host's futex on
/// their notification word).
fn asleep_in_futex(tid: i32) -> bool {
    let syscall =
        std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).unwrap_or_default();
    syscall.split_whitespace().next() == Some(&libc::SYS_futex.to_string())
        && stat_fields(tid).first().map(String::as_str) == Some("S")
}

/// What one actor thread is told to do.
enum Cmd {
    Priority(i32),
    Lock(usize, Option<i64>),
    Unlock(usize),
    /// `FUTEX_WAIT_REQUEUE_PI` on the first word (expecting 0) for the PI futex at the second.
    WaitRequeuePi(usize, usize),
    /// `FUTEX_WAIT` on the word, expecting 0.
    Wait(usize),
}

/// A thread that takes and releases PI locks when told, replying with each call's outcome.
struct Actor {
    name: &'static str,
    tid: i32,
    handle: Option<Handle>,
    cmds: Sender<Cmd>,
    replies: Receiver<Outcome>,
    join: thread::JoinHandle<()>,
}

impl Actor {
    fn new(b: Backend, name: &'static str, rt: i32) -> Actor {
        let (cmds, cmd_rx) = channel::<Cmd>();
        let (reply_tx, replies) = channel();
        let (hello_tx, hello) = channel();
        let join = thread::spawn(move || {
            let handle = (b == Backend::Lintel).then(|| PORT.current());
            hello_tx.send((gettid(), handle)).unwrap();
            while let Ok(cmd) = cmd_rx.recv() {
                let r = match cmd {
                    Cmd::Priority(rt) => {
                        b.set_priority(rt);
                        Ok(0)
                    }
                    Cmd::Lock(addr, ms) => lock(b, addr, ms),
                    Cmd::Unlock(addr) => unlock(b, addr),
                    Cmd::Wait(addr) => b.futex6(addr, linux::FUTEX_WAIT, 0, 0, 0, 0),
                    Cmd::WaitRequeuePi(cond, mutex) => {
                        b.futex6(cond, linux::FUTEX_WAIT_REQUEUE_PI, 0, 0, mutex, 0)
                    }
                };
                reply_tx.send(r).unwrap();
            }
            b.set_priority(0);
        });
        let (tid, handle) = hello.recv().unwrap();
        let a = Actor {
            name,
            tid,
            handle,
            cmds,
            replies,
            join,
        };
        if rt != 0 {
            assert_eq!(a.call(Cmd::Priority(rt)), Ok(0));
        }
        a
    }

    /// Runs `cmd` and waits for its outcome.
    fn call(&self, cmd: Cmd) -> Outcome {
        self.cmds.send(cmd).unwrap();
        self.replies.recv().unwrap()
    }

    /// Starts a lock that is expected to block, and waits until the thread sleeps in it.
    fn lock_blocking(&self, addr: usize, ms: Option<i64>) {
        self.cmds.send(Cmd::Lock(addr, ms)).unwrap();
        let start = Instant::now();
        while !asleep_in_futex(self.tid) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{} never slept",
                self.name
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// The outcome of an earlier [`Actor::lock_blocking`].
    fn reply(&self) -> Outcome {
        self.replies.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    /// The thread's effective priority (lower is more urgent, [`NORMAL_PRIORITY`] for a
    /// thread that is not real-time): Linux's from `/proc` (field 18, `prio - MAX_RT_PRIO`), or
    /// lintel's, checked against what the port was told.
    fn priority(&self, b: Backend) -> i32 {
        match b {
            Backend::Native => {
                let prio: i32 = stat_fields(self.tid)[15].parse().unwrap();
                if prio < 0 {
                    prio + 100
                } else {
                    NORMAL_PRIORITY
                }
            }
            Backend::Lintel => {
                let h = self.handle.unwrap();
                assert_eq!(
                    Port::inherited_priority(h),
                    table().inherited_priority(h),
                    "{}: the port was told what lintel computed",
                    self.name
                );
                table().effective_priority(h)
            }
        }
    }

    fn end(self) {
        drop(self.cmds);
        self.join.join().unwrap();
    }
}

/// Takes the PI lock at `addr` as a PI mutex does: `0 -> tid`, else `FUTEX_LOCK_PI` (with an
/// absolute `CLOCK_REALTIME` timeout `ms` from now).
fn lock(b: Backend, addr: usize, ms: Option<i64>) -> Outcome {
    // SAFETY: `addr` is a word of the scenario's arena, alive until every actor ended.
    let word = unsafe { &*(addr as *const AtomicU32) };
    let tid = gettid() as u32;
    if word
        .compare_exchange(0, tid, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        return Ok(0);
    }
    let ts = ms.map(|ms| {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: writes one timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
        let ns = now.tv_nsec + ms * 1_000_000;
        [now.tv_sec + ns / 1_000_000_000, ns % 1_000_000_000]
    });
    let utime = ts.as_ref().map_or(0, |t| t.as_ptr() as usize);
    b.futex_private(addr, linux::FUTEX_LOCK_PI, utime)
}

/// Releases the PI lock at `addr`: `tid -> 0`, else `FUTEX_UNLOCK_PI`.
fn unlock(b: Backend, addr: usize) -> Outcome {
    // SAFETY: as in `lock`.
    let word = unsafe { &*(addr as *const AtomicU32) };
    let tid = gettid() as u32;
    if word
        .compare_exchange(tid, 0, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        return Ok(0);
    }
    b.futex_private(addr, linux::FUTEX_UNLOCK_PI, 0)
}

/// Four PI futex words, each on its own cache line.
struct Words(Box<[AtomicU32; 64]>);

impl Words {
    fn new() -> Words {
        Words(Box::new([const { AtomicU32::new(0) }; 64]))
    }
    fn addr(&self, i: usize) -> usize {
        &raw const self.0[i * 16] as usize
    }
    /// Which actor the word names as owner.
    fn owner(&self, i: usize, actors: &[&Actor]) -> &'static str {
        let tid = (self.0[i * 16].load(Ordering::SeqCst) & linux::FUTEX_TID_MASK) as i32;
        actors
            .iter()
            .find(|a| a.tid == tid)
            .map_or("nobody", |a| a.name)
    }
}

/// One scenario on one backend: its log of observations.
fn scenario(b: Backend, name: &str) -> Vec<String> {
    let _ = table();
    let w = Words::new();
    let (f1, f2) = (w.addr(0), w.addr(1));
    let mut log = Vec::new();
    macro_rules! see {
        ($($a:ident),+) => {
            log.push([$(format!("{}={}", $a.name, $a.priority(b))),+].join(" "))
        };
    }
    match name {
        "one waiter, then the handoff" => {
            let (l, h) = (Actor::new(b, "L", 10), Actor::new(b, "H", 50));
            log.push(format!("{:?}", l.call(Cmd::Lock(f1, None))));
            see!(l, h);
            h.lock_blocking(f1, None);
            see!(l, h);
            log.push(format!(
                "unlock {:?} lock {:?}",
                l.call(Cmd::Unlock(f1)),
                h.reply()
            ));
            see!(l, h);
            log.push(format!("{:?}", h.call(Cmd::Unlock(f1))));
            l.end();
            h.end();
        }
        "a chain of two locks" => {
            let (l, m, h) = (
                Actor::new(b, "L", 10),
                Actor::new(b, "M", 20),
                Actor::new(b, "H", 50),
            );
            l.call(Cmd::Lock(f2, None)).unwrap();
            m.call(Cmd::Lock(f1, None)).unwrap();
            m.lock_blocking(f2, None);
            see!(l, m, h);
            h.lock_blocking(f1, None);
            see!(l, m, h);
            log.push(format!(
                "unlock {:?} lock {:?}",
                l.call(Cmd::Unlock(f2)),
                m.reply()
            ));
            see!(l, m, h);
            log.push(format!(
                "unlock {:?} lock {:?}",
                m.call(Cmd::Unlock(f1)),
                h.reply()
            ));
            see!(l, m, h);
            m.call(Cmd::Unlock(f2)).unwrap();
            h.call(Cmd::Unlock(f1)).unwrap();
            for a in [l, m, h] {
                a.end();
            }
        }
        "two locks, the more urgent released first" => {
            let (l, h1, h2) = (
                Actor::new(b, "L", 10),
                Actor::new(b, "H1", 30),
                Actor::new(b, "H2", 50),
            );
            l.call(Cmd::Lock(f1, None)).unwrap();
            l.call(Cmd::Lock(f2, None)).unwrap();
            h1.lock_blocking(f1, None);
            see!(l);
            h2.lock_blocking(f2, None);
            see!(l);
            log.push(format!(
                "unlock {:?} lock {:?}",
                l.call(Cmd::Unlock(f2)),
                h2.reply()
            ));
            see!(l, h2);
            log.push(format!(
                "unlock {:?} lock {:?}",
                l.call(Cmd::Unlock(f1)),
                h1.reply()
            ));
            see!(l, h1);
            h1.call(Cmd::Unlock(f1)).unwrap();
            h2.call(Cmd::Unlock(f2)).unwrap();
            for a in [l, h1, h2] {
                a.end();
            }
        }
        "the urgent waiter times out" => {
            let (l, h) = (Actor::new(b, "L", 10), Actor::new(b, "H", 50));
            l.call(Cmd::Lock(f1, None)).unwrap();
            h.lock_blocking(f1, Some(200));
            see!(l);
            log.push(format!("lock {:?}", h.reply()));
            see!(l);
            log.push(format!("{:?}", l.call(Cmd::Unlock(f1))));
            l.end();
            h.end();
        }
        "handoff to the most urgent waiter" => {
            let (l, h1, h2, n) = (
                Actor::new(b, "L", 10),
                Actor::new(b, "H1", 20),
                Actor::new(b, "H2", 40),
                Actor::new(b, "N", 0),
            );
            l.call(Cmd::Lock(f1, None)).unwrap();
            n.lock_blocking(f1, None);
            see!(l);
            h1.lock_blocking(f1, None);
            h2.lock_blocking(f1, None);
            see!(l);
            l.call(Cmd::Unlock(f1)).unwrap();
            let first = h2.reply();
            log.push(format!(
                "{first:?}, owner {}",
                w.owner(0, &[&l, &h1, &h2, &n])
            ));
            see!(l, h2);
            h2.call(Cmd::Unlock(f1)).unwrap();
            let second = h1.reply();
            log.push(format!(
                "{second:?}, owner {}",
                w.owner(0, &[&l, &h1, &h2, &n])
            ));
            h1.call(Cmd::Unlock(f1)).unwrap();
            log.push(format!("{:?}", n.reply()));
            n.call(Cmd::Unlock(f1)).unwrap();
            for a in [l, h1, h2, n] {
                a.end();
            }
        }
        "a boosted waiter moves up its queue" => {
            // M queues on F2 behind X, then inherits H's priority through F1: Linux requeues
            // M's waiter, so F2 goes to M, not to X.
            let (l, x, m, h) = (
                Actor::new(b, "L", 10),
                Actor::new(b, "X", 30),
                Actor::new(b, "M", 20),
                Actor::new(b, "H", 50),
            );
            l.call(Cmd::Lock(f2, None)).unwrap();
            m.call(Cmd::Lock(f1, None)).unwrap();
            x.lock_blocking(f2, None);
            m.lock_blocking(f2, None);
            see!(l, m);
            h.lock_blocking(f1, None);
            see!(l, m);
            l.call(Cmd::Unlock(f2)).unwrap();
            let got = m.reply();
            log.push(format!(
                "{got:?}, F2 owner {}",
                w.owner(1, &[&l, &x, &m, &h])
            ));
            see!(l, m);
            m.call(Cmd::Unlock(f2)).unwrap();
            log.push(format!("X {:?}", x.reply()));
            x.call(Cmd::Unlock(f2)).unwrap();
            m.call(Cmd::Unlock(f1)).unwrap();
            log.push(format!("H {:?}", h.reply()));
            h.call(Cmd::Unlock(f1)).unwrap();
            for a in [l, x, m, h] {
                a.end();
            }
        }
        "a waiter's own priority changes while it sleeps" => {
            let (l, x, h) = (
                Actor::new(b, "L", 10),
                Actor::new(b, "X", 30),
                Actor::new(b, "H", 20),
            );
            l.call(Cmd::Lock(f1, None)).unwrap();
            x.lock_blocking(f1, None);
            h.lock_blocking(f1, None);
            see!(l, h);
            b.set_priority_of(h.tid, 50);
            see!(l, h);
            b.set_priority_of(h.tid, 25);
            see!(l, h);
            l.call(Cmd::Unlock(f1)).unwrap();
            // X (30) is ahead again: H went back below it.
            log.push(format!(
                "{:?}, owner {}",
                x.reply(),
                w.owner(0, &[&l, &x, &h])
            ));
            x.call(Cmd::Unlock(f1)).unwrap();
            log.push(format!("{:?}", h.reply()));
            h.call(Cmd::Unlock(f1)).unwrap();
            for a in [l, x, h] {
                a.end();
            }
        }
        "waiters requeued onto a PI futex (requeue-PI)" => {
            // A glibc-style condvar: H and M wait on the condvar word for the mutex L owns; the
            // signal requeues both onto the mutex, whose owner then inherits H's priority.
            let cond = w.addr(2);
            let (l, m, h) = (
                Actor::new(b, "L", 10),
                Actor::new(b, "M", 20),
                Actor::new(b, "H", 50),
            );
            l.call(Cmd::Lock(f1, None)).unwrap();
            m.cmds.send(Cmd::WaitRequeuePi(cond, f1)).unwrap();
            h.cmds.send(Cmd::WaitRequeuePi(cond, f1)).unwrap();
            for a in [&m, &h] {
                let start = Instant::now();
                while !asleep_in_futex(a.tid) {
                    assert!(start.elapsed() < Duration::from_secs(10));
                    thread::sleep(Duration::from_millis(1));
                }
            }
            see!(l);
            let r = b.futex6(cond, linux::FUTEX_CMP_REQUEUE_PI, 1, 5, f1, 0);
            log.push(format!("cmp_requeue_pi {r:?}"));
            see!(l);
            l.call(Cmd::Unlock(f1)).unwrap();
            let got = h.reply();
            log.push(format!("{got:?}, owner {}", w.owner(0, &[&l, &m, &h])));
            see!(l, h);
            h.call(Cmd::Unlock(f1)).unwrap();
            log.push(format!("M {:?}", m.reply()));
            m.call(Cmd::Unlock(f1)).unwrap();
            for a in [l, m, h] {
                a.end();
            }
        }
        "plain waiters woken by priority" => {
            // Linux's plist orders plain futex waiters too: a real-time waiter that came last
            // is woken first.
            let (n, x, h) = (
                Actor::new(b, "N", 0),
                Actor::new(b, "X", 10),
                Actor::new(b, "H", 40),
            );
            for a in [&n, &x, &h] {
                a.cmds.send(Cmd::Wait(f1)).unwrap();
                let start = Instant::now();
                while !asleep_in_futex(a.tid) {
                    assert!(start.elapsed() < Duration::from_secs(10));
                    thread::sleep(Duration::from_millis(1));
                }
            }
            for _ in 0..3 {
                let r = b.futex6(f1, linux::FUTEX_WAKE, 1, 0, 0, 0);
                let start = Instant::now();
                let who = loop {
                    if let Some(a) = [&n, &x, &h]
                        .into_iter()
                        .find(|a| a.replies.try_recv().is_ok())
                    {
                        break a.name;
                    }
                    assert!(start.elapsed() < Duration::from_secs(10), "nobody woke");
                    thread::sleep(Duration::from_millis(1));
                };
                log.push(format!("wake {r:?}: {who}"));
            }
            for a in [n, x, h] {
                a.end();
            }
        }
        _ => unreachable!("{name}"),
    }
    log
}

#[test]
fn priority_inheritance_matches_native() {
    let names = [
        "one waiter, then the handoff",
        "a chain of two locks",
        "two locks, the more urgent released first",
        "the urgent waiter times out",
        "handoff to the most urgent waiter",
        "a boosted waiter moves up its queue",
        "a waiter's own priority changes while it sleeps",
        "waiters requeued onto a PI futex (requeue-PI)",
        "plain waiters woken by priority",
    ];
    let mut mismatches = Mismatches::default();
    let mut boosted = false;
    for name in names {
        let native = scenario(Backend::Native, name);
        let lintel = scenario(Backend::Lintel, name);
        // The scenarios boost someone: a host that does not would make both sides agree on
        // nothing happening.
        boosted |= native.iter().any(|l| l.contains("L=49"));
        mismatches.check(name, &native, &lintel);
    }
    assert!(boosted, "native Linux never boosted an owner");
    mismatches.assert_none();
    assert_eq!(table().waiters(), 0);
}
