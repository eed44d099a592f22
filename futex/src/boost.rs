//! Priority inheritance: the priority the owner of a PI futex inherits from the threads that
//! wait for it, passed along chains of PI futexes and told to the port
//! ([`lintel_kernel::Threads::inherit_priority`]). Linux's `rt_mutex_adjust_prio_chain` and
//! `rt_mutex_setprio` (`kernel/locking/rtmutex.c`).
//!
//! A thread's *effective* priority is the more urgent of its own ([`Threads::priority`], lower
//! is more urgent) and the one it *inherits*: the most urgent PI waiter queued on any private PI
//! futex whose word names it as owner. A PI waiter is queued with its effective priority, so an
//! owner that sleeps on another PI futex passes what it inherits on to that futex's owner, and
//! so on (a chain). The handoff of `UNLOCK_PI` gives the lock to the most urgent waiter (the
//! queue is in plist order), and the owner that released it inherits only from what it still
//! owns. Waiters of [`NORMAL_PRIORITY`] boost nobody, as in Linux, where every non-real-time
//! waiter has the same PI priority (`__waiter_prio`): on a port that reports no priorities
//! nothing below runs, except one fence per `LOCK_PI` that sleeps.
//!
//! `[PI-BOOST]` How the inherited priorities stay right without a per-thread list of owned
//! futexes.
//!
//! State. Each thread's inherited priority is its port word [`PI_INHERITED`]; a PI node's
//! priority is in the node (changed only under its bucket lock). *Updates* — recomputing a
//! thread's inherited priority by scanning every queued PI node for futexes whose word names
//! it, storing it, telling the port, and, if the thread's effective priority changed while it
//! sleeps on a PI futex, moving its node there to its new place and updating that futex's
//! owner in turn — run only under the process-wide boost lock (bucket 0's `pi_boost`), which
//! is taken with no bucket lock held (bucket locks are taken under it, one at a time), so
//! updates are serialised and each thread's word and each port call follow one order.
//!
//! Rule: every event that can change an inherited priority is followed, on the thread that made
//! it and after it, by an update that reads the state as the event left it:
//! - a PI waiter that may be urgent is queued (`LOCK_PI`, a requeue to a PI futex): its owner;
//! - an urgent PI waiter leaves its queue on its own (timeout, interruption, deadlock): the
//!   owner the word named when it left, read under the bucket lock (that owner may release the
//!   futex right after with nobody to hand it to, an event with no update of its own; a
//!   handoff that dequeued the waiter first makes its own);
//! - a handoff in a queue that held an urgent waiter: the old owner and the new one;
//! - an update that changes a sleeping thread's effective priority: the owner of the futex it
//!   sleeps on (inside the same update).
//!
//! The last update after any set of events therefore scans a state that includes all of them
//! (the bucket locks order each scan after the events in that bucket), and what it stores is
//! right. Events of non-urgent waiters change nothing an update would compute.
//!
//! One race is outside the locks: a thread reads its own effective priority when it queues
//! itself on a PI futex, while an update may be raising it (someone queued on a futex it owns).
//! The queuing thread publishes its futex ([`PI_BLOCKED`]), then a full fence, then reads its
//! inherited word again (and makes an update if it is urgent); the update stores the word, a
//! full fence, then reads the thread's publication (and moves its node if it is there). With
//! the two fences, at least one of them sees the other's store (store buffering), so the node
//! does not keep the old priority unnoticed.
//!
//! A change of a thread's own priority while it sleeps on a PI futex (Linux's
//! `rt_mutex_adjust_pi` on `sched_setscheduler`) is an event too: the dispatcher reports it
//! ([`FutexTable::priority_changed`]) and it moves the node and updates the chain. Its race
//! with the thread queuing is the same store-buffering pair: the change, a full fence, the read
//! of the publication; against the queuing thread's publication, fence, read of its priority.
//!
//! Not followed (documented in docs/abi.md): owners in other processes and shared PI futexes
//! (the port's, whose kernel does its own inheritance), chains longer than [`MAX_LOCK_DEPTH`].

