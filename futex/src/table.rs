//! The futex table: hashed buckets of waiter nodes, and the queue operations on them.
//!
//! # READ THIS before changing the wait or wake paths: the ordering argument `[ORDER]`
//!
//! A futex must never lose a wakeup: a waiter blocks only if the word still held the value it
//! expected *after* every wake that could have been meant for it. The wake side skips the
//! bucket lock entirely when the bucket has no waiters (so a wake with nobody waiting costs a
//! hash, a fence and a load). That fast path is the store-buffering shape:
//!
//! ```text
//!   waiter (wait)                               waker (wake)
//!   ---------------------------------------     ---------------------------------------
//!   user: reads *uaddr == val, calls wait        user: *uaddr = new
//!   waiters += 1 (SeqCst RMW)          [A]       fence(SeqCst)                      [B]
//!   lock bucket                                  if waiters == 0: return 0
//!   load *uaddr; != val -> EAGAIN                lock bucket; dequeue matching nodes
//!   enqueue node; unlock; sleep                  unlock; notify the dequeued threads
//! ```
//!
//! `[A]` and `[B]` are full barriers, so `w[waiters] MB r[uaddr] || w[uaddr] MB r[waiters]`
//! cannot end with both loads seeing the old values: either the waker sees the waiter counted
//! (and then takes the lock, so it either finds the queued node or the waiter's locked load
//! happens after the waker's unlock and sees `new`), or the waiter's load sees `new` and it
//! returns `EAGAIN`. The waiter's counter stays raised until its node leaves the queue (whoever
//! dequeues it decrements), so "counted" covers the whole time the node is queued.
//! The same argument, with the requeue target counted before the locks are taken, covers
//! requeue (Linux: `futex_hb_waiters_inc(hb2)` in `futex_requeue`).
//!
//! `loom-tests/tests/wait_wake.rs` checks this with the real code.
//!
//! # Node lifetime `[LIFETIME]`
//!
//! A waiter node lives on the waiting thread's stack. Its `bucket` pointer says where it is
//! queued; it is changed only with that bucket's lock held (and, for requeue, the target's).
//! A waker unlinks the node, copies the thread handle out, and *then* stores `bucket = null`
//! with `Release`: from that store on the waiter may return and its stack frame may vanish, so
//! the waker touches nothing of the node after it. The handle stays safe to use (the porting
//! contract of `Threads`), so the notification is sent after the lock is dropped.
//!
//! A waiter that stops waiting on its own (timeout, interrupt) removes itself by locking the
//! bucket its `bucket` pointer names and re-checking the pointer under that lock (a requeue may
//! have moved it meanwhile); if the pointer is null, a waker got there first and the wait
//! counts as woken. So a wake is either delivered-and-counted or not-delivered-and-not-counted,
//! never both and never lost.
//!
//! # Lock order `[LOCKORDER]`
//!
//! Only bucket locks exist. Two are taken together (requeue, wake_op) in increasing bucket
//! index, once when both keys hash to the same bucket ([`lock_pair`]).

use crate::lock::SpinLock;
use crate::sync::{AtomicPtr, AtomicUsize, Ordering, UnsafeCell};
use core::ptr;
use lintel_kernel::Threads;

/// The identity of a private futex: its address in this address space. Shared futexes never
/// reach the table (they go to the port's [`lintel_kernel::SharedFutex`]), so private and
/// shared waiters on the same address cannot see each other, as on Linux.
pub(crate) type Key = usize;

