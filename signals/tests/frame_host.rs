//! The frame layouts of `lintel_signals::frame` against the host: glibc's types (through the
//! `libc` crate) and a real frame the host kernel built for a signal this test sends to its own
//! thread.

use std::arch::global_asm;
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicU64, Ordering};

use lintel_signals::SigInfo;
use lintel_signals::frame::*;

#[test]
fn layouts_match_glibc() {
    assert_eq!(size_of::<libc::siginfo_t>(), size_of::<SigInfo>());
    assert_eq!(size_of::<libc::mcontext_t>(), size_of::<Sigcontext>());
    assert_eq!(size_of::<libc::stack_t>(), size_of::<StackT>());
    assert_eq!(
        offset_of!(libc::ucontext_t, uc_flags),
        offset_of!(Ucontext, uc_flags)
    );
    assert_eq!(
        offset_of!(libc::ucontext_t, uc_link),
        offset_of!(Ucontext, uc_link)
    );
    assert_eq!(
        offset_of!(libc::ucontext_t, uc_stack),
        offset_of!(Ucontext, uc_stack)
    );
    assert_eq!(
        offset_of!(libc::ucontext_t, uc_mcontext),
        offset_of!(Ucontext, uc_mcontext)
    );
    assert_eq!(
        offset_of!(libc::ucontext_t, uc_sigmask),
        offset_of!(Ucontext, uc_sigmask)
    );
    assert_eq!(
        offset_of!(libc::mcontext_t, fpregs),
        offset_of!(Sigcontext, fpstate)
    );
    for (glibc, ours) in [
        (libc::REG_R8, reg::R8),
        (libc::REG_RDI, reg::RDI),
        (libc::REG_RSI, reg::RSI),
        (libc::REG_RDX, reg::RDX),
        (libc::REG_RAX, reg::RAX),
        (libc::REG_RSP, reg::RSP),
        (libc::REG_RIP, reg::RIP),
        (libc::REG_EFL, reg::EFL),
        (libc::REG_CSGSFS, reg::CSGSFS),
        (libc::REG_ERR, reg::ERR),
        (libc::REG_TRAPNO, reg::TRAPNO),
        (libc::REG_OLDMASK, reg::OLDMASK),
        (libc::REG_CR2, reg::CR2),
    ] {
        assert_eq!(glibc as usize, ours);
    }
    // siginfo accessors against glibc's.
    let info = SigInfo::rt(lintel_signals::Signal::of(40), -1, 1234, 1000, 0x55);
    // SAFETY: both are 128 bytes of plain integers.
    let g: libc::siginfo_t = unsafe { std::mem::transmute(*info.as_bytes()) };
    // SAFETY: the rt layout is the one filled in.
    unsafe {
        assert_eq!(
            (g.si_signo, g.si_code, g.si_pid(), g.si_uid()),
            (40, -1, 1234, 1000)
        );
        assert_eq!(g.si_value().sival_ptr as usize, 0x55);
    }
    let f = SigInfo::fault(lintel_signals::Signal::of(11), 1, 0xdead0);
    // SAFETY: as above.
    let g: libc::siginfo_t = unsafe { std::mem::transmute(*f.as_bytes()) };
    // SAFETY: the fault layout is the one filled in.
    assert_eq!(unsafe { g.si_addr() } as usize, 0xdead0);
}

static ENTRY_RSP: AtomicU64 = AtomicU64::new(0);
static INFO: AtomicU64 = AtomicU64::new(0);
static UC: AtomicU64 = AtomicU64::new(0);
static MXCSR_IN_HANDLER: AtomicU64 = AtomicU64::new(0);
/// Copy of the frame's ucontext and FP header, taken in the handler.
// SAFETY: `Ucontext` is plain integers: all-zero is a valid value.
static mut SEEN_UC: Ucontext = unsafe { std::mem::zeroed() };
static mut SEEN_FX: [u8; FXSAVE_SIZE] = [0; FXSAVE_SIZE];
static MAGIC2: AtomicU64 = AtomicU64::new(0);

// The handler's first instruction records `rsp` at entry, then tail-calls the Rust part.
global_asm!(
    ".globl lintel_signals_test_entry",
    "lintel_signals_test_entry:",
    "mov [rip + {rsp}], rsp",
    "jmp {handler}",
    rsp = sym ENTRY_RSP,
    handler = sym handler,
);

unsafe extern "C" {
    fn lintel_signals_test_entry(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void);
}

