//! Robust futex lists: `set_robust_list`, `get_robust_list`, and the walk at thread death.
//!
//! A thread registers the head of a list of the robust mutexes it holds (`struct
//! robust_list_head { next, futex_offset, list_op_pending }`, 24 bytes). When it dies, every
//! futex word on the list (at `entry + futex_offset`) whose owner tid is the dying thread's gets
//! `FUTEX_OWNER_DIED`, its tid cleared and its `FUTEX_WAITERS` bit kept; if waiters were
//! flagged, one waiter of the *shared* futex is woken (Linux's `handle_futex_death` wakes in the
//! shared namespace, so a private waiter is not woken by it, on Linux either). The walk follows
//! Linux's `exit_robust_list` exactly: entries carry a PI flag in bit 0 of their pointer; the
//! pending entry is handled last and only once; at most `ROBUST_LIST_LIMIT` (2048) entries are
//! visited, so a cyclic or corrupted list ends the walk instead of hanging it; any fault ends
//! the walk silently.

use crate::local::{ROBUST_HEAD, ROBUST_SET};
use core::sync::atomic::Ordering;
use lintel_kernel::abi::linux as l;
use lintel_kernel::{Errno, Kernel};

/// `sizeof(struct robust_list_head)` on x86_64.
pub const HEAD_SIZE: usize = core::mem::size_of::<l::robust_list_head>();

// The layout the walk reads by offset (`head + 8`, `head + 16`).
const _: () = assert!(HEAD_SIZE == 24);
const _: () = assert!(core::mem::offset_of!(l::robust_list_head, list) == 0);
const _: () = assert!(core::mem::offset_of!(l::robust_list_head, futex_offset) == 8);
const _: () = assert!(core::mem::offset_of!(l::robust_list_head, list_op_pending) == 16);

/// `set_robust_list(head, len)`: `EINVAL` unless `len` is the size of the head (24), as Linux;
/// the head itself is not checked until the thread dies.
pub fn set_robust_list<K: Kernel>(kernel: &K, head: usize, len: usize) -> Result<(), Errno> {
    if len != HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    let locals = kernel.locals();
    locals[ROBUST_HEAD].store(head, Ordering::Relaxed);
    locals[ROBUST_SET].store(1, Ordering::Relaxed);
    Ok(())
}

/// `get_robust_list(0, head_ptr, len_ptr)` for the calling thread: stores the length (24) then
/// the head, `EFAULT` if either store faults (Linux's order: the length first).
///
/// # Safety
/// `head_ptr` and `len_ptr` are the program's output pointers for this call.
pub unsafe fn get_robust_list<K: Kernel>(
    kernel: &K,
    head_ptr: usize,
    len_ptr: usize,
) -> Result<(), Errno> {
    let head = kernel.locals()[ROBUST_HEAD].load(Ordering::Relaxed);
    // SAFETY: the program's output pointers (our caller's contract).
    unsafe {
        kernel.write(len_ptr, &HEAD_SIZE.to_ne_bytes())?;
        kernel.write(head_ptr, &head.to_ne_bytes())
    }
}

/// Reads a robust-list pointer: the entry address and its PI flag (bit 0).
fn fetch_entry<K: Kernel>(kernel: &K, addr: usize) -> Result<(usize, bool), Errno> {
    let mut raw = [0u8; 8];
    kernel.read(addr, &mut raw)?;
    let v = usize::from_ne_bytes(raw);
    Ok((v & !1, v & 1 != 0))
}

/// Which of `handle_futex_death`'s callers asks.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Death {
    List,
    Pending,
}

/// Linux's `handle_futex_death` for the word at `uaddr` of a thread `tid` that is dying. `Err`
/// ends the walk (a fault or a misaligned word).
fn handle_death<K: Kernel>(
    kernel: &K,
    uaddr: usize,
    tid: u32,
    pi: bool,
    why: Death,
) -> Result<(), Errno> {
    if uaddr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    loop {
        let uval = kernel.load_u32(uaddr)?;
        let owner = uval & l::FUTEX_TID_MASK;
        // The owner died between taking the lock and recording it (or between the unlock and
        // the list update): wake a waiter so it can notice, as Linux does.
        if why == Death::Pending && !pi && owner == 0 {
            let _ = kernel.shared_wake(uaddr, 1, l::FUTEX_BITSET_MATCH_ANY);
            return Ok(());
        }
        if owner != tid {
            return Ok(());
        }
        let mval = (uval & l::FUTEX_WAITERS) | l::FUTEX_OWNER_DIED;
        // SAFETY: the dying thread registered this word as a robust futex it owns; Linux writes
        // exactly this value here.
        let seen = unsafe { kernel.cmpxchg_u32(uaddr, uval, mval) }?;
        if seen != uval {
            continue; // changed under us: re-read, as Linux retries
        }
        // A PI futex goes to its top waiter after the walk, through its PI state (Linux's
        // exit_pi_state_list; lintel's `FutexTable::exit_pi_state`, called by the dispatcher).
        if !pi && uval & l::FUTEX_WAITERS != 0 {
            let _ = kernel.shared_wake(uaddr, 1, l::FUTEX_BITSET_MATCH_ANY);
        }
        return Ok(());
    }
}

/// Linux's `exit_robust_list`: walks the calling thread's registered list as it dies.
pub fn exit_robust_list<K: Kernel>(kernel: &K) {
    let locals = kernel.locals();
    if locals[ROBUST_SET].load(Ordering::Relaxed) == 0 {
        return;
    }
    let head = locals[ROBUST_HEAD].load(Ordering::Relaxed);
    if head == 0 {
        return;
    }
    let tid = kernel.tid(kernel.current()) as u32;
    let _ = walk(kernel, head, tid);
    // Linux's `futex_cleanup` then forgets the list (`tsk->robust_list = NULL`): a second call
    // on the way out walks nothing.
    locals[ROBUST_SET].store(0, Ordering::Relaxed);
    locals[ROBUST_HEAD].store(0, Ordering::Relaxed);
}

fn walk<K: Kernel>(kernel: &K, head: usize, tid: u32) -> Result<(), Errno> {
    let (mut entry, mut pi) = fetch_entry(kernel, head)?;
    let mut off = [0u8; 8];
    kernel.read(head + 8, &mut off)?;
    let futex_offset = isize::from_ne_bytes(off);
    let (pending, pending_pi) = fetch_entry(kernel, head + 16)?;
    let mut limit = l::ROBUST_LIST_LIMIT;
    while entry != head {
        // Fetch the next entry before the word may be released.
        let next = fetch_entry(kernel, entry);
        if entry != pending {
            handle_death(
                kernel,
                entry.wrapping_add_signed(futex_offset),
                tid,
                pi,
                Death::List,
            )?;
        }
        let (n, npi) = next?;
        entry = n;
        pi = npi;
        limit -= 1;
        if limit == 0 {
            break;
        }
    }
    if pending != 0 {
        let _ = handle_death(
            kernel,
            pending.wrapping_add_signed(futex_offset),
            tid,
            pending_pi,
            Death::Pending,
        );
    }
    Ok(())
}
