//! Static TLS: where one thread's TLS block and thread descriptor go, from `PT_TLS`.
//!
//! A static executable has one TLS module: the `PT_TLS` program header describes its
//! *initialisation image* ([`TlsImage`]): `p_filesz` bytes of `.tdata` to copy, followed by
//! `p_memsz - p_filesz` bytes of `.tbss` to zero, aligned to `p_align`. Every thread gets its own
//! copy (the *TLS block*) at a fixed distance from its thread pointer, because the linker has
//! already baked that distance into the program's local-exec accesses (`mov %fs:-off, …`). The
//! architecture's TLS ABI says which side of the thread pointer the block is on ([`Variant`]);
//! the C library (musl's `struct pthread`, 200 bytes on x86_64) or any other runtime puts its
//! thread descriptor ([`TcbSpec`]) on the other side. [`StaticTls`] lays out one thread's area,
//! block plus descriptor, and initialises the block.
//!
//! ```text
//! Variant II (x86_64): the TLS block below the thread pointer, the descriptor at it.
//!
//!   area                                      tp = area + tp_offset          area + size
//!   | pad |       TLS block (memsz)     | pad |  descriptor (tcb.size)  | pad |
//!         ^ tp - off                          ^ %fs:0 must hold tp itself (x86_64 psABI;
//!                                               musl's `self`, the first word of struct pthread)
//!         off = memsz + ((-(addr + memsz)) mod align)      block ≡ addr (mod align)
//!
//! Variant I (aarch64, riscv64): the descriptor below the thread pointer, the block above it.
//!
//!   area                         tp = area + tp_offset                                area + size
//!   | pad | descriptor (tcb.size) | gap | pad |       TLS block (memsz)       | pad |
//!                                 ^ TPIDR_EL0 / tp      ^ tp + off
//!         gap: aarch64 16 (the ABI's 2-word TCB), riscv64 0 (tp at the block start)
//!         off = gap + ((addr - gap) mod align)                block ≡ addr (mod align)
//! ```
//!
//! The block is congruent to the image's address modulo its alignment, exactly as musl
//! (`src/env/__init_tls.c:114-122` in 1.2.3) and LLD (`getTlsTpOffset` in
//! `lld/ELF/InputSection.cpp`) compute it; with an aligned `p_vaddr` (what linkers emit) `off`
//! is just `memsz` rounded up to `align` (Variant II) or `gap` rounded up to `align`
//! (Variant I). musl uses the image's run-time address for the congruence; ELF loaders choose
//! load biases that are multiples of the segments' alignment, so it is the same as `p_vaddr`'s.
//!
//! Per-architecture choice, from musl 1.2.3 `arch/*/pthread_arch.h` and
//! `src/internal/pthread_impl.h:109-122`:
//! - x86_64: no `TLS_ABOVE_TP` → Variant II; `TP_ADJ(p) = p`, the thread pointer is the
//!   descriptor's address.
//! - aarch64: `TLS_ABOVE_TP`, `GAP_ABOVE_TP 16` → Variant I with a 16-byte gap;
//!   `TP_ADJ(p) = p + sizeof(struct pthread)`.
//! - riscv64: `TLS_ABOVE_TP`, `GAP_ABOVE_TP 0` → Variant I, the block starts at `tp`
//!   (`DTP_OFFSET 0x800` concerns only the dynamic `__tls_get_addr` path, which a static
//!   executable does not take).
//!
//! Everything here is checked arithmetic: a header that is malformed (alignment not a power of
//! two, `filesz > memsz`) gives `EINVAL`, one whose sizes cannot fit in the address space gives
//! `ENOMEM`; nothing panics or wraps.
//!
//! # References
//! - Ulrich Drepper, *ELF Handling For Thread-Local Storage*, §3.4 (variants I and II).
//! - System V ABI AMD64 supplement §3.4.6 (`%fs:0` points to itself); AArch64 ELF ABI
//!   (`TPIDR_EL0` points at a 16-byte TCB); RISC-V ELF psABI (`tp` points at the TLS block).
//! - musl 1.2.3 `src/env/__init_tls.c` (`static_init_tls`, `__copy_tls`).
#![forbid(unsafe_code)]

use lintel_kernel::Errno;
use linux_raw_sys::elf_uapi::{Elf64_Phdr, PT_TLS};

