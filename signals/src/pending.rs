//! Pending signals: the sets and the bounded siginfo queue (Linux's `struct sigpending` and
//! `struct sigqueue`, without allocation).
//!
//! Linux keeps, per thread and once per process (`shared_pending`), a set of pending signal
//! numbers and a FIFO list of `sigqueue` entries carrying each generated signal's siginfo.
//! lintel keeps the sets as words (the thread's in its port words, the shared one here) and all
//! entries in one fixed pool of `N` slots, each tagged with its owner (a tid, or 0 for the
//! shared set) and a sequence number that keeps Linux's FIFO order per owner and signal.
//!
//! Linux's rules (`__send_signal_locked`, `collect_signal`):
//! - a standard signal (1..=31) already pending in the target set is dropped (`legacy_queue`);
//! - every accepted signal gets an entry if the pool has room. When it has none, a real-time
//!   signal whose `si_code` is not `SI_USER` fails with `EAGAIN` (the `sigqueue` /
//!   `RLIMIT_SIGPENDING` case), anything else is still made pending with its siginfo lost;
//! - dequeueing `sig` takes its oldest entry; the bit stays set while another entry for `sig`
//!   remains; a pending bit with no entry yields `SI_USER` with pid and uid 0.
//!
//! The pool is process-wide, as `RLIMIT_SIGPENDING` is per user. Nothing here is synchronised:
//! [`crate::Signals`] holds its lock around every call.

use crate::siginfo::{SigInfo, code};
use crate::sigset::{SigSet, Signal};
use lintel_kernel::Errno;

/// The owner tag of the process-wide (shared) pending set.
pub const SHARED: i32 = 0;

#[derive(Copy, Clone)]
struct Entry {
    /// 0: free; else the signal number.
    sig: u8,
    owner: i32,
    /// Order among the entries of one owner and signal (compared with wrapping arithmetic:
    /// far fewer than 2^31 entries are ever queued at once).
    seq: u32,
    /// Non-zero for a POSIX timer's signal: which timer, at which arming
    /// ([`crate::timer::Timers::deliver`] checks it at dequeue).
    tag: u32,
    info: SigInfo,
}

impl Entry {
    const FREE: Entry = Entry {
        sig: 0,
        owner: 0,
        seq: 0,
        tag: 0,
        info: SigInfo::ZERO,
    };
}

/// What happened to a generated signal.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Queued {
    /// Made pending with its siginfo.
    Queued,
    /// Made pending, siginfo lost (the pool was full).
    InfoLost,
    /// A standard signal already pending in the target set: dropped.
    AlreadyPending,
}

/// The process's pending state: the shared set and the entry pool of `N` slots.
pub struct PendingQueue<const N: usize> {
    shared: SigSet,
    entries: [Entry; N],
    used: usize,
    /// One past the highest slot ever used: scans stop there (the pool fills from the bottom,
    /// so a process that queues few signals never touches the rest).
    high: usize,
    /// The most entries that may be in use (Linux's `RLIMIT_SIGPENDING`), at most `N`.
    limit: usize,
    next_seq: u32,
}

impl<const N: usize> core::fmt::Debug for PendingQueue<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PendingQueue")
            .field("shared", &self.shared)
            .field("used", &self.used)
            .field("capacity", &N)
            .finish()
    }
}

impl<const N: usize> Default for PendingQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PendingQueue<N> {
    /// Nothing pending.
    pub const fn new() -> Self {
        PendingQueue {
            shared: SigSet::EMPTY,
            entries: [Entry::FREE; N],
            used: 0,
            high: 0,
            limit: N,
            next_seq: 0,
        }
    }

    /// The process-wide pending set.
    pub fn shared(&self) -> SigSet {
        self.shared
    }