use crate::FutexTable;
use crate::lock::SpinLock;
use crate::pi::{MAX_LOCK_DEPTH, PI_BLOCKED};
use crate::sync::{Ordering, fence};
use crate::table::{Locked, Waiter};
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Kernel, NORMAL_PRIORITY};

/// The port word ([`lintel_kernel::Threads::locals`]) holding the priority a thread inherits
/// (`[PI-BOOST]`), stored as `NORMAL_PRIORITY - prio` so that 0, a new thread's value, means
/// it inherits nothing.
pub const PI_INHERITED: usize = lintel_kernel::thread::slots::FUTEX.start + 1;

fn encode(prio: i32) -> usize {
    (NORMAL_PRIORITY - prio.min(NORMAL_PRIORITY)) as usize
}

fn decode(word: usize) -> i32 {
    NORMAL_PRIORITY - word as i32
}

/// The boost lock, released on drop.
struct BoostLock<'a>(&'a SpinLock);

impl Drop for BoostLock<'_> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl<K: Kernel> FutexTable<'_, K> {
    /// The priority `thread` inherits (`[PI-BOOST]`), [`NORMAL_PRIORITY`] if none.
    pub fn inherited_priority(&self, thread: K::Thread) -> i32 {
        decode(self.kernel.locals_of(thread)[PI_INHERITED].load(Ordering::Relaxed))
    }

    /// The priority `thread` runs at: its own or the one it inherits, whichever is more urgent.
    pub fn effective_priority(&self, thread: K::Thread) -> i32 {
        self.kernel
            .priority(thread)
            .min(self.inherited_priority(thread))
    }