/// The largest size or offset lintel will lay out: every object must fit in `isize`.
const MAX: usize = isize::MAX as usize;

/// The initialisation image of the program's TLS, as its `PT_TLS` header describes it.
///
/// Invariants (checked by [`TlsImage::new`], relied on by everything else): `align` is a power
/// of two, at least 1 and at most 2^62; `filesz <= memsz <= isize::MAX`; `addr + filesz` does
/// not overflow (the image can be read).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TlsImage {
    addr: usize,
    filesz: usize,
    memsz: usize,
    align: usize,
}

impl TlsImage {
    /// A program without `PT_TLS`: no block, only the descriptor.
    pub const EMPTY: TlsImage = TlsImage {
        addr: 0,
        filesz: 0,
        memsz: 0,
        align: 1,
    };

    /// The image at run-time address `addr` (load bias + `p_vaddr`) with `filesz` bytes to copy,
    /// `memsz` bytes in all, aligned to `align` (0 means 1, as in ELF).
    ///
    /// `EINVAL` if `align` is not a power of two, `filesz > memsz`, or the image would wrap
    /// around the address space; `ENOMEM` if `memsz` or `align` cannot fit in `isize`.
    pub fn new(addr: usize, filesz: usize, memsz: usize, align: usize) -> Result<TlsImage, Errno> {
        let align = align.max(1);
        if !align.is_power_of_two() || filesz > memsz || addr.checked_add(filesz).is_none() {
            return Err(Errno::EINVAL);
        }
        if memsz > MAX || align > MAX / 2 + 1 {
            return Err(Errno::ENOMEM);
        }
        Ok(TlsImage {
            addr,
            filesz,
            memsz,
            align,
        })
    }

    /// The image a `PT_TLS` program header describes, for a program loaded at `load_bias`
    /// (0 for a static non-PIE executable; `AT_PHDR - PT_PHDR.p_vaddr` in general, as musl's
    /// `static_init_tls` computes it).
    ///
    /// `EINVAL` if `phdr` is not `PT_TLS` or is malformed (see [`TlsImage::new`]).
    pub fn from_phdr(phdr: &Elf64_Phdr, load_bias: usize) -> Result<TlsImage, Errno> {
        if phdr.p_type != PT_TLS {
            return Err(Errno::EINVAL);
        }
        let word = |v: u64| usize::try_from(v).map_err(|_| Errno::ENOMEM);
        let addr = load_bias
            .checked_add(word(phdr.p_vaddr)?)
            .ok_or(Errno::EINVAL)?;
        TlsImage::new(
            addr,
            word(phdr.p_filesz)?,
            word(phdr.p_memsz)?,
            word(phdr.p_align)?,
        )
    }

    /// Where the image is (run-time address).
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// Bytes to copy from the image (`.tdata`).
    pub fn filesz(&self) -> usize {
        self.filesz
    }

    /// Bytes of the block (`.tdata` + `.tbss`).
    pub fn memsz(&self) -> usize {
        self.memsz
    }

    /// The block's alignment (a power of two, at least 1).
    pub fn align(&self) -> usize {
        self.align
    }

    /// `-x mod align` as the distance to add to `x` to reach the next multiple.
    fn pad(&self, x: usize) -> usize {
        x.wrapping_neg() & (self.align - 1)
    }
}

/// Which side of the thread pointer the TLS block is on (Drepper's TLS variants).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Variant I (TLS above the thread pointer): `gap` bytes reserved just above it (the ABI's
    /// TCB), then the block; the C library's descriptor sits below it.
    I {
        /// Bytes between the thread pointer and the earliest possible block start.
        gap: usize,
    },
    /// Variant II (TLS below the thread pointer): the block ends at or below it; the descriptor
    /// starts at it.
    II,
}

impl Variant {
    /// x86_64: Variant II (musl `arch/x86_64/pthread_arch.h` defines no `TLS_ABOVE_TP`).
    pub const X86_64: Variant = Variant::II;
    /// aarch64: Variant I with a 16-byte gap (musl `arch/aarch64/pthread_arch.h`:
    /// `TLS_ABOVE_TP`, `GAP_ABOVE_TP 16`).
    pub const AARCH64: Variant = Variant::I { gap: 16 };
    /// riscv64: Variant I with no gap, the block starts at `tp` (musl
    /// `arch/riscv64/pthread_arch.h`: `TLS_ABOVE_TP`, `GAP_ABOVE_TP 0`).
    pub const RISCV64: Variant = Variant::I { gap: 0 };

