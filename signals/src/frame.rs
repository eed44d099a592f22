//! The x86_64 Linux signal frame (`rt_sigframe`): layouts and placement only, no delivery yet.
//!
//! When Linux delivers a signal to a handler on x86_64 (`arch/x86/kernel/signal_64.c`,
//! `x64_setup_rt_frame`; `arch/x86/kernel/signal.c`, `get_sigframe`), it:
//! 1. starts from the interrupted `rsp` minus the 128-byte red zone, or from the top of the
//!    alternate stack (`sas_ss_sp + sas_ss_size`) when the action has `SA_ONSTACK` and the
//!    thread is not already on it;
//! 2. reserves the FP state: `fpstate = round_down(sp - xstate_sigframe_size, 64)`, where
//!    `xstate_sigframe_size` is the XSAVE size of the user features plus 4 bytes for
//!    `FP_XSTATE_MAGIC2`;
//! 3. places the frame below it: `frame = round_down(fpstate - sizeof(rt_sigframe), 16) - 8`,
//!    so the handler starts with `rsp = frame` ≡ 8 (mod 16), as after a `call`;
//! 4. fills [`RtSigframe`]: `pretcode` (the `sa_restorer`, the handler's return address), the
//!    [`Ucontext`] (`uc_flags` = [`UC_FLAGS`], `uc_link` 0, `uc_stack` = the thread's
//!    sigaltstack settings, `uc_mcontext` = the interrupted registers as a [`Sigcontext`] with
//!    `fpstate` pointing at step 2's area, `uc_sigmask` = the mask to restore), and the
//!    [`SigInfo`];
//! 5. enters the handler with `rdi` = signal, `rsi` = `&frame.info`, `rdx` = `&frame.uc`,
//!    `rax` = 0, a fresh FPU state (MXCSR `0x1f80`), DF and TF clear.
//!
//! The XSAVE area starts with the 512-byte legacy FXSAVE image, whose software-reserved bytes
//! (offset 464) hold [`FpxSwBytes`] with `FP_XSTATE_MAGIC1`; `FP_XSTATE_MAGIC2` follows the
//! XSAVE data at `fpstate + xstate_size`. With AVX-512 the frame is about 3.7 KiB.

use crate::siginfo::SigInfo;
use crate::sigset::SigSet;
use core::mem::{offset_of, size_of};
use linux_raw_sys::general as g;

/// The red zone below `rsp` that a frame skips (x86_64 SysV ABI).
pub const RED_ZONE: usize = 128;
/// `UC_FP_XSTATE`: the FP area is XSAVE layout with the magic markers.
pub const UC_FP_XSTATE: u64 = 0x1;
/// `UC_SIGCONTEXT_SS`: `sigcontext.ss` is meaningful.
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
/// `UC_STRICT_RESTORE_SS`: `rt_sigreturn` restores `ss` as saved.
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;
/// The `uc_flags` Linux 6.x writes for a 64-bit frame on an XSAVE CPU: `0x7`.
pub const UC_FLAGS: u64 = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
/// `FP_XSTATE_MAGIC1`, in [`FpxSwBytes::magic1`].
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// `FP_XSTATE_MAGIC2`, the `u32` just after the XSAVE data.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Bytes of `FP_XSTATE_MAGIC2`.
pub const FP_XSTATE_MAGIC2_SIZE: usize = 4;
/// The legacy FXSAVE image at the start of the FP area.
pub const FXSAVE_SIZE: usize = 512;
/// Offset of [`FpxSwBytes`] in the FXSAVE image (its `sw_reserved` bytes).
pub const SW_BYTES_OFFSET: usize = 464;
/// The MXCSR a handler starts with (all exceptions masked, round to nearest).
pub const MXCSR_DEFAULT: u32 = 0x1f80;
/// The alignment of the FP area (XSAVE requires 64).
pub const FPSTATE_ALIGN: usize = 64;

// The machine context is the porting interface's (`lintel_kernel::abi`), shared with the host
// port's signal handlers.
pub use lintel_kernel::abi::{Sigcontext, reg};

/// `stack_t` (`uc_stack`, `sigaltstack`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct StackT {
    /// `ss_sp`.
    pub sp: usize,
    /// `ss_flags` (`SS_ONSTACK`, `SS_DISABLE`, `SS_AUTODISARM`).
    pub flags: i32,
    pad: i32,
    /// `ss_size`.
    pub size: usize,
}

static_assertions::assert_eq_size!(StackT, g::stack_t);
static_assertions::const_assert_eq!(offset_of!(StackT, sp), offset_of!(g::stack_t, ss_sp));
static_assertions::const_assert_eq!(offset_of!(StackT, flags), offset_of!(g::stack_t, ss_flags));
static_assertions::const_assert_eq!(offset_of!(StackT, size), offset_of!(g::stack_t, ss_size));

impl StackT {
    /// A `stack_t` with these fields.
    pub const fn new(sp: usize, flags: i32, size: usize) -> StackT {
        StackT {
            sp,
            flags,
            pad: 0,
            size,
        }
    }
}

/// The kernel's `struct ucontext` (`asm-generic/ucontext.h`). glibc's `ucontext_t` agrees up to
/// `uc_sigmask` (its sigmask is 128 bytes and FP storage follows; the kernel's ends here).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct Ucontext {
    /// [`UC_FLAGS`].
    pub uc_flags: u64,
    /// Unused, 0.
    pub uc_link: u64,
    /// The thread's sigaltstack at delivery (re-applied by `rt_sigreturn`).
    pub uc_stack: StackT,
    /// The interrupted registers.
    pub uc_mcontext: Sigcontext,
    /// The mask `rt_sigreturn` restores.
    pub uc_sigmask: SigSet,
}

