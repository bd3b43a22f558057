//! References to domains.
//!
//! [`DomainRef`] is an RCU read-side reference from `rcu_lock_domain_by_id()`: the domain
//! cannot be freed while it exists, and dropping it calls `rcu_unlock_domain()`. Code that
//! must keep a domain across a hypercall takes a counted reference instead ([`DomainRef::get`]).

use crate::bindings as b;
use crate::errno::Errno;
use core::ffi::c_void;
use core::ptr::NonNull;

/// A domain kept alive by an RCU read lock; unlocked on drop. One pointer (transparent), so
/// that the event channel handle can borrow it as its own (`DomainRef::as_dom`).
#[repr(transparent)]
pub struct DomainRef {
    d: NonNull<b::domain>,
}

impl DomainRef {
    /// `rcu_lock_domain_by_id(id)`: `ESRCH` when no such domain exists (what C returns).
    #[inline]
    pub fn lookup(id: u16) -> Result<Self, Errno> {
        // SAFETY: rcu_lock_domain_by_id accepts any domid and returns NULL or a domain whose
        // RCU read lock is held until rcu_unlock_domain.
        let d = unsafe { b::oxx_rcu_lock_domain_by_id(id) };
        // INVARIANT: `d` is RCU-locked for as long as this DomainRef lives.
        NonNull::new(d).map(|d| Self { d }).ok_or(Errno::ESRCH)
    }

    /// The domain of the vCPU running this hypercall (`current->domain`), RCU-locked like
    /// [`DomainRef::lookup`] but without the domid hash lookup.
    pub fn current() -> Self {
        // SAFETY: `current` always has a domain, live while its vCPU runs; rcu_lock_domain
        // takes the lock that drop() releases.
        let d = unsafe { b::oxx_current_domain() };
        // SAFETY: as above.
        unsafe { b::oxx_rcu_lock_domain(d) };
        // SAFETY: current->domain is never NULL.
        let d = unsafe { NonNull::new_unchecked(d) };
        // INVARIANT: `d` is RCU-locked.
        Self { d }
    }

    pub fn id(&self) -> u16 {
        // SAFETY: `self.d` is a live domain by the type's invariant.
        unsafe { b::oxx_domain_id(self.d.as_ptr()) }
    }

    /// A counted reference (`get_domain`); `ESRCH` if the domain is already dying.
    pub fn get(&self) -> Result<CountedDomain, Errno> {
        // SAFETY: `self.d` is live; get_domain fails rather than resurrect a dying domain.
        if unsafe { b::oxx_get_domain(self.d.as_ptr()) } {
            Ok(CountedDomain { d: self.d })
        } else {
            Err(Errno::ESRCH)
        }
    }

    /// A DomainRef over a domain whose RCU read lock the caller holds; `None` for NULL.
    ///
    /// # Safety
    /// `d` is NULL or a domain RCU-locked by this CPU, the lock handed over to the DomainRef.
    #[inline(always)]
    pub(crate) unsafe fn from_locked(d: *mut b::domain) -> Option<Self> {
        // INVARIANT: `d` is RCU-locked (the caller's guarantee).
        NonNull::new(d).map(|d| Self { d })
    }

    /// The raw pointer, for passing back to Xen C.
    #[inline]
    pub fn as_ptr(&self) -> *mut b::domain {
        self.d.as_ptr()
    }

    /// The domain pointer, known non-NULL (for the glue's event channel handles).
    #[cfg(feature = "evtchn")]
    #[inline(always)]
    pub(crate) fn non_null(&self) -> NonNull<b::domain> {
        self.d
    }
}

impl Drop for DomainRef {
    // Inlined where the reference ends, as C's rcu_unlock_domain() is a static inline.
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `self.d` was RCU-locked by lookup() and is unlocked exactly once, here.
        unsafe { b::oxx_rcu_unlock_domain(self.d.as_ptr()) }
    }
}

/// Call `f` with every domain in Xen's domain list (C: for_each_domain under
/// domlist_read_lock), each as an RCU-locked [`DomainRef`]. `f` must not block.
pub fn for_each_domain<F: FnMut(&DomainRef)>(mut f: F) {
    unsafe extern "C" fn visit<F: FnMut(&DomainRef)>(d: *mut b::domain, ctx: *mut c_void) -> bool {
        let Some(d) = NonNull::new(d) else { return true };
        // SAFETY: `d` is on the domain list, which for_each_domain walks under its RCU read
        // lock; rcu_lock_domain takes the per-domain lock DomainRef's drop releases.
        unsafe { b::oxx_rcu_lock_domain(d.as_ptr()) };
        let r = DomainRef { d };
        // SAFETY: `ctx` is the `&mut F` passed below, alive for the whole walk, and only this
        // callback uses it (the walk is sequential).
        let f = unsafe { &mut *ctx.cast::<F>() };
        f(&r);
        true
    }
    // SAFETY: `visit::<F>` has the callback's C type and reads ctx as the F it was given.
    unsafe { b::oxx_for_each_domain(Some(visit::<F>), (&mut f as *mut F).cast()) };
}

/// A domain kept alive by a reference count (`get_domain`); `put_domain` on drop.
pub struct CountedDomain {
    d: NonNull<b::domain>,
}

impl CountedDomain {
    pub fn id(&self) -> u16 {
        // SAFETY: the reference count keeps `self.d` allocated.
        unsafe { b::oxx_domain_id(self.d.as_ptr()) }
    }
}

impl Drop for CountedDomain {
    fn drop(&mut self) {
        // SAFETY: the count was taken by get() and is dropped exactly once, here.
        unsafe { b::oxx_put_domain(self.d.as_ptr()) }
    }
}

/// The domain of the vCPU running this hypercall (`current->domain`), as a domid.
pub fn current_domain_id() -> u16 {
    // SAFETY: `current` always has a domain (the idle domain at boot); we only read its id.
    unsafe { b::oxx_domain_id(b::oxx_current_domain()) }
}

/// `vcpu_kick(v)`: make `v` notice a pending event.
///
/// # Safety
/// `v` must point to a vCPU of a domain the caller holds a reference to.
pub unsafe fn vcpu_kick(v: *mut b::vcpu) {
    // SAFETY: guaranteed by the caller.
    unsafe { b::oxx_vcpu_kick(v) }
}
