//! [`Model`]: a port, a bucket array and a way to start threads, built once per loom execution.

use crate::port::{LoomKernel, ThreadExit, Tid};
use lintel_futex::{Bucket, FutexTable};
use std::sync::Arc;

/// The bitset that matches every waiter (`FUTEX_BITSET_MATCH_ANY`).
pub const ANY: u32 = u32::MAX;

/// Runs `f` under loom with the budget from the environment (`LOOM_MAX_PREEMPTIONS`,
/// `LOOM_MAX_BRANCHES`, `LOOM_LOG`, ...; see `run.sh`).
pub fn check(f: impl Fn() + Sync + Send + 'static) {
    loom::model(f);
}

/// Everything one loom execution shares between its threads: the port (with its user words)
/// and the futex buckets. Each thread builds its own [`FutexTable`] view over them with
/// [`Model::table`], as the real dispatcher does.
#[derive(Debug)]
pub struct Model {
    /// The port.
    pub kernel: LoomKernel,
    /// The futex buckets (1 or 2, so keys collide).
    pub buckets: Box<[Bucket<Tid>]>,
}

impl Model {
    /// A model with `buckets` buckets (a power of two) and user words holding `words`; the
    /// calling thread is its main thread.
    pub fn new(buckets: usize, words: &[u32]) -> Arc<Model> {
        Self::with_bytes(buckets, words, &[])
    }

    /// As [`Model::new`], with plain user memory holding `bytes` (see
    /// [`LoomKernel::with_bytes`]).
    pub fn with_bytes(buckets: usize, words: &[u32], bytes: &[u8]) -> Arc<Model> {
        assert!(buckets.is_power_of_two());
        Arc::new(Model {
            kernel: LoomKernel::with_bytes(words, bytes),
            buckets: (0..buckets).map(|_| Bucket::new()).collect(),
        })
    }

    /// The futex table over this model's port and buckets.
    pub fn table(&self) -> FutexTable<'_, LoomKernel> {
        FutexTable::new(&self.kernel, &self.buckets)
    }

    /// The user address of word `i`.
    pub fn addr(&self, i: usize) -> usize {
        self.kernel.addr(i)
    }

    /// The first word, other than `except`, whose address hashes to bucket `bucket`.
    pub fn word_in_bucket(&self, bucket: usize, except: Option<usize>) -> usize {
        (0..self.kernel.words())
            .find(|&i| Some(i) != except && bucket_of(self.addr(i), self.buckets.len()) == bucket)
            .unwrap_or_else(|| panic!("no word hashes to bucket {bucket}: add words"))
    }

    /// Yields until thread `t` has entered `Notify::wait`, that is, until it is queued on a
    /// futex with its bucket unlocked (or about to sleep again).
    ///
    /// This narrows a model on purpose: loom's exploration does not terminate when two threads
    /// spin on bucket locks at once while the holder is preempted (each spinner's
    /// `yield_now` lets loom pick the other spinner for free, forever), so three-thread models
    /// where all three take bucket locks first let the waiter queue alone. The race of that
    /// enqueue with the other operations is covered by the two-thread models.
    pub fn until_waiting(&self, t: Tid) {
        while self.kernel.waits(t) == 0 {
            loom::thread::yield_now();
        }
    }

    /// Spawns a thread running `f` on this model. Threads get `Tid(1)`, `Tid(2)`, ... in spawn
    /// order (Linux tid `index + 1`).
    ///
    /// `f` may end the thread through `Threads::exit_current` (say, by
    /// `lintel_clone::exit_thread`): the port unwinds with [`ThreadExit`], caught here, and the
    /// thread ends as if `f` had returned (see [`Spawned::join_exited`]). Any other panic goes
    /// on to loom unchanged.
    pub fn spawn<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Model) -> R + Send + 'static,
    ) -> Spawned<R> {
        let m = Arc::clone(self);
        let (tid, handle) = self.kernel.spawn_thread(move || {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&m))) {
                Ok(r) => Some(r),
                Err(payload) if payload.is::<ThreadExit>() => None,
                Err(payload) => std::panic::resume_unwind(payload),
            }
        });
        Spawned { tid, handle }
    }
}

/// A thread started by [`Model::spawn`].
#[derive(Debug)]
pub struct Spawned<R> {
    /// Its port handle (for `Notify::interrupt`, say).
    pub tid: Tid,
    /// `None` if the thread ended through `exit_current`.
    handle: loom::thread::JoinHandle<Option<R>>,
}

impl<R> Spawned<R> {
    /// Waits for the thread and returns its result.
    ///
    /// # Panics
    /// If the thread ended through `exit_current` instead of returning.
    pub fn join(self) -> R {
        self.handle
            .join()
            .expect("model thread panicked")
            .expect("model thread exited (exit_current) instead of returning")
    }

    /// Waits for a thread that must have ended through `exit_current`.
    ///
    /// # Panics
    /// If it returned instead.
    pub fn join_exited(self) {
        let r = self.handle.join().expect("model thread panicked");
        assert!(r.is_none(), "model thread returned instead of exiting");
    }
}

/// The bucket index `lintel_futex` hashes `addr` to in a table of `buckets` buckets.
///
/// A copy of the private `hash` in `futex/src/table.rs` (Fibonacci hashing of the word index),
/// so models can put two words in chosen buckets; `tests/hash.rs` checks that the copy agrees
/// with the real table.
pub fn bucket_of(addr: usize, buckets: usize) -> usize {
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    let h = ((addr as u64) >> 2).wrapping_mul(GOLDEN);
    ((h >> 32) as usize) & (buckets - 1)
}

/// Which outcomes of a model loom reached, over all its executions: a model names the outcomes
/// it is meant to explore, marks each execution's with [`Coverage::hit`], and after
/// `check` returns, [`Coverage::assert_all`] fails if one was never reached (a model that
/// passes because it never ran the race it was written for proves nothing).
#[derive(Debug)]
pub struct Coverage {
    names: &'static [&'static str],
    seen: Vec<std::sync::atomic::AtomicBool>,
}

impl Coverage {
    /// Outcomes named `names`, none reached yet.
    pub fn new(names: &'static [&'static str]) -> Arc<Coverage> {
        Arc::new(Coverage {
            names,
            seen: names
                .iter()
                .map(|_| std::sync::atomic::AtomicBool::new(false))
                .collect(),
        })
    }

    /// Marks outcome `name` reached.
    ///
    /// # Panics
    /// If `name` is not one of the names given to [`Coverage::new`].
    pub fn hit(&self, name: &str) {
        let i = self
            .names
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("unknown outcome {name:?}"));
        self.seen[i].store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Panics unless every outcome was reached. Checked at the CI budget and above
    /// (`LOOM_MAX_PREEMPTIONS` unset or at least 2): a quick run with a smaller bound may
    /// legitimately miss an outcome that needs two preemptions, and then checks only the
    /// models' assertions.
    pub fn assert_all(&self) {
        let bound = std::env::var("LOOM_MAX_PREEMPTIONS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok());
        if bound.is_some_and(|b| b < 2) {
            return;
        }
        let missing: Vec<_> = self
            .names
            .iter()
            .zip(&self.seen)
            .filter(|(_, s)| !s.load(std::sync::atomic::Ordering::Relaxed))
            .map(|(n, _)| *n)
            .collect();
        assert!(missing.is_empty(), "loom never reached: {missing:?}");
    }
}
