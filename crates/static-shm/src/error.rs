//! Boot errors: every refusal names the domain, the node, the property and the reason, with
//! the errno C Xen uses for the same refusal (or would, had it checked).

use core::fmt;

/// A node under `/chosen`: `/chosen/<parent>/<node>` or `/chosen/<node>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path<'t> {
    pub parent: Option<&'t str>,
    pub node: &'t str,
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parent {
            Some(p) => write!(f, "/chosen/{p}/{}", self.node),
            None => write!(f, "/chosen/{}", self.node),
        }
    }
}

/// Xen errno values used here (public/errno.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    ESRCH = 3,
    ENOMEM = 12,
    EBUSY = 16,
    EEXIST = 17,
    EINVAL = 22,
    ENOSPC = 28,
}

impl Errno {
    pub fn name(self) -> &'static str {
        match self {
            Errno::ESRCH => "ESRCH",
            Errno::ENOMEM => "ENOMEM",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EINVAL => "EINVAL",
            Errno::ENOSPC => "ENOSPC",
        }
    }
}

/// Why a configuration is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason<'t> {
    /// The property is absent.
    Missing,
    /// The property has the wrong size.
    Length {
        got: usize,
        want: &'static str,
    },
    /// The device tree's structure block is damaged.
    DamagedTree,
    /// More nodes of a kind than this implementation holds.
    TooMany {
        what: &'static str,
        max: usize,
    },

    // ---- event channels ----
    PortZero,
    PortPastLimit {
        port: u32,
        max: u32,
    },
    PortUsedTwice {
        port: u32,
        other: Path<'t>,
    },
    NoPhandle,
    PhandleToNothing {
        phandle: u32,
    },
    PhandleNotEvtchn {
        phandle: u32,
        target: &'t str,
    },
    PhandleNotDomain {
        phandle: u32,
        target: &'t str,
    },
    PeerOutsideDomain {
        peer: &'t str,
    },
    NotReciprocal {
        peer: Path<'t>,
        points_to: u32,
    },
    ToItself,
    DuplicateConnection {
        other: Path<'t>,
    },
    /// Set-up time: the domain node was not built into a domain.
    NoSuchDomain,
    /// Set-up time: Xen refused (errno from the C call).
    Xen {
        op: &'static str,
        rc: i32,
    },

    // ---- shared memory ----
    Cells {
        address: u32,
        size: u32,
    },
    HostAddressMissing,
    ShmIdEmpty,
    ShmIdTooLong {
        len: usize,
        max: usize,
    },
    ShmIdNotString,
    ShmIdOutOfRange {
        id: u32,
        max: u32,
    },
    RoleUnknown {
        role: &'t str,
    },
    SizeZero,
    Unaligned {
        what: &'static str,
        value: u64,
    },
    Overflow {
        what: &'static str,
    },
    NotInRam {
        base: u64,
        end: u64,
    },
    OverlapsHost {
        what: &'static str,
        base: u64,
        end: u64,
    },
    OverlapsRegion {
        other: Path<'t>,
    },
    SameIdOtherRegion {
        other: Path<'t>,
    },
    GuestOverlapsRam {
        base: u64,
        end: u64,
    },
    GuestOverlapsShm {
        other: Path<'t>,
    },
    IdTwiceInDomain {
        other: Path<'t>,
    },
    TwoOwners {
        other: Path<'t>,
    },
    BorrowerWithoutOwner,
    MixedOwnership {
        other: Path<'t>,
    },
    TooManyBanks {
        max: usize,
    },
    /// A design-draft node (numeric id) whose values only make sense in Xen 4.17's order:
    /// `size` and `guest` as they would be read that way.
    DraftOrder {
        size: u64,
        guest: u64,
    },
    /// One identifier named with a string on one node and a number on another.
    MixedBindings {
        other: Path<'t>,
    },
}