    /// Bounds the entries in use to `limit` (at most `N`): Linux's `RLIMIT_SIGPENDING`.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(N);
    }

    /// The bound [`set_limit`](Self::set_limit) set.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many entries are queued (all owners).
    pub fn queued(&self) -> usize {
        self.used
    }

    /// Generates `sig` into the pending set `set` of `owner` (a tid, or [`SHARED`] for
    /// `set` = the shared set, which the caller passes as `&mut` through
    /// [`PendingQueue::with_shared`]).
    pub fn enqueue(
        &mut self,
        set: &mut SigSet,
        owner: i32,
        sig: Signal,
        info: &SigInfo,
    ) -> Result<Queued, Errno> {
        self.enqueue_tagged(set, owner, sig, info, 0)
    }

    /// [`enqueue`](Self::enqueue) with a POSIX timer's `tag` (non-zero). A timer's entry is
    /// preallocated on Linux, so it does not count against the limit (only the pool's size),
    /// and it is queued even when its standard signal is already pending (Linux's
    /// `posixtimer_send_sigqueue` does no `legacy_queue` check).
    pub fn enqueue_tagged(
        &mut self,
        set: &mut SigSet,
        owner: i32,
        sig: Signal,
        info: &SigInfo,
        tag: u32,
    ) -> Result<Queued, Errno> {
        if tag == 0 && !sig.is_rt() && set.contains(sig) {
            return Ok(Queued::AlreadyPending);
        }
        let free = if self.used < self.limit || (tag != 0 && self.used < N) {
            self.entries.iter().position(|e| e.sig == 0)
        } else {
            None
        };
        let r = match free {
            Some(i) => {
                self.high = self.high.max(i + 1);
                let mut info = *info;
                info.signo = sig.get() as i32;
                self.entries[i] = Entry {
                    sig: sig.get() as u8,
                    owner,
                    seq: self.next_seq,
                    tag,
                    info,
                };
                self.next_seq = self.next_seq.wrapping_add(1);
                self.used += 1;
                Queued::Queued
            }
            // A timer's signal without room is not sent (the timer counts the expiry lost).
            None if tag != 0 || (sig.is_rt() && info.code != code::SI_USER) => {
                return Err(Errno::EAGAIN);
            }
            None => Queued::InfoLost,
        };
        *set = set.with(sig);
        Ok(r)
    }

    /// Runs `f` with the shared set as the `set` argument of [`enqueue`](Self::enqueue),
    /// [`collect`](Self::collect) or [`flush`](Self::flush) (owner [`SHARED`]).
    pub fn with_shared<R>(&mut self, f: impl FnOnce(&mut Self, &mut SigSet) -> R) -> R {
        let mut s = self.shared;
        let r = f(self, &mut s);
        self.shared = s;
        r
    }

    /// Linux's `collect_signal`: removes the oldest entry of `owner` for `sig` and returns its
    /// siginfo; clears `sig` from `set` unless another entry for it remains. A pending bit with
    /// no entry gives [`SigInfo::lost`].
    pub fn collect(&mut self, set: &mut SigSet, owner: i32, sig: Signal) -> SigInfo {
        self.collect_tagged(set, owner, sig).0
    }

    /// [`collect`](Self::collect), with the entry's timer tag (0 if none).
    pub fn collect_tagged(&mut self, set: &mut SigSet, owner: i32, sig: Signal) -> (SigInfo, u32) {
        let mut first: Option<usize> = None;
        let mut more = false;
        for (i, e) in self.entries[..self.high].iter().enumerate() {
            if e.sig as u32 == sig.get() && e.owner == owner {
                match first {
                    Some(f) if (e.seq.wrapping_sub(self.entries[f].seq) as i32) > 0 => more = true,
                    Some(_) => {
                        more = true;
                        first = Some(i);
                    }
                    None => first = Some(i),
                }
            }
        }
        if !more {
            *set = set.without(sig);
        }
        match first {
            Some(i) => {
                let e = self.entries[i];
                self.entries[i] = Entry::FREE;
                self.used -= 1;
                (e.info, e.tag)
            }
            None => (SigInfo::lost(sig), 0),
        }
    }

    /// Linux's `flush_sigqueue_mask`: removes every signal of `mask` from `set` and the entries
    /// of `owner` for them.
    /// `timer` is told the tag of every timer entry removed.
    pub fn flush(
        &mut self,
        set: &mut SigSet,
        owner: i32,
        mask: SigSet,
        timer: &mut dyn FnMut(u32),
    ) {
        if set.intersect(mask).is_empty() {
            return;
        }
        *set = set.minus(mask);
        self.drop_where(
            |e| e.owner == owner && mask.contains(Signal::of(e.sig as u32)),
            timer,
        );
    }

    /// Drops every entry of `owner` (a thread that exited; Linux's `flush_sigqueue`); `timer`
    /// is told the tag of every timer entry removed.
    pub fn forget_owner(&mut self, owner: i32, timer: &mut dyn FnMut(u32)) {
        self.drop_where(|e| e.owner == owner, timer);
    }

    fn drop_where(&mut self, which: impl Fn(&Entry) -> bool, timer: &mut dyn FnMut(u32)) {
        for e in self.entries[..self.high].iter_mut() {
            if e.sig != 0 && which(e) {
                if e.tag != 0 {
                    timer(e.tag);
                }
                *e = Entry::FREE;
                self.used -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kill(sig: u32) -> SigInfo {
        SigInfo::kill(Signal::of(sig), code::SI_USER, 1, 2)
    }

    #[test]
    fn standard_coalesces_rt_queues_in_order() {
        let mut q = PendingQueue::<8>::new();
        let mut set = SigSet::EMPTY;
        let s10 = Signal::of(10);
        assert_eq!(q.enqueue(&mut set, 5, s10, &kill(10)), Ok(Queued::Queued));
        assert_eq!(
            q.enqueue(&mut set, 5, s10, &kill(10)),
            Ok(Queued::AlreadyPending)
        );
        let s40 = Signal::of(40);
        for v in 0..3u64 {
            let info = SigInfo::rt(s40, code::SI_QUEUE, 1, 2, v);
            assert_eq!(q.enqueue(&mut set, 5, s40, &info), Ok(Queued::Queued));
        }
        assert_eq!(q.queued(), 4);
        for v in 0..3u64 {
            assert!(set.contains(s40));
            assert_eq!(q.collect(&mut set, 5, s40).value(), v);
        }
        assert!(!set.contains(s40));
        assert_eq!(q.collect(&mut set, 5, s10).pid(), 1);
        assert_eq!(set, SigSet::EMPTY);
        assert_eq!(q.queued(), 0);
    }

    #[test]
    fn full_pool_eagain_or_info_lost() {
        let mut q = PendingQueue::<2>::new();
        let mut set = SigSet::EMPTY;
        let s40 = Signal::of(40);
        let queue = SigInfo::rt(s40, code::SI_QUEUE, 1, 2, 7);
        assert_eq!(q.enqueue(&mut set, 5, s40, &queue), Ok(Queued::Queued));
        assert_eq!(q.enqueue(&mut set, 5, s40, &queue), Ok(Queued::Queued));
        assert_eq!(q.enqueue(&mut set, 5, s40, &queue), Err(Errno::EAGAIN));
        let tkill = SigInfo::kill(s40, code::SI_TKILL, 1, 2);
        assert_eq!(q.enqueue(&mut set, 5, s40, &tkill), Err(Errno::EAGAIN));
        assert_eq!(q.enqueue(&mut set, 5, s40, &kill(40)), Ok(Queued::InfoLost));
        assert_eq!(
            q.enqueue(&mut set, 5, Signal::of(10), &tkill),
            Ok(Queued::InfoLost)
        );
        // The bit without an entry reads as SI_USER, pid 0.
        assert_eq!(
            q.collect(&mut set, 5, Signal::of(10)),
            SigInfo::lost(Signal::of(10))
        );
        // Owners are separate.
        let mut none = SigSet::EMPTY;
        assert_eq!(q.collect(&mut none, 6, s40), SigInfo::lost(s40));
        q.flush(&mut set, 5, s40.set(), &mut |_| {});
        assert_eq!((set, q.queued()), (SigSet::EMPTY, 0));
    }
}