    /// The variant of the architecture this crate is built for.
    #[cfg(target_arch = "x86_64")]
    pub const NATIVE: Variant = Variant::X86_64;
    /// The variant of the architecture this crate is built for.
    #[cfg(target_arch = "aarch64")]
    pub const NATIVE: Variant = Variant::AARCH64;
    /// The variant of the architecture this crate is built for.
    #[cfg(target_arch = "riscv64")]
    pub const NATIVE: Variant = Variant::RISCV64;
}

/// The thread descriptor the runtime keeps next to the block (musl: `struct pthread`, 200 bytes
/// aligned to 8 on x86_64). `size` must be a multiple of `align`, as every Rust or C type's
/// size is; `align` a power of two.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TcbSpec {
    /// Bytes of the descriptor.
    pub size: usize,
    /// Its alignment.
    pub align: usize,
}

/// Variant II: how far below the thread pointer the block starts (`off` in the module
/// diagram): `memsz` plus the padding that makes `tp - off ≡ addr (mod align)` for an aligned
/// `tp`. musl: `main_tls.size += (-main_tls.size - (uintptr_t)main_tls.image) & (align-1)`.
fn offset_below(image: &TlsImage) -> Result<usize, Errno> {
    let pad = image.pad(image.addr.wrapping_add(image.memsz));
    image
        .memsz
        .checked_add(pad)
        .filter(|&off| off <= MAX)
        .ok_or(Errno::ENOMEM)
}

/// Variant I: how far above the thread pointer the block starts: at least `gap`, congruent to
/// `addr`. musl: `main_tls.offset = GAP_ABOVE_TP + ((-GAP_ABOVE_TP + image) & (align-1))`.
fn offset_above(gap: usize, image: &TlsImage) -> Result<usize, Errno> {
    let pad = image.addr.wrapping_sub(gap) & (image.align - 1);
    gap.checked_add(pad)
        .filter(|&off| off <= MAX)
        .ok_or(Errno::ENOMEM)
}

/// The offset of the TLS block's first byte from the thread pointer: negative for Variant II,
/// non-negative for Variant I. This is the distance the linker used for the program's
/// local-exec accesses (`TPOFF` of the module's first byte).
pub fn tls_offset(variant: Variant, image: &TlsImage) -> Result<isize, Errno> {
    // Both offsets are at most `MAX`, so they fit in `isize`.
    match variant {
        Variant::II => offset_below(image).map(|off| -(off as isize)),
        Variant::I { gap } => offset_above(gap, image).map(|off| off as isize),
    }
}

/// Rounds `x` up to the power of two `align`; `None` on overflow.
fn align_up(x: usize, align: usize) -> Option<usize> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

/// One thread's static TLS area: the TLS block and the thread descriptor, at offsets from the
/// area's start (see the module diagram).
///
/// Invariants: `align` is a power of two, at least the image's and the descriptor's alignment;
/// `size` is a multiple of `align` and at most `isize::MAX`; `tp_offset` is a multiple of
/// `align`; the block `[block_offset, block_offset + memsz)` and the descriptor
/// `[tcb_offset, tcb_offset + tcb.size)` lie inside `[0, size)` and do not overlap; in an area
/// whose start is aligned to `align`, the block's address is congruent to the image's address
/// modulo the image's alignment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StaticTls {
    variant: Variant,
    image: TlsImage,
    tcb: TcbSpec,
    size: usize,
    align: usize,
    tp: usize,
    block: usize,
    tcb_at: usize,
}

