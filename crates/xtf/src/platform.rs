//! What the guest's device tree says about its machine: the interrupt controller, the event
//! channel and virtual timer PPIs, PSCI and the vCPUs.
//!
//! Xen 4.17 builds a dom0less domU's tree in `prepare_dtb_domU` (arch/arm/domain_build.c):
//! `interrupt-controller@<GICD>` (`arm,gic-400` with GICD + GICC, or `arm,gic-v3` with GICD +
//! one redistributor region), `timer` (`arm,armv8-timer`: secure, non-secure, virtual PPIs),
//! `psci` (`arm,psci-1.0`, `arm,psci-0.2`, `arm,psci`, method `hvc`, `cpu_on = <2>`), `cpus`
//! (one `cpu@<MPIDR>` per vCPU, `reg` = MPIDR affinity) and, only for `xen,enhanced`
//! domains, `hypervisor` whose `interrupts` names the event channel PPI. Without a hypervisor
//! node the PPI is still GUEST_EVTCHN_PPI (31): `d->arch.evtchn_irq` is set for every domU.
//!
//! Plain logic over [`Fdt`], unit-tested on the host against trees shaped like Xen's.

use core::fmt;

use crate::fdt::{Fdt, Node};

/// vCPUs the guest framework drives (stacks, vcpu_info slots, mailboxes are sized by it).
pub const MAX_CPUS: usize = 4;
/// public/arch-arm.h GUEST_EVTCHN_PPI: the event upcall PPI of every domU in 4.17.
pub const GUEST_EVTCHN_PPI: u32 = 31;
/// public/arch-arm.h GUEST_TIMER_VIRT_PPI.
pub const GUEST_TIMER_VIRT_PPI: u32 = 27;

/// PSCI 0.2+ function IDs (SMCCC fast calls).
pub mod psci_fn {
    pub const VERSION: u32 = 0x8400_0000;
    pub const CPU_OFF: u32 = 0x8400_0002;
    pub const CPU_ON_64: u32 = 0xc400_0003;
    pub const AFFINITY_INFO_64: u32 = 0xc400_0004;
}

/// A physical (here: guest physical, identity-mapped) MMIO range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub size: u64,
}

/// The interrupt controller Xen emulates for the domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gic {
    /// GICv2: distributor and CPU interface (memory-mapped).
    V2 { dist: Region, cpu: Region },
    /// GICv3: distributor and the first redistributor region (one 128 KiB frame pair per
    /// vCPU); the CPU interface is the ICC_* system registers.
    V3 { dist: Region, redist: Region },
}

impl Gic {
    pub const fn version(&self) -> u32 {
        match self {
            Gic::V2 { .. } => 2,
            Gic::V3 { .. } => 3,
        }
    }
}

/// How PSCI is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    Hvc,
    Smc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Psci {
    pub conduit: Conduit,
    /// The function ID for CPU_ON: PSCI 0.2's CPU_ON_64 when the node claims 0.2 or later,
    /// else the node's `cpu_on` property (PSCI 0.1).
    pub cpu_on: u32,
}

/// Where the event channel PPI number came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PpiSource {
    /// `/hypervisor` `interrupts`.
    HypervisorNode,
    /// No hypervisor node (a domU without `xen,enhanced`): GUEST_EVTCHN_PPI.
    Default,
}

/// Everything the interrupt and SMP code needs from the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    pub gic: Gic,
    pub evtchn_ppi: u32,
    pub evtchn_ppi_source: PpiSource,
    pub vtimer_ppi: u32,
    pub psci: Option<Psci>,
    /// MPIDR affinity (`reg`) of each vCPU, in the tree's order; `ncpus` are valid.
    pub mpidr: [u64; MAX_CPUS],
    pub ncpus: usize,
    /// How many cpu nodes the tree has (may exceed MAX_CPUS: the rest are not driven).
    pub cpus_in_tree: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformError {
    /// No interrupt-controller node with a compatible we know.
    NoGic,
    /// A node's `reg` or `interrupts` is missing or too short.
    BadProperty(&'static str, &'static str),
    /// An `interrupts` entry that is not a PPI.
    NotPpi(&'static str),
    /// No `cpus` node or no `cpu@` in it.
    NoCpus,
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformError::NoGic => f.write_str("no arm,gic-400/arm,gic-v3 interrupt controller"),
            PlatformError::BadProperty(node, prop) => write!(f, "{node}: bad or missing {prop}"),
            PlatformError::NotPpi(node) => write!(f, "{node}: interrupt is not a PPI"),
            PlatformError::NoCpus => f.write_str("no /cpus/cpu@ nodes"),
        }
    }
}

