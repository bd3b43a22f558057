//! Reading and checking the whole static configuration under `/chosen` before anything is set
//! up: both event channel bindings and both shared memory bindings (see docs/static-evtchn.md,
//! docs/static-shm.md). [`check`] either returns a [`Config`] in which every channel and region
//! is valid, or every error it found.

use crate::dt::{DeviceTree, DeviceTreeExt};
use crate::error::{Error, Errors, Path, Reason};

/// A fixed-capacity list (no allocator at boot).
pub struct List<T: Copy, const N: usize> {
    items: [Option<T>; N],
    len: usize,
}

impl<T: Copy, const N: usize> List<T, N> {
    pub const fn new() -> Self {
        Self { items: [None; N], len: 0 }
    }
    /// Empties the list in place (no temporary copy: the lists can be large).
    pub fn clear(&mut self) {
        for slot in &mut self.items {
            *slot = None;
        }
        self.len = 0;
    }
    /// `false` when full.
    pub fn push(&mut self, t: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(t);
                self.len += 1;
                true
            }
            None => false,
        }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i)?.as_ref()
    }
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.items.iter().flatten()
    }
}

impl<T: Copy, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

pub const MAX_DOMAINS: usize = 16;
pub const MAX_SHM: usize = 16;
pub const MAX_CHANNELS: usize = 64;
const MAX_V1_ENDPOINTS: usize = 2 * MAX_CHANNELS;

/// Xen 4.17's limit for a shared memory identifier (MAX_SHM_ID_LENGTH less the NUL).
pub const MAX_SHM_ID_LEN: usize = 15;
/// The design draft's highest numeric identifier (0x127 is its INVALID_SHMID).
pub const MAX_NUMERIC_SHM_ID: u32 = 0x126;

const PAGE: u64 = 4096;
/// public/arch-arm.h: where a (not direct-mapped) domU's RAM goes.
const GUEST_RAM0_BASE: u64 = 0x4000_0000;
const GUEST_RAM0_SIZE: u64 = 0xc000_0000;
const GUEST_RAM1_BASE: u64 = 0x02_0000_0000;

/// What the host offers and uses, for the shared memory checks.
#[derive(Clone, Copy, Default)]
pub struct HostLayout<'h> {
    /// Host RAM banks (base, size). Empty: not checked.
    pub ram: &'h [(u64, u64)],
    /// Host regions a shared region must stay out of: (base, size, what).
    pub reserved: &'h [(u64, u64, &'static str)],
}

/// Limits that come from Xen rather than from the tree.
#[derive(Clone, Copy)]
pub struct Limits {
    /// Highest event channel port of a dom0less domU (Xen 4.17 creates them with
    /// max_evtchn_port = 1023).
    pub max_port: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_port: 1023 }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Domain<'t, N> {
    pub node: N,
    pub name: &'t str,
    /// Guest RAM ranges (base, size); size 0 = none / not known (direct-mapped domain).
    pub guest_ram: [(u64, u64); 2],
}

/// The `role` property as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// No `role`. Xen 4.17 binding: the region belongs to dom_io and every node naming it
    /// borrows it (no explicit role may appear next to it). Design draft: "borrower", and the
    /// region belongs to its explicit owner, or to dom_shared when no node is "owner".
    Default,
    Owner,
    Borrower,
}

/// The system domain that owns a region no domain owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemOwner {
    /// DOMID_IO: Xen 4.17's owner of a region with no roles (C's choice, kept for that binding).
    DomIo,
    /// DOMID_SHARED (0x7FF5): the design draft's default owner, created at boot by the
    /// CONFIG_RUST_STATIC_SHM Xen patch.
    DomShared,
}

/// Who owns a region's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionOwner {
    /// The domain whose node says `role = "owner"`.
    Domain,
    System(SystemOwner),
}

/// A shared memory identifier in its canonical string form (a numeric id of the design
/// draft is written in decimal: `xen,shm-id = <7>` is "7").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShmId {
    bytes: [u8; MAX_SHM_ID_LEN],
    len: u8,
}

