//! The robust-list walk at thread death (`clone/src/robust.rs`, run by the real
//! `lintel_clone::exit_thread` before the clear-tid step) racing a shared waiter on the dead
//! owner's mutex word.
//!
//! Thread `A` owns a robust mutex: its word holds `A's tid | FUTEX_WAITERS` (set up directly,
//! as if a waiter had flagged it), and the mutex is on the robust list `A` registered with
//! `set_robust_list`. `A` exits. Thread `B` waits on the word as a *shared* futex (the walk
//! wakes in the shared namespace, as Linux's `handle_futex_death`) for as long as it holds
//! `A | WAITERS`. The walk must mark the word `FUTEX_OWNER_DIED | FUTEX_WAITERS` (tid cleared,
//! WAITERS kept) and wake `B`: `B` always returns and sees that value. A missing wake hangs
//! `B`, which loom reports as a deadlock.
//!
//! The list lives in the model's plain memory (read by the walk through `UserMemory::read`):
//!
//! | bytes | what |
//! | --- | --- |
//! | 0..8 | `head.list.next` |
//! | 8..16 | `head.futex_offset`: the word's address minus the entry's |
//! | 16..24 | `head.list_op_pending` |
//! | 24..32 | the mutex's list entry (`next`), as in musl's `_m_next` |
//!
//! and the mutex word is word 0 (atomic memory).
//!
//! Run: `bash loom-tests/run.sh --test robust`.
#![cfg(lintel_loom)]

use lintel_clone::exit_thread;
use lintel_clone::robust::{HEAD_SIZE, set_robust_list};
use lintel_futex::Scope;
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Errno, Threads};
use lintel_loom_tests::{ANY, BYTES_BASE, Coverage, Model, Tid, USER_BASE, check};
use loom::sync::atomic::Ordering;

/// The dying owner: the first thread spawned.
const OWNER: Tid = Tid(1);
/// Where the mutex's list entry is in plain memory.
const ENTRY: usize = HEAD_SIZE;

/// Where the dying thread has its mutex.
#[derive(Copy, Clone)]
enum On {
    /// On the list proper (`head.next -> entry -> head`).
    List,
    /// Only in `list_op_pending` (it died between locking and linking it; the list is empty).
    Pending,
}

/// The list's bytes: the head at 0 and the entry at `ENTRY`, for the mutex word at `word`.
fn list(on: On, word: usize) -> Vec<u8> {
    let head = BYTES_BASE;
    let entry = BYTES_BASE + ENTRY;
    let (next, pending) = match on {
        On::List => (entry, 0),
        On::Pending => (head, entry),
    };
    let offset = word as isize - entry as isize;
    let mut b = Vec::new();
    b.extend_from_slice(&next.to_ne_bytes());
    b.extend_from_slice(&offset.to_ne_bytes());
    b.extend_from_slice(&pending.to_ne_bytes());
    b.extend_from_slice(&head.to_ne_bytes()); // the entry's `next`: back to the head
    b
}

fn owner_dies(on: On) {
    let cov = Coverage::new(&["woken by the walk", "EAGAIN", "saw OWNER_DIED first"]);
    let c = cov.clone();
    check(move || {
        let held = (OWNER.0 as u32 + 1) | l::FUTEX_WAITERS; // Threads::tid is index + 1
        let m = Model::with_bytes(1, &[held], &list(on, USER_BASE));
        let w = m.addr(0);
        let owner = m.spawn(move |m| {
            set_robust_list(&m.kernel, m.kernel.bytes_addr(0), HEAD_SIZE).unwrap();
            // SAFETY: nothing on this thread's stack is referenced by other threads.
            unsafe { exit_thread(&m.kernel, 0) }
        });
        assert_eq!(owner.tid, OWNER);
        assert_eq!(m.kernel.tid(OWNER) as u32 | l::FUTEX_WAITERS, held);
        let waiter = m.spawn(move |m| {
            let t = m.table();
            let (mut woken, mut eagain) = (false, false);
            let seen = loop {
                let v = m.kernel.word(0).load(Ordering::Acquire);
                if v != held {
                    break v;
                }
                match t.wait(w, v, ANY, None, Scope::Shared) {
                    Ok(()) => woken = true,
                    Err(e) if e == Errno::EAGAIN.into() => eagain = true,
                    Err(e) => panic!("unexpected {e:?}"),
                }
            };
            (seen, woken, eagain)
        });
        owner.join_exited();
        let (seen, woken, eagain) = waiter.join();
        assert_eq!(
            seen,
            l::FUTEX_OWNER_DIED | l::FUTEX_WAITERS,
            "the walk marks the word OWNER_DIED, keeping WAITERS"
        );
        if woken {
            c.hit("woken by the walk");
        }
        if eagain {
            c.hit("EAGAIN");
        }
        if !woken && !eagain {
            c.hit("saw OWNER_DIED first");
        }
    });
    cov.assert_all();
}

#[test]
fn owner_dies_with_mutex_on_list() {
    owner_dies(On::List);
}

#[test]
fn owner_dies_with_mutex_pending() {
    owner_dies(On::Pending);
}
