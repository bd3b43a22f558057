//! Setting a checked [`Config`] up through Xen: the C functions this replaces
//! (alloc_static_evtchn / alloc_domain_evtchn, process_shm / assign_shared_memory /
//! acquire_nr_borrower_domain / append_shm_bank_to_domain) in the same order, against small
//! traits that the Xen glue implements and host tests record.

use crate::check::{Config, RegionOwner, Role, SystemOwner};
use crate::error::{Error, Reason};

/// What setting up static event channels needs from Xen.
pub trait EvtchnHost {
    /// The domid of the domain built from `/chosen/<name>`.
    fn domid(&mut self, name: &str) -> Option<u16>;
    /// `evtchn_alloc_unbound({dom, remote_dom}, port)`; Err(-errno).
    fn alloc_unbound(&mut self, dom: u16, port: u32, remote: u16) -> Result<(), i32>;
    /// `evtchn_bind_interdomain({remote_dom, remote_port}, d, port)`; Err(-errno).
    fn bind_interdomain(
        &mut self,
        dom: u16,
        port: u32,
        remote: u16,
        remote_port: u32,
    ) -> Result<(), i32>;
}

/// Sets up every channel of `cfg`: `a` is allocated unbound towards `b`'s domain, then `b`
/// binds to it (as C does; the bind leaves `b`'s port pending, as in C).
pub fn set_up_channels<'t, N: Copy>(
    cfg: &Config<'t, N>,
    host: &mut impl EvtchnHost,
) -> Result<usize, Error<'t>> {
    let mut n = 0;
    for c in cfg.channels.iter() {
        let mut domid = |e: &crate::check::End<'t>| {
            let name = cfg.domain(e.domain).map(|d| d.name);
            name.and_then(|nm| host.domid(nm)).ok_or(Error {
                domain: name,
                node: e.path,
                property: "xen,evtchn",
                reason: Reason::NoSuchDomain,
            })
        };
        let (da, db) = (domid(&c.a)?, domid(&c.b)?);
        let dname = |i| cfg.domain(i).map(|d| d.name);
        host.alloc_unbound(da, c.a.port, db).map_err(|rc| Error {
            domain: dname(c.a.domain),
            node: c.a.path,
            property: "xen,evtchn",
            reason: Reason::Xen { op: "evtchn_alloc_unbound", rc },
        })?;
        host.bind_interdomain(db, c.b.port, da, c.a.port).map_err(|rc| Error {
            domain: dname(c.b.domain),
            node: c.b.path,
            property: "xen,evtchn",
            reason: Reason::Xen { op: "evtchn_bind_interdomain", rc },
        })?;
        n += 1;
    }
    Ok(n)
}

/// What setting up one domain's shared memory needs from Xen (the domain being built and its
/// kernel_info are the implementor's).
pub trait ShmHost {
    /// Whether system domain `owner` already owns the page at `pbase` (a previous borrower
    /// had the region assigned to it).
    fn owned_by_system(&mut self, owner: SystemOwner, pbase: u64) -> bool;
    /// Gives the region to system domain `to` (`Some`) or to this domain (`None`, mapping it
    /// at `gbase`), and takes `nr_borrowers` extra references per page. Err(-errno).
    fn assign(
        &mut self,
        to: Option<SystemOwner>,
        pbase: u64,
        size: u64,
        gbase: u64,
        nr_borrowers: u64,
    ) -> Result<(), i32>;
    /// Maps the region into this domain as foreign memory at `gbase`. Err(-errno).
    fn map_foreign(&mut self, gbase: u64, pbase: u64, size: u64) -> Result<(), i32>;
    /// Records the bank for the guest's `/reserved-memory` node. Err(-errno).
    fn record(&mut self, gbase: u64, size: u64, id: &str) -> Result<(), i32>;
}

/// Sets up the regions of domain `domain` (an index into `cfg.domains`, or `None` for the
/// nodes directly under `/chosen`, dom0's). The owner node's domain gets the pages; every
/// other node borrows: the first borrower of a region no domain owns assigns it to its system
/// owner (dom_io for Xen 4.17's binding, dom_shared for the design draft's).
pub fn set_up_domain_shm<'t, N: Copy>(
    cfg: &Config<'t, N>,
    domain: Option<usize>,
    host: &mut impl ShmHost,
) -> Result<usize, Error<'t>> {
    let dname = domain.and_then(|i| cfg.domain(i)).map(|d| d.name);
    let mut n = 0;
    for s in cfg.shms.iter().filter(|s| s.domain == domain) {
        let fail = |op, rc| Error {
            domain: dname,
            node: s.path,
            property: "xen,shared-mem",
            reason: Reason::Xen { op, rc },
        };
        let nr = cfg.nr_borrowers(&s.id);
        match (s.role, cfg.owner(&s.id)) {
            (Role::Owner, _) => host
                .assign(None, s.pbase, s.size, s.gbase, nr)
                .map_err(|rc| fail("assign_shared_memory", rc))?,
            (_, RegionOwner::System(sys)) if !host.owned_by_system(sys, s.pbase) => {
                let op = match sys {
                    SystemOwner::DomIo => "assign_shared_memory (dom_io)",
                    SystemOwner::DomShared => "assign_shared_memory (dom_shared)",
                };
                host.assign(Some(sys), s.pbase, s.size, s.gbase, nr).map_err(|rc| fail(op, rc))?
            }
            _ => {}
        }
        if s.role != Role::Owner {
            host.map_foreign(s.gbase, s.pbase, s.size)
                .map_err(|rc| fail("map_regions_p2mt", rc))?;
        }
        host.record(s.gbase, s.size, s.id.as_str())
            .map_err(|rc| fail("append_shm_bank_to_domain", rc))?;
        n += 1;
    }
    Ok(n)
}
