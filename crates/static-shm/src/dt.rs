//! The device tree as this crate reads it: a small trait, and its implementation over the
//! `fdt-rs` crate's tokenizer for the flattened tree Xen boots with.
//!
//! The trait is all the checker needs (children, names, properties); nothing here trusts the
//! tree: a malformed structure block ends a walk early (the node then looks childless or
//! property-less, and the checker reports what is missing), it never panics.

use core::cell::Cell;

use fdt_rs::base::DevTree;
use fdt_rs::base::parse::{DevTreeParseIter, ParsedTok};
use fdt_rs::prelude::FallibleIterator;

/// Read access to a device tree. `Node` is a cheap handle (an offset).
pub trait DeviceTree {
    type Node: Copy + Eq;

    fn root(&self) -> Option<Self::Node>;
    fn first_child(&self, node: Self::Node) -> Option<Self::Node>;
    fn next_sibling(&self, node: Self::Node) -> Option<Self::Node>;
    /// The node name with its unit address; "" for the root or an unreadable name.
    fn name(&self, node: Self::Node) -> &str;
    /// The raw value of property `name`, if the node has it.
    fn property(&self, node: Self::Node, name: &str) -> Option<&[u8]>;
    /// Whether a walk met a malformed structure block (nodes may have been missed).
    fn damaged(&self) -> bool {
        false
    }
}

/// The children of a node, in tree order.
pub struct Children<'t, T: DeviceTree> {
    tree: &'t T,
    next: Option<T::Node>,
}

impl<T: DeviceTree> Iterator for Children<'_, T> {
    type Item = T::Node;
    fn next(&mut self) -> Option<T::Node> {
        let n = self.next?;
        self.next = self.tree.next_sibling(n);
        Some(n)
    }
}

/// Helpers every [`DeviceTree`] gets.
pub trait DeviceTreeExt: DeviceTree + Sized {
    fn children(&self, node: Self::Node) -> Children<'_, Self> {
        Children { tree: self, next: self.first_child(node) }
    }

    /// The child named exactly `name`.
    fn child(&self, node: Self::Node, name: &str) -> Option<Self::Node> {
        self.children(node).find(|&c| self.name(c) == name)
    }

    /// Whether the node's `compatible` string list holds `compat`.
    fn is_compatible(&self, node: Self::Node, compat: &str) -> bool {
        self.property(node, "compatible")
            .is_some_and(|v| v.split(|&b| b == 0).any(|s| s == compat.as_bytes()))
    }

    /// A one-cell property.
    fn property_u32(&self, node: Self::Node, name: &str) -> Option<u32> {
        let v = self.property(node, name)?;
        (v.len() == 4).then(|| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }

    /// The node's `phandle` (or `linux,phandle`).
    fn phandle(&self, node: Self::Node) -> Option<u32> {
        self.property_u32(node, "phandle").or_else(|| self.property_u32(node, "linux,phandle"))
    }

    /// The node carrying `phandle`, searched depth first over the whole tree (at most
    /// [`MAX_DEPTH`] levels), with its parent.
    fn by_phandle(&self, phandle: u32) -> Option<(Self::Node, Option<Self::Node>)> {
        let root = self.root()?;
        if self.phandle(root) == Some(phandle) {
            return Some((root, None));
        }
        let mut stack: [Option<Self::Node>; MAX_DEPTH] = [None; MAX_DEPTH];
        let mut parents: [Option<Self::Node>; MAX_DEPTH] = [None; MAX_DEPTH];
        let mut depth = 0;
        stack[0] = self.first_child(root);
        parents[0] = Some(root);
        loop {
            match stack[depth] {
                Some(n) => {
                    if self.phandle(n) == Some(phandle) {
                        return Some((n, parents[depth]));
                    }
                    stack[depth] = self.next_sibling(n);
                    if depth + 1 < MAX_DEPTH {
                        if let Some(c) = self.first_child(n) {
                            depth += 1;
                            stack[depth] = Some(c);
                            parents[depth] = Some(n);
                        }
                    }
                }
                None if depth == 0 => return None,
                None => depth -= 1,
            }
        }
    }
}

impl<T: DeviceTree> DeviceTreeExt for T {}

/// How deep a phandle search goes.
pub const MAX_DEPTH: usize = 16;

/// A flattened device tree read with fdt-rs. Node handles are byte offsets of BEGIN_NODE
/// tokens in the blob.
pub struct Fdt<'a> {
    tree: DevTree<'a>,
    /// Set when a walk met a malformed token: the checker then reports the tree as damaged.
    damaged: Cell<bool>,
}

/// Why a blob was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    /// Not 4-byte aligned (fdt-rs reads cells in place).
    Misaligned,
    /// The slice is not exactly `totalsize` bytes, or the header is bad.
    BadHeader,
}

