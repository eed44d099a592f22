//! The per-thread record (TCB) and how a thread finds its own.
//!
//! Each thread lintel knows has one [`Tcb`], found through the **GS base** (lintel's slot on
//! x86_64; `%fs` belongs to the C library). Records are carved out of *slabs* (one mapping
//! holds [`SLAB_RECORDS`] of them, so a process with thousands of threads does not have
//! thousands of mappings); each record's host signal stack is a mapping of its own, with a
//! guard page below it:
//!
//! ```text
//! slab:  [ Tcb ][ Tcb ][ Tcb ] ...            (SLAB_RECORDS records, one mapping)
//! stack: [ guard page (PROT_NONE) ][ host sigaltstack (ALTSTACK_SIZE) ]   (per record)
//! ```
//!
//! TCBs are **never unmapped**: a stale [`crate::Thread`] handle must stay memory-safe forever.
//! They are pooled instead: every TCB ever made is on one lock-free, append-only list, and a
//! new thread claims a record whose owner is known dead (a raw thread whose CLEARTID word is 0,
//! an adopted thread whose tid `tgkill(.., 0)` no longer finds) before carving a new one. A
//! generation counter bumped on every claim tells stale handles apart. The signal stacks of
//! dead records are released before a `fork` beyond the first [`SPARE_STACKS`] ([`trim`]): a
//! fork copies every mapping, and a process that once ran thousands of threads would otherwise
//! fork slowly. A record without a stack gets a new one when it is claimed.
//!
//! Threads that lintel did not spawn (the main thread, Rust std threads) have GS base 0 and are
//! *adopted* on first use. A thread created by someone else (glibc's `pthread_create`) inherits
//! its creator's GS base, so "GS base non-zero" alone does not prove ownership: the record also
//! holds the FS base its owner had, and a thread whose FS base differs proves (or disproves)
//! ownership with one `gettid`.

use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use linux_raw_sys::general as g;

use crate::arch;
use crate::init::{self, FSGSBASE, PID};
use crate::syscall::{self, arch_prctl as ap};

/// Record states.
pub(crate) const FREE: u32 = 0;
/// Being set up by the thread that claimed it.
pub(crate) const CLAIMED: u32 = 1;
/// Owned by a thread made by [`crate::Host`]'s `spawn`; dead once `exited` is 0.
pub(crate) const RAW: u32 = 2;
/// Owned by an adopted thread; dead once `tgkill(pid, tid, 0)` says `ESRCH`.
pub(crate) const ADOPTED: u32 = 3;