impl StaticTls {
    /// Lays out one thread's area for `image` under `variant`, with a descriptor `tcb`.
    ///
    /// `EINVAL` if `tcb.align` is not a power of two or `tcb.size` not a multiple of it;
    /// `ENOMEM` if the area would not fit in `isize`.
    pub fn new(variant: Variant, image: &TlsImage, tcb: TcbSpec) -> Result<StaticTls, Errno> {
        if !tcb.align.is_power_of_two() || tcb.size % tcb.align != 0 {
            return Err(Errno::EINVAL);
        }
        let align = image.align.max(tcb.align);
        let oom = Errno::ENOMEM;
        let (tp, block, tcb_at, end) = match variant {
            // Variant II (TLS below the thread pointer): block, then tp = descriptor.
            Variant::II => {
                let off = offset_below(image)?;
                let tp = align_up(off, align).ok_or(oom)?;
                (tp, tp - off, tp, tp.checked_add(tcb.size).ok_or(oom)?)
            }
            // Variant I (TLS above the thread pointer): descriptor, tp, gap, block.
            Variant::I { gap } => {
                let tp = align_up(tcb.size, align).ok_or(oom)?;
                let block = tp.checked_add(offset_above(gap, image)?).ok_or(oom)?;
                let end = block.checked_add(image.memsz).ok_or(oom)?;
                (tp, block, tp - tcb.size, end)
            }
        };
        let size = align_up(end, align).filter(|&s| s <= MAX).ok_or(oom)?;
        Ok(StaticTls {
            variant,
            image: *image,
            tcb,
            size,
            align,
            tp,
            block,
            tcb_at,
        })
    }

    /// The variant it was laid out for.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The image it was laid out for.
    pub fn image(&self) -> &TlsImage {
        &self.image
    }

    /// The descriptor it was laid out for.
    pub fn tcb(&self) -> TcbSpec {
        self.tcb
    }

    /// Bytes of one thread's area (a multiple of [`align`](StaticTls::align)).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The alignment the area's start must have.
    pub fn align(&self) -> usize {
        self.align
    }

    /// Where the thread pointer points, from the area's start.
    pub fn tp_offset(&self) -> usize {
        self.tp
    }

    /// Where the TLS block starts, from the area's start.
    pub fn block_offset(&self) -> usize {
        self.block
    }

    /// Where the descriptor starts, from the area's start (equal to
    /// [`tp_offset`](StaticTls::tp_offset) in Variant II, just below it in Variant I).
    pub fn tcb_offset(&self) -> usize {
        self.tcb_at
    }

    /// The TLS block's offset from the thread pointer (as [`tls_offset`]).
    pub fn tls_offset(&self) -> isize {
        // Both offsets are at most `size <= isize::MAX`.
        self.block as isize - self.tp as isize
    }

    /// The thread pointer of an area starting at `base`. `EINVAL` if `base` is not aligned to
    /// [`align`](StaticTls::align); `ENOMEM` if the area would wrap around the address space.
    pub fn thread_pointer(&self, base: usize) -> Result<usize, Errno> {
        if base % self.align != 0 {
            return Err(Errno::EINVAL);
        }
        base.checked_add(self.size).ok_or(Errno::ENOMEM)?;
        Ok(base + self.tp)
    }

