//! A domain's ring table, its ring page budget, and a ring's list of senders waiting for
//! space.
//!
//! All are fixed-size (no allocation, bounded work per hypercall): a domain has at most
//! [`V4V_MAX_RINGS_PER_DOMAIN`] rings holding at most its [`PageBudget`] of pages, a ring at
//! most [`MAX_WAITERS`] waiting senders. `R` is what the table holds per ring (a pointer to
//! the ring in Xen, anything in tests).

use crate::abi::{DomId, V4V_DOMID_ANY, V4V_MAX_RINGS_PER_DOMAIN};
use xen_rust_glue::Errno;

/// What identifies a ring inside its owner's table: (port, partner).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingKey {
    pub port: u32,
    /// A domain id or [`V4V_DOMID_ANY`].
    pub partner: DomId,
}

/// One domain's rings.
pub struct RingTable<R> {
    /// INVARIANT: `slots[..count]` are all `Some`, the rest `None` (lookups scan `count`).
    slots: [Option<(RingKey, R)>; V4V_MAX_RINGS_PER_DOMAIN],
    count: usize,
}

impl<R> Default for RingTable<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R> RingTable<R> {
    pub const fn new() -> Self {
        Self { slots: [const { None }; V4V_MAX_RINGS_PER_DOMAIN], count: 0 }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The ring registered exactly as `key`.
    pub fn find(&self, key: RingKey) -> Option<&R> {
        self.slots[..self.count].iter().flatten().find(|(k, _)| *k == key).map(|(_, r)| r)
    }

    /// The ring a message from `sender` to `port` goes to: the ring whose partner is
    /// `sender` first, else the ring open to any domain (the RFC's matching order).
    pub fn lookup_for_send(&self, port: u32, sender: DomId) -> Option<&R> {
        self.find(RingKey { port, partner: sender })
            .or_else(|| self.find(RingKey { port, partner: V4V_DOMID_ANY }))
    }

    /// Whether [`Self::insert`] of `key` would succeed: a slot is free, or `key` is
    /// registered (a replacement).
    pub fn has_room_for(&self, key: RingKey) -> bool {
        self.count < V4V_MAX_RINGS_PER_DOMAIN || self.find(key).is_some()
    }

    /// Add a ring, replacing (and returning) one registered with the same key.
    /// `ENOSPC` (and `r` back) when the table is full.
    pub fn insert(&mut self, key: RingKey, r: R) -> Result<Option<R>, (Errno, R)> {
        let n = self.count;
        if let Some(slot) = self.slots[..n].iter_mut().flatten().find(|(k, _)| *k == key) {
            return Ok(Some(core::mem::replace(&mut slot.1, r)));
        }
        if n == V4V_MAX_RINGS_PER_DOMAIN {
            return Err((Errno::ENOSPC, r));
        }
        self.slots[n] = Some((key, r));
        self.count += 1;
        Ok(None)
    }

    /// Remove the ring registered as `key`.
    pub fn remove(&mut self, key: RingKey) -> Option<R> {
        let i = self.slots[..self.count]
            .iter()
            .position(|s| s.as_ref().is_some_and(|(k, _)| *k == key))?;
        self.count -= 1;
        // Keep the rings in slots[..count]: the last one fills the hole.
        self.slots.swap(i, self.count);
        self.slots[self.count].take().map(|(_, r)| r)
    }

    /// Remove any one ring (teardown: call until `None`).
    pub fn pop(&mut self) -> Option<R> {
        if self.count == 0 {
            return None;
        }
        self.count -= 1;
        self.slots[self.count].take().map(|(_, r)| r)
    }

    pub fn iter(&self) -> impl Iterator<Item = (RingKey, &R)> {
        self.slots[..self.count].iter().flatten().map(|(k, r)| (*k, r))
    }
}

/// A domain's ring pages: those of its registered rings plus those reserved by
/// registrations in progress, never above `max` except that a re-registration may use the
/// pages of the ring it replaces until it has replaced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageBudget {
    pages: u32,
    max: u32,
}

impl PageBudget {
    pub const fn new(max: u32) -> Self {
        Self { pages: 0, max }
    }

    /// Pages counted now.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    /// A new limit (rings already registered keep their pages).
    pub fn set_max(&mut self, max: u32) {
        self.max = max;
    }