impl ShmId {
    fn from_str_bytes(s: &[u8]) -> Option<Self> {
        let mut bytes = [0; MAX_SHM_ID_LEN];
        bytes.get_mut(..s.len())?.copy_from_slice(s);
        Some(Self { bytes, len: s.len() as u8 })
    }

    fn from_number(mut n: u32) -> Self {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        // At most 10 digits: always fits in MAX_SHM_ID_LEN.
        Self::from_str_bytes(&digits[i..]).unwrap_or(Self { bytes: [b'?'; MAX_SHM_ID_LEN], len: 1 })
    }

    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }

    /// The identifier as a number, if it is one in decimal.
    pub fn number(&self) -> Option<u32> {
        self.as_str().parse().ok()
    }
}

/// One `xen,domain-shared-memory-v1` node.
#[derive(Clone, Copy, Debug)]
pub struct Shm<'t, N> {
    /// Index into [`Config::domains`]; `None` for a node directly under `/chosen` (dom0's).
    pub domain: Option<usize>,
    pub node: N,
    pub path: Path<'t>,
    pub id: ShmId,
    /// The id was a u32: the design draft binding, whose `xen,shared-mem` is
    /// `<host size guest>` (Xen 4.17's string-id binding: `<host guest size>`).
    pub numeric_id: bool,
    pub pbase: u64,
    pub gbase: u64,
    pub size: u64,
    pub role: Role,
}

/// One end of a static event channel.
#[derive(Clone, Copy, Debug)]
pub struct End<'t> {
    pub domain: usize,
    pub port: u32,
    /// The node that set this end up (a `xen,evtchn-v1` node, or the draft's `/chosen` node).
    pub path: Path<'t>,
}

/// A static event channel: `a` is allocated unbound, `b` binds to it (C's order).
#[derive(Clone, Copy, Debug)]
pub struct Channel<'t> {
    pub a: End<'t>,
    pub b: End<'t>,
    /// Came from a design-draft `xen,evtchn` node under `/chosen`.
    pub draft: bool,
}

/// Everything under `/chosen` this crate sets up, checked.
pub struct Config<'t, N: Copy> {
    pub domains: List<Domain<'t, N>, MAX_DOMAINS>,
    pub shms: List<Shm<'t, N>, MAX_SHM>,
    pub channels: List<Channel<'t>, MAX_CHANNELS>,
    /// check_into's scratch: the `xen,evtchn-v1` endpoints before pairing. Kept here, not on
    /// the stack, so that Xen can hold the whole check in boot-time static storage.
    v1: List<V1<'t>, MAX_V1_ENDPOINTS>,
}

impl<'t, N: Copy> Config<'t, N> {
    pub const fn new() -> Self {
        Self { domains: List::new(), shms: List::new(), channels: List::new(), v1: List::new() }
    }

    /// Empties every list in place, for storage that is reused (Xen's boot-time static).
    pub fn clear(&mut self) {
        self.domains.clear();
        self.shms.clear();
        self.channels.clear();
        self.v1.clear();
    }