/// The GIC-format interrupt specifier `<type number flags>` as an INTID: type 1 is a PPI
/// (number + 16), type 0 an SPI (number + 32).
pub fn gic_intid(kind: u32, number: u32) -> Option<u32> {
    match kind {
        0 => number.checked_add(32),
        1 if number < 16 => Some(number + 16),
        _ => None,
    }
}

impl Platform {
    pub fn from_fdt(fdt: &Fdt<'_>) -> Result<Platform, PlatformError> {
        let root = fdt.root().ok_or(PlatformError::NoGic)?;
        let ac = root.property_u32("#address-cells").unwrap_or(2);
        let sc = root.property_u32("#size-cells").unwrap_or(1);

        let gic = root
            .children()
            .find_map(|n| gic_of(&n, ac, sc).transpose())
            .ok_or(PlatformError::NoGic)??;

        let (evtchn_ppi, evtchn_ppi_source) = match root.child("hypervisor") {
            Some(h) if h.property("interrupts").is_some() => {
                (ppi_at(&h, "hypervisor", 0)?, PpiSource::HypervisorNode)
            }
            _ => (GUEST_EVTCHN_PPI, PpiSource::Default),
        };
        let vtimer_ppi = match root.children().find(|n| n.is_compatible("arm,armv8-timer")) {
            // Xen writes secure, non-secure, virtual (Linux's binding order; hyp may follow).
            Some(t) => ppi_at(&t, "timer", 2)?,
            None => GUEST_TIMER_VIRT_PPI,
        };

        let psci = root.child("psci").map(|p| {
            let conduit =
                if p.property_str("method") == Some("smc") { Conduit::Smc } else { Conduit::Hvc };
            let v02 = p.is_compatible("arm,psci-0.2") || p.is_compatible("arm,psci-1.0");
            let cpu_on = if v02 {
                psci_fn::CPU_ON_64
            } else {
                p.property_u32("cpu_on").unwrap_or(psci_fn::CPU_ON_64)
            };
            Psci { conduit, cpu_on }
        });

        let cpus = root.child("cpus").ok_or(PlatformError::NoCpus)?;
        let cac = cpus.property_u32("#address-cells").unwrap_or(1);
        let mut mpidr = [0; MAX_CPUS];
        let mut ncpus = 0;
        let mut cpus_in_tree = 0;
        for cpu in cpus.children().filter(|c| c.property_str("device_type") == Some("cpu")) {
            let reg = cpu
                .property("reg")
                .and_then(|r| r.cells().next_n(cac))
                .ok_or(PlatformError::BadProperty("cpu", "reg"))?;
            if ncpus < MAX_CPUS {
                mpidr[ncpus] = reg;
                ncpus += 1;
            }
            cpus_in_tree += 1;
        }
        if ncpus == 0 {
            return Err(PlatformError::NoCpus);
        }
        Ok(Platform {
            gic,
            evtchn_ppi,
            evtchn_ppi_source,
            vtimer_ppi,
            psci,
            mpidr,
            ncpus,
            cpus_in_tree,
        })
    }
}

/// `Some(gic)` if `node` is a GIC we drive.
fn gic_of(node: &Node<'_>, ac: u32, sc: u32) -> Result<Option<Gic>, PlatformError> {
    if node.property("interrupt-controller").is_none() {
        return Ok(None);
    }
    let v3 = node.is_compatible("arm,gic-v3");
    let v2 = node.is_compatible("arm,gic-400") || node.is_compatible("arm,cortex-a15-gic");
    if !v2 && !v3 {
        return Ok(None);
    }
    let bad = PlatformError::BadProperty("interrupt-controller", "reg");
    let reg = node.property("reg").ok_or(bad)?;
    let mut cells = reg.cells();
    let mut next = || -> Result<Region, PlatformError> {
        let base = cells.next_n(ac).ok_or(bad)?;
        let size = cells.next_n(sc).ok_or(bad)?;
        Ok(Region { base, size })
    };
    let dist = next()?;
    let second = next()?;
    Ok(Some(if v3 { Gic::V3 { dist, redist: second } } else { Gic::V2 { dist, cpu: second } }))
}