extern "C" fn handler(_sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    INFO.store(info as u64, Ordering::Relaxed);
    UC.store(uc as u64, Ordering::Relaxed);
    let mut mxcsr: u32 = 0;
    // SAFETY: stmxcsr stores 4 bytes to the given local.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut mxcsr, options(nostack)) };
    MXCSR_IN_HANDLER.store(mxcsr as u64, Ordering::Relaxed);
    // SAFETY: `uc` is the kernel's ucontext, at least `Ucontext`-sized; its fpstate pointer is
    // the XSAVE area the kernel wrote, `FXSAVE_SIZE` bytes and more, with MAGIC2 at
    // `xstate_size`. Only this handler writes the statics, and the test reads them after the
    // signal returned.
    unsafe {
        let u = *(uc as *const Ucontext);
        SEEN_UC = u;
        let fx = u.uc_mcontext.fpstate as *const u8;
        SEEN_FX = *(fx as *const [u8; FXSAVE_SIZE]);
        let sw = *(fx.add(SW_BYTES_OFFSET) as *const FpxSwBytes);
        let m2 = (fx.add(sw.xstate_size as usize) as *const u32).read_unaligned();
        MAGIC2.store(m2 as u64, Ordering::Relaxed);
    }
}

#[test]
fn real_frame_matches_layout() {
    // SAFETY: installs a handler for SIGUSR2, which no other test of this binary uses, and the
    // signal goes only to this test's own thread.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = lintel_signals_test_entry as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        assert_eq!(libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut()), 0);
        let mut kact = [0u64; 4];
        let r = libc::syscall(
            libc::SYS_rt_sigaction,
            libc::SIGUSR2,
            0usize,
            kact.as_mut_ptr(),
            8usize,
        );
        assert_eq!(r, 0);
        let restorer = kact[2];

        // Interrupted context: MXCSR with flush-to-zero, to see the handler get a fresh one.
        let mut saved: u32 = 0;
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut saved, options(nostack));
        let ftz: u32 = saved | 0x8000;
        std::arch::asm!("ldmxcsr [{}]", in(reg) &ftz, options(nostack));
        let r = libc::syscall(
            libc::SYS_tgkill,
            libc::getpid(),
            libc::gettid(),
            libc::SIGUSR2,
        );
        std::arch::asm!("ldmxcsr [{}]", in(reg) &saved, options(nostack));
        assert_eq!(r, 0);

        let entry = ENTRY_RSP.load(Ordering::Relaxed) as usize;
        let uc = SEEN_UC;
        let fx = SEEN_FX;
        let sw = *(fx.as_ptr().add(SW_BYTES_OFFSET) as *const FpxSwBytes);
        let layout =
            FrameLayout::on_current_stack(uc.uc_mcontext.rsp as usize, sw.extended_size as usize)
                .unwrap();
        assert_eq!(entry % 16, 8, "rsp at entry is 8 mod 16");
        assert_eq!(layout.frame, entry);
        assert_eq!(layout.ucontext, UC.load(Ordering::Relaxed) as usize);
        assert_eq!(layout.siginfo, INFO.load(Ordering::Relaxed) as usize);
        assert_eq!(layout.fpstate, uc.uc_mcontext.fpstate as usize);
        assert_eq!(*(entry as *const u64), restorer, "pretcode is sa_restorer");
        assert_eq!(uc.uc_flags, UC_FLAGS);
        assert_eq!(uc.uc_link, 0);
        assert_eq!(sw.magic1, FP_XSTATE_MAGIC1);
        assert_eq!(
            sw.extended_size as usize,
            sw.xstate_size as usize + FP_XSTATE_MAGIC2_SIZE
        );
        assert_eq!(MAGIC2.load(Ordering::Relaxed) as u32, FP_XSTATE_MAGIC2);
        assert_eq!(
            MXCSR_IN_HANDLER.load(Ordering::Relaxed) as u32,
            MXCSR_DEFAULT
        );
        let saved_mxcsr = u32::from_ne_bytes(fx[24..28].try_into().unwrap());
        assert_eq!(saved_mxcsr, ftz, "the interrupted MXCSR is in the frame");
        assert_eq!(uc.uc_mcontext.oldmask, 0);
        // The frame, FP area included, sits in the 128 bytes-plus-alignment below the red zone.
        assert!(layout.fpstate + layout.fpstate_size <= uc.uc_mcontext.rsp as usize - RED_ZONE);
        eprintln!(
            "frame: {} bytes from interrupted rsp to handler rsp (xstate {} bytes)",
            uc.uc_mcontext.rsp as usize - entry,
            sw.xstate_size
        );
        libc::signal(libc::SIGUSR2, libc::SIG_DFL);
    }
}