    pub fn domain(&self, i: usize) -> Option<&Domain<'t, N>> {
        self.domains.get(i)
    }

    pub fn domain_index(&self, name: &str) -> Option<usize> {
        self.domains.iter().position(|d| d.name == name)
    }

    /// The domains borrowing the region of `id`: every node but the owner's.
    pub fn nr_borrowers(&self, id: &ShmId) -> u64 {
        self.shms.iter().filter(|s| s.id == *id && s.role != Role::Owner).count() as u64
    }

    /// Who owns the region of `id` (the configuration is checked: at most one owner node, and
    /// the nodes of one id all use the same binding).
    pub fn owner(&self, id: &ShmId) -> RegionOwner {
        let mut nodes = self.shms.iter().filter(|s| s.id == *id);
        let mut numeric = false;
        for s in nodes.by_ref() {
            if s.role == Role::Owner {
                return RegionOwner::Domain;
            }
            numeric |= s.numeric_id;
        }
        RegionOwner::System(if numeric { SystemOwner::DomShared } else { SystemOwner::DomIo })
    }

    /// The design draft's identifier rule ("ascending order, starting from 0"): the first
    /// numeric identifier missing below the highest one in use, with a node of that highest
    /// identifier. `None` when the numeric identifiers in use are exactly 0..N. Only a warning
    /// (see docs/static-shm.md): identifiers are matched by value, nothing indexes by them.
    pub fn numeric_id_gap(&self) -> Option<(u32, &Shm<'t, N>)> {
        let mut used = [0u64; (MAX_NUMERIC_SHM_ID as usize + 64) / 64];
        let mut top: Option<(u32, &Shm<'t, N>)> = None;
        for s in self.shms.iter().filter(|s| s.numeric_id) {
            let Some(n) = s.id.number() else { continue };
            if let Some(w) = used.get_mut(n as usize / 64) {
                *w |= 1 << (n % 64);
            }
            if top.is_none_or(|(t, _)| n > t) {
                top = Some((n, s));
            }
        }
        let (t, s) = top?;
        (0..t)
            .find(|&k| used.get(k as usize / 64).is_some_and(|w| w & (1 << (k % 64)) == 0))
            .map(|k| (k, s))
    }

    /// The distinct host regions, one [`Shm`] each (the first node naming it), with their
    /// borrower counts: what Xen reserves at boot.
    pub fn regions(&self) -> impl Iterator<Item = (&Shm<'t, N>, u64)> + '_ {
        self.shms.iter().enumerate().filter_map(move |(i, s)| {
            let first = self.shms.iter().position(|o| o.id == s.id) == Some(i);
            first.then(|| (s, self.nr_borrowers(&s.id)))
        })
    }
}

fn be_cells(v: &[u8], n: u32) -> Option<(u64, &[u8])> {
    let len = 4 * n as usize;
    let (head, rest) = (v.get(..len)?, v.get(len..)?);
    let mut x = 0u64;
    for c in head.chunks_exact(4) {
        x = (x << 32) | u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    Some((x, rest))
}

fn overlaps(a: u64, asz: u64, b: u64, bsz: u64) -> bool {
    // Both ranges are known not to wrap.
    a < b.saturating_add(bsz) && b < a.saturating_add(asz)
}

struct Ctx<'t, 'e> {
    errors: &'e mut Errors<'t>,
}

impl<'t> Ctx<'t, '_> {
    fn err(
        &mut self,
        domain: Option<&'t str>,
        node: Path<'t>,
        property: &'static str,
        reason: Reason<'t>,
    ) {
        self.errors.push(Error { domain, node, property, reason });
    }
}

/// A `xen,evtchn-v1` endpoint before pairing.
#[derive(Clone, Copy)]
struct V1<'t> {
    domain: usize,
    path: Path<'t>,
    port: u32,
    peer: u32,
    phandle: Option<u32>,
    ok: bool,
}

/// Reads and checks the static configuration of `dt` (see the module doc).
pub fn check<'t, T: DeviceTree>(
    dt: &'t T,
    host: &HostLayout<'_>,
    limits: &Limits,
) -> Result<Config<'t, T::Node>, Errors<'t>> {
    let mut cfg = Config::new();
    let mut errors = Errors::new();
    check_into(dt, host, limits, &mut cfg, &mut errors);
    if errors.is_empty() { Ok(cfg) } else { Err(errors) }
}