    /// Initialises the TLS block inside `area` (one thread's area, starting at its first
    /// byte): copies the `filesz` bytes of `image` (the initialisation image, read from
    /// [`TlsImage::addr`]) and zeroes the remaining `memsz - filesz` bytes, as musl's
    /// `__copy_tls` does (musl gets the zeroes from a fresh mapping). The descriptor and the
    /// padding are left as they are: the runtime owns the descriptor (on x86_64 its first word
    /// must be the thread pointer itself). Returns the area's thread pointer.
    ///
    /// `EINVAL` if `image.len() != filesz`, `area` is shorter than
    /// [`size`](StaticTls::size), or `area` does not start at a multiple of
    /// [`align`](StaticTls::align).
    pub fn init(&self, area: &mut [u8], image: &[u8]) -> Result<usize, Errno> {
        let base = area.as_ptr() as usize;
        if image.len() != self.image.filesz || area.len() < self.size || base % self.align != 0 {
            return Err(Errno::EINVAL);
        }
        let block = &mut area[self.block..self.block + self.image.memsz];
        let (data, bss) = block.split_at_mut(self.image.filesz);
        data.copy_from_slice(image);
        bss.fill(0);
        Ok(base + self.tp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(addr: usize, filesz: usize, memsz: usize, align: usize) -> TlsImage {
        TlsImage::new(addr, filesz, memsz, align).unwrap()
    }

    const MUSL_X86_64: TcbSpec = TcbSpec {
        size: 200,
        align: 8,
    };

    #[test]
    fn variant_ii_x86_64_by_hand() {
        // 12 bytes aligned to 8: the block is the 16 bytes below tp.
        let img = image(0x40_1000, 4, 12, 8);
        assert_eq!(tls_offset(Variant::X86_64, &img), Ok(-16));
        let l = StaticTls::new(Variant::X86_64, &img, MUSL_X86_64).unwrap();
        assert_eq!(
            (l.block_offset(), l.tp_offset(), l.tcb_offset()),
            (0, 16, 16)
        );
        assert_eq!((l.size(), l.align()), (216, 8));
        assert_eq!(l.tls_offset(), -16);
    }

    #[test]
    fn variant_ii_keeps_a_misaligned_image_congruent() {
        // The image sits 4 bytes past a 16-byte boundary: so must every copy of it.
        let img = image(0x1004, 8, 8, 16);
        assert_eq!(tls_offset(Variant::II, &img), Ok(-12));
        let l = StaticTls::new(Variant::II, &img, TcbSpec { size: 0, align: 1 }).unwrap();
        assert_eq!(l.block_offset() % 16, 4);
    }

    #[test]
    fn variant_i_aarch64_by_hand() {
        let img = image(0x41_0000, 4, 12, 8);
        assert_eq!(tls_offset(Variant::AARCH64, &img), Ok(16));
        let l = StaticTls::new(
            Variant::AARCH64,
            &img,
            TcbSpec {
                size: 200,
                align: 8,
            },
        )
        .unwrap();
        assert_eq!(
            (l.tcb_offset(), l.tp_offset(), l.block_offset()),
            (0, 200, 216)
        );
        assert_eq!(l.size(), 232);
        // A 64-byte-aligned block starts at align_up(16, 64) = 64 above tp (AArch64 psABI).
        let img = image(0x41_0000, 0, 64, 64);
        assert_eq!(tls_offset(Variant::AARCH64, &img), Ok(64));
        let l = StaticTls::new(
            Variant::AARCH64,
            &img,
            TcbSpec {
                size: 200,
                align: 8,
            },
        )
        .unwrap();
        assert_eq!(
            (l.tp_offset(), l.tcb_offset(), l.block_offset()),
            (256, 56, 320)
        );
    }

    #[test]
    fn variant_i_riscv64_block_starts_at_tp() {
        let img = image(0x1_2000, 16, 40, 16);
        assert_eq!(tls_offset(Variant::RISCV64, &img), Ok(0));
        let l = StaticTls::new(
            Variant::RISCV64,
            &img,
            TcbSpec {
                size: 208,
                align: 8,
            },
        )
        .unwrap();
        assert_eq!(l.block_offset(), l.tp_offset());
    }

    #[test]
    fn no_tls_is_just_the_descriptor() {
        for v in [Variant::X86_64, Variant::AARCH64, Variant::RISCV64] {
            let l = StaticTls::new(v, &TlsImage::EMPTY, MUSL_X86_64).unwrap();
            assert!(l.size() >= 200, "{v:?}");
            assert!(l.tcb_offset() + 200 <= l.size(), "{v:?}");
        }
        let l = StaticTls::new(Variant::II, &TlsImage::EMPTY, MUSL_X86_64).unwrap();
        assert_eq!((l.size(), l.tp_offset()), (200, 0));
    }

    #[test]
    fn malformed_headers_are_einval() {
        assert_eq!(TlsImage::new(0, 0, 0, 3), Err(Errno::EINVAL));
        assert_eq!(TlsImage::new(0, 0, 0, 24), Err(Errno::EINVAL));
        assert_eq!(TlsImage::new(0, 9, 8, 8), Err(Errno::EINVAL));
        assert_eq!(TlsImage::new(usize::MAX, 2, 2, 1), Err(Errno::EINVAL));
        assert_eq!(TlsImage::new(0, 0, 0, 0).map(|i| i.align()), Ok(1));
        let img = image(0, 0, 8, 8);
        for tcb in [
            TcbSpec { size: 8, align: 0 },
            TcbSpec { size: 8, align: 3 },
            TcbSpec { size: 12, align: 8 },
        ] {
            assert_eq!(StaticTls::new(Variant::II, &img, tcb), Err(Errno::EINVAL));
        }
    }

    #[test]
    fn absurd_sizes_are_enomem_not_panics() {
        assert_eq!(TlsImage::new(0, 0, usize::MAX, 1), Err(Errno::ENOMEM));
        assert_eq!(TlsImage::new(0, 0, 0, 1 << 63), Err(Errno::ENOMEM));
        let tcb = TcbSpec { size: 8, align: 8 };
        let big = image(8, 0, MAX, 1 << 62);
        for v in [Variant::II, Variant::AARCH64, Variant::RISCV64] {
            assert_eq!(StaticTls::new(v, &big, tcb), Err(Errno::ENOMEM), "{v:?}");
        }
        assert_eq!(tls_offset(Variant::II, &big), Err(Errno::ENOMEM));
        let small = image(0, 0, 8, 8);
        let gap = Variant::I { gap: usize::MAX };
        assert_eq!(tls_offset(gap, &small), Err(Errno::ENOMEM));
        assert_eq!(StaticTls::new(gap, &small, tcb), Err(Errno::ENOMEM));
        let huge_tcb = TcbSpec {
            size: usize::MAX - 7,
            align: 8,
        };
        assert_eq!(
            StaticTls::new(Variant::II, &small, huge_tcb),
            Err(Errno::ENOMEM)
        );
        assert_eq!(
            StaticTls::new(Variant::AARCH64, &small, huge_tcb),
            Err(Errno::ENOMEM)
        );
        let l = StaticTls::new(Variant::II, &small, tcb).unwrap();
        assert_eq!(l.thread_pointer(usize::MAX - 7), Err(Errno::ENOMEM));
        assert_eq!(l.thread_pointer(4), Err(Errno::EINVAL));
        assert_eq!(l.thread_pointer(0x1000), Ok(0x1008));
    }

    #[test]
    fn from_phdr_reads_pt_tls_only() {
        let mut ph = Elf64_Phdr {
            p_type: PT_TLS,
            p_flags: 4,
            p_offset: 0x2000,
            p_vaddr: 0x3000,
            p_paddr: 0x3000,
            p_filesz: 0x10,
            p_memsz: 0x30,
            p_align: 0,
        };
        let img = TlsImage::from_phdr(&ph, 0x5555_0000_0000).unwrap();
        assert_eq!(img, image(0x5555_0000_3000, 0x10, 0x30, 1));
        ph.p_type = 1; // PT_LOAD
        assert_eq!(TlsImage::from_phdr(&ph, 0), Err(Errno::EINVAL));
        ph.p_type = PT_TLS;
        ph.p_vaddr = u64::MAX;
        assert_eq!(TlsImage::from_phdr(&ph, 1), Err(Errno::EINVAL));
        ph.p_vaddr = 0;
        ph.p_memsz = u64::MAX;
        assert_eq!(TlsImage::from_phdr(&ph, 0), Err(Errno::ENOMEM));
    }

    #[test]
    fn init_copies_filesz_and_zeroes_the_rest_and_nothing_else() {
        #[repr(C, align(64))]
        struct Area([u8; 256]);
        let mut area = Area([0xaa; 256]);
        let img = image(0x2000, 5, 20, 16);
        let tcb = TcbSpec {
            size: 64,
            align: 64,
        };
        for v in [Variant::X86_64, Variant::AARCH64, Variant::RISCV64] {
            area.0.fill(0xaa);
            let l = StaticTls::new(v, &img, tcb).unwrap();
            assert!(l.size() <= 256);
            let tp = l.init(&mut area.0, &[1, 2, 3, 4, 5]).unwrap();
            assert_eq!(tp, area.0.as_ptr() as usize + l.tp_offset());
            let b = l.block_offset();
            assert_eq!(&area.0[b..b + 5], &[1, 2, 3, 4, 5]);
            assert!(area.0[b + 5..b + 20].iter().all(|&x| x == 0));
            assert!(area.0[..b].iter().all(|&x| x == 0xaa), "{v:?}");
            assert!(area.0[b + 20..].iter().all(|&x| x == 0xaa), "{v:?}");
            // Wrong image length, short area, misaligned area.
            assert_eq!(l.init(&mut area.0, &[1, 2, 3, 4]), Err(Errno::EINVAL));
            assert_eq!(
                l.init(&mut area.0[..l.size() - 1], &[0; 5]),
                Err(Errno::EINVAL)
            );
            assert_eq!(l.init(&mut area.0[16..], &[0; 5]), Err(Errno::EINVAL));
        }
    }

    /// xorshift64*: a deterministic source for the property checks (no std, no dependency).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
        fn pow2(&mut self, max_log: u64) -> usize {
            1 << self.below(max_log + 1)
        }
    }

    /// What LLD bakes into local-exec code (`getTlsTpOffset`, `lld/ELF/InputSection.cpp`), the
    /// oracle for [`tls_offset`]: x86_64 `-(memsz + ((-vaddr - memsz) & (align-1)))`, aarch64
    /// `16 + ((vaddr - 16) & (align-1))`, riscv64 `vaddr & (align-1)`.
    fn lld(variant: Variant, img: &TlsImage) -> isize {
        let (a, m, v) = (img.align(), img.memsz(), img.addr());
        match variant {
            Variant::II => -((m + (v.wrapping_neg().wrapping_sub(m) & (a - 1))) as isize),
            Variant::I { gap } => (gap + (v.wrapping_sub(gap) & (a - 1))) as isize,
        }
    }

    /// Every layout of random images, descriptors and variants keeps the invariants of
    /// [`StaticTls`], agrees with the linker, and wastes less than three alignments.
    #[test]
    fn property_layouts_are_aligned_inside_and_linker_exact() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50_000 {
            let align = rng.pow2(13);
            let memsz = match rng.below(4) {
                0 => 0,
                1 => rng.below(64),
                _ => rng.below(1 << 20),
            };
            let filesz = rng.below(memsz as u64 + 1);
            // Mostly aligned images (what linkers emit), sometimes not.
            let addr = if rng.below(2) == 0 {
                rng.below(1 << 40) & !(align - 1)
            } else {
                rng.below(1 << 40)
            };
            let img = image(addr, filesz, memsz, align);
            let tcb_align = rng.pow2(7);
            let tcb = TcbSpec {
                size: tcb_align * rng.below(40),
                align: tcb_align,
            };
            let variant = match rng.below(4) {
                0 => Variant::II,
                1 => Variant::AARCH64,
                2 => Variant::RISCV64,
                _ => Variant::I {
                    gap: 8 * rng.below(8),
                },
            };
            let l = StaticTls::new(variant, &img, tcb).unwrap();
            let ctx = (variant, img, tcb);
            let big = l.align();
            assert!(big.is_power_of_two(), "{ctx:?}");
            assert!(big >= align && big >= tcb_align, "{ctx:?}");
            assert_eq!(l.size() % big, 0, "{ctx:?}");
            assert_eq!(l.tp_offset() % big, 0, "{ctx:?}");
            assert_eq!(l.tcb_offset() % tcb_align, 0, "{ctx:?}");
            // Inside the area.
            assert!(l.block_offset() + memsz <= l.size(), "{ctx:?}");
            assert!(l.tcb_offset() + tcb.size <= l.size(), "{ctx:?}");
            // Block and descriptor on their variant's sides of tp, not overlapping.
            match variant {
                Variant::II => {
                    assert!(l.block_offset() + memsz <= l.tp_offset(), "{ctx:?}");
                    assert_eq!(l.tcb_offset(), l.tp_offset(), "{ctx:?}");
                }
                Variant::I { gap } => {
                    assert_eq!(l.tcb_offset() + tcb.size, l.tp_offset(), "{ctx:?}");
                    assert!(l.block_offset() >= l.tp_offset() + gap, "{ctx:?}");
                }
            }
            // Congruent to the image in any aligned area.
            let base = rng.below(1 << 30) * big;
            let tp = l.thread_pointer(base).unwrap();
            let block = tp.wrapping_add_signed(l.tls_offset());
            assert_eq!(block, base + l.block_offset(), "{ctx:?}");
            assert_eq!(block % align, addr % align, "{ctx:?}");
            // What the linker assumed, and what the free function says.
            assert_eq!(l.tls_offset(), lld(variant, &img), "{ctx:?}");
            assert_eq!(tls_offset(variant, &img), Ok(l.tls_offset()), "{ctx:?}");
            // Tight: at most three alignments of padding in all.
            let gap = match variant {
                Variant::I { gap } => gap,
                Variant::II => 0,
            };
            assert!(l.size() < memsz + tcb.size + gap + 3 * big, "{ctx:?}");
        }
    }
}
