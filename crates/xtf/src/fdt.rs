//! A small, bounds-checked reader for flattened device trees (DTB, format version 17).
//!
//! [`Fdt::new`] checks the header and walks the whole structure block once (tokens, name
//! termination, property bounds, string offsets, nesting, properties before subnodes); after
//! that, lookups are infallible in shape (`Option`, never a panic). Every read goes through
//! `slice::get`, so even a tree that changed after the check cannot make the reader index out
//! of bounds: at worst a walk ends early.
//!
//! Read-only, no allocation. Covers what guests need: paths, properties, strings, cells.

use core::fmt;

const MAGIC: u32 = 0xd00d_feed;
const HEADER_LEN: usize = 40;
const FIRST_VERSION: u32 = 17;

const TOKEN_BEGIN_NODE: u32 = 1;
const TOKEN_END_NODE: u32 = 2;
const TOKEN_PROP: u32 = 3;
const TOKEN_NOP: u32 = 4;
const TOKEN_END: u32 = 9;

/// Why a blob is not a device tree this reader accepts. Offsets are into the structure block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    /// Shorter than its header, or than the header's `totalsize`.
    Truncated,
    /// The first word is not 0xd00dfeed.
    BadMagic(u32),
    /// Format version older than 17 or not backwards compatible with 17.
    BadVersion { version: u32, last_compatible: u32 },
    /// The structure or strings block lies outside the blob, or is misaligned.
    BadLayout,
    /// An unknown token, or one that runs past the structure block.
    BadToken { offset: usize },
    /// A node name without its NUL inside the block, or not UTF-8.
    BadName { offset: usize },
    /// A property value past the structure block, or a name offset outside the strings block.
    BadProperty { offset: usize },
    /// No root node, unbalanced nodes, properties outside a node or after its subnodes.
    BadNesting { offset: usize },
    /// `from_raw`: a null pointer, or `totalsize` larger than the caller allowed.
    BadAddress,
}

impl fmt::Display for FdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FdtError::Truncated => f.write_str("blob shorter than its header says"),
            FdtError::BadMagic(m) => write!(f, "bad magic {m:#010x}"),
            FdtError::BadVersion { version, last_compatible } => {
                write!(f, "unsupported version {version} (compatible with {last_compatible})")
            }
            FdtError::BadLayout => f.write_str("blocks outside the blob or misaligned"),
            FdtError::BadToken { offset } => write!(f, "bad token at structure offset {offset:#x}"),
            FdtError::BadName { offset } => {
                write!(f, "bad node name at structure offset {offset:#x}")
            }
            FdtError::BadProperty { offset } => {
                write!(f, "bad property at structure offset {offset:#x}")
            }
            FdtError::BadNesting { offset } => {
                write!(f, "bad node nesting at structure offset {offset:#x}")
            }
            FdtError::BadAddress => f.write_str("null address or size above the allowed maximum"),
        }
    }
}

fn be32(bytes: &[u8], off: usize) -> Option<u32> {
    let b = bytes.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

/// The NUL-terminated string at `off` in `bytes`, without its NUL.
fn cstr_at(bytes: &[u8], off: usize) -> Option<&[u8]> {
    let tail = bytes.get(off..)?;
    let len = tail.iter().position(|&b| b == 0)?;
    tail.get(..len)
}

/// One token of the structure block.
#[derive(Clone, Copy)]
enum Token<'a> {
    Begin { name: &'a str },
    End,
    Prop(Property<'a>),
    Nop,
    Finish,
}

/// A checked device tree.
#[derive(Clone, Copy)]
pub struct Fdt<'a> {
    blob: &'a [u8],
    structs: &'a [u8],
    strings: &'a [u8],
}

impl fmt::Debug for Fdt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fdt").field("total_size", &self.blob.len()).finish_non_exhaustive()
    }
}