    /// Reserve `npage` pages for a registration; `replaced` is the page count of the ring
    /// it would replace (counted now), if any. `ENOSPC` when the pages would not fit.
    pub fn reserve(&mut self, npage: u32, replaced: Option<u32>) -> Result<(), Errno> {
        let after = self.pages.saturating_sub(replaced.unwrap_or(0)) as u64 + npage as u64;
        if after > self.max as u64 {
            return Err(Errno::ENOSPC);
        }
        // INVARIANT: pages <= max + the replaced ring's pages (<= 2^32 - 1: max and a ring
        // are both far below 2^31).
        self.pages = self.pages.saturating_add(npage);
        Ok(())
    }

    /// End a reservation of `npage`: the ring went in (`inserted`), replacing one of
    /// `replaced` pages, whose pages leave the count; or it did not.
    pub fn settle(&mut self, npage: u32, inserted: bool, replaced: u32) {
        self.pages = self.pages.saturating_sub(npage);
        if inserted {
            self.pages = self.pages.saturating_sub(replaced).saturating_add(npage);
        }
    }

    /// A registered ring of `npage` pages went (unregister, teardown).
    pub fn release(&mut self, npage: u32) {
        self.pages = self.pages.saturating_sub(npage);
    }
}

/// Most senders one ring remembers as waiting for space.
pub const MAX_WAITERS: usize = 32;

/// Senders waiting for space in one ring: (domain, payload bytes it wants to send).
#[derive(Debug)]
pub struct Waiters {
    w: [(DomId, u32); MAX_WAITERS],
    n: usize,
}

impl Default for Waiters {
    fn default() -> Self {
        Self::new()
    }
}

