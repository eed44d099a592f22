//! The syscall-edge bookkeeping against the host kernel: the same arguments to the real
//! `rt_sigaction` / `rt_sigprocmask` and to lintel's, compared result by result; and pending-set
//! rules (flush on `SIG_IGN`, coalescing, RT order, `SIGCONT` vs stop, dequeue order) against
//! what the host's `rt_sigpending` and `rt_sigtimedwait` report.
//!
//! Signals used: 40–50 for actions (this process does not otherwise use them; old actions are
//! restored), and thread-directed signals to a thread of this test's own that keeps them
//! blocked until it exits (a thread's pending signals die with it). Never 32–34 or 64.

use std::sync::atomic::AtomicUsize;

use lintel_kernel::{Errno, LOCAL_WORDS, UserMemory};
use lintel_signals::siginfo::code;
use lintel_signals::{KSigaction, SigInfo, SigSet, Signal, Signals, Target, ThreadSignals};

/// User memory of this very process through `process_vm_readv/writev`: bad addresses give
/// `EFAULT` from the kernel, never a fault.
struct SelfMem;

/// The tests change the host's dispositions and pending signals of this one process: one at a
/// time.
static HOST_SIGNALS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    HOST_SIGNALS.lock().unwrap_or_else(|e| e.into_inner())
}

fn vm(addr: usize, buf: *mut u8, len: usize, write: bool) -> Result<(), Errno> {
    let local = libc::iovec {
        iov_base: buf.cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut _,
        iov_len: len,
    };
    // SAFETY: `local` is the caller's buffer; the kernel checks `remote`.
    let n = unsafe {
        if write {
            libc::process_vm_writev(libc::getpid(), &local, 1, &remote, 1, 0)
        } else {
            libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0)
        }
    };
    if n == len as isize {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

// SAFETY: every access goes through the kernel, which reports bad addresses with EFAULT; the
// atomic methods are not used by this crate and are implemented with real atomics on valid,
// aligned addresses only after a checked read.
unsafe impl UserMemory for SelfMem {
    fn user_end(&self) -> usize {
        0x7fff_ffff_f000
    }
    fn load_u32(&self, addr: usize) -> Result<u32, Errno> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_ne_bytes(b))
    }
    unsafe fn cmpxchg_u32(&self, _addr: usize, _expected: u32, _new: u32) -> Result<u32, Errno> {
        Err(Errno::ENOSYS)
    }
    fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), Errno> {
        vm(addr, buf.as_mut_ptr(), buf.len(), false)
    }
    unsafe fn write(&self, addr: usize, buf: &[u8]) -> Result<(), Errno> {
        vm(addr, buf.as_ptr() as *mut u8, buf.len(), true)
    }
}

fn real(nr: libc::c_long, a: [usize; 4]) -> Result<(), Errno> {
    // SAFETY: the tests pass signal syscalls with arguments whose effects they undo.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3]) };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw(std::io::Error::last_os_error().raw_os_error().unwrap()).unwrap())
    }
}

fn real_action(sig: usize) -> [u64; 4] {
    let mut o = [0u64; 4];
    real(libc::SYS_rt_sigaction, [sig, 0, o.as_mut_ptr() as usize, 8]).unwrap();
    o
}

extern "C" fn never(_: i32) {}

const BAD: usize = 8;

