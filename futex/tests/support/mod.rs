//! `StdKernel`: a minimal port of lintel's porting traits onto Rust's std, for testing the
//! futex engine's logic in isolation from the real host port (`lintel-host`).
//!
//! Threads are std threads; the notification is a mutex + condvar; user memory is accessed
//! directly (no fault tolerance: tests pass only valid memory here; `EFAULT` behaviour is tested
//! against `lintel-host`); shared futexes go to the real Linux futex in slices so an interrupt
//! is noticed.
#![allow(dead_code, unreachable_pub)]

use lintel_kernel::interrupt::InterruptHook;
use lintel_kernel::*;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};

#[derive(Debug, Default)]
struct State {
    token: bool,
    interrupted: bool,
}

#[derive(Debug)]
pub struct Rec {
    state: Mutex<State>,
    cv: Condvar,
    tid: i32,
    /// The priority this port reports (tests set it with [`set_priority`]).
    prio: AtomicI32,
    locals: [std::sync::atomic::AtomicUsize; LOCAL_WORDS],
}

/// Sets the priority the port reports for the calling thread (lower is more urgent).
pub fn set_priority(prio: i32) {
    ME.with(|r| r.prio.store(prio, Ordering::Relaxed));
}

#[derive(Copy, Clone, Debug)]
pub struct T(pub &'static Rec);
impl PartialEq for T {
    fn eq(&self, o: &Self) -> bool {
        std::ptr::eq(self.0, o.0)
    }
}
impl Eq for T {}

static NEXT_TID: AtomicI32 = AtomicI32::new(1);

thread_local! {
    static ME: &'static Rec = Box::leak(Box::new(Rec {
        state: Mutex::new(State::default()),
        cv: Condvar::new(),
        tid: NEXT_TID.fetch_add(1, Ordering::Relaxed),
        prio: AtomicI32::new(NORMAL_PRIORITY),
        locals: [const { std::sync::atomic::AtomicUsize::new(0) }; LOCAL_WORDS],
    }));
}

#[derive(Debug, Default)]
pub struct StdKernel;