/// A waiter, queued in a bucket while its thread sleeps. Lives on the waiting thread's stack.
#[derive(Debug)]
pub(crate) struct Waiter<T> {
    /// Queue links; guarded by the lock of the bucket `bucket` points at.
    prev: UnsafeCell<*const Waiter<T>>,
    next: UnsafeCell<*const Waiter<T>>,
    /// The futex the node waits on; a requeue changes it (under the bucket lock).
    key: UnsafeCell<Key>,
    /// `FUTEX_WAIT_BITSET`'s mask; a wake only takes nodes whose mask intersects its own.
    pub(crate) bitset: u32,
    /// Linux plist priority: lower first, FIFO among equals. Guarded by the bucket lock: a PI
    /// waiter's changes when the priority it inherits does (`[PI-BOOST]`, futex/src/boost.rs).
    prio: UnsafeCell<i32>,
    /// A `FUTEX_LOCK_PI` waiter: woken only by `FUTEX_UNLOCK_PI`'s handoff (plain wakes and
    /// requeues refuse to touch it with `EINVAL`, as Linux's do).
    pub(crate) pi: bool,
    /// A `FUTEX_WAIT_REQUEUE_PI` waiter: the PI futex it is to be requeued to. While its key is
    /// another one it waits on the plain futex (only `FUTEX_CMP_REQUEUE_PI` takes it; plain
    /// wakes and requeues refuse it with `EINVAL`, as Linux's do); once requeued (key = this)
    /// it is a PI waiter there ([`Waiter::is_pi`]).
    pub(crate) requeue_pi: Option<Key>,
    /// The waiting thread's tid (what a PI handoff writes into the futex word).
    pub(crate) tid: i32,
    /// Who to notify.
    pub(crate) thread: T,
    /// The bucket the node is queued in, or null once a waker has dequeued it. See
    /// `[LIFETIME]`.
    pub(crate) bucket: AtomicPtr<Bucket<T>>,
}

// SAFETY: the raw pointers inside are only followed under the owning bucket's lock, and the
// node outlives its queue membership (`[LIFETIME]`); `T` is the port's `Send + Sync` handle.
unsafe impl<T: Send> Send for Waiter<T> {}
// SAFETY: as above; shared access to the links is serialised by the bucket lock.
unsafe impl<T: Sync> Sync for Waiter<T> {}

impl<T: Copy> Waiter<T> {
    pub(crate) fn new(key: Key, bitset: u32, prio: i32, thread: T) -> Self {
        Self::with_kind(key, bitset, prio, thread, false, 0)
    }

    /// A `FUTEX_LOCK_PI` waiter for thread `tid`.
    pub(crate) fn new_pi(key: Key, prio: i32, thread: T, tid: i32) -> Self {
        Self::with_kind(key, u32::MAX, prio, thread, true, tid)
    }

    /// A `FUTEX_WAIT_REQUEUE_PI` waiter for thread `tid` on `key`, to be requeued to `target`.
    pub(crate) fn new_requeue_pi(key: Key, target: Key, prio: i32, thread: T, tid: i32) -> Self {
        let mut w = Self::with_kind(key, u32::MAX, prio, thread, false, tid);
        w.requeue_pi = Some(target);
        w
    }