static_assertions::const_assert_eq!(offset_of!(Ucontext, uc_stack), 16);
static_assertions::const_assert_eq!(offset_of!(Ucontext, uc_mcontext), 40);
static_assertions::const_assert_eq!(offset_of!(Ucontext, uc_sigmask), 296);
static_assertions::const_assert_eq!(size_of::<Ucontext>(), 304);

/// The 64-bit `struct rt_sigframe`; the handler's `rsp` points at `pretcode`.
#[derive(Copy, Clone, Debug)]
#[repr(C)]
pub struct RtSigframe {
    /// The handler's return address: the action's `sa_restorer`.
    pub pretcode: u64,
    /// The context (`rdx` at handler entry points here).
    pub uc: Ucontext,
    /// The siginfo (`rsi` at handler entry points here).
    pub info: SigInfo,
}

static_assertions::const_assert_eq!(offset_of!(RtSigframe, uc), 8);
static_assertions::const_assert_eq!(offset_of!(RtSigframe, info), 312);
static_assertions::const_assert_eq!(size_of::<RtSigframe>(), 440);

/// `struct _fpx_sw_bytes`: the software-reserved bytes of the FXSAVE image.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct FpxSwBytes {
    /// [`FP_XSTATE_MAGIC1`].
    pub magic1: u32,
    /// The whole FP area including `FP_XSTATE_MAGIC2` (`xstate_size + 4`).
    pub extended_size: u32,
    /// The XSAVE feature bits present in the area.
    pub xfeatures: u64,
    /// The XSAVE data size (`FP_XSTATE_MAGIC2` sits at this offset).
    pub xstate_size: u32,
    /// Zero.
    pub padding: [u32; 7],
}

static_assertions::const_assert_eq!(size_of::<FpxSwBytes>(), 48);
static_assertions::const_assert_eq!(SW_BYTES_OFFSET + size_of::<FpxSwBytes>(), FXSAVE_SIZE);

/// Where a frame goes: addresses Linux's `get_sigframe` computes.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct FrameLayout {
    /// The handler's `rsp` and the frame's address (`&pretcode`); ≡ 8 mod 16.
    pub frame: usize,
    /// `&frame.uc` (`rdx`).
    pub ucontext: usize,
    /// `&frame.info` (`rsi`).
    pub siginfo: usize,
    /// The FP (XSAVE) area; 64-aligned; `uc_mcontext.fpstate`.
    pub fpstate: usize,
    /// Bytes of the FP area including the trailing magic (`xstate_sigframe_size`).
    pub fpstate_size: usize,
}

impl FrameLayout {
    /// The frame for a thread interrupted with stack pointer `sp`, not switching stacks:
    /// below the red zone. `None` if the arithmetic would wrap (a garbage `rsp`; Linux then
    /// fails to write the frame and forces `SIGSEGV`).
    pub const fn on_current_stack(sp: usize, xstate_sigframe_size: usize) -> Option<FrameLayout> {
        match sp.checked_sub(RED_ZONE) {
            Some(top) => FrameLayout::below(top, xstate_sigframe_size),
            None => None,
        }
    }

    /// The frame when switching to an alternate stack `[ss_sp, ss_sp + ss_size)`. `None` if the
    /// frame does not fit in it (Linux: "would overflow the altstack", forced `SIGSEGV`).
    pub const fn on_altstack(
        ss_sp: usize,
        ss_size: usize,
        xstate_sigframe_size: usize,
    ) -> Option<FrameLayout> {
        let Some(top) = ss_sp.checked_add(ss_size) else {
            return None;
        };
        match FrameLayout::below(top, xstate_sigframe_size) {
            Some(l) if l.frame >= ss_sp => Some(l),
            _ => None,
        }
    }

    /// The frame below `top` (already past the red zone or at the altstack top).
    pub const fn below(top: usize, xstate_sigframe_size: usize) -> Option<FrameLayout> {
        let Some(fp) = top.checked_sub(xstate_sigframe_size) else {
            return None;
        };
        let fpstate = fp & !(FPSTATE_ALIGN - 1);
        // round_down(fpstate - sizeof(rt_sigframe), 16) - 8, without wrapping.
        let Some(f) = fpstate.checked_sub(size_of::<RtSigframe>()) else {
            return None;
        };
        let Some(frame) = (f & !15).checked_sub(8) else {
            return None;
        };
        Some(FrameLayout {
            frame,
            ucontext: frame + offset_of!(RtSigframe, uc),
            siginfo: frame + offset_of!(RtSigframe, info),
            fpstate,
            fpstate_size: xstate_sigframe_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement() {
        let l = FrameLayout::on_current_stack(0x7fff_0000_1000, 2700).unwrap();
        assert_eq!(l.frame % 16, 8);
        assert_eq!(l.fpstate % 64, 0);
        assert!(l.fpstate + 2700 <= 0x7fff_0000_1000 - 128);
        assert!(l.frame + size_of::<RtSigframe>() <= l.fpstate);
        assert!(l.fpstate - (l.frame + size_of::<RtSigframe>()) < 16 + 8);
        assert_eq!(l.siginfo - l.ucontext, 304);
        assert_eq!(FrameLayout::on_current_stack(100, 2700), None);
        for top in 0..2000 {
            if let Some(l) = FrameLayout::below(top, 4) {
                assert!(l.frame % 16 == 8 && l.fpstate + 4 <= top);
            }
        }
        assert_eq!(FrameLayout::below(usize::MAX, 0).unwrap().frame % 16, 8);
        assert_eq!(FrameLayout::on_altstack(0x10000, 2048, 2700), None);
        let a = FrameLayout::on_altstack(0x10000, 8192, 2700).unwrap();
        assert!(a.frame >= 0x10000 && a.fpstate + 2700 <= 0x12000);
    }
}