/// [`check`] into caller-provided storage (Xen's boot stack is small: no large values are
/// returned or copied). `cfg` and `errors` must be empty; `cfg` is valid only if `errors`
/// stays empty.
pub fn check_into<'t, T: DeviceTree>(
    dt: &'t T,
    host: &HostLayout<'_>,
    limits: &Limits,
    cfg: &mut Config<'t, T::Node>,
    errors: &mut Errors<'t>,
) {
    let mut cx = Ctx { errors };
    let Some(chosen) = dt.root().and_then(|r| dt.child(r, "chosen")) else {
        return;
    };

    // Domains first: channels and regions refer to them.
    for n in dt.children(chosen) {
        if !dt.is_compatible(n, "xen,domain") {
            continue;
        }
        let name = dt.name(n);
        let d = Domain { node: n, name, guest_ram: guest_ram(dt, n) };
        if !cfg.domains.push(d) {
            cx.err(
                Some(name),
                Path { parent: None, node: name },
                "compatible",
                Reason::TooMany { what: "xen,domain nodes", max: MAX_DOMAINS },
            );
        }
    }

    // Shared memory nodes: in each domain, and directly under /chosen (dom0's).
    cfg.v1.clear();
    for (di, d) in cfg.domains.iter().enumerate() {
        for n in dt.children(d.node) {
            let path = Path { parent: Some(d.name), node: dt.name(n) };
            if dt.is_compatible(n, "xen,domain-shared-memory-v1") {
                if let Some(s) =
                    parse_shm(dt, &mut cx, d.node, n, Some(di), Some(d.name), path, host, d)
                {
                    if !cfg.shms.push(s) {
                        cx.err(
                            Some(d.name),
                            path,
                            "compatible",
                            Reason::TooManyBanks { max: MAX_SHM },
                        );
                    }
                }
            } else if dt.is_compatible(n, "xen,evtchn-v1") {
                if let Some(e) = parse_v1(dt, &mut cx, n, di, d.name, path, limits) {
                    if !cfg.v1.push(e) {
                        cx.err(
                            Some(d.name),
                            path,
                            "compatible",
                            Reason::TooMany { what: "xen,evtchn-v1 nodes", max: MAX_V1_ENDPOINTS },
                        );
                    }
                }
            }
        }
    }
    let no_domain = Domain { node: chosen, name: "", guest_ram: [(0, 0); 2] };
    for n in dt.children(chosen) {
        if dt.is_compatible(n, "xen,domain-shared-memory-v1") {
            let path = Path { parent: None, node: dt.name(n) };
            if let Some(s) = parse_shm(dt, &mut cx, chosen, n, None, None, path, host, &no_domain) {
                if !cfg.shms.push(s) {
                    cx.err(None, path, "compatible", Reason::TooManyBanks { max: MAX_SHM });
                }
            }
        }
    }
    check_shm_set(&cfg, &mut cx);

    // Event channels: pair the Xen 4.17 endpoints, then the design draft's connections.
    pair_v1(dt, &mut cx, &cfg.v1, &cfg.domains, &mut cfg.channels);
    for n in dt.children(chosen) {
        if dt.is_compatible(n, "xen,evtchn") {
            let path = Path { parent: None, node: dt.name(n) };
            if let Some(c) = parse_draft(dt, &mut cx, n, path, &cfg.domains, limits) {
                if !cfg.channels.push(c) {
                    cx.err(
                        None,
                        path,
                        "compatible",
                        Reason::TooMany { what: "static event channels", max: MAX_CHANNELS },
                    );
                }
            }
        }
    }
    check_ports(&cfg, &mut cx);

    // A damaged structure block can hide nodes: refuse rather than half-configure.
    if dt.damaged() {
        cx.err(None, Path { parent: None, node: "(structure block)" }, "-", Reason::DamagedTree);
    }
}

fn guest_ram<T: DeviceTree>(dt: &T, n: T::Node) -> [(u64, u64); 2] {
    if dt.property(n, "direct-map").is_some() {
        return [(0, 0); 2];
    }
    let kib = match dt.property(n, "memory") {
        Some(v) if v.len() == 8 => be_cells(v, 2).map_or(0, |(x, _)| x),
        Some(v) if v.len() == 4 => be_cells(v, 1).map_or(0, |(x, _)| x),
        _ => 0,
    };
    let bytes = kib.saturating_mul(1024);
    let ram0 = bytes.min(GUEST_RAM0_SIZE);
    [(GUEST_RAM0_BASE, ram0), (GUEST_RAM1_BASE, bytes - ram0)]
}