    fn with_kind(key: Key, bitset: u32, prio: i32, thread: T, pi: bool, tid: i32) -> Self {
        Waiter {
            requeue_pi: None,
            prev: UnsafeCell::new(ptr::null()),
            next: UnsafeCell::new(ptr::null()),
            key: UnsafeCell::new(key),
            bitset,
            prio: UnsafeCell::new(prio),
            pi,
            tid,
            thread,
            bucket: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Whether a waker has dequeued this node (`[LIFETIME]`).
    #[inline]
    pub(crate) fn is_woken(&self) -> bool {
        self.bucket.load(Ordering::Acquire).is_null()
    }
}

/// The queue of a bucket: a doubly linked list ordered as Linux's plist.
#[derive(Debug)]
struct Queue<T> {
    head: *const Waiter<T>,
    tail: *const Waiter<T>,
}

/// One bucket of the futex table: a lock, a waiter count readable without the lock, and the
/// queue of waiters whose keys hash here.
///
/// Aligned to 128 bytes so two buckets never share a cache line pair (Intel's adjacent-line
/// prefetcher pulls lines in 128-byte pairs; crossbeam's `CachePadded` uses 128 on x86_64 for
/// the same reason).
#[derive(Debug)]
#[repr(align(128))]
pub struct Bucket<T> {
    /// Nodes queued here plus wait/requeue operations about to queue here (`[ORDER]`).
    waiters: AtomicUsize,
    lock: SpinLock,
    queue: UnsafeCell<Queue<T>>,
    /// Only bucket 0's is used: the PI epoch of `[PI-CHAIN]` (futex/src/pi.rs), counting the
    /// changes to "which thread sleeps on which private PI futex". (Every bucket has the word:
    /// the alignment leaves room for it.)
    pub(crate) pi_epoch: AtomicUsize,
    /// Only bucket 0's is used: the lock that serialises priority-inheritance updates
    /// (`[PI-BOOST]`, futex/src/boost.rs). Taken with no bucket lock held; bucket locks may be
    /// taken under it.
    pub(crate) pi_boost: SpinLock,
}

// SAFETY: the queue is only touched under `lock`; nodes it points to are `Send`/`Sync` handles.
unsafe impl<T: Send> Send for Bucket<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Bucket<T> {}

impl<T> Bucket<T> {
    /// An empty bucket.
    #[cfg(not(lintel_loom))]
    pub const fn new() -> Self {
        Bucket {
            waiters: AtomicUsize::new(0),
            lock: SpinLock::new(),
            queue: UnsafeCell::new(Queue {
                head: ptr::null(),
                tail: ptr::null(),
            }),
            pi_epoch: AtomicUsize::new(0),
            pi_boost: SpinLock::new(),
        }
    }

    /// An empty bucket.
    #[cfg(lintel_loom)]
    pub fn new() -> Self {
        Bucket {
            waiters: AtomicUsize::new(0),
            lock: SpinLock::new(),
            queue: UnsafeCell::new(Queue {
                head: ptr::null(),
                tail: ptr::null(),
            }),
            pi_epoch: AtomicUsize::new(0),
            pi_boost: SpinLock::new(),
        }
    }

    /// Counts a waiter (or a requeue that may add waiters) in, with barrier `[A]`.
    #[inline]
    pub(crate) fn waiters_inc(&self) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // The RMW above is SeqCst; the fence makes it a full barrier for the plain loads that
        // follow on every architecture, as Linux's smp_mb__after_atomic() does.
        crate::sync::fence(Ordering::SeqCst);
    }

    #[inline]
    pub(crate) fn waiters_dec(&self) {
        self.waiters.fetch_sub(1, Ordering::Release);
    }

    /// Whether anyone may be queued here, after barrier `[B]`.
    #[inline]
    pub(crate) fn waiters_pending(&self) -> bool {
        crate::sync::fence(Ordering::SeqCst);
        self.waiters.load(Ordering::Relaxed) != 0
    }

    /// The waiter count, for tests and diagnostics.
    pub fn waiter_count(&self) -> usize {
        self.waiters.load(Ordering::Acquire)
    }
}

impl<T> Default for Bucket<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Bucket<T> {
    /// Empties the bucket as if new, taking the lock's place: for the child of a fork, where
    /// every queued waiter belongs to a thread that does not exist. The caller holds the lock
    /// (locked before the fork) and it stays held.
    ///
    /// # Safety
    /// The caller holds this bucket's lock, and no thread can reach the nodes still linked in
    /// it (the child of a fork: their threads exist only in the parent).
    pub(crate) unsafe fn forget_waiters(&self) {
        self.queue.with_mut(|q| {
            // SAFETY: we hold the lock (caller); the nodes are the parent's, never touched here.
            unsafe {
                (*q).head = ptr::null();
                (*q).tail = ptr::null();
            }
        });
        self.waiters.store(0, Ordering::Relaxed);
    }

    pub(crate) fn raw_lock<K: Threads + ?Sized>(&self, kernel: &K) {
        self.lock.lock(kernel);
    }

    pub(crate) fn raw_unlock(&self) {
        self.lock.unlock();
    }
}

/// A locked bucket. Unlocks on drop.
pub(crate) struct Locked<'a, T> {
    pub(crate) bucket: &'a Bucket<T>,
}

impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        self.bucket.lock.unlock();
    }
}

impl<'a, T: Copy> Locked<'a, T> {
    pub(crate) fn lock<K: Threads + ?Sized>(bucket: &'a Bucket<T>, kernel: &K) -> Self {
        bucket.lock.lock(kernel);
        Locked { bucket }
    }

    fn bucket_ptr(&self) -> *mut Bucket<T> {
        ptr::from_ref(self.bucket).cast_mut()
    }

    /// Queues `node` behind every node of equal or more urgent priority (Linux plist order).
    /// The caller has counted it in with [`Bucket::waiters_inc`].
    pub(crate) fn enqueue(&self, node: &Waiter<T>) {
        let me: *const Waiter<T> = node;
        self.bucket.queue.with_mut(|q| {
            // SAFETY: we hold the lock, so the queue and the links of every node in it are ours;
            // every node in the queue is alive (`[LIFETIME]`).
            unsafe {
                // Walk back from the tail past the less urgent nodes (usually none).
                let mut after = (*q).tail;
                let prio = node.prio();
                while !after.is_null() && (*after).prio() > prio {
                    after = (*after).prev.with(|p| *p);
                }
                let before = if after.is_null() {
                    (*q).head
                } else {
                    (*after).next.with(|n| *n)
                };
                node.prev.with_mut(|p| *p = after);
                node.next.with_mut(|n| *n = before);
                if after.is_null() {
                    (*q).head = me;
                } else {
                    (*after).next.with_mut(|n| *n = me);
                }
                if before.is_null() {
                    (*q).tail = me;
                } else {
                    (*before).prev.with_mut(|p| *p = me);
                }
            }
        });
        node.bucket.store(self.bucket_ptr(), Ordering::Relaxed);
    }

    /// Unlinks `node` from this bucket's queue. The caller decides what its `bucket` pointer
    /// becomes and fixes the waiter counts.
    ///
    /// # Safety
    /// `node` is queued in this bucket.
    unsafe fn unlink(&self, node: *const Waiter<T>) {
        self.bucket.queue.with_mut(|q| {
            // SAFETY: we hold the lock and `node` is in this queue (caller), so it and its
            // neighbours are alive and their links are ours.
            unsafe {
                let prev = (*node).prev.with(|p| *p);
                let next = (*node).next.with(|n| *n);
                if prev.is_null() {
                    (*q).head = next;
                } else {
                    (*prev).next.with_mut(|n| *n = next);
                }
                if next.is_null() {
                    (*q).tail = prev;
                } else {
                    (*next).prev.with_mut(|p| *p = prev);
                }
            }
        });
    }

    /// Gives `node`, queued here, priority `prio` and moves it to its place in the plist order
    /// (behind the nodes of equal priority, as Linux's `rt_mutex_adjust_prio_chain` requeues a
    /// waiter whose priority changed). Its key, bucket and the waiter count stay as they are.
    pub(crate) fn reposition(&self, node: &Waiter<T>, prio: i32) {
        // SAFETY: `node` is queued here (the caller found it in this queue under the lock).
        unsafe { self.unlink(node) };
        node.set_prio(prio);
        self.enqueue(node);
    }

    /// Removes `node`, queued here, on its own thread's behalf (timeout, interrupt).
    pub(crate) fn remove_self(&self, node: &Waiter<T>) {
        // SAFETY: the caller checked under this lock that `node.bucket` names this bucket.
        unsafe { self.unlink(node) };
        node.bucket.store(ptr::null_mut(), Ordering::Relaxed);
        self.bucket.waiters_dec();
    }

    /// Looks at every queued node in order, changing nothing.
    pub(crate) fn visit(&self, mut f: impl FnMut(&Waiter<T>)) {
        let mut cur = self.bucket.queue.with(|q| {
            // SAFETY: we hold the lock.
            unsafe { (*q).head }
        });
        while !cur.is_null() {
            // SAFETY: `cur` is queued here and we hold the lock, so it is alive.
            let node = unsafe { &*cur };
            f(node);
            cur = node.next.with(|n| {
                // SAFETY: we hold the lock.
                unsafe { *n }
            });
        }
    }

