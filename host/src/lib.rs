//! # lintel-host: the Linux host port of lintel's porting interface
//!
//! lintel's tests and benchmarks run on Linux through this crate, which plays the microkernel
//! honestly: [`Host`] implements every trait of [`lintel_kernel`] (so `Host: Kernel`) with raw
//! Linux syscalls and nothing from the C library.
//!
//! | trait | on the host | module |
//! | --- | --- | --- |
//! | [`Threads`](lintel_kernel::Threads) | raw `clone(CLONE_VM \| CLONE_THREAD \| …)` threads with `CHILD_CLEARTID` on a port-private word; the current thread's record through the **GS base** | [`thread`], `tcb` |
//! | [`Notify`](lintel_kernel::Notify) | a word in the record used as a binary semaphore; `FUTEX_WAIT_BITSET` with absolute deadlines | [`notify`] |
//! | [`Clock`](lintel_kernel::Clock) | vDSO `clock_gettime` (raw syscall fallback) | [`clock`] |
//! | [`UserMemory`](lintel_kernel::UserMemory) | labelled asm accessors + a SIGSEGV/SIGBUS fixup handler | [`usermem`] |
//! | [`SharedFutex`](lintel_kernel::SharedFutex) | the host's shared futex; the wait inside the restartable window | `shared` |
//! | [`Interrupt`](lintel_kernel::Interrupt) | one reserved host signal (`SIGRTMAX`) sent with `tgkill` | [`interrupt`] |
//! | [`Passthrough`](lintel_kernel::Passthrough) | the real syscall, inside the restartable window (a flag already set: `NotStarted`; caught on the `syscall` instruction: `Interrupted`) | `passthrough` |
//! | [`Delivery`](lintel_kernel::Delivery) | a forwarding handler on every signal lintel manages, turning host signals into per-thread arrivals (an 8-slot ring; overflow re-queued on the host, blocked); `block_arrivals` as the thread's host mask; SIGCHLD's `SA_NOCLDSTOP`/`SA_NOCLDWAIT` on its host action; `resume` in user space (`XRSTOR` and a jump, with a fix-up for a host handler landing in between) or through the host's `rt_sigreturn`; default actions as `SIG_DFL` plus a `tgkill` to the thread; XSAVE frames sized by CPUID; the host signal stack as the delivery stack | [`delivery`] |
//!
//! ## The traps, and how this crate handles them
//! - **Two owners of `%fs`.** In Rust tests the C library is glibc, in lintel-cc programs musl;
//!   either way `%fs` is theirs. lintel's per-thread slot is the GS base. Raw threads spawned
//!   without a thread pointer share their creator's `%fs`: their code **must not call std or
//!   glibc** (see [`thread`]). All of this crate's own code that raw threads or signal handlers
//!   run uses raw syscalls, atomics and `%gs` only.
//! - **One syscall section.** Every `syscall` instruction of the crate is in
//!   `.text.lintel_host_syscalls`, between `__lintel_host_syscalls_start` and
//!   `__lintel_host_syscalls_end` ([`syscall_section`]), so Syscall User Dispatch can exempt
//!   exactly one range. The vDSO (clock fast path) is the one exception; see [`clock`].
//! - **Host signal stacks.** musl allows 2 KiB thread stacks and a host signal frame is ~3.7 KiB
//!   on this CPU: every raw and adopted thread gets a host sigaltstack of at least 64 KiB
//!   (≥ `AT_MINSIGSTKSZ` + 32 KiB), and every handler here is `SA_ONSTACK`.
//! - **Adoption and inherited GS.** Threads lintel did not spawn (GS base 0) are adopted on
//!   first use. A thread made by `pthread_create` inherits its creator's GS base; the record
//!   also remembers its owner's FS base, and a mismatch is settled with one `gettid`.
//! - **Stale handles.** Records are `mmap`ed, pooled and never unmapped; a generation counter
//!   in the handle tells a recycled record apart.
//! - **The passthrough race.** A blocking host syscall must be abandonable when lintel wants to
//!   deliver an emulated signal, without a lost-wakeup window: the restartable window (musl's
//!   `__cp_begin/__cp_end` idea) in [`window`], with the interrupt signal installed
//!   `SA_RESTART` so that restartable calls come back rewound and uncommitted.
//! - **Reentrancy.** A kick landing while the thread is inside lintel (`Interrupt::enter` …
//!   `leave`) only sets a bit in a lock-free inbox; `leave` reports it.
//! - **Faults inside lintel.** User-memory accessors fault into a fixup, not a crash; other
//!   faults are chained to the previously installed handler (Rust's stack-overflow detector).
//! - **CLEARTID is a shared wake.** The kernel's `CHILD_CLEARTID` wake uses a shared futex key,
//!   so [`RawThread::join`] waits without `FUTEX_PRIVATE_FLAG`.
//!
//! Signal masks: a thread's host mask is empty while it runs, except for what lintel asks and
//! what this crate needs for a moment: lintel's mask plus the signals lintel discards while the
//! thread waits in a call that any host handler would end with `EINTR`, and every signal from
//! outside once it is exiting
//! ([`Delivery::block_arrivals`](lintel_kernel::Delivery::block_arrivals)); lintel's mask
//! across `execve` (the new image inherits it); forwarded signals re-queued on the host until
//! the arrival ring has room; every signal its handlers take, from the start of a `resume`
//! through the kernel until the host's `rt_sigreturn` installs the frame's mask, and during a thread's last exit step;
//! all signals across a thread `clone`, until the child has its GS base and signal stack, and
//! all but the fault signals across `posix_spawn`'s clone ([`musl::clone_passthrough`]: the
//! child starts with them blocked). Apart from the thread `clone`, SIGSEGV and SIGBUS are never
//! blocked (a program's `sigprocmask` that blocks them is passed on without them), and
//! [`INTERRUPT_SIGNAL`] must stay deliverable on threads lintel runs on outside those moments.
//!
//! Initialisation ([`Host::init`]) is idempotent and also happens lazily on first use: it reads
//! `/proc/self/auxv` (FSGSBASE, `AT_MINSIGSTKSZ`, page size, vDSO), and installs the
//! interrupt, SIGSEGV and SIGBUS handlers. After a host `fork`, call [`after_fork_in_child`] in
//! the child.
#![no_std]

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
compile_error!("lintel-host supports x86_64 Linux only");