impl<'a> Fdt<'a> {
    /// Checks `bytes` (which may be longer than the tree) and returns a reader over the tree.
    pub fn new(bytes: &'a [u8]) -> Result<Self, FdtError> {
        let field = |n: usize| be32(bytes, 4 * n).ok_or(FdtError::Truncated);
        let magic = field(0)?;
        if magic != MAGIC {
            return Err(FdtError::BadMagic(magic));
        }
        if bytes.len() < HEADER_LEN {
            return Err(FdtError::Truncated);
        }
        let total = field(1)? as usize;
        let off_struct = field(2)? as usize;
        let off_strings = field(3)? as usize;
        let version = field(5)?;
        let last_compatible = field(6)?;
        let size_strings = field(8)? as usize;
        let size_struct = field(9)? as usize;
        if version < FIRST_VERSION || last_compatible > FIRST_VERSION {
            return Err(FdtError::BadVersion { version, last_compatible });
        }
        let blob = bytes.get(..total).ok_or(FdtError::Truncated)?;
        if total < HEADER_LEN || !off_struct.is_multiple_of(4) {
            return Err(FdtError::BadLayout);
        }
        let block = |off: usize, size: usize| {
            let end = off.checked_add(size).ok_or(FdtError::BadLayout)?;
            if off < HEADER_LEN {
                return Err(FdtError::BadLayout);
            }
            blob.get(off..end).ok_or(FdtError::BadLayout)
        };
        let fdt = Fdt {
            blob,
            structs: block(off_struct, size_struct)?,
            strings: block(off_strings, size_strings)?,
        };
        fdt.check_structure()?;
        Ok(fdt)
    }

    /// Reads the tree that starts at `addr`.
    ///
    /// Reads the 40-byte header first, then `totalsize` bytes, which must not exceed
    /// `max_len`.
    ///
    /// # Safety
    ///
    /// 1. `addr .. addr + max_len` must be readable memory that does not wrap the address
    ///    space, and nothing may write it during `'a`.
    /// 2. `max_len` must be at least 40 or the call fails without reading anything.
    pub unsafe fn from_raw(addr: *const u8, max_len: usize) -> Result<Self, FdtError> {
        if addr.is_null() {
            return Err(FdtError::BadAddress);
        }
        if max_len < HEADER_LEN {
            return Err(FdtError::Truncated);
        }
        // SAFETY: the caller promises `max_len` readable, unchanging bytes at `addr` for 'a
        // (safety point 1); HEADER_LEN <= max_len was checked above; u8 needs no alignment and
        // `addr` is not null.
        let header = unsafe { core::slice::from_raw_parts(addr, HEADER_LEN) };
        if be32(header, 0) != Some(MAGIC) {
            return Err(FdtError::BadMagic(be32(header, 0).unwrap_or(0)));
        }
        let total = be32(header, 4).ok_or(FdtError::Truncated)? as usize;
        if total > max_len {
            return Err(FdtError::BadAddress);
        }
        // SAFETY: as above, with `total <= max_len` just checked.
        let blob = unsafe { core::slice::from_raw_parts(addr, total) };
        Fdt::new(blob)
    }

    /// The size of the whole blob (`totalsize`).
    pub fn total_size(&self) -> usize {
        self.blob.len()
    }

    /// The token at `off` in the structure block and the offset of the next one.
    fn token_at(&self, off: usize) -> Result<(Token<'a>, usize), FdtError> {
        let bad_token = FdtError::BadToken { offset: off };
        let tok = be32(self.structs, off).ok_or(bad_token)?;
        let body = off + 4; // off + 4 <= structs.len(): be32 read those bytes.
        match tok {
            TOKEN_BEGIN_NODE => {
                let bad = FdtError::BadName { offset: off };
                let raw = cstr_at(self.structs, body).ok_or(bad)?;
                let name = core::str::from_utf8(raw).map_err(|_| bad)?;
                let next = align4(body + raw.len() + 1).ok_or(bad)?;
                Ok((Token::Begin { name }, next))
            }
            TOKEN_END_NODE => Ok((Token::End, body)),
            TOKEN_NOP => Ok((Token::Nop, body)),
            TOKEN_END => Ok((Token::Finish, body)),
            TOKEN_PROP => {
                let bad = FdtError::BadProperty { offset: off };
                let len = be32(self.structs, body).ok_or(bad)? as usize;
                let name_off = be32(self.structs, body + 4).ok_or(bad)? as usize;
                let start = body + 8;
                let end = start.checked_add(len).ok_or(bad)?;
                let value = self.structs.get(start..end).ok_or(bad)?;
                let raw = cstr_at(self.strings, name_off).ok_or(bad)?;
                let name = core::str::from_utf8(raw).map_err(|_| bad)?;
                Ok((Token::Prop(Property { name, value }), align4(end).ok_or(bad)?))
            }
            _ => Err(bad_token),
        }
    }