impl Waiters {
    pub const fn new() -> Self {
        Self { w: [(0, 0); MAX_WAITERS], n: 0 }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Remember that `dom` waits for `space` payload bytes (a domain waits once per ring: a
    /// later call replaces its size). `false` if the list is full (the sender then gets no
    /// wake-up and must poll with notify; docs/v4v.md).
    pub fn add(&mut self, dom: DomId, space: u32) -> bool {
        if let Some(e) = self.w[..self.n].iter_mut().find(|e| e.0 == dom) {
            e.1 = space;
            return true;
        }
        if self.n == MAX_WAITERS {
            return false;
        }
        self.w[self.n] = (dom, space);
        self.n += 1;
        true
    }

    /// Forget `dom` (it found space, or it is dying).
    pub fn remove(&mut self, dom: DomId) {
        if let Some(i) = self.w[..self.n].iter().position(|e| e.0 == dom) {
            self.n -= 1;
            self.w[i] = self.w[self.n];
        }
    }

    /// Remove every waiter whose size `fits`; their domains go to `out` (which holds
    /// [`MAX_WAITERS`]). Returns how many.
    pub fn take_ready(
        &mut self,
        fits: impl Fn(u32) -> bool,
        out: &mut [DomId; MAX_WAITERS],
    ) -> usize {
        let mut k = 0;
        let mut i = 0;
        while i < self.n {
            if fits(self.w[i].1) {
                out[k] = self.w[i].0;
                k += 1;
                self.n -= 1;
                self.w[i] = self.w[self.n];
            } else {
                i += 1;
            }
        }
        k
    }

    pub fn contains(&self, dom: DomId) -> bool {
        self.w[..self.n].iter().any(|e| e.0 == dom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u32, partner: DomId) -> RingKey {
        RingKey { port, partner }
    }

    #[test]
    fn partner_ring_matched_before_any() {
        let mut t = RingTable::new();
        t.insert(key(1, V4V_DOMID_ANY), "any").unwrap();
        assert_eq!(t.lookup_for_send(1, 3), Some(&"any"));
        t.insert(key(1, 3), "three").unwrap();
        assert_eq!(t.lookup_for_send(1, 3), Some(&"three"));
        assert_eq!(t.lookup_for_send(1, 4), Some(&"any"));
        assert_eq!(t.lookup_for_send(2, 3), None);
        t.remove(key(1, V4V_DOMID_ANY)).unwrap();
        assert_eq!(t.lookup_for_send(1, 4), None);
        assert_eq!(t.lookup_for_send(1, 3), Some(&"three"));
    }

    #[test]
    fn replace_remove_full() {
        let mut t = RingTable::new();
        assert_eq!(t.insert(key(1, 2), 10).unwrap(), None);
        assert_eq!(t.insert(key(1, 2), 11).unwrap(), Some(10));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove(key(1, 3)), None);
        assert_eq!(t.remove(key(1, 2)), Some(11));
        assert!(t.is_empty());
        for p in 0..5 {
            t.insert(key(p, 1), p).unwrap();
        }
        assert_eq!(t.remove(key(1, 1)), Some(1));
        assert_eq!(t.remove(key(9, 1)), None);
        for p in [0, 2, 3, 4] {
            assert_eq!(t.find(key(p, 1)), Some(&p));
        }
        assert_eq!(t.iter().count(), 4);
        while t.pop().is_some() {}
        for p in 0..V4V_MAX_RINGS_PER_DOMAIN as u32 {
            t.insert(key(p, 1), p).unwrap();
        }
        assert_eq!(t.insert(key(999, 1), 999).unwrap_err(), (Errno::ENOSPC, 999));
        // replacing still works when full
        assert_eq!(t.insert(key(5, 1), 55).unwrap(), Some(5));
        let mut n = 0;
        while t.pop().is_some() {
            n += 1;
        }
        assert_eq!(n, V4V_MAX_RINGS_PER_DOMAIN);
        assert!(t.is_empty());
    }

    #[test]
    fn room_for() {
        let mut t = RingTable::new();
        for p in 0..V4V_MAX_RINGS_PER_DOMAIN as u32 {
            assert!(t.has_room_for(key(p, 1)));
            t.insert(key(p, 1), p).unwrap();
        }
        assert!(!t.has_room_for(key(999, 1)));
        assert!(t.has_room_for(key(5, 1)));
    }

    #[test]
    fn page_budget() {
        let mut b = PageBudget::new(10);
        assert_eq!(b.reserve(4, None), Ok(()));
        b.settle(4, true, 0);
        assert_eq!(b.reserve(6, None), Ok(()));
        assert_eq!(b.pages(), 10);
        // Full: one page more is refused, even while the first reservation is in flight.
        assert_eq!(b.reserve(1, None), Err(Errno::ENOSPC));
        b.settle(6, false, 0); // that registration failed: its pages come back
        assert_eq!(b.pages(), 4);
        assert_eq!(b.reserve(7, None), Err(Errno::ENOSPC));
        // Replacing the 4-page ring by a 10-page one fits (its 4 pages go).
        assert_eq!(b.reserve(10, Some(4)), Ok(()));
        assert_eq!(b.pages(), 14);
        b.settle(10, true, 4);
        assert_eq!(b.pages(), 10);
        assert_eq!(b.reserve(11, Some(10)), Err(Errno::ENOSPC));
        b.release(10);
        assert_eq!(b.pages(), 0);
        // Two concurrent re-registrations of one ring: the count never exceeds max plus
        // that ring, and ends at the ring that stayed.
        let mut b = PageBudget::new(8);
        b.reserve(3, None).unwrap();
        b.settle(3, true, 0);
        b.reserve(5, Some(3)).unwrap();
        b.reserve(3, Some(3)).unwrap();
        assert!(b.pages() <= 8 + 3);
        b.settle(5, true, 3); // first replaces the 3-page ring
        b.settle(3, true, 5); // second replaces the first
        assert_eq!(b.pages(), 3);
        // A zero budget takes no ring.
        assert_eq!(PageBudget::new(0).reserve(1, None), Err(Errno::ENOSPC));
    }

    #[test]
    fn waiters() {
        let mut w = Waiters::new();
        assert!(w.add(1, 100));
        assert!(w.add(2, 10));
        assert!(w.add(1, 50)); // replaces
        assert_eq!(w.len(), 2);
        let mut out = [0; MAX_WAITERS];
        assert_eq!(w.take_ready(|s| s <= 20, &mut out), 1);
        assert_eq!(out[0], 2);
        assert!(w.contains(1) && !w.contains(2));
        w.remove(1);
        assert!(w.is_empty());
        for d in 0..MAX_WAITERS as u16 {
            assert!(w.add(d, 1));
        }
        assert!(!w.add(999, 1));
        assert!(w.add(3, 7)); // existing still updatable
        assert_eq!(w.take_ready(|_| true, &mut out), MAX_WAITERS);
        assert!(w.is_empty());
    }
}