#[allow(clippy::too_many_arguments)]
fn parse_shm<'t, T: DeviceTree>(
    dt: &'t T,
    cx: &mut Ctx<'t, '_>,
    parent: T::Node,
    n: T::Node,
    domain: Option<usize>,
    dname: Option<&'t str>,
    path: Path<'t>,
    host: &HostLayout<'_>,
    d: &Domain<'t, T::Node>,
) -> Option<Shm<'t, T::Node>> {
    let mut ok = true;
    let ac = dt.property_u32(parent, "#address-cells").unwrap_or(2);
    let sc = dt.property_u32(parent, "#size-cells").unwrap_or(1);
    if !(1..=2).contains(&ac) || !(1..=2).contains(&sc) {
        cx.err(dname, path, "#address-cells", Reason::Cells { address: ac, size: sc });
        return None;
    }

    // xen,shm-id: Xen 4.17's string, or the design draft's u32. Its form says which binding
    // the node follows, and so the order of the `xen,shared-mem` cells.
    let mut id = None;
    let mut numeric_id = false;
    match dt.property(n, "xen,shm-id") {
        None => cx.err(dname, path, "xen,shm-id", Reason::Missing),
        Some([] | [0]) => cx.err(dname, path, "xen,shm-id", Reason::ShmIdEmpty),
        Some(v) => {
            let body = v.split_last().map_or(&[][..], |(_, body)| body);
            let is_string = v.last() == Some(&0)
                && !body.is_empty()
                && body.iter().all(|&b| (0x20..0x7f).contains(&b));
            if is_string && body.len() > MAX_SHM_ID_LEN {
                cx.err(
                    dname,
                    path,
                    "xen,shm-id",
                    Reason::ShmIdTooLong { len: body.len(), max: MAX_SHM_ID_LEN },
                );
            } else if is_string {
                id = ShmId::from_str_bytes(body);
            } else if v.len() == 4 {
                numeric_id = true;
                let x = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                if x > MAX_NUMERIC_SHM_ID {
                    cx.err(
                        dname,
                        path,
                        "xen,shm-id",
                        Reason::ShmIdOutOfRange { id: x, max: MAX_NUMERIC_SHM_ID },
                    );
                } else {
                    id = Some(ShmId::from_number(x));
                }
            } else {
                cx.err(dname, path, "xen,shm-id", Reason::ShmIdNotString);
            }
        }
    }

    let role = match dt.property(n, "role") {
        None => Role::Default,
        Some(b"owner\0") => Role::Owner,
        Some(b"borrower\0") => Role::Borrower,
        Some(v) => {
            let s = v.strip_suffix(&[0]).unwrap_or(v);
            let s = core::str::from_utf8(s).unwrap_or("(not text)");
            cx.err(dname, path, "role", Reason::RoleUnknown { role: s });
            ok = false;
            Role::Default
        }
    };

    // Cells: Xen 4.17 <host guest size>; the design draft <host size guest>.
    let want = 4 * (2 * ac + sc) as usize;
    let Some(v) = dt.property(n, "xen,shared-mem") else {
        cx.err(dname, path, "xen,shared-mem", Reason::Missing);
        return None;
    };
    if v.len() != want {
        let reason = if v.len() == 4 * (ac + sc) as usize {
            Reason::HostAddressMissing
        } else if numeric_id {
            Reason::Length {
                got: v.len(),
                want: "3 values: host address, size, guest address (design-draft order: xen,shm-id is a number)",
            }
        } else {
            Reason::Length { got: v.len(), want: "3 values: host address, guest address, size" }
        };
        cx.err(dname, path, "xen,shared-mem", reason);
        return None;
    }
    let (pbase, rest) = be_cells(v, ac)?;
    let (gbase, size) = if numeric_id {
        let (size, rest) = be_cells(rest, sc)?;
        (be_cells(rest, ac)?.0, size)
    } else {
        let (gbase, rest) = be_cells(rest, ac)?;
        (gbase, be_cells(rest, sc)?.0)
    };
    let fits = check_region(Some(&mut *cx), dname, path, host, d, pbase, gbase, size);
    if !fits && numeric_id && check_region(None, dname, path, host, d, pbase, size, gbase) {
        // The values make sense in Xen 4.17's order: most likely a 4.17-style node with a
        // numeric identifier.
        cx.err(dname, path, "xen,shared-mem", Reason::DraftOrder { size: gbase, guest: size });
    }
    let id = id?;
    (ok && fits).then_some(Shm { domain, node: n, path, id, numeric_id, pbase, gbase, size, role })
}

