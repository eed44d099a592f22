//! Building a signal frame: Linux's `x64_setup_rt_frame` over a machine context.
//!
//! A delivery point has the interrupted thread's registers as a [`Sigcontext`] (from the
//! syscall front door, or from the port for a thread interrupted in user code) and knows where
//! its FP state is ([`FpSource`]). [`setup_frame`] writes the `rt_sigframe` (see
//! [`crate::frame`] for the layout and placement) and turns the context into the handler's
//! entry state; after the last frame the dispatcher resumes that context through the port.
//! Several signals delivered at one point stack their frames: each new frame saves the previous
//! handler's entry, so the last one built runs first, as on Linux.

use crate::action::KSigaction;
use crate::frame::{
    FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2, FpxSwBytes, FrameLayout, MXCSR_DEFAULT, RtSigframe,
    SW_BYTES_OFFSET, StackT, UC_FLAGS, Ucontext,
};
use crate::mask::ThreadSignals;
use crate::siginfo::SigInfo;
use crate::sigset::SigSet;
use lintel_kernel::abi::Sigcontext;
use lintel_kernel::{Delivery, UserMemory};
use linux_raw_sys::general as g;

/// Where the interrupted context's FP state is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FpSource {
    /// In the calling thread's FP registers (a syscall front door: lintel's own code between
    /// the program and here changes no FP state the ABI preserves).
    Live,
    /// An XSAVE image at this address (a host frame, or an earlier lintel frame).
    At(usize),
    /// The initial FP state (a handler's entry).
    Fresh,
}

/// `EFLAGS` bits a handler starts with cleared: TF, DF, RF (Linux's `FIX_EFLAGS` handling in
/// `setup_rt_frame`: `regs->flags &= ~(X86_EFLAGS_DF|X86_EFLAGS_RF|X86_EFLAGS_TF)`).
const HANDLER_CLEARS: u64 = (1 << 8) | (1 << 10) | (1 << 16);

/// The frame could not be written (an unmapped or read-only stack, no `SA_RESTORER`): Linux
/// then forces `SIGSEGV` on the thread.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameFault;

/// Whether `sp` lies on the alternate stack `[ss_sp, ss_sp + ss_size]` (Linux's
/// `__on_sig_stack`).
fn within(sp: usize, alt: (usize, usize, i32)) -> bool {
    let (ss_sp, ss_size, _) = alt;
    sp > ss_sp && sp - ss_sp <= ss_size
}

/// Whether a thread whose stack pointer is `sp` counts as running on its alternate stack
/// (Linux's `on_sig_stack`: never with `SS_AUTODISARM`, whose stack was disarmed on entry).
/// `alt` is `(ss_sp, ss_size, stored ss_flags)`.
pub fn on_altstack(sp: usize, alt: (usize, usize, i32)) -> bool {
    alt.2 & g::SS_AUTODISARM as i32 == 0 && within(sp, alt)
}

/// `ss_flags` as a `sigaltstack` query reports them (Linux: `sas_ss_flags(sp)` plus the stored
/// `SS_AUTODISARM`).
pub fn altstack_flags(sp: usize, alt: (usize, usize, i32)) -> i32 {
    let autodisarm = alt.2 & g::SS_AUTODISARM as i32;
    if alt.1 == 0 {
        g::SS_DISABLE as i32 | autodisarm
    } else if on_altstack(sp, alt) {
        g::SS_ONSTACK as i32 | autodisarm
    } else {
        autodisarm
    }
}