    /// Visits the queue in order; `f` says what to do with each node.
    ///
    /// `Visit::Wake` dequeues the node onto `wake`; `Visit::Move` gives it the key and bucket
    /// of `target` (locked by the caller, or `None` for this same bucket, where the node keeps
    /// its place as in Linux's `requeue_futex`).
    pub(crate) fn drain(
        &self,
        wake: &mut WakeList<'_, T>,
        target: Option<(Option<&Locked<'_, T>>, Key)>,
        mut f: impl FnMut(&Waiter<T>) -> Visit,
    ) {
        let mut cur = self.bucket.queue.with(|q| {
            // SAFETY: we hold the lock.
            unsafe { (*q).head }
        });
        while !cur.is_null() {
            // SAFETY: `cur` is queued here and we hold the lock, so it is alive (`[LIFETIME]`).
            let node = unsafe { &*cur };
            let next = node.next.with(|n| {
                // SAFETY: we hold the lock.
                unsafe { *n }
            });
            match f(node) {
                Visit::Skip => {}
                Visit::Stop => return,
                Visit::Wake => {
                    // SAFETY: `cur` is queued here.
                    unsafe { self.unlink(cur) };
                    self.bucket.waiters_dec();
                    // SAFETY: `cur` is alive and unlinked, we hold the lock; `node` is not
                    // used again.
                    unsafe { wake.push(cur) };
                }
                Visit::Move => {
                    let (to, key) = target.expect("Visit::Move needs a target");
                    node.key.with_mut(|k| {
                        // SAFETY: we hold this bucket's lock (and the target's, if distinct).
                        unsafe { *k = key }
                    });
                    if let Some(to) = to {
                        // SAFETY: `cur` is queued here.
                        unsafe { self.unlink(cur) };
                        to.bucket.waiters.fetch_add(1, Ordering::Relaxed);
                        to.enqueue(node);
                        self.bucket.waiters_dec();
                    }
                }
            }
            cur = next;
        }
    }
}

/// What [`Locked::drain`] does with a node.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Visit {
    /// Leave it queued, go on.
    Skip,
    /// Leave it queued, stop walking.
    Stop,
    /// Dequeue it onto the wake list.
    Wake,
    /// Requeue it to the target key.
    Move,
}

impl<T> Waiter<T> {
    /// The node's priority; call with its bucket locked (or before it is queued).
    pub(crate) fn prio(&self) -> i32 {
        self.prio.with(|p| {
            // SAFETY: callers hold the lock of the bucket the node is queued in, or own the
            // node before it is queued.
            unsafe { *p }
        })
    }

    /// Sets the node's priority; call with its bucket locked, right before the node is moved
    /// to another queue (which places it by this priority), or before it is queued.
    pub(crate) fn set_prio(&self, prio: i32) {
        self.prio.with_mut(|p| {
            // SAFETY: callers hold the lock of the bucket the node is queued in.
            unsafe { *p = prio }
        });
    }

    /// The node's current key; call with its bucket locked.
    pub(crate) fn key(&self) -> Key {
        self.key.with(|k| {
            // SAFETY: callers hold the lock of the bucket the node is queued in.
            unsafe { *k }
        })
    }

    /// Whether the node waits for a PI lock's handoff: a `FUTEX_LOCK_PI` waiter, or a
    /// `FUTEX_WAIT_REQUEUE_PI` waiter requeued to its PI futex. Call with its bucket locked.
    pub(crate) fn is_pi(&self) -> bool {
        self.pi || self.requeue_pi.is_some_and(|t| t == self.key())
    }

    /// Whether plain wakes and requeues must refuse the node (`EINVAL`, Linux's
    /// `this->pi_state || this->rt_waiter`): a PI waiter or a requeue-PI waiter.
    pub(crate) fn refuses_plain(&self) -> bool {
        self.pi || self.requeue_pi.is_some()
    }
}