#[test]
fn rt_sigaction_matches_linux() {
    let _serial = serial();
    let sigs = Signals::<16>::new();
    let me_words: [AtomicUsize; LOCAL_WORDS] = Default::default();
    // SAFETY: gettid has no preconditions.
    let me = ThreadSignals::new(&me_words, unsafe { libc::gettid() });
    let threads = [me];
    // Start lintel's table from the host's for the signals we touch; remember them to restore.
    let saved: Vec<(usize, [u64; 4])> = (40..=50).map(|s| (s, real_action(s))).collect();
    for &(s, a) in &saved {
        let mut b = [0u8; 32];
        for (i, w) in a.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
        }
        sigs.sigaction(&threads[..], s as i64, Some(KSigaction::from_bytes(&b)))
            .unwrap();
    }

    let h = never as *const () as u64;
    let acts: [[u64; 4]; 5] = [
        [h, u64::MAX, 0x1234, u64::MAX],
        [h, 0x0400 | 0x0800 | 4, 0, 0x100],
        [1, 0, 0, 0],
        [0, libc::SA_RESTART as u64, 0, 1 << 8],
        [h, 0x1_0000_0000 | libc::SA_SIGINFO as u64, 0, 1 << 18],
    ];
    let sig_args = [
        0usize,
        9,
        19,
        45,
        46,
        65,
        usize::MAX,
        (1 << 32) | 47,
        64 + (1 << 32) - 64 + 48,
    ];
    let mut cases = 0;
    for &sig in &sig_args {
        for act in [
            None,
            Some(0usize),
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(usize::MAX),
        ] {
            for oact_kind in 0..3 {
                for size in [8usize, 4, 16] {
                    let act_ptr = match act {
                        None => 0,
                        Some(usize::MAX) => BAD,
                        Some(i) => acts[i].as_ptr() as usize,
                    };
                    // Never install on a signal outside 40..=50 for real.
                    let target = sig as i32;
                    if act_ptr != 0
                        && act_ptr != BAD
                        && !(40..=50).contains(&target)
                        && !matches!(target, 9 | 19)
                        && Signal::new(target as i64).is_some()
                    {
                        continue;
                    }
                    let mut o_real = [0xaau64; 4];
                    let mut o_ours = [0xaau64; 4];
                    let (or, oo) = match oact_kind {
                        0 => (0, 0),
                        1 => (o_real.as_mut_ptr() as usize, o_ours.as_mut_ptr() as usize),
                        _ => (BAD, BAD),
                    };
                    let r_real = real(libc::SYS_rt_sigaction, [sig, act_ptr, or, size]);
                    // SAFETY: `oo` is our buffer or a bad address.
                    let r_ours = unsafe {
                        sigs.rt_sigaction(&SelfMem, &threads[..], sig, act_ptr, oo, size)
                    };
                    assert_eq!(
                        r_real, r_ours,
                        "sig {sig:#x} act {act:?} oact {oact_kind} size {size}"
                    );
                    assert_eq!(o_real, o_ours, "oact: sig {sig:#x} act {act:?}");
                    cases += 1;
                }
            }
        }
        // After all cases, the tables agree.
        if let Some(s) = Signal::new(sig as i32 as i64) {
            let ours = sigs.action(s).to_bytes();
            let r = real_action(s.get() as usize);
            let mut b = [0u8; 32];
            for (i, w) in r.iter().enumerate() {
                b[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
            }
            assert_eq!(ours, b, "table for {}", s.get());
        }
    }
    assert!(cases > 300);
    for (s, a) in saved {
        real(libc::SYS_rt_sigaction, [s, a.as_ptr() as usize, 0, 8]).unwrap();
    }
}

/// Runs `f` on a fresh thread whose real mask starts as this one's and whose pending
/// thread-directed signals die with it.
fn on_thread(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(f).join().unwrap();
}

fn real_mask() -> u64 {
    let mut m = 0u64;
    real(
        libc::SYS_rt_sigprocmask,
        [0, 0, &mut m as *mut u64 as usize, 8],
    )
    .unwrap();
    m
}