/// A thread's record. `repr(C)` because the assembly reaches `notify` at `%gs:offset`.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct Tcb {
    /// The record's own address (what `%gs:0` reads). Immutable.
    pub(crate) self_ptr: usize,
    /// The notification word: see [`crate::notify`].
    pub(crate) notify: AtomicU32,
    /// Non-zero while the thread is inside the restartable window (a passthrough or shared
    /// futex wait): `Notify::interrupt` then also sends the interrupt signal.
    pub(crate) in_window: AtomicU32,
    /// Non-zero inside an `Interrupt::enter`/`leave` span.
    pub(crate) span: AtomicU32,
    /// Set by the interrupt handler when a kick lands inside a span.
    pub(crate) inbox: AtomicU32,
    /// Set by `kick` before it sends the signal; consumed by the handler.
    pub(crate) kick: AtomicU32,
    /// The CLONE_CHILD_CLEARTID word of a raw thread: non-zero while it may run, 0 (written by
    /// the kernel, which then does a shared futex wake) once it is dead and off its stack.
    pub(crate) exited: AtomicU32,
    /// The owner's host tid (0 until known).
    pub(crate) tid: AtomicI32,
    /// Bumped on every claim; part of every handle.
    pub(crate) generation: AtomicU32,
    /// [`FREE`], [`CLAIMED`], [`RAW`] or [`ADOPTED`].
    pub(crate) state: AtomicU32,
    /// The FS base the owner had when it last proved its identity.
    pub(crate) owner_fs: AtomicUsize,
    /// Lowest address of the host signal stack, 0 when the record has none (a free record
    /// whose stack [`trim`] released). Written only while the record is [`CLAIMED`] (or
    /// being trimmed, claimed by the trimmer); its owner reads it (the assembly too, at
    /// `%gs:offset`: see `musl::DELIVERY_STACK_GS_OFFSETS`).
    pub(crate) altstack: AtomicUsize,
    /// Size of the host signal stack (`ALTSTACK_SIZE`). Immutable.
    pub(crate) altstack_size: usize,
    /// Next record on the all-records list. Immutable once published.
    pub(crate) next: usize,
    /// Spawn hand-off (parent writes before clone, child reads): `entry` function.
    pub(crate) spawn_entry: AtomicUsize,
    /// Spawn hand-off: `arg`.
    pub(crate) spawn_arg: AtomicUsize,
    /// Spawn hand-off: the FS base to set, if `spawn_has_fs`.
    pub(crate) spawn_fs: AtomicUsize,
    /// Spawn hand-off: whether to set the FS base.
    pub(crate) spawn_has_fs: AtomicU32,
    /// Spawn hand-off: the signal mask the child restores once its GS and altstack are set.
    pub(crate) spawn_mask: AtomicU64,
    /// The thread's cached priority and the epoch it was read at (see [`crate::priority`]); 0
    /// when nothing is cached.
    pub(crate) priority: AtomicU64,
    /// The priority lintel says the thread inherits, as `NORMAL_PRIORITY - prio` (0: none).
    pub(crate) inherited: AtomicU32,
    /// lintel's per-thread words (`Threads::locals`); zeroed on every claim.
    pub(crate) locals: [AtomicUsize; lintel_kernel::LOCAL_WORDS],
    /// Forwarded signals waiting for lintel (see [`crate::delivery`]): a ring written only by
    /// the forwarding handler on this thread and read only by this thread.
    pub(crate) arrivals: crate::delivery::Arrivals,
}

impl Tcb {
    /// Lowest address of the host signal stack (0 only for a free record without one).
    #[inline]
    pub(crate) fn altstack(&self) -> usize {
        self.altstack.load(Ordering::Relaxed)
    }
}

static_assertions::const_assert!(size_of::<Tcb>() <= 4096);
// Issue 6's budget: lintel's own per-thread control block (the record without the ring of
// forwarded signals, which holds siginfo) stays within 1 KiB.
static_assertions::const_assert!(size_of::<Tcb>() - size_of::<crate::delivery::Arrivals>() <= 1024);
static_assertions::const_assert_eq!(core::mem::offset_of!(Tcb, self_ptr), 0);

/// Head of the list of every record ever mapped (append-only, never freed).
static ALL: AtomicPtr<Tcb> = AtomicPtr::new(ptr::null_mut());

/// Reads the GS base: `rdgsbase` when the kernel allows it, else `arch_prctl(ARCH_GET_GS)`.
#[inline(always)]
pub(crate) fn gs_base() -> usize {
    if FSGSBASE.load(Ordering::Relaxed) {
        // SAFETY: FSGSBASE is only set once auxv reported the kernel enabled it.
        unsafe { arch::rdgsbase() }
    } else {
        let mut v = 0usize;
        // SAFETY: ARCH_GET_GS writes one word to the valid `v`.
        unsafe { syscall::arch_prctl(ap::ARCH_GET_GS, &mut v as *mut usize as usize) };
        v
    }
}