/// Whether a region `<pbase gbase size>` of a domain is valid on its own; with `cx`, each
/// problem is reported.
#[allow(clippy::too_many_arguments)]
fn check_region<'t, N: Copy>(
    mut cx: Option<&mut Ctx<'t, '_>>,
    dname: Option<&'t str>,
    path: Path<'t>,
    host: &HostLayout<'_>,
    d: &Domain<'t, N>,
    pbase: u64,
    gbase: u64,
    size: u64,
) -> bool {
    let p = "xen,shared-mem";
    let mut report = |reason| {
        if let Some(cx) = cx.as_deref_mut() {
            cx.err(dname, path, p, reason);
        }
    };
    if size == 0 {
        report(Reason::SizeZero);
        return false;
    }
    let mut ok = true;
    for (what, value) in [("host address", pbase), ("guest address", gbase), ("size", size)] {
        if value % PAGE != 0 {
            report(Reason::Unaligned { what, value });
            ok = false;
        }
    }
    for (what, base) in [("host address", pbase), ("guest address", gbase)] {
        if base.checked_add(size).is_none() {
            report(Reason::Overflow { what });
            return false;
        }
    }
    if !ok {
        return false;
    }
    let pend = pbase + size;
    if !host.ram.is_empty()
        && !host.ram.iter().any(|&(b, s)| b <= pbase && pend <= b.saturating_add(s))
    {
        report(Reason::NotInRam { base: pbase, end: pend });
        ok = false;
    }
    for &(b, s, what) in host.reserved {
        if overlaps(pbase, size, b, s) {
            report(Reason::OverlapsHost { what, base: b, end: b.saturating_add(s) });
            ok = false;
        }
    }
    for &(b, s) in &d.guest_ram {
        if s != 0 && overlaps(gbase, size, b, s) {
            report(Reason::GuestOverlapsRam { base: b, end: b.saturating_add(s) });
            ok = false;
        }
    }
    ok
}

/// Rules across regions: identifiers, overlaps, ownership.
fn check_shm_set<'t, N: Copy>(cfg: &Config<'t, N>, cx: &mut Ctx<'t, '_>) {
    let dname = |s: &Shm<'t, N>| s.domain.and_then(|i| cfg.domain(i)).map(|d| d.name);
    let p = "xen,shared-mem";
    for (j, s) in cfg.shms.iter().enumerate() {
        for o in cfg.shms.iter().take(j) {
            if o.id == s.id {
                if (o.pbase, o.size) != (s.pbase, s.size) {
                    cx.err(dname(s), s.path, p, Reason::SameIdOtherRegion { other: o.path });
                }
                if o.domain == s.domain {
                    cx.err(
                        dname(s),
                        s.path,
                        "xen,shm-id",
                        Reason::IdTwiceInDomain { other: o.path },
                    );
                }
            } else if overlaps(s.pbase, s.size, o.pbase, o.size) {
                cx.err(dname(s), s.path, p, Reason::OverlapsRegion { other: o.path });
            }
            if o.domain == s.domain && overlaps(s.gbase, s.size, o.gbase, o.size) && o.id != s.id {
                cx.err(dname(s), s.path, p, Reason::GuestOverlapsShm { other: o.path });
            }
        }
        // Ownership, judged once per identifier (at its first node).
        if cfg.shms.iter().position(|o| o.id == s.id) != Some(j) {
            continue;
        }
        let same = || cfg.shms.iter().filter(|o| o.id == s.id);
        // Both bindings can name one region ("7" and <7>), but they order the cells and
        // choose the default owner differently: one region, one binding.
        if let Some(o) = same().find(|o| o.numeric_id != s.numeric_id) {
            cx.err(dname(o), o.path, "xen,shm-id", Reason::MixedBindings { other: s.path });
            continue;
        }
        let mut owner: Option<&Shm<'t, N>> = None;
        for o in same() {
            if o.role == Role::Owner {
                match owner {
                    Some(first) => {
                        cx.err(dname(o), o.path, "role", Reason::TwoOwners { other: first.path })
                    }
                    None => owner = Some(o),
                }
            }
        }
        // The design draft: no role is "borrower", and a region nobody owns is dom_shared's.
        if s.numeric_id {
            continue;
        }
        // Xen 4.17: no role anywhere (dom_io owns the region) or an owner and borrowers.
        let explicit = same().find(|o| o.role != Role::Default);
        if let Some(x) = explicit {
            for o in same().filter(|o| o.role == Role::Default) {
                cx.err(dname(o), o.path, "role", Reason::MixedOwnership { other: x.path });
            }
        }
        if owner.is_none() {
            if let Some(b) = same().find(|o| o.role == Role::Borrower) {
                cx.err(dname(b), b.path, "role", Reason::BorrowerWithoutOwner);
            }
        }
    }
}