/// How many threads a wake collects before it must notify under the lock.
///
/// Small on purpose: the list lives on the waker's stack, which is the program's (as small as
/// `PTHREAD_STACK_MIN` for some threads), and most wakes wake one thread or a few.
const WAKE_BATCH: usize = 8;

/// Threads dequeued under a bucket lock, notified after it is dropped (the two-phase wake of
/// Linux's `wake_q` and parking_lot's `unpark_lock`/`unpark`). Lives on the waker's stack.
///
/// Holds up to [`WAKE_BATCH`] handles; a wake of more threads than that notifies each full
/// batch, in queue order, while still holding the lock (correct, slower; only broadcasts to more
/// than 8 waiters pay).
pub(crate) struct WakeList<'k, T> {
    notify: &'k dyn Fn(T),
    threads: [Option<T>; WAKE_BATCH],
    len: usize,
}

impl<'k, T: Copy> WakeList<'k, T> {
    pub(crate) fn new(notify: &'k dyn Fn(T)) -> Self {
        WakeList {
            notify,
            threads: [None; WAKE_BATCH],
            len: 0,
        }
    }

    /// Takes `node`'s thread and releases the node (`[LIFETIME]`): after the `Release` store the
    /// waiter may return and its node vanish, so the store is the last touch, through a raw
    /// pointer (no reference to the node outlives it).
    ///
    /// # Safety
    /// `node` is alive and unlinked, and the caller holds its bucket's lock.
    unsafe fn push(&mut self, node: *const Waiter<T>) {
        if self.len == WAKE_BATCH {
            // Full: notify the batch in queue order (under the lock; only wakes of more than
            // `WAKE_BATCH` threads get here) and start a new one.
            for t in self.threads.iter_mut() {
                if let Some(t) = t.take() {
                    (self.notify)(t);
                }
            }
            self.len = 0;
        }
        // SAFETY: alive (caller); `thread` is never written after construction.
        let thread = unsafe { (*node).thread };
        self.threads[self.len] = Some(thread);
        self.len += 1;
        // SAFETY: alive until this store, which is the last access (caller).
        unsafe { (*node).bucket.store(ptr::null_mut(), Ordering::Release) };
    }

    /// Notifies everything collected. Call after the bucket locks are dropped.
    pub(crate) fn wake_all(self) {
        for t in self.threads[..self.len].iter().flatten() {
            (self.notify)(*t);
        }
    }
}

/// Locks the buckets of two keys in `[LOCKORDER]`; the second is `None` when both keys hash to
/// the same bucket.
pub(crate) fn lock_pair<'a, T: Copy, K: Threads + ?Sized>(
    b1: &'a Bucket<T>,
    b2: &'a Bucket<T>,
    kernel: &K,
) -> (Locked<'a, T>, Option<Locked<'a, T>>) {
    if ptr::eq(b1, b2) {
        return (Locked::lock(b1, kernel), None);
    }
    if ptr::from_ref(b1) < ptr::from_ref(b2) {
        let l1 = Locked::lock(b1, kernel);
        let l2 = Locked::lock(b2, kernel);
        (l1, Some(l2))
    } else {
        let l2 = Locked::lock(b2, kernel);
        let l1 = Locked::lock(b1, kernel);
        (l1, Some(l2))
    }
}

/// The number of buckets Linux would use for `cpus` CPUs: `roundup_pow_of_two(256 * cpus)`
/// (`futex_init`), at least 16.
pub const fn buckets_for_cpus(cpus: usize) -> usize {
    let n = 256 * if cpus == 0 { 1 } else { cpus };
    n.next_power_of_two()
}

/// Hashes a key to a bucket index: Fibonacci hashing of the word index, so neighbouring
/// words (a mutex and its condvar) land in different buckets.
#[inline]
pub(crate) fn hash(key: Key, mask: usize) -> usize {
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    let h = ((key as u64) >> 2).wrapping_mul(GOLDEN);
    ((h >> 32) as usize) & mask
}