    /// Walks the structure block once; see the module doc for what is checked.
    fn check_structure(&self) -> Result<(), FdtError> {
        let mut off = 0;
        let mut depth = 0usize;
        let mut root_done = false;
        // The last token other than NOP was an END_NODE: a subnode just closed.
        let mut after_subnode = false;
        loop {
            let (tok, next) = self.token_at(off)?;
            let nesting = FdtError::BadNesting { offset: off };
            match tok {
                Token::Nop => {}
                Token::Begin { .. } => {
                    if depth == 0 && root_done {
                        return Err(nesting);
                    }
                    depth += 1;
                    after_subnode = false;
                }
                Token::End => {
                    if depth == 0 {
                        return Err(nesting);
                    }
                    depth -= 1;
                    root_done |= depth == 0;
                    after_subnode = true;
                }
                Token::Prop(_) => {
                    if depth == 0 || after_subnode {
                        return Err(nesting);
                    }
                }
                Token::Finish => {
                    return if depth == 0 && root_done { Ok(()) } else { Err(nesting) };
                }
            }
            // Every token is at least 4 bytes: `next > off`, so the walk ends.
            off = next;
        }
    }

    /// The root node.
    pub fn root(&self) -> Option<Node<'a>> {
        let mut off = 0;
        loop {
            match self.token_at(off).ok()? {
                (Token::Nop, next) => off = next,
                (Token::Begin { name }, body) => return Some(Node { fdt: *self, name, body }),
                _ => return None,
            }
        }
    }

    /// The node at an absolute `path` such as `/chosen` or `/cpus/cpu@0`. A component without
    /// a unit address also matches a node that has one (`/memory` finds `memory@40000000`).
    pub fn find_node(&self, path: &str) -> Option<Node<'a>> {
        let rest = path.strip_prefix('/')?;
        rest.split('/').filter(|c| !c.is_empty()).try_fold(self.root()?, |node, c| node.child(c))
    }

    /// `/chosen/bootargs`.
    pub fn bootargs(&self) -> Option<&'a str> {
        self.find_node("/chosen")?.property_str("bootargs")
    }
}

/// A property: its name and raw (big-endian) value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Property<'a> {
    pub name: &'a str,
    pub value: &'a [u8],
}

impl<'a> Property<'a> {
    /// The value as one string: must be NUL-terminated and UTF-8; for a string list, the
    /// first string.
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(cstr_at(self.value, 0)?).ok()
    }

    /// The value as a list of NUL-terminated strings. Yields nothing if it does not end in NUL;
    /// stops at the first string that is not UTF-8.
    pub fn strings(&self) -> Strings<'a> {
        let rest = if self.value.last() == Some(&0) { self.value } else { &[] };
        Strings { rest }
    }

    /// The value as big-endian 32-bit cells; a trailing partial cell is ignored.
    pub fn cells(&self) -> Cells<'a> {
        Cells { rest: self.value }
    }

    /// A value of exactly one cell.
    pub fn as_u32(&self) -> Option<u32> {
        (self.value.len() == 4).then(|| be32(self.value, 0)).flatten()
    }

    /// A value of exactly two cells.
    pub fn as_u64(&self) -> Option<u64> {
        if self.value.len() != 8 {
            return None;
        }
        Some((u64::from(be32(self.value, 0)?) << 32) | u64::from(be32(self.value, 4)?))
    }
}

