//! The interrupt controller Xen emulates for the domain: GICv2 or GICv3, as the device tree
//! says (QEMU virt offers both; a config picks one with ci/boot's `--gic`).
//!
//! | | GICv2 (`arm,gic-400`) | GICv3 (`arm,gic-v3`) |
//! |---|---|---|
//! | distributor | GICD (vgic-v2.c), CTLR.Enable | GICD (vgic-v3.c), CTLR.EnableGrp1A, ARE always on |
//! | per-vCPU PPI enable | GICD_ISENABLER0 (banked per vCPU) | this vCPU's redistributor SGI frame |
//! | CPU interface | GICC MMIO (Xen maps the GICV page): PMR, CTLR, IAR, EOIR | ICC_* system registers, Group 1 (Xen's LRs for a v3 guest) |
//!
//! Every register access is a plain 32- or 64-bit `ldr`/`str` with no writeback (inline asm),
//! so the abort Xen takes for an emulated register always has a valid syndrome to decode.
//!
//! [`init`] (vCPU 0, once) records the layout and enables the distributor; [`init_cpu`] runs
//! on every vCPU for its own CPU interface; [`enable_ppi`] / [`disable_ppi`] act on the
//! calling vCPU's PPIs. [`ack`] / [`eoi`] are for the IRQ path ([`super::irq`]).

use core::arch::asm;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::smp;
use crate::platform::{Gic, MAX_CPUS, Platform};

/// The priority given to every PPI we enable (lower is more urgent; PMR lets it through).
const PPI_PRIORITY: u32 = 0xa0;
/// The priority mask: everything above 0xf0 is let through.
const PMR: u64 = 0xf0;
/// An INTID at or above this is special (spurious) on an acknowledge.
const FIRST_SPECIAL_INTID: u32 = 1020;

mod v2 {
    pub const GICD_CTLR: usize = 0x000;
    pub const GICD_ISENABLER: usize = 0x100;
    pub const GICD_ICENABLER: usize = 0x180;
    pub const GICD_IPRIORITYR: usize = 0x400;
    pub const GICD_SGIR: usize = 0xf00;
    pub const GICC_CTLR: usize = 0x00;
    pub const GICC_PMR: usize = 0x04;
    pub const GICC_IAR: usize = 0x0c;
    pub const GICC_EOIR: usize = 0x10;
}

mod v3 {
    pub const GICD_CTLR: usize = 0x0000;
    /// GICD_CTLR.EnableGrp1A (non-secure view), ARE_NS.
    pub const GICD_CTLR_ENABLE_G1A: u32 = 1 << 1;
    pub const GICD_CTLR_ARE_NS: u32 = 1 << 4;
    pub const GICR_TYPER: usize = 0x0008;
    pub const GICR_TYPER_LAST: u64 = 1 << 4;
    /// One redistributor: RD_base frame + SGI_base frame, 64 KiB each.
    pub const GICR_STRIDE: usize = 0x2_0000;
    pub const SGI_BASE: usize = 0x1_0000;
    pub const GICR_ISENABLER0: usize = SGI_BASE + 0x100;
    pub const GICR_ICENABLER0: usize = SGI_BASE + 0x180;
    pub const GICR_IPRIORITYR: usize = SGI_BASE + 0x400;
}

/// 2 or 3 once [`init`] ran, 0 before.
static VERSION: AtomicU32 = AtomicU32::new(0);
static DIST: AtomicUsize = AtomicUsize::new(0);
/// GICv2: the CPU interface.
static CPU_IF: AtomicUsize = AtomicUsize::new(0);
/// GICv3: the redistributor region.
static REDIST: AtomicUsize = AtomicUsize::new(0);
static REDIST_SIZE: AtomicUsize = AtomicUsize::new(0);
/// GICv3: each vCPU's own redistributor (found by [`init_cpu`]), 0 before.
static RD: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];
/// Each vCPU's MPIDR affinity (from the device tree): where GICv3 SGIs are sent.
static MPIDR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Why the GIC could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicError {
    /// [`init`] has not run.
    NotInitialised,
    /// A region outside the identity map's device block, or misaligned.
    BadRegion(u64),
    /// GICv3: no redistributor in the region reports this vCPU's affinity.
    NoRedistributor { mpidr: u64 },
    /// ICC_SRE_EL1.SRE did not stick: no system register interface.
    NoSystemRegisters,
    /// Not an SGI/PPI (0..32).
    NotPrivate(u32),
}

