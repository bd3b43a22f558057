//! The guest's one address map, set up by the entry code before any Rust runs.
//!
//! Identity map (VA = IPA, so guest pointers handed to Xen are guest physical addresses) of
//! the low 4 GiB with 4 KiB granule, starting at level 1: four 1 GiB block entries.
//!
//! | VA range                  | what                              | attributes               |
//! |---------------------------|-----------------------------------|--------------------------|
//! | 0x0000_0000..0x4000_0000  | GIC, vPL011, other MMIO           | Device-nGnRnE, XN        |
//! | 0x4000_0000..0x8000_0000  | GUEST_RAM0 (image, stack, DTB)    | Normal WB, inner shareable |
//! | 0x8000_0000..0x1_0000_0000| unmapped                          | translation fault        |
//!
//! Normal memory is what makes load/store-exclusive (atomics) and unaligned accesses work.
//! Only the first part of the RAM block is backed by the domain's memory; touching the rest
//! takes a stage-2 fault from Xen (an external abort), which reports as ERROR like any other.

/// MAIR_EL1: attribute 0 = Device-nGnRnE, attribute 1 = Normal, inner/outer write-back
/// read/write-allocate.
pub const MAIR: u64 = 0xff << 8;

const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
const BLOCK: u64 = 0b01;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 0b11 << 8;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;

/// Level 1 block entry for 0..1 GiB: Device, never executable.
pub const L1_DEVICE: u64 = BLOCK | ATTR_DEVICE | AF | PXN | UXN;
/// Level 1 block entry for 1..2 GiB: Normal, executable (EL0 cannot run it: AP gives EL0 no
/// access anyway).
pub const L1_RAM: u64 = 0x4000_0000 | BLOCK | ATTR_NORMAL | AF | SH_INNER;

/// TCR_EL1: T0SZ = 32 (4 GiB of VA, walks start at level 1), TTBR0 walks Normal WB-WA inner
/// shareable, 4 KiB granule, TTBR1 walks disabled (EPD1), IPS = 32 bits.
pub const TCR: u64 = 32 | (0b01 << 8) | (0b01 << 10) | (0b11 << 12) | (1 << 23);

/// SCTLR_EL1 bits set by the entry code: M (MMU), C (data cache), I (instruction cache).
pub const SCTLR_SET: u64 = (1 << 0) | (1 << 2) | (1 << 12);
/// SCTLR_EL1 bits cleared: A (alignment checking).
pub const SCTLR_CLEAR: u64 = 1 << 1;

/// An address with no mapping at all (level 1 translation fault), for tests that want to
/// take an exception.
pub const UNMAPPED_VA: u64 = 0xc000_0000;

/// SCTLR_EL1 as it is now.
pub fn sctlr_el1() -> u64 {
    let v: u64;
    // SAFETY: reading SCTLR_EL1 at EL1 has no side effect.
    unsafe { core::arch::asm!("mrs {v}, sctlr_el1", v = out(reg) v, options(nomem, nostack)) };
    v
}

/// Whether the entry code's set-up is in force: MMU and both caches on, alignment checks off.
pub fn is_set_up() -> bool {
    let v = sctlr_el1();
    v & (SCTLR_SET | SCTLR_CLEAR) == SCTLR_SET
}
