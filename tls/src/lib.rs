//! # lintel-tls: the thread pointer and static TLS, as Linux and musl expect them
//!
//! musl finds everything per-thread (its `struct pthread`, `errno`, the program's `__thread`
//! variables) through the **thread pointer**, a register the C library owns:
//!
//! | arch | thread pointer | who sets it on Linux | TLS variant |
//! | --- | --- | --- | --- |
//! | x86_64 | FS base | `arch_prctl(ARCH_SET_FS)`, `clone(CLONE_SETTLS)` | II (block below tp) |
//! | aarch64 | `TPIDR_EL0` | user code (`msr`), `clone(CLONE_SETTLS)` | I, 16-byte gap |
//! | riscv64 | `tp` (x4) | user code (`mv tp, …`), `clone(CLONE_SETTLS)` | I, no gap |
//!
//! This crate gives a port those semantics over [`lintel_kernel`]'s traits, and nothing else:
//!
//! - [`arch_prctl`](mod@arch_prctl) — x86_64's `arch_prctl(2)` exactly as Linux 6.18 answers it:
//!   `ARCH_SET_FS`/`ARCH_GET_FS` emulated through [`Threads::set_thread_pointer`] and
//!   [`Threads::thread_pointer`], `ARCH_SET_GS` refused (GS is lintel's), `ARCH_GET_GS`
//!   reporting 0, the CPUID/XCOMP/vDSO codes passed through, LAM and shadow stacks refused as
//!   by a kernel without them, everything else `EINVAL`. Plus [`check_thread_pointer`], the
//!   `TASK_SIZE_MAX` rule that `CLONE_SETTLS` shares.
//! - [`layout`] — the static TLS area of one thread from the program's `PT_TLS` header:
//!   [`TlsImage`], [`Variant`] (I or II, per architecture as musl has it), [`StaticTls`]
//!   (sizes, alignment, the block's and descriptor's offsets from the thread pointer) and the
//!   block's initialisation. What a kernel's loader, or lintel's `clone` for a program that is
//!   not musl, needs to give a thread working TLS.
//!
//! ```
//! use lintel_tls::{StaticTls, TcbSpec, TlsImage, Variant};
//! // A PT_TLS of 4 bytes of .tdata and 8 of .tbss, aligned to 8, and musl's x86_64
//! // `struct pthread` (200 bytes) as the descriptor:
//! let image = TlsImage::new(0x40_2000, 4, 12, 8)?;
//! let area = StaticTls::new(Variant::X86_64, &image, TcbSpec { size: 200, align: 8 })?;
//! assert_eq!(area.tls_offset(), -16); // %fs:-16 is the block's first byte
//! assert_eq!((area.size(), area.align(), area.tp_offset()), (216, 8, 16));
//! # Ok::<(), lintel_kernel::Errno>(())
//! ```
//!
//! ## lintel's own per-thread slot
//! The thread pointer is the program's, so lintel cannot keep its own per-thread state behind
//! it; and some of that state (the `CLONE_CHILD_CLEARTID` address, the "inside lintel" mark) is
//! needed before musl's `__init_tp` has run. The port therefore provides a second, private
//! slot: [`Threads::locals`], [`LOCAL_WORDS`](lintel_kernel::LOCAL_WORDS) words per thread,
//! reachable without the program's thread pointer and without a kernel entry. On x86_64 the
//! natural home is the GS base, which is why [`arch_prctl`](fn@arch_prctl) refuses
//! `ARCH_SET_GS`; the host port keeps its thread record there. aarch64 and riscv64 have no
//! second user-writable register, so there the slot is a port primitive (a kernel-maintained
//! read-only register such as `TPIDRRO_EL0`, a per-thread page, …); `docs/tls.md` and
//! `docs/porting.md` say what each kernel offers.
//!
//! ## Constraints
//! `#![no_std]`, no allocation, no C library; the world is reached through the porting traits
//! only. [`arch_prctl`](fn@arch_prctl) is on the path musl takes *before* its TLS exists, so
//! nothing here uses `#[thread_local]` or dereferences the thread pointer (Rust emits no stack
//! protector, which on x86_64 would read `%fs:0x28`).
//!
//! ## Tests
//! Unit tests pin every `arch_prctl` route and errno against a fake port, and check layouts by
//! hand, against LLD's offset formulas and by property over random headers. `tests/host.rs`
//! runs on Linux: it compares [`arch_prctl`](fn@arch_prctl) with the real syscall, and checks
//! the computed Variant II layout against the test binary's own `PT_TLS`, glibc's threads and
//! a raw thread whose whole TLS area this crate built.
#![no_std]

pub mod arch_prctl;
pub mod layout;

pub use arch_prctl::{ArchPrctl, Handling, arch_prctl, check_thread_pointer, handling};
pub use layout::{StaticTls, TcbSpec, TlsImage, Variant, tls_offset};

#[allow(unused_imports, reason = "doc links")]
use lintel_kernel::Threads;