impl fmt::Display for GicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GicError::NotInitialised => f.write_str("gic::init has not run"),
            GicError::BadRegion(a) => write!(f, "GIC region at {a:#x} is not usable"),
            GicError::NoRedistributor { mpidr } => {
                write!(f, "no GICv3 redistributor for MPIDR {mpidr:#x}")
            }
            GicError::NoSystemRegisters => f.write_str("ICC_SRE_EL1.SRE reads back 0"),
            GicError::NotPrivate(id) => write!(f, "INTID {id} is not a PPI/SGI"),
        }
    }
}

// ---- MMIO: single plain loads and stores ----

fn read32(addr: usize) -> u32 {
    let v: u32;
    // SAFETY: `addr` is a GIC register inside a region [`init`] checked to lie in the
    // identity map's Device block; a load from an emulated register has no effect on memory
    // Rust owns.
    unsafe { asm!("ldr {v:w}, [{a}]", a = in(reg) addr, v = out(reg) v, options(nostack)) };
    v
}

fn write32(addr: usize, v: u32) {
    // SAFETY: as in read32; the store goes to a device register, not to Rust memory.
    unsafe { asm!("str {v:w}, [{a}]", a = in(reg) addr, v = in(reg) v, options(nostack)) };
}

fn read64(addr: usize) -> u64 {
    let v: u64;
    // SAFETY: as in read32.
    unsafe { asm!("ldr {v}, [{a}]", a = in(reg) addr, v = out(reg) v, options(nostack)) };
    v
}

// ---- GICv3 system registers (by encoding, so no assembler feature is needed) ----

macro_rules! sysreg_read {
    ($enc:literal) => {{
        let v: u64;
        // SAFETY: reading a GIC CPU interface register at EL1 (the virtual interface, since
        // Xen sets HCR_EL2.IMO) only reports state.
        unsafe { asm!(concat!("mrs {v}, ", $enc), v = out(reg) v, options(nomem, nostack)) };
        v
    }};
}

macro_rules! sysreg_write {
    ($enc:literal, $val:expr) => {{
        let v: u64 = $val;
        // SAFETY: writing a GIC CPU interface register changes interrupt delivery only, never
        // memory; callers keep IRQs masked while the interface is half set up.
        unsafe { asm!(concat!("msr ", $enc, ", {v}"), v = in(reg) v, options(nomem, nostack)) };
    }};
}

fn isb() {
    // SAFETY: a barrier.
    unsafe { asm!("isb", options(nomem, nostack, preserves_flags)) };
}

/// The device block of the identity map (see [`super::mmu`]).
const DEVICE_BLOCK: core::ops::Range<u64> = 0..0x4000_0000;

fn check(base: u64, size: u64) -> Result<usize, GicError> {
    let end = base.checked_add(size).ok_or(GicError::BadRegion(base))?;
    if base == 0 || base % 0x1000 != 0 || end > DEVICE_BLOCK.end {
        return Err(GicError::BadRegion(base));
    }
    Ok(base as usize)
}

/// Records the GIC of `platform` and enables its distributor. Run once, on vCPU 0, with IRQs
/// masked, before any other vCPU starts.
pub fn init(platform: &Platform) -> Result<(), GicError> {
    for (slot, mpidr) in MPIDR.iter().zip(&platform.mpidr[..platform.ncpus]) {
        slot.store(*mpidr, Ordering::Relaxed);
    }
    match platform.gic {
        Gic::V2 { dist, cpu } => {
            let d = check(dist.base, dist.size)?;
            let c = check(cpu.base, cpu.size)?;
            DIST.store(d, Ordering::Relaxed);
            CPU_IF.store(c, Ordering::Relaxed);
            write32(d + v2::GICD_CTLR, 1);
            VERSION.store(2, Ordering::Release);
        }
        Gic::V3 { dist, redist } => {
            let d = check(dist.base, dist.size)?;
            let r = check(redist.base, redist.size)?;
            DIST.store(d, Ordering::Relaxed);
            REDIST.store(r, Ordering::Relaxed);
            REDIST_SIZE.store(redist.size as usize, Ordering::Relaxed);
            write32(d + v3::GICD_CTLR, v3::GICD_CTLR_ARE_NS | v3::GICD_CTLR_ENABLE_G1A);
            VERSION.store(3, Ordering::Release);
        }
    }
    Ok(())
}