/// Writes the frame for `info` with action `act` below the context `ctx` (whose FP state is
/// `fp`), with `restore` as the mask `rt_sigreturn` will restore, and makes `ctx` the handler's
/// entry: `rip` the handler, `rsp` the frame, `rdi`/`rsi`/`rdx` its arguments, `rax` 0, a
/// fresh FP state, TF/DF/RF clear. Disarms an `SS_AUTODISARM` alternate stack it used.
///
/// # Safety
/// `ctx` is the calling thread's own interrupted context and `me` its signal words: the frame
/// is written to that thread's stack (or alternate stack) with the port's fault-tolerant
/// writes, and with [`FpSource::Live`] the port saves the caller's live FP registers there.
pub unsafe fn setup_frame<K: UserMemory + Delivery + ?Sized>(
    k: &K,
    me: ThreadSignals<'_>,
    ctx: &mut Sigcontext,
    fp: FpSource,
    info: &SigInfo,
    act: &KSigaction,
    restore: SigSet,
) -> Result<(), FrameFault> {
    if act.flags & u64::from(g::SA_RESTORER) == 0 {
        // x86_64 Linux has no vDSO restorer to fall back on: the frame "cannot be set up".
        return Err(FrameFault);
    }
    let sp = ctx.rsp as usize;
    let alt = me.altstack();
    let fp_size = k.fpstate_size();
    // Linux's get_sigframe: switch to the alternate stack when the action asks and the thread
    // is not on it; a frame that would leave the alternate stack it is on, or is entering,
    // is refused (SIGSEGV).
    let nested = on_altstack(sp, alt);
    let use_alt = act.flags & u64::from(g::SA_ONSTACK) != 0 && alt.1 != 0 && !nested;
    let layout = if use_alt {
        FrameLayout::below(alt.0.wrapping_add(alt.1), fp_size)
    } else {
        FrameLayout::on_current_stack(sp, fp_size)
    }
    .ok_or(FrameFault)?;
    if (nested || use_alt) && !within(layout.frame, alt) {
        return Err(FrameFault);
    }
    // uc_stack carries the settings as stored (Linux's __save_altstack), not a computed state.
    let uc_stack = StackT::new(alt.0, alt.2, alt.1);

    // 1. The FP area. The whole area is written through the fault-tolerant path first, which
    //    proves it writable before the port's XSAVE stores into it.
    write_fpstate(k, layout.fpstate, fp_size, fp)?;

    // 2. The frame proper.
    let mut mc = *ctx;
    mc.fpstate = layout.fpstate as u64;
    mc.oldmask = 0;
    let frame = RtSigframe {
        pretcode: act.restorer as u64,
        uc: Ucontext {
            uc_flags: UC_FLAGS,
            uc_link: 0,
            uc_stack,
            uc_mcontext: mc,
            uc_sigmask: restore,
        },
        info: *info,
    };
    // SAFETY: `RtSigframe` is `repr(C)` plain data without padding holes that matter (its
    // bytes are what Linux writes); viewing it as bytes for the copy is sound.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            (&frame as *const RtSigframe).cast::<u8>(),
            size_of::<RtSigframe>(),
        )
    };
    // SAFETY: the calling thread's own stack below its red zone (or its alternate stack),
    // which Linux would write the same frame to.
    unsafe { k.write(layout.frame, bytes) }.map_err(|_| FrameFault)?;

    // 3. The handler's entry state.
    ctx.rdi = u64::from(info.signo as u32);
    ctx.rsi = layout.siginfo as u64;
    ctx.rdx = layout.ucontext as u64;
    ctx.rax = 0;
    ctx.rip = act.handler as u64;
    ctx.rsp = layout.frame as u64;
    ctx.eflags &= !HANDLER_CLEARS;
    ctx.fpstate = 0;
    if use_alt && alt.2 & g::SS_AUTODISARM as i32 != 0 {
        me.set_altstack(0, 0, g::SS_DISABLE as i32);
    }
    Ok(())
}

/// Fills the FP area at `dst` (`size` bytes including the trailing magic).
fn write_fpstate<K: UserMemory + Delivery + ?Sized>(
    k: &K,
    dst: usize,
    size: usize,
    fp: FpSource,
) -> Result<(), FrameFault> {
    let xstate_size = size - 4;
    if let FpSource::Live = fp {
        // The port's XSAVE writes the state itself: the area only has to be proved writable
        // first (a zero word at its start, at every 4 KiB boundary inside it and at its end,
        // through the fault-tolerant path), and its XSAVE header cleared, as Linux's
        // copy_fpstate_to_sigframe clears it (bytes XSAVE leaves alone keep what the stack
        // held, on Linux too).
        let end = dst + size - 8;
        let mut at = dst;
        loop {
            // SAFETY: the frame's FP area on the calling thread's own stack.
            unsafe { k.write(at.min(end), &[0u8; 8]) }.map_err(|_| FrameFault)?;
            if at >= end {
                break;
            }
            at = ((at | 0xfff) + 1).min(end);
        }
        // SAFETY: as above (the header is inside the area).
        unsafe { k.write(dst + 512, &[0u8; 64]) }.map_err(|_| FrameFault)?;
        // SAFETY: `size` bytes at the 64-aligned `dst` are mapped writable (each page of them
        // was just written); the port saves the calling thread's own FP registers.
        unsafe { k.save_fpstate(dst) };
        return Ok(());
    }
    // Copy (or zero) in chunks through the fault-tolerant accessors.
    let mut buf = [0u8; 512];
    let mut off = 0;
    while off < size {
        let n = (size - off).min(buf.len());
        match fp {
            FpSource::At(src) => k.read(src + off, &mut buf[..n]).map_err(|_| FrameFault)?,
            _ => buf[..n].fill(0),
        }
        // SAFETY: the frame's FP area on the calling thread's own stack.
        unsafe { k.write(dst + off, &buf[..n]) }.map_err(|_| FrameFault)?;
        off += n;
    }
    match fp {
        FpSource::Live | FpSource::At(_) => {}
        FpSource::Fresh => {
            // The initial state: FCW 0x37f, MXCSR 0x1f80, an XSAVE header with no component
            // in use (XRSTOR then loads every component's initial state).
            let sw = FpxSwBytes {
                magic1: FP_XSTATE_MAGIC1,
                extended_size: size as u32,
                xfeatures: 0x3,
                xstate_size: xstate_size as u32,
                padding: [0; 7],
            };
            // SAFETY: plain data, viewed as its bytes.
            let sw_bytes = unsafe {
                core::slice::from_raw_parts(
                    (&sw as *const FpxSwBytes).cast::<u8>(),
                    size_of::<FpxSwBytes>(),
                )
            };
            // SAFETY: within the FP area written above.
            unsafe {
                k.write(dst, &0x037fu16.to_ne_bytes())
                    .and_then(|()| k.write(dst + 24, &MXCSR_DEFAULT.to_ne_bytes()))
                    .and_then(|()| k.write(dst + 28, &0xffffu32.to_ne_bytes()))
                    .and_then(|()| k.write(dst + SW_BYTES_OFFSET, sw_bytes))
                    .and_then(|()| k.write(dst + xstate_size, &FP_XSTATE_MAGIC2.to_ne_bytes()))
            }
            .map_err(|_| FrameFault)?;
        }
    }
    Ok(())
}
