//! [`XBox<T>`]: one `T` on Xen's heap (`_xzalloc`/`xfree`), owned like `Box<T>`.
//!
//! The Rust archive has no `alloc` crate; code that needs objects with a lifetime beyond one
//! hypercall (V4V's per-domain tables and rings) allocates them here. Allocation failure is
//! `ENOMEM`, never a panic.

use crate::bindings as b;
use crate::errno::Errno;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

/// An owned `T` on Xen's heap.
pub struct XBox<T> {
    p: NonNull<T>,
}

// SAFETY: XBox<T> owns its T exclusively, like Box<T>.
unsafe impl<T: Send> Send for XBox<T> {}
// SAFETY: shared access to XBox<T> only gives &T.
unsafe impl<T: Sync> Sync for XBox<T> {}

impl<T> XBox<T> {
    /// Move `v` onto Xen's heap; `ENOMEM` if that fails.
    pub fn new(v: T) -> Result<Self, Errno> {
        let size = core::mem::size_of::<T>().max(1) as core::ffi::c_ulong;
        let align = core::mem::align_of::<T>() as core::ffi::c_ulong;
        // SAFETY: _xzalloc accepts any size and a power-of-two alignment; it returns NULL or
        // memory of that size and alignment that nothing else references.
        let raw = unsafe { b::oxx_xzalloc_bytes(size, align) }.cast::<T>();
        let p = NonNull::new(raw).ok_or(Errno::ENOMEM)?;
        // SAFETY: `p` is valid for writes of one T and suitably aligned (just allocated).
        unsafe { p.as_ptr().write(v) };
        // INVARIANT: `p` points to an initialised T that only this XBox owns.
        Ok(Self { p })
    }

    /// Give up ownership (to store the pointer in a C structure); see [`XBox::from_raw`].
    pub fn into_raw(self) -> *mut T {
        let p = self.p.as_ptr();
        core::mem::forget(self);
        p
    }

    /// Take back ownership of a pointer from [`XBox::into_raw`].
    ///
    /// # Safety
    /// `p` came from `into_raw` and no other `XBox` owns it now.
    pub unsafe fn from_raw(p: *mut T) -> Option<Self> {
        NonNull::new(p).map(|p| Self { p })
    }
}

impl<T> Deref for XBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: initialised and owned by self (type invariant).
        unsafe { self.p.as_ref() }
    }
}

impl<T> DerefMut for XBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in deref; &mut self gives exclusive access.
        unsafe { self.p.as_mut() }
    }
}

impl<T> Drop for XBox<T> {
    fn drop(&mut self) {
        // SAFETY: `p` holds an initialised T owned by self; it is dropped once, then its
        // memory, which came from _xzalloc, is given back with xfree.
        unsafe {
            core::ptr::drop_in_place(self.p.as_ptr());
            b::oxx_xfree(self.p.as_ptr().cast());
        }
    }
}