/// 2 or 3; 0 before [`init`].
pub fn version() -> u32 {
    VERSION.load(Ordering::Acquire)
}

/// The calling vCPU's MPIDR_EL1 affinity fields packed as GICR_TYPER[63:32] packs them.
fn my_affinity() -> (u64, u32) {
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effect.
    unsafe { asm!("mrs {v}, mpidr_el1", v = out(reg) mpidr, options(nomem, nostack)) };
    let aff = (mpidr & 0xff_ffff) | ((mpidr >> 8) & 0xff00_0000);
    (mpidr, aff as u32)
}

/// Sets up the calling vCPU's CPU interface (and, on GICv3, finds its redistributor). IRQs
/// stay masked in PSTATE; nothing is enabled yet but the interface.
pub fn init_cpu() -> Result<(), GicError> {
    match version() {
        2 => {
            let c = CPU_IF.load(Ordering::Relaxed);
            write32(c + v2::GICC_PMR, PMR as u32);
            // GICV_CTLR.EnableGrp0: Xen's GICv2 list registers inject Group 0.
            write32(c + v2::GICC_CTLR, 1);
            Ok(())
        }
        3 => {
            let (mpidr, aff) = my_affinity();
            let base = REDIST.load(Ordering::Relaxed);
            let size = REDIST_SIZE.load(Ordering::Relaxed);
            let mut found = 0;
            let mut off = 0;
            while off + v3::GICR_STRIDE <= size {
                let typer = read64(base + off + v3::GICR_TYPER);
                if (typer >> 32) as u32 == aff {
                    found = base + off;
                    break;
                }
                if typer & v3::GICR_TYPER_LAST != 0 {
                    break;
                }
                off += v3::GICR_STRIDE;
            }
            if found == 0 {
                return Err(GicError::NoRedistributor { mpidr });
            }
            RD[smp::this_cpu()].store(found, Ordering::Relaxed);
            // ICC_SRE_EL1.SRE: use the system registers.
            let sre = sysreg_read!("S3_0_C12_C12_5");
            sysreg_write!("S3_0_C12_C12_5", sre | 1);
            isb();
            if sysreg_read!("S3_0_C12_C12_5") & 1 == 0 {
                return Err(GicError::NoSystemRegisters);
            }
            sysreg_write!("S3_0_C4_C6_0", PMR); // ICC_PMR_EL1
            sysreg_write!("S3_0_C12_C12_3", 0); // ICC_BPR1_EL1
            sysreg_write!("S3_0_C12_C12_4", 0); // ICC_CTLR_EL1: EOImode 0
            sysreg_write!("S3_0_C12_C12_7", 1); // ICC_IGRPEN1_EL1
            isb();
            Ok(())
        }
        _ => Err(GicError::NotInitialised),
    }
}

/// Where the calling vCPU's enable/priority registers for private interrupts are.
fn private_frame() -> Result<(usize, usize, usize), GicError> {
    match version() {
        2 => {
            let d = DIST.load(Ordering::Relaxed);
            Ok((d + v2::GICD_ISENABLER, d + v2::GICD_ICENABLER, d + v2::GICD_IPRIORITYR))
        }
        3 => match RD[smp::this_cpu()].load(Ordering::Relaxed) {
            0 => Err(GicError::NotInitialised),
            r => Ok((r + v3::GICR_ISENABLER0, r + v3::GICR_ICENABLER0, r + v3::GICR_IPRIORITYR)),
        },
        _ => Err(GicError::NotInitialised),
    }
}

