//! `FUTEX_WAKE_OP`'s encoded operation: decode, apply, compare.
//!
//! The 32-bit `val3` packs `op:4 | cmp:4 | oparg:12 | cmparg:12` (futex(2)); Linux's
//! `futex_atomic_op_inuser` is the oracle for the corner cases:
//! - `oparg` and `cmparg` are sign-extended 12-bit fields;
//! - with `FUTEX_OP_OPARG_SHIFT`, an `oparg` outside `0..=31` is masked with `& 31` (Linux
//!   prints a warning and carries on), then `oparg = 1 << oparg`;
//! - an unknown op is `ENOSYS` *before* anything is written;
//! - an unknown comparison is `ENOSYS` *after* the op was applied to `*uaddr2`.

use lintel_kernel::abi::linux;
use lintel_kernel::{Errno, UserMemory};

/// `FUTEX_OP_OPARG_SHIFT`: the op's argument is a shift count.
const FUTEX_OP_OPARG_SHIFT: u32 = linux::FUTEX_OP_OPARG_SHIFT;

/// The arithmetic part of an encoded op.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `FUTEX_OP_SET`: `*uaddr2 = oparg`
    Set,
    /// `FUTEX_OP_ADD`: `*uaddr2 += oparg`
    Add,
    /// `FUTEX_OP_OR`: `*uaddr2 |= oparg`
    Or,
    /// `FUTEX_OP_ANDN`: `*uaddr2 &= !oparg`
    AndN,
    /// `FUTEX_OP_XOR`: `*uaddr2 ^= oparg`
    Xor,
}

/// A decoded `FUTEX_WAKE_OP` operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WakeOp {
    /// What to do to `*uaddr2`.
    pub op: Op,
    /// The operand (after `FUTEX_OP_OPARG_SHIFT` was applied).
    pub oparg: i32,
    /// The raw comparison code (0..=5 valid).
    pub cmp: u32,
    /// The comparison's right-hand side.
    pub cmparg: i32,
}

fn sign_extend_12(v: u32) -> i32 {
    ((v << 20) as i32) >> 20
}

impl WakeOp {
    /// Decodes `val3`. `ENOSYS` for an unknown op.
    pub fn decode(encoded: u32) -> Result<WakeOp, Errno> {
        let op = (encoded >> 28) & 7;
        let cmp = (encoded >> 24) & 15;
        let mut oparg = sign_extend_12((encoded >> 12) & 0xfff);
        let cmparg = sign_extend_12(encoded & 0xfff);
        if encoded & (FUTEX_OP_OPARG_SHIFT << 28) != 0 {
            oparg = 1i32.wrapping_shl((oparg & 31) as u32);
        }
        let op = match op {
            linux::FUTEX_OP_SET => Op::Set,
            linux::FUTEX_OP_ADD => Op::Add,
            linux::FUTEX_OP_OR => Op::Or,
            linux::FUTEX_OP_ANDN => Op::AndN,
            linux::FUTEX_OP_XOR => Op::Xor,
            _ => return Err(Errno::ENOSYS),
        };
        Ok(WakeOp {
            op,
            oparg,
            cmp,
            cmparg,
        })
    }

    /// The new value of the word for old value `old`.
    pub fn apply(&self, old: u32) -> u32 {
        let arg = self.oparg as u32;
        match self.op {
            Op::Set => arg,
            Op::Add => old.wrapping_add(arg),
            Op::Or => old | arg,
            Op::AndN => old & !arg,
            Op::Xor => old ^ arg,
        }
    }

    /// Compares the old value (signed, as Linux's `int oldval`). `ENOSYS` for an unknown
    /// comparison.
    pub fn compare(&self, old: u32) -> Result<bool, Errno> {
        let old = old as i32;
        let arg = self.cmparg;
        Ok(match self.cmp {
            linux::FUTEX_OP_CMP_EQ => old == arg,
            linux::FUTEX_OP_CMP_NE => old != arg,
            linux::FUTEX_OP_CMP_LT => old < arg,
            linux::FUTEX_OP_CMP_LE => old <= arg,
            linux::FUTEX_OP_CMP_GT => old > arg,
            linux::FUTEX_OP_CMP_GE => old >= arg,
            _ => return Err(Errno::ENOSYS),
        })
    }