#[test]
fn rt_sigprocmask_matches_linux() {
    let _serial = serial();
    on_thread(|| {
        let sigs = Signals::<16>::new();
        let words: [AtomicUsize; LOCAL_WORDS] = Default::default();
        // SAFETY: no preconditions.
        let me = ThreadSignals::new(&words, unsafe { libc::gettid() });
        sigs.set_blocked(me, SigSet::from_bits(real_mask()));
        let sets: [u64; 4] = [
            u64::MAX,
            0,
            0x0000_0100_0004_0100 | (1 << 44),
            0x5555_5555_5555_5555,
        ];
        let hows = [0usize, 1, 2, 3, usize::MAX, 1 << 32, (1 << 32) | 2];
        let mut cases = 0;
        for how in hows {
            for set in [
                None,
                Some(0usize),
                Some(1),
                Some(2),
                Some(3),
                Some(usize::MAX),
            ] {
                for oset_kind in 0..3 {
                    for size in [8usize, 0, 128] {
                        let set_ptr = match set {
                            None => 0,
                            Some(usize::MAX) => BAD,
                            Some(i) => &sets[i] as *const u64 as usize,
                        };
                        let mut o_real = 0xaau64;
                        let mut o_ours = 0xaau64;
                        let (or, oo) = match oset_kind {
                            0 => (0, 0),
                            1 => (
                                &mut o_real as *mut u64 as usize,
                                &mut o_ours as *mut u64 as usize,
                            ),
                            _ => (BAD, BAD),
                        };
                        let r_real = real(libc::SYS_rt_sigprocmask, [how, set_ptr, or, size]);
                        // SAFETY: `oo` is our buffer or a bad address.
                        let r_ours =
                            unsafe { sigs.rt_sigprocmask(&SelfMem, me, how, set_ptr, oo, size) };
                        assert_eq!(
                            r_real, r_ours,
                            "how {how:#x} set {set:?} oset {oset_kind} size {size}"
                        );
                        assert_eq!(o_real, o_ours);
                        assert_eq!(
                            real_mask(),
                            me.blocked().bits(),
                            "mask after how {how:#x} set {set:?}"
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 300);
        // The thread exits with whatever mask it has: nothing was pending.
    });
}

fn tgkill_self(sig: u32) {
    // SAFETY: a signal to this thread, which blocks it.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), sig) };
    assert_eq!(r, 0);
}

fn sigqueue_self(sig: u32, value: u64) {
    // SAFETY: zeroed siginfo is valid; the signal goes to this thread, which blocks it.
    unsafe {
        let mut si: libc::siginfo_t = std::mem::zeroed();
        si.si_signo = sig as i32;
        si.si_code = code::SI_QUEUE;
        let b = &mut si as *mut libc::siginfo_t as *mut u8;
        (b.add(16) as *mut i32).write(libc::getpid());
        (b.add(20) as *mut u32).write(libc::getuid());
        (b.add(24) as *mut u64).write(value);
        let r = libc::syscall(
            libc::SYS_rt_tgsigqueueinfo,
            libc::getpid(),
            libc::gettid(),
            sig,
            b,
        );
        assert_eq!(r, 0);
    }
}

fn real_pending() -> u64 {
    let mut m = 0u64;
    real(
        libc::SYS_rt_sigpending,
        [&mut m as *mut u64 as usize, 8, 0, 0],
    )
    .unwrap();
    m
}

/// Dequeues with a zero timeout: (signo, code, value) or None.
fn real_dequeue(set: u64) -> Option<(i32, i32, u64)> {
    let mut si = [0u8; 128];
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointers to locals.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigtimedwait,
            &set,
            si.as_mut_ptr(),
            &ts,
            8usize,
        )
    };
    if r < 0 {
        return None;
    }
    let i = SigInfo::from_bytes(&si);
    Some((
        i.signo,
        i.code,
        if i.code == code::SI_QUEUE {
            i.value()
        } else {
            0
        },
    ))
}

#[test]
fn pending_rules_match_linux() {
    let _serial = serial();
    on_thread(|| {
        let sigs = Signals::<64>::new();
        let words: [AtomicUsize; LOCAL_WORDS] = Default::default();
        // SAFETY: no preconditions.
        let (tid, pid, uid) = unsafe { (libc::gettid(), libc::getpid(), libc::getuid()) };
        let me = ThreadSignals::new(&words, tid);
        let threads = [me];
        let saved: Vec<(usize, [u64; 4])> = (40..=50).map(|s| (s, real_action(s))).collect();

        // Block everything (except what Linux never blocks) on both sides.
        let all = u64::MAX;
        real(
            libc::SYS_rt_sigprocmask,
            [2, &all as *const u64 as usize, 0, 8],
        )
        .unwrap();
        sigs.set_blocked(me, SigSet::FULL);
        let s = |n: u32| Signal::of(n);
        let send = |n: u32, info: SigInfo| {
            sigs.send(&threads[..], s(n), &info, Target::Thread(me))
                .unwrap();
        };
        let kill = |n: u32| SigInfo::kill(s(n), code::SI_TKILL, pid, uid);

        // Generate: 10 twice (coalesces), 45 three times with values, 11, 2, 17 (default-ignore
        // but blocked: stays pending), 46 then SIG_IGN on 46 (flushed).
        for (n, v) in [
            (10, 0),
            (45, 7),
            (10, 0),
            (45, 8),
            (11, 0),
            (2, 0),
            (45, 9),
            (17, 0),
            (46, 1),
        ] {
            if n >= 40 {
                sigqueue_self(n, v);
                send(n, SigInfo::rt(s(n), code::SI_QUEUE, pid, uid, v));
            } else {
                tgkill_self(n);
                send(n, kill(n));
            }
        }
        assert_eq!(real_pending(), sigs.sigpending(me).bits());
        let ign = [1u64, 0, 0, 0];
        real(libc::SYS_rt_sigaction, [46, ign.as_ptr() as usize, 0, 8]).unwrap();
        sigs.sigaction(
            &threads[..],
            46,
            Some(KSigaction {
                handler: 1,
                ..KSigaction::DEFAULT
            }),
        )
        .unwrap();
        assert_eq!(
            real_pending(),
            sigs.sigpending(me).bits(),
            "SIG_IGN flushed 46"
        );
        // Ignored but blocked: still generated and pending on Linux.
        sigqueue_self(46, 3);
        send(46, SigInfo::rt(s(46), code::SI_QUEUE, pid, uid, 3));
        assert_eq!(
            real_pending(),
            sigs.sigpending(me).bits(),
            "blocked ignored 46 stays"
        );

        // SIGCONT and a stop signal cancel each other.
        tgkill_self(18);
        send(18, kill(18));
        tgkill_self(20);
        send(20, kill(20));
        assert_eq!(
            real_pending(),
            sigs.sigpending(me).bits(),
            "TSTP flushed CONT"
        );
        tgkill_self(18);
        send(18, kill(18));
        assert_eq!(
            real_pending(),
            sigs.sigpending(me).bits(),
            "CONT flushed TSTP"
        );

        // Dequeue everything in Linux's order, comparing signal, code and value.
        let mut n = 0;
        loop {
            let r = real_dequeue(all);
            let o = sigs.dequeue(me, SigSet::EMPTY, &mut |_| None).map(|i| {
                (
                    i.signo,
                    i.code,
                    if i.code == code::SI_QUEUE {
                        i.value()
                    } else {
                        0
                    },
                )
            });
            assert_eq!(r, o, "dequeue #{n}");
            if r.is_none() {
                break;
            }
            n += 1;
        }
        assert!(n >= 8);
        for (s, a) in saved {
            real(libc::SYS_rt_sigaction, [s, a.as_ptr() as usize, 0, 8]).unwrap();
        }
    });
}

#[test]
fn ignored_unblocked_is_discarded() {
    let _serial = serial();
    on_thread(|| {
        // Linux: SIGCHLD (SIG_DFL, default ignore) sent to a thread that does not block it is
        // discarded at generation; check through lintel only (the host would deliver nothing
        // observable either way), and that a blocked one stays.
        let sigs = Signals::<4>::new();
        let words: [AtomicUsize; LOCAL_WORDS] = Default::default();
        let me = ThreadSignals::new(&words, 1);
        let th = [me];
        let info = SigInfo::kill(Signal::of(17), code::SI_USER, 1, 0);
        assert_eq!(
            sigs.send(&th[..], Signal::of(17), &info, Target::Thread(me)),
            Ok(lintel_signals::Sent::Ignored)
        );
        sigs.set_blocked(me, Signal::of(17).set());
        assert!(matches!(
            sigs.send(&th[..], Signal::of(17), &info, Target::Thread(me)),
            Ok(lintel_signals::Sent::Pending { wake: None, .. })
        ));
        assert_eq!(sigs.sigpending(me), Signal::of(17).set());
    });
}