/// Reads the FS base (the C library's thread pointer); as [`gs_base`].
#[inline(always)]
pub(crate) fn fs_base() -> usize {
    if FSGSBASE.load(Ordering::Relaxed) {
        // SAFETY: FSGSBASE is only set once auxv reported the kernel enabled it.
        unsafe { arch::rdfsbase() }
    } else {
        let mut v = 0usize;
        // SAFETY: ARCH_GET_FS writes one word to the valid `v`.
        unsafe { syscall::arch_prctl(ap::ARCH_GET_FS, &mut v as *mut usize as usize) };
        v
    }
}

/// Points the calling thread's GS base at `tcb`.
///
/// # Safety
/// `tcb` must be the calling thread's claimed record (or 0).
pub(crate) unsafe fn set_gs_base(tcb: usize) {
    if FSGSBASE.load(Ordering::Relaxed) {
        // SAFETY: FSGSBASE enabled; GS is lintel's slot and the caller owns the record.
        unsafe { arch::wrgsbase(tcb) }
    } else {
        // SAFETY: as above, through the kernel.
        unsafe { syscall::arch_prctl(ap::ARCH_SET_GS, tcb) };
    }
}

/// Sets the calling thread's FS base.
///
/// # Safety
/// Nothing on the calling thread may use the old thread pointer afterwards.
pub(crate) unsafe fn set_fs_base(fs: usize) {
    if FSGSBASE.load(Ordering::Relaxed) {
        // SAFETY: FSGSBASE enabled; the caller wants this thread pointer.
        unsafe { arch::wrfsbase(fs) }
    } else {
        // SAFETY: as above, through the kernel.
        unsafe { syscall::arch_prctl(ap::ARCH_SET_FS, fs) };
    }
}

/// The calling thread's record, adopting the thread if it has none.
#[inline]
pub(crate) fn current() -> &'static Tcb {
    let gs = gs_base();
    if gs != 0 {
        // SAFETY: a non-zero GS base in this process is always one of our records (a program's
        // own ARCH_SET_GS is refused by the passthrough), and records are never unmapped.
        let t = unsafe { &*(gs as *const Tcb) };
        if t.owner_fs.load(Ordering::Relaxed) == fs_base() {
            return t;
        }
    }
    current_slow(gs)
}

/// The calling thread's record if it already has one, without adopting (for signal
/// handlers). Costs a `gettid`.
pub(crate) fn current_if_owned() -> Option<&'static Tcb> {
    let gs = gs_base();
    if gs == 0 {
        return None;
    }
    // SAFETY: as in `current`.
    let t = unsafe { &*(gs as *const Tcb) };
    (t.tid.load(Ordering::Relaxed) == syscall::gettid()).then_some(t)
}

#[cold]
fn current_slow(gs: usize) -> &'static Tcb {
    init::ensure_init();
    if gs != 0 {
        // SAFETY: as in `current`.
        let t = unsafe { &*(gs as *const Tcb) };
        if t.tid.load(Ordering::Relaxed) == syscall::gettid() {
            // Ours; the C library (or lintel's TLS layer) moved FS since we last looked.
            t.owner_fs.store(fs_base(), Ordering::Relaxed);
            return t;
        }
        // Inherited from a creator that is not us (e.g. pthread_create): adopt afresh.
    }
    adopt()
}

/// Gives the calling thread a record, a GS base and a host signal stack.
#[cold]
fn adopt() -> &'static Tcb {
    let t = match claim() {
        Ok(t) => t,
        Err(_) => syscall::fatal("lintel-host: out of memory for a thread record\n"),
    };
    t.tid.store(syscall::gettid(), Ordering::Relaxed);
    t.owner_fs.store(fs_base(), Ordering::Relaxed);
    // SAFETY: `t` is ours (claimed just now).
    unsafe { set_gs_base(t.self_ptr) };
    install_altstack(t);
    t.state.store(ADOPTED, Ordering::Release);
    t
}