impl Reason<'_> {
    /// The errno Xen's C returns for the same refusal (EINVAL where C did not check).
    pub fn errno(&self) -> Errno {
        match self {
            Reason::TooMany { .. } | Reason::PortPastLimit { .. } | Reason::TooManyBanks { .. } => {
                Errno::ENOSPC
            }
            Reason::PortUsedTwice { .. } => Errno::EBUSY,
            Reason::DuplicateConnection { .. } => Errno::EEXIST,
            Reason::NoSuchDomain => Errno::ESRCH,
            _ => Errno::EINVAL,
        }
    }
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::Missing => f.write_str("missing"),
            Reason::Length { got, want } => write!(f, "{got} bytes, expected {want}"),
            Reason::DamagedTree => f.write_str("the device tree's structure block is damaged"),
            Reason::TooMany { what, max } => write!(f, "more than {max} {what}"),
            Reason::PortZero => f.write_str("port 0 is not a valid port"),
            Reason::PortPastLimit { port, max } => {
                write!(f, "port {port} is past the domain's limit ({max})")
            }
            Reason::PortUsedTwice { port, other } => {
                write!(f, "port {port} is also set up by {other}")
            }
            Reason::NoPhandle => {
                f.write_str("node has no phandle, so no peer can point back to it")
            }
            Reason::PhandleToNothing { phandle } => {
                write!(f, "phandle {phandle:#x} names no node")
            }
            Reason::PhandleNotEvtchn { phandle, target } => {
                write!(f, "phandle {phandle:#x} names {target}, not a xen,evtchn-v1 node")
            }
            Reason::PhandleNotDomain { phandle, target } => {
                write!(
                    f,
                    "phandle {phandle:#x} names {target}, not a xen,domain node under /chosen"
                )
            }
            Reason::PeerOutsideDomain { peer } => {
                write!(f, "peer node {peer} is not a child of a xen,domain node under /chosen")
            }
            Reason::NotReciprocal { peer, points_to } => {
                write!(f, "peer {peer} points back to phandle {points_to:#x}, not to this node")
            }
            Reason::ToItself => f.write_str("the channel connects an endpoint to itself"),
            Reason::DuplicateConnection { other } => {
                write!(f, "the same connection is also set up by {other}")
            }
            Reason::NoSuchDomain => f.write_str("no domain was built from this node"),
            Reason::Xen { op, rc } => write!(f, "{op} failed ({rc})"),
            Reason::Cells { address, size } => write!(
                f,
                "#address-cells {address} / #size-cells {size} of the parent: each must be 1 or 2"
            ),
            Reason::HostAddressMissing => f.write_str(
                "2 values (guest address, size): Xen 4.17 needs the host address too (3 values)",
            ),
            Reason::ShmIdEmpty => f.write_str("empty identifier"),
            Reason::ShmIdTooLong { len, max } => {
                write!(f, "identifier of {len} characters, at most {max} allowed")
            }
            Reason::ShmIdNotString => {
                f.write_str("neither a NUL-terminated printable string nor a 32-bit number")
            }
            Reason::ShmIdOutOfRange { id, max } => {
                write!(f, "numeric identifier {id:#x} is out of range 0..={max:#x}")
            }
            Reason::RoleUnknown { role } => {
                write!(f, "role \"{role}\" is neither \"owner\" nor \"borrower\"")
            }
            Reason::SizeZero => f.write_str("size is zero"),
            Reason::Unaligned { what, value } => {
                write!(f, "{what} {value:#x} is not 4 KiB aligned")
            }
            Reason::Overflow { what } => write!(f, "{what} + size wraps around"),
            Reason::NotInRam { base, end } => {
                write!(f, "host region {base:#x}-{end:#x} is not inside host RAM")
            }
            Reason::OverlapsHost { what, base, end } => {
                write!(f, "host region overlaps {what} ({base:#x}-{end:#x})")
            }
            Reason::OverlapsRegion { other } => {
                write!(f, "host region overlaps the region of {other}")
            }
            Reason::SameIdOtherRegion { other } => {
                write!(f, "same identifier as {other} but a different host region")
            }
            Reason::GuestOverlapsRam { base, end } => {
                write!(f, "guest region overlaps the domain's RAM ({base:#x}-{end:#x})")
            }
            Reason::GuestOverlapsShm { other } => {
                write!(f, "guest region overlaps the guest region of {other}")
            }
            Reason::IdTwiceInDomain { other } => {
                write!(f, "the domain already uses this identifier in {other}")
            }
            Reason::TwoOwners { other } => write!(f, "{other} is owner of the region too"),
            Reason::BorrowerWithoutOwner => {
                f.write_str("role \"borrower\" but no node of this identifier is \"owner\"")
            }
            Reason::MixedOwnership { other } => write!(
                f,
                "no role here (owner dom_io) but {other} gives the region an explicit role"
            ),
            Reason::TooManyBanks { max } => write!(f, "more than {max} shared regions"),
            Reason::DraftOrder { size, guest } => write!(
                f,
                "a numeric xen,shm-id is the design draft's binding, read as <host size guest>; \
                 these values fit Xen 4.17's <host guest size> order (guest {guest:#x}, size \
                 {size:#x}): write them in the draft's order or use a string xen,shm-id"
            ),
            Reason::MixedBindings { other } => write!(
                f,
                "the identifier is a number here and a string in {other} (or the reverse): the \
                 two bindings order xen,shared-mem differently, so a region uses one"
            ),
        }
    }
}

/// One refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error<'t> {
    /// The domain node's name (`domU0`); `None` for nodes directly under `/chosen` that belong
    /// to no single domain.
    pub domain: Option<&'t str>,
    pub node: Path<'t>,
    pub property: &'static str,
    pub reason: Reason<'t>,
}

impl fmt::Display for Error<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "domain {}: node {}: property {}: {} (-{})",
            self.domain.unwrap_or("-"),
            self.node,
            self.property,
            self.reason,
            self.reason.errno().name()
        )
    }
}

/// The errors of one check, up to a fixed number (the rest are counted).
pub struct Errors<'t> {
    list: [Option<Error<'t>>; MAX_ERRORS],
    len: usize,
    dropped: usize,
}

/// How many errors one check keeps.
pub const MAX_ERRORS: usize = 8;

impl<'t> Errors<'t> {
    pub const MAX: usize = MAX_ERRORS;

    pub fn new() -> Self {
        Self { list: [None; Self::MAX], len: 0, dropped: 0 }
    }

    pub fn push(&mut self, e: Error<'t>) {
        match self.list.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(e);
                self.len += 1;
            }
            None => self.dropped += 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len + self.dropped
    }

    /// Errors beyond [`Self::MAX`], counted but not kept.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    pub fn iter(&self) -> impl Iterator<Item = &Error<'t>> {
        self.list.iter().flatten()
    }
}

impl Default for Errors<'_> {
    fn default() -> Self {
        Self::new()
    }
}
