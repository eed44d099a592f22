//! Per-architecture code. Only x86_64 exists today; an aarch64 port would need a port primitive
//! for lintel's per-thread slot (there is no second user-writable thread register there).

#[cfg(target_arch = "x86_64")]
mod resume_x86_64;
#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use resume_x86_64::*;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::*;
#[cfg(target_arch = "x86_64")]
pub use x86_64::{Sigcontext, Ucontext};