/// Enables SGI/PPI `intid` on the calling vCPU, at [`PPI_PRIORITY`].
pub fn enable_ppi(intid: u32) -> Result<(), GicError> {
    if intid >= 32 {
        return Err(GicError::NotPrivate(intid));
    }
    let (isenabler, _, ipriorityr) = private_frame()?;
    let prio_word = ipriorityr + (intid as usize & !3);
    let shift = (intid % 4) * 8;
    let p = read32(prio_word);
    write32(prio_word, (p & !(0xff << shift)) | (PPI_PRIORITY << shift));
    write32(isenabler, 1 << intid);
    Ok(())
}

/// Disables SGI/PPI `intid` on the calling vCPU.
pub fn disable_ppi(intid: u32) -> Result<(), GicError> {
    if intid >= 32 {
        return Err(GicError::NotPrivate(intid));
    }
    let (_, icenabler, _) = private_frame()?;
    write32(icenabler, 1 << intid);
    Ok(())
}

/// Whether SGI/PPI `intid` is enabled on the calling vCPU (as the GIC reads it back).
pub fn ppi_enabled(intid: u32) -> Result<bool, GicError> {
    if intid >= 32 {
        return Err(GicError::NotPrivate(intid));
    }
    let (isenabler, _, _) = private_frame()?;
    Ok(read32(isenabler) & (1 << intid) != 0)
}

/// An acknowledged interrupt: the value to hand back to [`eoi`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acked(u32);

impl Acked {
    pub fn intid(self) -> u32 {
        self.0 & 0x3ff
    }
}

/// Acknowledges the highest priority pending interrupt of the calling vCPU; `None` when the
/// answer is a special (spurious) INTID.
pub fn ack() -> Option<Acked> {
    let raw = match version() {
        2 => read32(CPU_IF.load(Ordering::Relaxed) + v2::GICC_IAR),
        3 => sysreg_read!("S3_0_C12_C12_0") as u32, // ICC_IAR1_EL1
        _ => return None,
    };
    // GICv2 IAR carries the source CPU of an SGI in [12:10]; the INTID is [9:0].
    (raw & 0x3ff < FIRST_SPECIAL_INTID).then_some(Acked(raw))
}

/// Ends an interrupt [`ack`] returned (priority drop and deactivation: EOImode 0).
pub fn eoi(acked: Acked) {
    match version() {
        2 => write32(CPU_IF.load(Ordering::Relaxed) + v2::GICC_EOIR, acked.0),
        3 => {
            sysreg_write!("S3_0_C12_C12_1", u64::from(acked.0)); // ICC_EOIR1_EL1
            isb();
        }
        _ => {}
    }
}

/// Sends SGI `intid` (0..16) to vCPU `cpu`: GICD_SGIR's CPU target list on GICv2,
/// ICC_SGI1R_EL1 with the vCPU's affinity on GICv3. Enable the SGI on the target first.
pub fn send_sgi(cpu: usize, intid: u32) -> Result<(), GicError> {
    if intid >= 16 || cpu >= MAX_CPUS {
        return Err(GicError::NotPrivate(intid));
    }
    match version() {
        2 => {
            // TargetListFilter 0: the listed CPU interfaces (bit n = vCPU n in Xen's vGIC).
            let sgir = (1u32 << (16 + cpu)) | intid;
            // SAFETY (of the barrier): orders our earlier stores before the SGI.
            unsafe { asm!("dsb ishst", options(nostack, preserves_flags)) };
            write32(DIST.load(Ordering::Relaxed) + v2::GICD_SGIR, sgir);
            Ok(())
        }
        3 => {
            let mpidr = MPIDR[cpu].load(Ordering::Relaxed);
            let aff0 = mpidr & 0xf;
            let aff1 = (mpidr >> 8) & 0xff;
            let aff2 = (mpidr >> 16) & 0xff;
            let aff3 = (mpidr >> 32) & 0xff;
            let v =
                (aff3 << 48) | (aff2 << 32) | (u64::from(intid) << 24) | (aff1 << 16) | (1 << aff0);
            // SAFETY (of the barrier): orders our earlier stores before the SGI.
            unsafe { asm!("dsb ishst", options(nostack, preserves_flags)) };
            sysreg_write!("S3_0_C12_C11_5", v); // ICC_SGI1R_EL1
            isb();
            Ok(())
        }
        _ => Err(GicError::NotInitialised),
    }
}