    fn boost_lock(&self) -> BoostLock<'_> {
        let lock = &self.buckets[0].pi_boost;
        lock.lock(self.kernel);
        BoostLock(lock)
    }

    /// `[PI-BOOST]`: the calling thread, `me`, has just queued itself with priority
    /// `queued_prio` on the PI futex it publishes. Makes the update if it may be urgent (the
    /// fence of the store-buffering pair of `[PI-BOOST]`).
    pub(crate) fn pi_boost_queued(&self, me: K::Thread, queued_prio: i32) {
        // [PI-BOOST]: our publication (made by the caller) before the read of what we inherit.
        fence(Ordering::SeqCst);
        if queued_prio.min(self.effective_priority(me)) >= NORMAL_PRIORITY {
            return;
        }
        let _lock = self.boost_lock();
        let owner = self.pi_reposition(me);
        self.pi_propagate(owner);
    }

    /// `[PI-BOOST]`: an urgent waiter left the queue of a PI futex on its own; the thread
    /// with tid `owner`, which the futex's word named as it left (under the bucket lock: the
    /// owner may release the futex right after, with nobody left to wake and no update of its
    /// own), may inherit less.
    pub(crate) fn pi_boost_left(&self, owner: u32) {
        let _lock = self.boost_lock();
        let owner = self.thread_with_tid(owner);
        self.pi_propagate(owner);
    }

    /// `[PI-BOOST]`: a handoff in a queue that held an urgent waiter: the old owner inherits
    /// less, the new one more.
    pub(crate) fn pi_boost_handoff(&self, old: K::Thread, new: K::Thread) {
        let _lock = self.boost_lock();
        self.pi_propagate(Some(old));
        self.pi_propagate(Some(new));
    }

    /// `[PI-BOOST]`: the owner of the PI futex `uaddr` may inherit more (waiters were requeued
    /// onto it).
    pub(crate) fn pi_boost_owner_of(&self, uaddr: usize) {
        let _lock = self.boost_lock();
        let owner = self.pi_owner(uaddr);
        self.pi_propagate(owner);
    }

    /// `[PI-BOOST]`: the own priority of the thread with Linux tid `tid` (0: the caller)
    /// changed (`sched_setscheduler` and the like, made by the dispatcher): if it sleeps on a
    /// PI futex, its place there and what that futex's owner inherits follow (Linux's
    /// `rt_mutex_adjust_pi`). A tid that is no thread of this process changes nothing here.
    pub fn priority_changed(&self, tid: i32) {
        let k = self.kernel;
        let thread = if tid == 0 {
            Some(k.current())
        } else {
            self.thread_with_tid(tid as u32)
        };
        let Some(thread) = thread else { return };
        // [PI-BOOST]: the change (made before this call) before the read of the publication.
        fence(Ordering::SeqCst);
        if k.locals_of(thread)[PI_BLOCKED].load(Ordering::Relaxed) == 0 {
            // Not asleep in LOCK_PI: nothing queued to move. (A race with it queuing is the
            // queuing thread's: it reads its priority after publishing, `[PI-BOOST]`.)
            return;
        }
        let _lock = self.boost_lock();
        let owner = self.pi_reposition(thread);
        self.pi_propagate(owner);
    }

    /// The update of `[PI-BOOST]` from `owner` along its chain. Call with the boost lock held.
    fn pi_propagate(&self, mut owner: Option<K::Thread>) {
        for _ in 0..MAX_LOCK_DEPTH {
            let Some(o) = owner else { return };
            if !self.pi_recompute(o) {
                return;
            }
            owner = self.pi_reposition(o);
        }
    }

    /// Recomputes what `owner` inherits, stores it and tells the port; `true` if its
    /// effective priority changed. Call with the boost lock held.
    fn pi_recompute(&self, owner: K::Thread) -> bool {
        let k = self.kernel;
        let tid = k.tid(owner) as u32;
        let mut best = NORMAL_PRIORITY;
        for bucket in self.buckets {
            if bucket.waiter_count() == 0 {
                continue;
            }
            let locked = Locked::lock(bucket, k);
            let (mut key, mut owned) = (0, false);
            locked.visit(|node| {
                if !node.is_pi() {
                    return;
                }
                if node.key() != key {
                    key = node.key();
                    owned = k.load_u32(key).is_ok_and(|w| w & l::FUTEX_TID_MASK == tid);
                }
                if owned {
                    best = best.min(node.prio());
                }
            });
        }
        let word = &k.locals_of(owner)[PI_INHERITED];
        let old = decode(word.swap(encode(best), Ordering::Relaxed));
        if old == best {
            return false;
        }
        // [PI-BOOST]: the store above before the read of the owner's publication (in
        // `pi_reposition`, which the caller makes next).
        fence(Ordering::SeqCst);
        k.inherit_priority(owner, best);
        let own = k.priority(owner);
        own.min(old) != own.min(best)
    }

    /// If `thread` sleeps on a PI futex, gives its node there its effective priority (moving it
    /// to its place) and returns that futex's owner. Call with the boost lock held.
    fn pi_reposition(&self, thread: K::Thread) -> Option<K::Thread> {
        let k = self.kernel;
        let lock = k.locals_of(thread)[PI_BLOCKED].load(Ordering::Relaxed);
        if lock == 0 {
            return None;
        }
        let prio = self.effective_priority(thread);
        let locked = Locked::lock(self.bucket(lock), k);
        let mut found: *const Waiter<K::Thread> = core::ptr::null();
        locked.visit(|node| {
            if found.is_null() && node.key() == lock && node.is_pi() && node.thread == thread {
                found = node;
            }
        });
        if found.is_null() {
            // Handed the lock or gone meanwhile: that event makes its own update.
            return None;
        }
        // SAFETY: `found` is queued in this bucket and we hold its lock, so it is alive.
        let node = unsafe { &*found };
        if node.prio() != prio {
            locked.reposition(node, prio);
        }
        let word = k.load_u32(lock).ok()?;
        drop(locked);
        self.thread_with_tid(word & l::FUTEX_TID_MASK)
    }
}