/// Makes `t`'s host signal stack the calling thread's. Fails harmlessly (EPERM) if the thread
/// is running on its current alternate stack right now; it then keeps that one.
pub(crate) fn install_altstack(t: &Tcb) {
    let ss = g::stack_t {
        ss_sp: t.altstack() as *mut core::ffi::c_void,
        ss_flags: 0,
        ss_size: t.altstack_size as _,
    };
    // SAFETY: the range is this record's signal stack, reserved for its owner (the caller).
    unsafe { syscall::sigaltstack(&ss, ptr::null_mut()) };
}

/// Claims a record: a free or dead one from the pool, else a fresh mapping. The record comes
/// back in state [`CLAIMED`] with a new generation and cleared per-thread words.
pub(crate) fn claim() -> Result<&'static Tcb, isize> {
    // Each pass looks at most CLAIM_SCAN records, from where the last claim stopped (a process
    // with thousands of live threads must not scan them all for every new one); records that
    // die are found as the cursor comes round. Pass 1 costs no syscalls; pass 2 asks the kernel
    // about adopted owners.
    for pass in 0..2 {
        let mut p = CURSOR.load(Ordering::Acquire);
        for _ in 0..CLAIM_SCAN {
            if p.is_null() {
                p = ALL.load(Ordering::Acquire);
                if p.is_null() {
                    break;
                }
            }
            // SAFETY: list entries are published records, never unmapped.
            let t = unsafe { &*p };
            let next = t.next as *mut Tcb;
            if try_claim(t, pass == 1) {
                CURSOR.store(next, Ordering::Release);
                reset(t);
                return with_stack(t);
            }
            p = next;
        }
        CURSOR.store(p, Ordering::Release);
    }
    let t = map_new()?;
    reset(t);
    with_stack(t)
}