    /// Applies the op atomically to the user word at `addr`; returns the old value.
    ///
    /// # Safety
    /// As [`UserMemory::cmpxchg_u32`]: the program handed `addr` to lintel to modify.
    pub(crate) unsafe fn apply_user<M: UserMemory + ?Sized>(
        &self,
        mem: &M,
        addr: usize,
    ) -> Result<u32, Errno> {
        let mut old = mem.load_u32(addr)?;
        loop {
            // SAFETY: the caller's contract.
            let seen = unsafe { mem.cmpxchg_u32(addr, old, self.apply(old)) }?;
            if seen == old {
                return Ok(old);
            }
            old = seen;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn enc(op: u32, cmp: u32, oparg: u32, cmparg: u32) -> u32 {
        (op << 28) | (cmp << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff)
    }

    #[test]
    fn decodes_fields_with_sign_extension() {
        let w = WakeOp::decode(enc(1, 4, 0xfff, 0x800)).unwrap();
        assert_eq!(w.op, Op::Add);
        assert_eq!(w.oparg, -1);
        assert_eq!(w.cmp, 4);
        assert_eq!(w.cmparg, -2048);
    }

    #[test]
    fn oparg_shift_masks_like_linux() {
        let shift = FUTEX_OP_OPARG_SHIFT;
        // shift 3 -> 8
        assert_eq!(WakeOp::decode(enc(shift, 0, 3, 0)).unwrap().oparg, 8);
        // shift 33 -> 33 & 31 = 1 -> 2
        assert_eq!(WakeOp::decode(enc(shift, 0, 33, 0)).unwrap().oparg, 2);
        // shift -1 (0xfff) -> 31 -> i32::MIN
        assert_eq!(
            WakeOp::decode(enc(shift, 0, 0xfff, 0)).unwrap().oparg,
            i32::MIN
        );
    }

    #[test]
    fn unknown_op_and_cmp_are_enosys() {
        assert_eq!(WakeOp::decode(enc(5, 0, 0, 0)), Err(Errno::ENOSYS));
        assert_eq!(WakeOp::decode(enc(7, 0, 0, 0)), Err(Errno::ENOSYS));
        let w = WakeOp::decode(enc(0, 6, 0, 0)).unwrap();
        assert_eq!(w.compare(0), Err(Errno::ENOSYS));
    }

    #[test]
    fn ops_and_comparisons() {
        let w = |op, cmp, oparg, cmparg| WakeOp::decode(enc(op, cmp, oparg, cmparg)).unwrap();
        assert_eq!(w(0, 0, 7, 0).apply(3), 7);
        assert_eq!(w(1, 0, 7, 0).apply(3), 10);
        assert_eq!(w(2, 0, 4, 0).apply(3), 7);
        assert_eq!(w(3, 0, 1, 0).apply(3), 2);
        assert_eq!(w(4, 0, 1, 0).apply(3), 2);
        assert_eq!(w(0, 0, 0, 5).compare(5), Ok(true));
        assert_eq!(w(0, 1, 0, 5).compare(5), Ok(false));
        assert_eq!(w(0, 2, 0, 5).compare(4), Ok(true));
        assert_eq!(w(0, 3, 0, 5).compare(5), Ok(true));
        assert_eq!(w(0, 4, 0, 5).compare(5), Ok(false));
        assert_eq!(w(0, 5, 0, 5).compare(5), Ok(true));
        // Signed comparison: 0xffffffff is -1 < 0.
        assert_eq!(w(0, 2, 0, 0).compare(u32::MAX), Ok(true));
    }
}