fn check_port<'t>(
    cx: &mut Ctx<'t, '_>,
    dname: Option<&'t str>,
    path: Path<'t>,
    port: u32,
    limits: &Limits,
) -> bool {
    if port == 0 {
        cx.err(dname, path, "xen,evtchn", Reason::PortZero);
        false
    } else if port > limits.max_port {
        cx.err(dname, path, "xen,evtchn", Reason::PortPastLimit { port, max: limits.max_port });
        false
    } else {
        true
    }
}

fn parse_v1<'t, T: DeviceTree>(
    dt: &'t T,
    cx: &mut Ctx<'t, '_>,
    n: T::Node,
    domain: usize,
    dname: &'t str,
    path: Path<'t>,
    limits: &Limits,
) -> Option<V1<'t>> {
    let Some(v) = dt.property(n, "xen,evtchn") else {
        cx.err(Some(dname), path, "xen,evtchn", Reason::Missing);
        return None;
    };
    if v.len() != 8 {
        cx.err(
            Some(dname),
            path,
            "xen,evtchn",
            Reason::Length { got: v.len(), want: "8 (<local-port peer-phandle>)" },
        );
        return None;
    }
    let port = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
    let peer = u32::from_be_bytes([v[4], v[5], v[6], v[7]]);
    let ok = check_port(cx, Some(dname), path, port, limits);
    Some(V1 { domain, path, port, peer, phandle: dt.phandle(n), ok })
}

fn pair_v1<'t, T: DeviceTree>(
    dt: &'t T,
    cx: &mut Ctx<'t, '_>,
    v1: &List<V1<'t>, MAX_V1_ENDPOINTS>,
    domains: &List<Domain<'t, T::Node>, MAX_DOMAINS>,
    out: &mut List<Channel<'t>, MAX_CHANNELS>,
) {
    let dname = |e: &V1<'t>| domains.get(e.domain).map(|d| d.name);
    for (i, e) in v1.iter().enumerate() {
        let p = "xen,evtchn";
        let Some(j) = v1.iter().position(|o| o.phandle == Some(e.peer)) else {
            let reason = match dt.by_phandle(e.peer) {
                None => Reason::PhandleToNothing { phandle: e.peer },
                Some((t, _)) if !dt.is_compatible(t, "xen,evtchn-v1") => {
                    Reason::PhandleNotEvtchn { phandle: e.peer, target: dt.name(t) }
                }
                Some((t, _)) => Reason::PeerOutsideDomain { peer: dt.name(t) },
            };
            cx.err(dname(e), e.path, p, reason);
            continue;
        };
        let Some(peer) = v1.get(j) else { continue };
        if j == i {
            cx.err(dname(e), e.path, p, Reason::ToItself);
            continue;
        }
        if e.phandle.is_none() {
            cx.err(dname(e), e.path, "phandle", Reason::NoPhandle);
            continue;
        }
        if Some(peer.peer) != e.phandle {
            cx.err(
                dname(e),
                e.path,
                p,
                Reason::NotReciprocal { peer: peer.path, points_to: peer.peer },
            );
            continue;
        }
        if !e.ok || !peer.ok || j < i {
            continue; // reported at that endpoint, or already paired from the peer's side
        }
        let c = Channel {
            a: End { domain: e.domain, port: e.port, path: e.path },
            b: End { domain: peer.domain, port: peer.port, path: peer.path },
            draft: false,
        };
        if !out.push(c) {
            cx.err(
                dname(e),
                e.path,
                p,
                Reason::TooMany { what: "static event channels", max: MAX_CHANNELS },
            );
        }
    }
}

