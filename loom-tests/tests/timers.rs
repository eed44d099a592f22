//! The timer service's wake-up protocol over the real `lintel-signals` state and `LoomKernel`.
//!
//! The service thread (`lintel/src/timer.rs`, `serve`) loops: generate what is due
//! (`Signals::fire_timers`), read the earliest expiry (`Signals::next_timer_expiry`), wait on
//! its own notification until then (`Notify::wait`). A thread that arms a timer, or re-arms
//! one at delivery, changes the table under the signal lock, sets the change flag
//! (`Release`), and then `poke_timers` takes the flag (`Acquire` swap) and signals the service.
//! The models check that no arming is lost: whatever the interleaving, the service generates
//! the timer's signal exactly once, and never sleeps with no deadline while a timer is armed
//! (loom reports that as a deadlock). The poke's two lines are repeated here (the dispatcher
//! needs a `'static` service and a thread spawn the loom port does not model); everything
//! they act on is the real code.
//!
//! Run: `bash loom-tests/run.sh --test timers`.
#![cfg(lintel_loom)]

use lintel_kernel::{Clock, ClockId, Deadline, Notify, Threads};
use lintel_loom_tests::{Model, Tid, check};
use lintel_signals::timer::{Setting, Sigevent, TimerClock};
use lintel_signals::{SigSet, Signal, Signals, ThreadSignals};
use std::sync::Arc;

const SIGUSR1: u32 = 10;
/// `SIGEV_SIGNAL`.
const SIGEV_SIGNAL: i32 = 0;
const MONO: TimerClock = TimerClock::Wall(ClockId::Monotonic);

type Sigs = Signals<8>;

/// The model's main thread (tid 1) as the one thread that takes signals.
fn main_thread(m: &Model) -> ThreadSignals<'_> {
    ThreadSignals::new(m.kernel.locals_of(Tid(0)), 1)
}

/// `poke_timers`: take the change flag, then wake the service.
fn poke(m: &Model, s: &Sigs, service: Tid) {
    if s.take_timer_change() {
        m.kernel.signal(service);
    }
}

/// The service thread's loop, at most `rounds` times: returns how many timer signals it
/// generated.
fn serve(m: &Model, s: &Sigs, rounds: usize) -> usize {
    let k = &m.kernel;
    let t = main_thread(m);
    let mut fired = 0;
    for _ in 0..rounds {
        let mut wake = [0i32; 4];
        let (n, _) = s.fire_timers(
            &[t][..],
            1,
            &mut |_| Some(k.now(ClockId::Monotonic)),
            &mut wake,
        );
        fired += n;
        if fired > 0 {
            break;
        }
        let deadline = s.next_timer_expiry(ClockId::Monotonic).map(|ns| Deadline {
            clock: ClockId::Monotonic,
            ns,
        });
        k.wait(deadline);
    }
    fired
}

fn world() -> (Arc<Model>, Arc<Sigs>, i32) {
    let m = Model::new(1, &[]);
    let s = Arc::new(Sigs::new());
    s.register(main_thread(&m), SigSet::EMPTY);
    let ev = Sigevent {
        value: 7,
        signo: SIGUSR1 as i32,
        notify: SIGEV_SIGNAL,
        tid: 0,
    };
    let id = s
        .timer_create(|_| true, MONO, Some(ev))
        .expect("timer_create");
    (m, s, id)
}

/// One thread arms a timer while the service decides how long to sleep: the service is woken
/// (or sees the timer) and generates its signal exactly once.
#[test]
fn arm_vs_service_sleep() {
    check(|| {
        let (m, s, id) = world();
        let service = m.kernel.current();
        let sa = s.clone();
        let a = m.spawn(move |m| {
            let now = m.kernel.now(ClockId::Monotonic);
            let set = Setting {
                value: 10,
                interval: 0,
            };
            sa.timer_settime(id, false, set, now).expect("settime");
            poke(m, &sa, service);
        });
        // Arming, a wake-up, the deadline: three rounds at most.
        let fired = serve(&m, &s, 3);
        a.join();
        assert_eq!(fired, 1);
        assert!(s.shared_pending().contains(Signal::of(SIGUSR1)));
    });
}

/// A periodic timer's signal is taken (re-arming it at delivery, which sets the change flag)
/// while the service sleeps with no deadline: the poke after the dequeue wakes it, and it
/// generates the next period's signal.
#[test]
fn rearm_at_delivery_vs_service_sleep() {
    check(|| {
        let (m, s, id) = world();
        let t = main_thread(&m);
        let set = Setting {
            value: 10,
            interval: 10,
        };
        s.timer_settime(id, false, set, 0).expect("settime");
        let _ = s.take_timer_change();
        // The first period: generated before the model's threads start.
        let mut wake = [0i32; 4];
        let (n, _) = s.fire_timers(&[t][..], 1, &mut |_| Some(10), &mut wake);
        assert_eq!(n, 1);
        let service = m.spawn({
            let s = s.clone();
            move |m| serve(m, &s, 3)
        });
        let svc = service.tid;
        // The program takes the signal: the timer is re-armed, the service poked.
        let now = m.kernel.now(ClockId::Monotonic);
        let info = s
            .dequeue(t, SigSet::EMPTY, &mut |_| Some(now.max(10)))
            .expect("the first period's signal");
        assert_eq!(info.signo, SIGUSR1 as i32);
        poke(&m, &s, svc);
        assert_eq!(service.join(), 1);
    });
}