impl<'a> Fdt<'a> {
    /// Checks the header of `blob` (which must be exactly the header's `totalsize` long and
    /// 4-byte aligned) and wraps it.
    pub fn new(blob: &'a [u8]) -> Result<Self, FdtError> {
        if blob.as_ptr() as usize % 4 != 0 {
            return Err(FdtError::Misaligned);
        }
        let total = blob.get(4..8).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if blob.get(0..4) != Some(&[0xd0, 0x0d, 0xfe, 0xed][..]) || total != Some(blob.len() as u32)
        {
            return Err(FdtError::BadHeader);
        }
        // fdt-rs reads every header field with an unwrap: a blob shorter than the header
        // (its totalsize saying so) would panic inside DevTree::new.
        if blob.len() < DevTree::MIN_HEADER_SIZE {
            return Err(FdtError::BadHeader);
        }
        // SAFETY: fdt-rs requires the buffer to be 32-bit aligned and exactly `totalsize` bytes long,
        // both checked just above. fdt-rs then bounds-checks every read against the slice.
        // (Unsafe outside the glue because it concerns a byte slice only, no Xen state.)
        let tree = unsafe { DevTree::new(blob) }.map_err(|_| FdtError::BadHeader)?;
        let struct_off = tree.off_dt_struct();
        if struct_off % 4 != 0 || struct_off >= blob.len() || tree.off_dt_strings() > blob.len() {
            return Err(FdtError::BadHeader);
        }
        Ok(Self { tree, damaged: Cell::new(false) })
    }

    /// The token at `off` and the offset after it; `None` at the end or on a bad token.
    fn token(&self, off: usize) -> Option<(ParsedTok<'a>, usize)> {
        // fdt-rs's token parser requires an aligned offset with a whole word after it
        // (`off + 4 < len`, asserted only in debug builds): a walk of a damaged tree can get
        // there (found by fuzzing, docs/fuzzing.md), so refuse before calling it.
        if off % 4 != 0 || off.checked_add(4).is_none_or(|end| end >= self.tree.buf().len()) {
            self.damaged.set(true);
            return None;
        }
        let mut it = DevTreeParseIter { offset: off, fdt: &self.tree };
        match it.next() {
            Ok(Some(t)) => Some((t, it.offset)),
            Ok(None) => None,
            Err(_) => {
                self.damaged.set(true);
                None
            }
        }
    }

    /// The offset just past a node's BEGIN_NODE token and name.
    fn body(&self, node: usize) -> Option<usize> {
        match self.token(node)? {
            (ParsedTok::BeginNode(_), next) => Some(next),
            _ => None,
        }
    }

    /// The offset just past the END_NODE matching the node that starts at `node`.
    fn skip(&self, node: usize) -> Option<usize> {
        let mut off = self.body(node)?;
        let mut depth = 1usize;
        loop {
            let (t, next) = self.token(off)?;
            match t {
                ParsedTok::BeginNode(_) => depth += 1,
                ParsedTok::EndNode => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(next);
                    }
                }
                _ => {}
            }
            off = next;
        }
    }

    /// The first BEGIN_NODE at or after `off` before this level's END_NODE.
    fn node_from(&self, mut off: usize) -> Option<usize> {
        loop {
            let (t, next) = self.token(off)?;
            match t {
                ParsedTok::BeginNode(_) => return Some(off),
                ParsedTok::EndNode => return None,
                _ => off = next,
            }
        }
    }

    fn string(&self, name_offset: usize) -> Option<&'a [u8]> {
        let buf = self.tree.buf();
        let start = self.tree.off_dt_strings().checked_add(name_offset)?;
        let rest = buf.get(start..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..len])
    }
}

impl DeviceTree for Fdt<'_> {
    type Node = usize;

    fn damaged(&self) -> bool {
        self.damaged.get()
    }

    fn root(&self) -> Option<usize> {
        let mut off = self.tree.off_dt_struct();
        loop {
            match self.token(off)? {
                (ParsedTok::BeginNode(_), _) => return Some(off),
                (ParsedTok::Nop, next) => off = next,
                _ => return None,
            }
        }
    }

    fn first_child(&self, node: usize) -> Option<usize> {
        self.node_from(self.body(node)?)
    }

    fn next_sibling(&self, node: usize) -> Option<usize> {
        self.node_from(self.skip(node)?)
    }

    fn name(&self, node: usize) -> &str {
        match self.token(node) {
            Some((ParsedTok::BeginNode(b), _)) => core::str::from_utf8(b.name).unwrap_or(""),
            _ => "",
        }
    }

    fn property(&self, node: usize, name: &str) -> Option<&[u8]> {
        let mut off = self.body(node)?;
        loop {
            let (t, next) = self.token(off)?;
            match t {
                ParsedTok::Prop(p) => {
                    if self.string(p.name_offset) == Some(name.as_bytes()) {
                        return Some(p.prop_buf);
                    }
                }
                ParsedTok::Nop => {}
                _ => return None,
            }
            off = next;
        }
    }
}