fn clock_ns(clock: ClockId) -> u64 {
    let id = match clock {
        ClockId::Monotonic => libc::CLOCK_MONOTONIC,
        ClockId::Realtime => libc::CLOCK_REALTIME,
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

// SAFETY: `current` is per-thread and stable (a leaked thread-local record); records are never
// freed, so stale handles stay memory-safe.
unsafe impl Threads for StdKernel {
    type Thread = T;
    fn current(&self) -> T {
        T(ME.with(|r| *r))
    }
    fn tid(&self, t: T) -> i32 {
        t.0.tid
    }
    fn priority(&self, t: T) -> i32 {
        t.0.prio.load(Ordering::Relaxed)
    }
    unsafe fn spawn(&self, _spec: &SpawnSpec) -> Result<T, Errno> {
        Err(Errno::ENOSYS)
    }
    unsafe fn exit_current(&self, _status: i32, _clear_tid: usize) -> ! {
        panic!("StdKernel cannot exit threads")
    }
    fn is_dead(&self, _t: T) -> bool {
        false
    }
    fn yield_now(&self) {
        std::thread::yield_now()
    }
    fn after_fork(&self) {}
    fn tid_alive(&self, tid: i32) -> bool {
        tid > 0 && tid < NEXT_TID.load(Ordering::Relaxed)
    }
    fn thread_pointer(&self) -> usize {
        0
    }
    unsafe fn set_thread_pointer(&self, _tp: usize) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    fn locals(&self) -> &[std::sync::atomic::AtomicUsize; LOCAL_WORDS] {
        &self.current().0.locals
    }
    fn locals_of(&self, t: T) -> &[std::sync::atomic::AtomicUsize; LOCAL_WORDS] {
        &t.0.locals
    }
    /// Only the calling thread: the futex engine walks threads only for PI deadlock detection,
    /// which the tests on this port do not use (differential.rs runs PI on `lintel-host`).
    fn for_each_thread(&self, f: &mut dyn FnMut(T)) {
        f(self.current())
    }
}

// SAFETY: no signal ever arrives from outside (nothing is routed), and no context is resumed:
// the futex engine tests never deliver signals.
unsafe impl Delivery for StdKernel {
    fn route_signal(&self, _sig: u32, _route: SignalRoute) {}
    fn set_child_flags(&self, _nocldstop: bool, _nocldwait: bool) {}
    fn block_arrivals(&self, _mask: u64) {}
    fn take_arrival(&self) -> Option<Arrival> {
        None
    }
    unsafe fn resume(&self, _uc: usize, _redeliver: bool) -> ! {
        panic!("StdKernel has no machine contexts")
    }
    unsafe fn on_delivery_stack(&self, _f: extern "C" fn(usize) -> !, _arg: usize) -> ! {
        panic!("StdKernel has no delivery stack")
    }
    fn raise_default(&self, sig: u32) {
        panic!("StdKernel: default action of signal {sig}")
    }
    fn fpstate_size(&self) -> usize {
        0
    }
    unsafe fn save_fpstate(&self, _dst: usize) {}
}

// SAFETY: mutex + condvar binary semaphore with a sticky interrupted flag, as the contract says.
unsafe impl Notify for StdKernel {
    fn wait(&self, deadline: Option<Deadline>) -> Wakeup {
        let me = self.current().0;
        let mut s = me.state.lock().unwrap();
        loop {
            if s.token {
                s.token = false;
                return Wakeup::Notified;
            }
            if s.interrupted {
                return Wakeup::Interrupted;
            }
            match deadline {
                None => s = me.cv.wait(s).unwrap(),
                Some(d) => {
                    let now = clock_ns(d.clock);
                    if now >= d.ns {
                        return Wakeup::TimedOut;
                    }
                    let dur = std::time::Duration::from_nanos((d.ns - now).min(10_000_000));
                    s = me.cv.wait_timeout(s, dur).unwrap().0;
                }
            }
        }
    }
    fn signal(&self, t: T) {
        t.0.state.lock().unwrap().token = true;
        t.0.cv.notify_all();
    }
    fn interrupt(&self, t: T) {
        t.0.state.lock().unwrap().interrupted = true;
        t.0.cv.notify_all();
    }
    fn take_interrupt(&self) -> bool {
        std::mem::take(&mut self.current().0.state.lock().unwrap().interrupted)
    }
    fn is_interrupted(&self) -> bool {
        self.current().0.state.lock().unwrap().interrupted
    }
}

// SAFETY: monotonic is CLOCK_MONOTONIC; waits check the deadline against the same clock.
unsafe impl Clock for StdKernel {
    fn now(&self, clock: ClockId) -> u64 {
        clock_ns(clock)
    }
}

// SAFETY: tests only hand this port valid, aligned memory (documented above); the first page
// is refused so a null futex gives EFAULT like an unmapped one.
unsafe impl UserMemory for StdKernel {
    fn user_end(&self) -> usize {
        0x7fff_ffff_f000
    }
    fn load_u32(&self, addr: usize) -> Result<u32, Errno> {
        if addr < 4096 {
            return Err(Errno::EFAULT);
        }
        // SAFETY: tests pass valid aligned words.
        Ok(unsafe { &*(addr as *const AtomicU32) }.load(Ordering::SeqCst))
    }
    unsafe fn cmpxchg_u32(&self, addr: usize, expected: u32, new: u32) -> Result<u32, Errno> {
        if addr < 4096 {
            return Err(Errno::EFAULT);
        }
        // SAFETY: tests pass valid aligned words.
        let a = unsafe { &*(addr as *const AtomicU32) };
        Ok(
            match a.compare_exchange(expected, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(v) | Err(v) => v,
            },
        )
    }
    fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), Errno> {
        if addr < 4096 {
            return Err(Errno::EFAULT);
        }
        // SAFETY: tests pass valid memory.
        unsafe { std::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
    unsafe fn write(&self, addr: usize, buf: &[u8]) -> Result<(), Errno> {
        if addr < 4096 {
            return Err(Errno::EFAULT);
        }
        // SAFETY: tests pass valid memory.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), addr as *mut u8, buf.len()) };
        Ok(())
    }
}

fn sys_futex(uaddr: usize, op: u32, val: u32, utime: usize, uaddr2: usize, val3: u32) -> isize {
    // SAFETY: the futex syscall validates its own arguments.
    let r = unsafe { libc::syscall(libc::SYS_futex, uaddr, op, val, utime, uaddr2, val3) };
    if r < 0 {
        -(std::io::Error::last_os_error().raw_os_error().unwrap() as isize)
    } else {
        r as isize
    }
}

fn ret(r: isize) -> Result<u32, Errno> {
    Errno::from_ret(r).map(|n| n as u32)
}

// SAFETY: every operation is the host's shared futex; waits are sliced to notice interrupts.
unsafe impl SharedFutex for StdKernel {
    fn shared_wait(
        &self,
        addr: usize,
        expected: u32,
        bitset: u32,
        deadline: Option<Deadline>,
    ) -> Result<(), SharedWaitError> {
        loop {
            if self.is_interrupted() {
                return Err(SharedWaitError::Interrupted);
            }
            let slice = clock_ns(ClockId::Monotonic) + 10_000_000;
            let (clock, end) = match deadline {
                Some(d) if d.clock == ClockId::Realtime => {
                    (libc::FUTEX_CLOCK_REALTIME as u32, d.ns)
                }
                Some(d) => (0, d.ns.min(slice)),
                None => (0, slice),
            };
            let ts = libc::timespec {
                tv_sec: (end / 1_000_000_000) as i64,
                tv_nsec: (end % 1_000_000_000) as i64,
            };
            let r = sys_futex(
                addr,
                libc::FUTEX_WAIT_BITSET as u32 | clock,
                expected,
                &ts as *const _ as usize,
                0,
                bitset,
            );
            match Errno::from_ret(r) {
                Ok(_) => return Ok(()),
                Err(e) if e == Errno::ETIMEDOUT => {
                    if deadline.is_some_and(|d| clock_ns(d.clock) >= d.ns) {
                        return Err(SharedWaitError::Errno(e));
                    }
                }
                Err(e) if e == Errno::EINTR => {}
                Err(e) => return Err(SharedWaitError::Errno(e)),
            }
        }
    }
    fn shared_lock_pi(
        &self,
        _addr: usize,
        _deadline: Option<Deadline>,
        _trylock: bool,
    ) -> Result<(), SharedWaitError> {
        Err(SharedWaitError::Errno(Errno::ENOSYS))
    }
    fn shared_unlock_pi(&self, _addr: usize) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    fn shared_wait_requeue_pi(
        &self,
        _addr: usize,
        _expected: u32,
        _deadline: Option<Deadline>,
        _addr2: usize,
    ) -> Result<(), SharedWaitError> {
        Err(SharedWaitError::Errno(Errno::ENOSYS))
    }
    fn shared_cmp_requeue_pi(
        &self,
        _addr: usize,
        _addr2: usize,
        _nr_wake: i32,
        _nr_requeue: i32,
        _expected: u32,
    ) -> Result<u32, Errno> {
        Err(Errno::ENOSYS)
    }
    fn shared_waitv(
        &self,
        _entries: &[(usize, u32)],
        _deadline: Option<Deadline>,
    ) -> Result<SharedWaitv, SharedWaitError> {
        Err(SharedWaitError::Errno(Errno::ENOSYS))
    }
    fn shared_wake(&self, addr: usize, nr_wake: i32, bitset: u32) -> Result<u32, Errno> {
        ret(sys_futex(
            addr,
            libc::FUTEX_WAKE_BITSET as u32,
            nr_wake as u32,
            0,
            0,
            bitset,
        ))
    }
    fn shared_requeue(
        &self,
        addr: usize,
        addr2: usize,
        nr_wake: i32,
        nr_requeue: i32,
        expected: Option<u32>,
    ) -> Result<u32, Errno> {
        let (op, v3) = match expected {
            Some(e) => (libc::FUTEX_CMP_REQUEUE, e),
            None => (libc::FUTEX_REQUEUE, 0),
        };
        ret(sys_futex(
            addr,
            op as u32,
            nr_wake as u32,
            nr_requeue as u32 as usize,
            addr2,
            v3,
        ))
    }
    fn shared_wake_op(
        &self,
        addr: usize,
        addr2: usize,
        nr_wake: i32,
        nr_wake2: i32,
        encoded_op: u32,
    ) -> Result<u32, Errno> {
        ret(sys_futex(
            addr,
            libc::FUTEX_WAKE_OP as u32,
            nr_wake as u32,
            nr_wake2 as u32 as usize,
            addr2,
            encoded_op,
        ))
    }
}

// SAFETY: this port never kicks (tests of interrupts use Notify::interrupt); spans are no-ops.
unsafe impl Interrupt for StdKernel {
    fn set_interrupt_hook(&self, _hook: InterruptHook) {}
    fn kick(&self, _t: T) {}
    fn enter(&self) {}
    fn leave(&self) -> bool {
        false
    }
}

// SAFETY: the real syscall.
unsafe impl Passthrough for StdKernel {
    unsafe fn passthrough(&self, nr: usize, a: [usize; 6]) -> Passed {
        // SAFETY: the caller upholds the syscall's contract.
        let r = unsafe { libc::syscall(nr as i64, a[0], a[1], a[2], a[3], a[4], a[5]) };
        Passed::Done(if r < 0 {
            -(std::io::Error::last_os_error().raw_os_error().unwrap() as isize)
        } else {
            r as isize
        })
    }
}

pub static KERNEL: StdKernel = StdKernel;