/// A claimed record with a host signal stack: maps one if [`trim`] released it. Without
/// memory for it, the record goes back to the pool.
fn with_stack(t: &'static Tcb) -> Result<&'static Tcb, isize> {
    if t.altstack() == 0 {
        match map_stack() {
            Ok(lo) => t.altstack.store(lo, Ordering::Relaxed),
            Err(e) => {
                t.state.store(FREE, Ordering::Release);
                return Err(e);
            }
        }
    }
    Ok(t)
}

/// Maps a host signal stack with a guard page below it; returns its lowest address.
fn map_stack() -> Result<usize, isize> {
    let page = init::PAGE_SIZE.load(Ordering::Relaxed);
    let alt = init::ALTSTACK_SIZE.load(Ordering::Relaxed);
    let base = syscall::mmap_anon(page + alt, g::PROT_READ | g::PROT_WRITE, 0)?;
    // SAFETY: the guard page is the start of our fresh mapping; nothing uses it.
    unsafe { syscall::mprotect(base, page, g::PROT_NONE) };
    Ok(base + page)
}

/// How many dead records keep their signal stacks through [`trim`] (ready for new threads).
pub(crate) const SPARE_STACKS: usize = 16;

/// Releases the host signal stacks of dead records beyond the first [`SPARE_STACKS`]: free
/// records, and raw records whose thread is gone (its CLEARTID word is 0: the kernel wrote
/// it after the thread left its last stack, which is this one). Adopted records are left
/// alone (telling whether their owner lives costs a syscall). Each record is claimed while
/// its stack goes, so no new owner can take it meanwhile, and is given back with a new
/// generation (handles to the dead owner stay dead, see `thread::is_dead`).
pub(crate) fn trim() {
    let page = init::PAGE_SIZE.load(Ordering::Relaxed);
    let alt = init::ALTSTACK_SIZE.load(Ordering::Relaxed);
    let mut spare = 0;
    for_each(|t| {
        if t.altstack() == 0 {
            return;
        }
        let s = t.state.load(Ordering::Acquire);
        if !(s == FREE || (s == RAW && t.exited.load(Ordering::Acquire) == 0)) {
            return;
        }
        spare += 1;
        if spare <= SPARE_STACKS || !try_claim(t, false) {
            return;
        }
        let lo = t.altstack.swap(0, Ordering::Relaxed);
        // SAFETY: the stack of a record we claimed, whose owner is dead (or that never had
        // one): nothing runs on it or refers to it; the guard page below it goes too.
        unsafe { syscall::munmap(lo - page, page + alt) };
        reset(t);
        t.state.store(FREE, Ordering::Release);
    });
}

/// How many records one pass of [`claim`] looks at before it maps a new one.
const CLAIM_SCAN: usize = 64;

/// Where the next [`claim`] starts looking (a hint: any record of [`ALL`], or null for its
/// head).
static CURSOR: AtomicPtr<Tcb> = AtomicPtr::new(ptr::null_mut());

fn try_claim(t: &Tcb, ask_kernel: bool) -> bool {
    // The generation before the state: a record another claimer took, reset (a new generation)
    // and adopted again between our look and our compare-and-swap is ADOPTED again, by a live
    // thread (ABA); the generation tells.
    let generation = t.generation.load(Ordering::Acquire);
    let s = t.state.load(Ordering::Acquire);
    let dead = match s {
        FREE => true,
        RAW => t.exited.load(Ordering::Acquire) == 0,
        ADOPTED if ask_kernel => owner_gone(t),
        _ => false,
    };
    if !dead
        || t.state
            .compare_exchange(s, CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return false;
    }
    if t.generation.load(Ordering::Acquire) != generation {
        // Not the record we judged dead: give it back to its new owner untouched.
        t.state.store(s, Ordering::Release);
        return false;
    }
    true
}

/// Whether an adopted record's owner thread no longer exists.
pub(crate) fn owner_gone(t: &Tcb) -> bool {
    let tid = t.tid.load(Ordering::Relaxed);
    tid <= 0
        || syscall::tgkill(PID.load(Ordering::Relaxed), tid, 0)
            == -(linux_raw_sys::errno::ESRCH as isize)
}

fn reset(t: &Tcb) {
    // The generation moves first: a reader that sees the new `exited` sees the new generation
    // (see `thread::is_dead`).
    t.generation.fetch_add(1, Ordering::AcqRel);
    t.notify.store(0, Ordering::Relaxed);
    t.in_window.store(0, Ordering::Relaxed);
    t.span.store(0, Ordering::Relaxed);
    t.inbox.store(0, Ordering::Relaxed);
    t.kick.store(0, Ordering::Relaxed);
    t.tid.store(0, Ordering::Relaxed);
    t.owner_fs.store(0, Ordering::Relaxed);
    t.priority.store(0, Ordering::Relaxed);
    t.inherited.store(0, Ordering::Relaxed);
    for w in &t.locals {
        w.store(0, Ordering::Relaxed);
    }
    t.arrivals.reset();
    t.exited.store(1, Ordering::Release);
}

/// How many records one slab mapping holds.
pub(crate) const SLAB_RECORDS: usize = 64;

/// The slab records are carved from: its address and how many of its records are taken, in
/// one word (`address | taken`; slabs are page-aligned and `taken` ≤ [`SLAB_RECORDS`] fits
/// below the page bits), so carving is one compare-and-swap.
static SLAB: AtomicUsize = AtomicUsize::new(0);

/// Space for one new record: the next one of the current slab, or the first of a new slab.
fn carve() -> Result<*mut Tcb, isize> {
    const TAKEN: usize = 0xfff;
    const _: () = assert!(SLAB_RECORDS < TAKEN);
    let stride = size_of::<Tcb>();
    let mut cur = SLAB.load(Ordering::Acquire);
    loop {
        let (base, taken) = (cur & !TAKEN, cur & TAKEN);
        if base != 0 && taken < SLAB_RECORDS {
            match SLAB.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok((base + taken * stride) as *mut Tcb),
                Err(c) => cur = c,
            }
            continue;
        }
        let len = (stride * SLAB_RECORDS).next_multiple_of(init::PAGE_SIZE.load(Ordering::Relaxed));
        let fresh = syscall::mmap_anon(len, g::PROT_READ | g::PROT_WRITE, 0)?;
        match SLAB.compare_exchange(cur, fresh | 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Ok(fresh as *mut Tcb),
            Err(c) => {
                // Another thread installed a slab first: use its records.
                // SAFETY: our own fresh mapping, never published.
                unsafe { syscall::munmap(fresh, len) };
                cur = c;
            }
        }
    }
}