/// A node of a checked tree.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    fdt: Fdt<'a>,
    name: &'a str,
    /// Structure offset of the first token after this node's BEGIN_NODE and name.
    body: usize,
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<'a> Node<'a> {
    /// The name with its unit address (`memory@40000000`); "" for the root.
    pub fn name(&self) -> &'a str {
        self.name
    }

    pub fn properties(&self) -> Properties<'a> {
        Properties { fdt: self.fdt, off: Some(self.body) }
    }

    pub fn property(&self, name: &str) -> Option<Property<'a>> {
        self.properties().find(|p| p.name == name)
    }

    /// A string property (see [`Property::as_str`]).
    pub fn property_str(&self, name: &str) -> Option<&'a str> {
        self.property(name)?.as_str()
    }

    /// A one-cell property.
    pub fn property_u32(&self, name: &str) -> Option<u32> {
        self.property(name)?.as_u32()
    }

    /// Whether `compatible` lists `compat`.
    pub fn is_compatible(&self, compat: &str) -> bool {
        self.property("compatible").is_some_and(|p| p.strings().any(|s| s == compat))
    }

    pub fn children(&self) -> Children<'a> {
        Children { fdt: self.fdt, off: Some(self.body) }
    }

    /// The child called `name`; without '@', `name` also matches `name@<unit address>`.
    pub fn child(&self, name: &str) -> Option<Node<'a>> {
        self.children().find(|c| {
            c.name == name
                || (!name.contains('@') && c.name.split_once('@').is_some_and(|(n, _)| n == name))
        })
    }
}

/// The properties of a node, in order.
pub struct Properties<'a> {
    fdt: Fdt<'a>,
    off: Option<usize>,
}

impl<'a> Iterator for Properties<'a> {
    type Item = Property<'a>;

    fn next(&mut self) -> Option<Property<'a>> {
        loop {
            let (tok, next) = self.fdt.token_at(self.off?).ok()?;
            match tok {
                Token::Nop => self.off = Some(next),
                Token::Prop(p) => {
                    self.off = Some(next);
                    return Some(p);
                }
                _ => {
                    self.off = None;
                    return None;
                }
            }
        }
    }
}

/// The subnodes of a node, in order.
pub struct Children<'a> {
    fdt: Fdt<'a>,
    off: Option<usize>,
}

impl<'a> Iterator for Children<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        let found = self.find_next();
        if found.is_none() {
            self.off = None;
        }
        found
    }
}

impl<'a> Children<'a> {
    fn find_next(&mut self) -> Option<Node<'a>> {
        let mut off = self.off?;
        // Skip this node's properties up to the next subnode (or its END_NODE).
        let (name, body) = loop {
            match self.fdt.token_at(off).ok()? {
                (Token::Nop | Token::Prop(_), next) => off = next,
                (Token::Begin { name }, body) => break (name, body),
                (Token::End | Token::Finish, _) => return None,
            }
        };
        // Skip the subnode's subtree, so the next call starts after it.
        let mut depth = 1usize;
        off = body;
        while depth > 0 {
            let (tok, next) = self.fdt.token_at(off).ok()?;
            match tok {
                Token::Begin { .. } => depth += 1,
                Token::End => depth -= 1,
                Token::Finish => return None,
                Token::Nop | Token::Prop(_) => {}
            }
            off = next;
        }
        self.off = Some(off);
        Some(Node { fdt: self.fdt, name, body })
    }
}

/// The strings of a string-list property.
pub struct Strings<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Strings<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let raw = cstr_at(self.rest, 0)?;
        self.rest = self.rest.get(raw.len() + 1..).unwrap_or(&[]);
        match core::str::from_utf8(raw) {
            Ok(s) => Some(s),
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

/// The big-endian 32-bit cells of a property.
pub struct Cells<'a> {
    rest: &'a [u8],
}

impl Cells<'_> {
    /// The next `n` cells (1 or 2) as one number, as `reg` entries are read with
    /// `#address-cells` / `#size-cells`. `None` if `n` is 0 or above 2, or cells ran out.
    pub fn next_n(&mut self, n: u32) -> Option<u64> {
        match n {
            1 => self.next().map(u64::from),
            2 => {
                let hi = self.next()?;
                Some((u64::from(hi) << 32) | u64::from(self.next()?))
            }
            _ => None,
        }
    }
}

impl Iterator for Cells<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let v = be32(self.rest, 0)?;
        self.rest = self.rest.get(4..).unwrap_or(&[]);
        Some(v)
    }
}

#[cfg(test)]
mod tests;