/// The `index`th entry of a node's 3-cell GIC `interrupts`, which must be a PPI.
fn ppi_at(node: &Node<'_>, what: &'static str, index: usize) -> Result<u32, PlatformError> {
    let prop = node.property("interrupts").ok_or(PlatformError::BadProperty(what, "interrupts"))?;
    let mut cells = prop.cells().skip(index * 3);
    let (Some(kind), Some(number), Some(_flags)) = (cells.next(), cells.next(), cells.next())
    else {
        return Err(PlatformError::BadProperty(what, "interrupts"));
    };
    match gic_intid(kind, number) {
        Some(id) if (16..32).contains(&id) => Ok(id),
        _ => Err(PlatformError::NotPpi(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &[u8] = include_bytes!("../tests/data/domu-gicv2.dtb");
    const V3: &[u8] = include_bytes!("../tests/data/domu-gicv3.dtb");
    const SAMPLE: &[u8] = include_bytes!("../tests/data/sample.dtb");

    #[test]
    fn gicv2_enhanced_two_vcpus() {
        let p = Platform::from_fdt(&Fdt::new(V2).unwrap()).unwrap();
        assert_eq!(
            p.gic,
            Gic::V2 {
                dist: Region { base: 0x0300_1000, size: 0x1000 },
                cpu: Region { base: 0x0300_2000, size: 0x2000 }
            }
        );
        assert_eq!(p.gic.version(), 2);
        assert_eq!((p.evtchn_ppi, p.evtchn_ppi_source), (31, PpiSource::HypervisorNode));
        assert_eq!(p.vtimer_ppi, 27);
        assert_eq!(p.psci, Some(Psci { conduit: Conduit::Hvc, cpu_on: psci_fn::CPU_ON_64 }));
        assert_eq!((p.ncpus, p.cpus_in_tree), (2, 2));
        assert_eq!(&p.mpidr[..2], &[0, 1]);
    }

    #[test]
    fn gicv3_plain_domu_many_vcpus() {
        let p = Platform::from_fdt(&Fdt::new(V3).unwrap()).unwrap();
        assert_eq!(
            p.gic,
            Gic::V3 {
                dist: Region { base: 0x0300_1000, size: 0x1_0000 },
                redist: Region { base: 0x0302_0000, size: 0x100_0000 }
            }
        );
        // No hypervisor node: the default PPI.
        assert_eq!((p.evtchn_ppi, p.evtchn_ppi_source), (31, PpiSource::Default));
        assert_eq!(p.vtimer_ppi, 27);
        // PSCI 0.1 only: the node's cpu_on.
        assert_eq!(p.psci, Some(Psci { conduit: Conduit::Hvc, cpu_on: 2 }));
        assert_eq!((p.ncpus, p.cpus_in_tree), (MAX_CPUS, 5));
        assert_eq!(p.mpidr, [0, 1, 2, 3]);
    }

    #[test]
    fn sample_tree() {
        // sample.dts (fdt's tests) has a hypervisor node but no timer: default virtual PPI.
        let p = Platform::from_fdt(&Fdt::new(SAMPLE).unwrap()).unwrap();
        assert_eq!(p.evtchn_ppi, 31);
        assert_eq!(p.vtimer_ppi, GUEST_TIMER_VIRT_PPI);
        assert_eq!(p.ncpus, 2);
    }

    #[test]
    fn intids() {
        assert_eq!(gic_intid(1, 15), Some(31));
        assert_eq!(gic_intid(1, 11), Some(27));
        assert_eq!(gic_intid(0, 0), Some(32));
        assert_eq!(gic_intid(1, 16), None);
        assert_eq!(gic_intid(2, 0), None);
    }
}