fn parse_draft<'t, T: DeviceTree>(
    dt: &'t T,
    cx: &mut Ctx<'t, '_>,
    n: T::Node,
    path: Path<'t>,
    domains: &List<Domain<'t, T::Node>, MAX_DOMAINS>,
    limits: &Limits,
) -> Option<Channel<'t>> {
    let p = "xen,evtchn";
    let Some(v) = dt.property(n, p) else {
        cx.err(None, path, p, Reason::Missing);
        return None;
    };
    if v.len() != 16 {
        cx.err(
            None,
            path,
            p,
            Reason::Length { got: v.len(), want: "16 (<port1 &domU1 port2 &domU2>)" },
        );
        return None;
    }
    let cell = |i: usize| u32::from_be_bytes([v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]]);
    let mut ends = [End { domain: 0, port: 0, path }; 2];
    let mut ok = true;
    for (k, end) in ends.iter_mut().enumerate() {
        let (port, ph) = (cell(2 * k), cell(2 * k + 1));
        let Some(di) = domains.iter().position(|d| dt.phandle(d.node) == Some(ph)) else {
            let reason = match dt.by_phandle(ph) {
                None => Reason::PhandleToNothing { phandle: ph },
                Some((t, _)) => Reason::PhandleNotDomain { phandle: ph, target: dt.name(t) },
            };
            cx.err(None, path, p, reason);
            ok = false;
            continue;
        };
        let dname = domains.get(di).map(|d| d.name);
        ok &= check_port(cx, dname, path, port, limits);
        *end = End { domain: di, port, path };
    }
    if ok && ends[0].domain == ends[1].domain && ends[0].port == ends[1].port {
        cx.err(domains.get(ends[0].domain).map(|d| d.name), path, p, Reason::ToItself);
        ok = false;
    }
    ok.then_some(Channel { a: ends[0], b: ends[1], draft: true })
}

/// Every (domain, port) once; the same connection once.
fn check_ports<'t, N: Copy>(cfg: &Config<'t, N>, cx: &mut Ctx<'t, '_>) {
    let dname = |e: &End<'t>| cfg.domain(e.domain).map(|d| d.name);
    let key = |e: &End<'t>| (e.domain, e.port);
    for (j, c) in cfg.channels.iter().enumerate() {
        for o in cfg.channels.iter().take(j) {
            let same = (key(&o.a), key(&o.b)) == (key(&c.a), key(&c.b))
                || (key(&o.a), key(&o.b)) == (key(&c.b), key(&c.a));
            if same {
                cx.err(
                    dname(&c.a),
                    c.a.path,
                    "xen,evtchn",
                    Reason::DuplicateConnection { other: o.a.path },
                );
                continue;
            }
            for e in [&c.a, &c.b] {
                for f in [&o.a, &o.b] {
                    if key(e) == key(f) {
                        cx.err(
                            dname(e),
                            e.path,
                            "xen,evtchn",
                            Reason::PortUsedTwice { port: e.port, other: f.path },
                        );
                    }
                }
            }
        }
        if key(&c.a) == key(&c.b) {
            cx.err(dname(&c.a), c.a.path, "xen,evtchn", Reason::ToItself);
        }
    }
}