mod arch;
pub mod clock;
pub mod delivery;
mod init;
pub mod interrupt;
pub mod musl;
pub mod notify;
mod passthrough;
mod priority;
mod shared;
mod syscall;
mod tcb;
pub mod thread;
pub mod usermem;
pub mod window;

pub use arch::{Sigcontext, Ucontext};
pub use interrupt::{HostRegisters, INTERRUPT_SIGNAL, syscall_section, window_labels};
pub use syscall::raw_syscall6;
pub use thread::{
    RAW_STACK_SIZE, RawThread, Thread, after_fork_in_child, spawn_raw, spawn_raw_with_stack,
};
pub use usermem::USER_END;

/// The Linux host port: implements every porting trait of [`lintel_kernel`].
///
/// Zero-sized; use [`HOST`] or `Host` itself, they are interchangeable.
#[derive(Copy, Clone, Debug, Default)]
pub struct Host;

/// The host port, for code that wants a `&'static impl Kernel`.
pub static HOST: Host = Host;

impl Host {
    /// Initialises the port (idempotent; otherwise done lazily on first use): reads the
    /// auxiliary vector, finds the vDSO clock, installs the host signal handlers.
    pub fn init() {
        init::ensure_init();
    }

    /// Whether `rdgsbase`/`wrgsbase` are used (the kernel reported FSGSBASE); if not, every
    /// [`Threads::current`](lintel_kernel::Threads::current) costs an `arch_prctl`.
    pub fn has_fsgsbase() -> bool {
        init::ensure_init();
        init::FSGSBASE.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Stops using `rdgsbase`/`wrgsbase`/`rdfsbase`/`wrfsbase` and goes through `arch_prctl`
    /// instead, as on a kernel without FSGSBASE. Both paths read and write the same registers,
    /// so switching at any time is consistent. For testing the fallback; irreversible.
    #[doc(hidden)]
    pub fn force_arch_prctl_fallback() {
        init::ensure_init();
        init::FSGSBASE.store(false, core::sync::atomic::Ordering::Relaxed);
    }

    /// The size of the host signal stack every raw and adopted thread gets.
    pub fn altstack_size() -> usize {
        init::ensure_init();
        init::ALTSTACK_SIZE.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// The priority lintel last said `thread` inherits from the waiters of the PI futexes it
    /// owns (`Threads::inherit_priority`), `NORMAL_PRIORITY` for none. The host port records it
    /// and does not apply it to Linux's scheduler (see the `priority` module's docs).
    pub fn inherited_priority(thread: Thread) -> i32 {
        priority::inherited(thread)
    }

    /// `AT_MINSIGSTKSZ` as the kernel reported it (0 if it did not).
    pub fn min_sigstksz() -> usize {
        init::ensure_init();
        init::MINSIGSTKSZ.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// Compile-time check: `Host` is a complete kernel port.
const _: fn() = || {
    fn is_kernel<K: lintel_kernel::Kernel>() {}
    is_kernel::<Host>();
};

/// Bytes of one thread record (`tcb::Tcb`), of which [`ARRIVALS_SIZE`] are the ring of host
/// signals waiting for lintel.
pub const RECORD_SIZE: usize = size_of::<tcb::Tcb>();
/// Bytes of a thread record's arrivals ring (forwarded signals with their siginfo).
pub const ARRIVALS_SIZE: usize = size_of::<delivery::Arrivals>();