/// Carves a new record with a signal stack and publishes it on [`ALL`].
fn map_new() -> Result<&'static Tcb, isize> {
    let alt = init::ALTSTACK_SIZE.load(Ordering::Relaxed);
    let stack = map_stack()?;
    let tp = match carve() {
        Ok(tp) => tp,
        Err(e) => {
            let page = init::PAGE_SIZE.load(Ordering::Relaxed);
            // SAFETY: the stack we just mapped, unused.
            unsafe { syscall::munmap(stack - page, page + alt) };
            return Err(e);
        }
    };
    let tcb = Tcb {
        self_ptr: tp as usize,
        notify: AtomicU32::new(0),
        in_window: AtomicU32::new(0),
        span: AtomicU32::new(0),
        inbox: AtomicU32::new(0),
        kick: AtomicU32::new(0),
        exited: AtomicU32::new(1),
        tid: AtomicI32::new(0),
        generation: AtomicU32::new(0),
        state: AtomicU32::new(CLAIMED),
        owner_fs: AtomicUsize::new(0),
        altstack: AtomicUsize::new(stack),
        altstack_size: alt,
        next: 0,
        spawn_entry: AtomicUsize::new(0),
        spawn_arg: AtomicUsize::new(0),
        spawn_fs: AtomicUsize::new(0),
        spawn_has_fs: AtomicU32::new(0),
        spawn_mask: AtomicU64::new(0),
        priority: AtomicU64::new(0),
        inherited: AtomicU32::new(0),
        locals: [const { AtomicUsize::new(0) }; lintel_kernel::LOCAL_WORDS],
        arrivals: crate::delivery::Arrivals::new(),
    };
    // SAFETY: `tp` is a slab slot (the slab is page-aligned and the stride a multiple of the
    // 64-byte alignment), writable, private to us until published.
    unsafe { tp.write(tcb) };
    let mut head = ALL.load(Ordering::Relaxed);
    loop {
        // SAFETY: `next` is written only here, through the raw pointer, before the CAS below
        // publishes the record; no reference to it exists yet.
        unsafe { (*tp).next = head as usize };
        match ALL.compare_exchange_weak(head, tp, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => break,
            Err(h) => head = h,
        }
    }
    // SAFETY: initialised above, never written non-atomically again, never unmapped.
    Ok(unsafe { &*tp })
}

/// Walks every record (for fork recovery).
pub(crate) fn for_each(mut f: impl FnMut(&'static Tcb)) {
    let mut p = ALL.load(Ordering::Acquire);
    while !p.is_null() {
        // SAFETY: list entries are published records, never unmapped.
        let t = unsafe { &*p };
        f(t);
        p = t.next as *mut Tcb;
    }
}

/// After a host fork, in the child: the calling thread's record with its tid refreshed (the
/// fork copied the record with the parent thread's tid), adopting the thread if it had none.
pub(crate) fn current_if_owned_after_fork() -> &'static Tcb {
    let gs = gs_base();
    if gs != 0 {
        // SAFETY: as in `current`.
        let t = unsafe { &*(gs as *const Tcb) };
        // fork copies the FS base: an unchanged one means the record is this thread's.
        if t.owner_fs.load(Ordering::Relaxed) == fs_base() {
            t.tid.store(syscall::gettid(), Ordering::Relaxed);
            return t;
        }
    }
    adopt()
}
