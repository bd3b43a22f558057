//! Guest memory named by a hypercall argument.
//!
//! A guest address is untrusted. It becomes a [`GuestRange`] in exactly one place,
//! [`GuestRange::new`], which checks that `base + len` does not wrap, that `base` is aligned
//! for the element type, and that the length fits Xen's copy functions (`unsigned int`).
//! Do not loosen those checks: every copy in or out relies on them. The bytes behind a range
//! are only ever reached through Xen's `raw_copy_{from,to}_guest` (which walk the guest's
//! stage-1 and stage-2 tables and fail cleanly), never dereferenced.

use crate::errno::Errno;
use core::marker::PhantomData;

/// An arm64 `XEN_GUEST_HANDLE_PARAM(void)`: an 8-byte aggregate passed in one register, as
/// hypercall handlers receive it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct GuestHandleVoid {
    pub p: u64,
}

/// A validated span of guest virtual address space holding `count` values of `T`.
#[derive(Debug)]
pub struct GuestRange<T> {
    base: u64,
    count: u32,
    _t: PhantomData<*const T>,
}

impl<T> Clone for GuestRange<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for GuestRange<T> {}

impl<T> GuestRange<T> {
    /// The one constructor.
    ///
    /// Errors (the guest sees the negated value):
    /// - `EFAULT`: `base` is not aligned for `T`, or `base + count * size_of::<T>()` wraps;
    /// - `EINVAL`: the byte length does not fit in 32 bits (Xen's copy functions take
    ///   `unsigned int`); C Xen's copy_from_guest callers never pass such a length, so no
    ///   hypercall can observe the difference.
    pub fn new(base: u64, count: u64) -> Result<Self, Errno> {
        let size = core::mem::size_of::<T>() as u64;
        let align = core::mem::align_of::<T>() as u64;
        if base % align != 0 {
            return Err(Errno::EFAULT);
        }
        let bytes = count.checked_mul(size).ok_or(Errno::EFAULT)?;
        base.checked_add(bytes).ok_or(Errno::EFAULT)?;
        if bytes > u32::MAX as u64 || count > u32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        // INVARIANT: aligned, non-wrapping, byte length < 2^32.
        Ok(Self { base, count: count as u32, _t: PhantomData })
    }

    /// A range for one `T` at `base`.
    pub fn one(base: u64) -> Result<Self, Errno> {
        Self::new(base, 1)
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Length in bytes; fits in `u32` by the invariant.
    pub fn byte_len(&self) -> u32 {
        self.count * core::mem::size_of::<T>() as u32
    }

    /// The `i`th element as a range of one, or `None` past the end.
    pub fn element(&self, i: u32) -> Option<GuestRange<T>> {
        if i >= self.count {
            return None;
        }
        // Cannot wrap: base + count * size was checked.
        let base = self.base + i as u64 * core::mem::size_of::<T>() as u64;
        Some(GuestRange { base, count: 1, _t: PhantomData })
    }
}

/// Types that may be copied to and from guest memory byte for byte.
///
/// # Safety
/// Implementors must be `#[repr(C)]` (or a primitive integer), contain no padding that Xen
/// would leak to a guest, no pointers, references or `bool`/enums with invalid bit patterns:
/// every byte pattern a guest can write must be a valid value.
pub unsafe trait GuestPod: Copy {}

// SAFETY: primitive integers accept every bit pattern and have no padding.
unsafe impl GuestPod for u8 {}
// SAFETY: as above.
unsafe impl GuestPod for u16 {}
// SAFETY: as above.
unsafe impl GuestPod for u32 {}
// SAFETY: as above.
unsafe impl GuestPod for u64 {}
// SAFETY: as above.
unsafe impl GuestPod for i32 {}
// SAFETY: as above.
unsafe impl GuestPod for i64 {}

#[cfg(xen)]
mod copy {
    use super::{GuestPod, GuestRange};
    use crate::bindings as b;
    use crate::errno::Errno;
    use core::mem::MaybeUninit;

    impl<T: GuestPod> GuestRange<T> {
        /// Copy element `i` in from the current vCPU's guest memory (`EFAULT` if unmapped).
        pub fn read(&self, i: u32) -> Result<T, Errno> {
            let one = self.element(i).ok_or(Errno::EFAULT)?;
            let mut v = MaybeUninit::<T>::uninit();
            // SAFETY: `v` is a writable buffer of size_of::<T>() bytes; the guest address is
            // only read by raw_copy_from_guest, which faults cleanly. The byte length fits u32
            // by GuestRange's invariant.
            let left = unsafe {
                b::oxx_copy_from_guest(v.as_mut_ptr().cast(), one.base(), one.byte_len())
            };
            if left != 0 {
                return Err(Errno::EFAULT);
            }
            // SAFETY: every byte was written by the copy, and T: GuestPod accepts any bytes.
            Ok(unsafe { v.assume_init() })
        }

        /// Copy `v` out to element `i` in the current vCPU's guest memory.
        pub fn write(&self, i: u32, v: &T) -> Result<(), Errno> {
            let one = self.element(i).ok_or(Errno::EFAULT)?;
            // SAFETY: `v` is a readable T of byte_len bytes; T: GuestPod has no padding that
            // could leak hypervisor data; the guest side is written only by raw_copy_to_guest.
            let left =
                unsafe { b::oxx_copy_to_guest(one.base(), (v as *const T).cast(), one.byte_len()) };
            if left != 0 { Err(Errno::EFAULT) } else { Ok(()) }
        }
    }
}

/// Copy a hypercall argument struct in from guest address `addr` (C: `copy_from_guest(&x,
/// arg, 1)`). Unlike [`GuestRange::<T>::new`] this does not require `addr` to be aligned for
/// `T`: C's copy does not, and a guest must see the same result from both builds. The range
/// is checked as bytes (no wrap, length fits) by `GuestRange::<u8>::new`.
#[cfg(xen)]
#[inline(always)]
pub fn read_arg<T: GuestPod>(addr: u64) -> Result<T, Errno> {
    let bytes = GuestRange::<u8>::new(addr, core::mem::size_of::<T>() as u64)?;
    let mut v = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: `v` is a writable buffer of size_of::<T>() bytes, the length that `bytes`
    // covers; raw_copy_from_guest reads the guest side only and faults cleanly.
    let left = unsafe {
        crate::bindings::raw_copy_from_guest(
            v.as_mut_ptr().cast(),
            bytes.base() as *const _,
            bytes.byte_len(),
        )
    };
    if left != 0 {
        return Err(Errno::EFAULT);
    }
    // SAFETY: every byte was written by the copy; T: GuestPod accepts any bytes.
    Ok(unsafe { v.assume_init() })
}

/// Copy a hypercall argument struct back out to `addr` (C: `__copy_to_guest(arg, &x, 1)`).
#[cfg(xen)]
#[inline(always)]
pub fn write_arg<T: GuestPod>(addr: u64, v: &T) -> Result<(), Errno> {
    let bytes = GuestRange::<u8>::new(addr, core::mem::size_of::<T>() as u64)?;
    // SAFETY: `v` is a readable T of byte_len bytes; T: GuestPod has no implicit padding;
    // the guest side is written only by raw_copy_to_guest.
    let left = unsafe {
        crate::bindings::raw_copy_to_guest(
            bytes.base() as *mut _,
            (v as *const T).cast(),
            bytes.byte_len(),
        )
    };
    if left != 0 { Err(Errno::EFAULT) } else { Ok(()) }
}

/// Copy `dst.len()` bytes in from the current vCPU's guest virtual address `addr`
/// (`EFAULT` if any byte is unreadable or the range wraps).
#[cfg(xen)]
pub fn read_bytes(addr: u64, dst: &mut [u8]) -> Result<(), Errno> {
    let bytes = GuestRange::<u8>::new(addr, dst.len() as u64)?;
    // SAFETY: `dst` is a writable buffer of byte_len bytes; raw_copy_from_guest reads the
    // guest side only and faults cleanly.
    let left = unsafe {
        crate::bindings::oxx_copy_from_guest(
            dst.as_mut_ptr().cast(),
            bytes.base(),
            bytes.byte_len(),
        )
    };
    if left != 0 { Err(Errno::EFAULT) } else { Ok(()) }
}

/// Check that every page of the current vCPU's `[addr, addr + len)` is readable now, by
/// reading one byte of each (`EFAULT` otherwise). A later copy may still fault if the guest
/// changes its mappings meanwhile; callers use this to avoid partial effects of a plain
/// mistake, not as a guarantee.
#[cfg(xen)]
pub fn probe_readable(addr: u64, len: u64) -> Result<(), Errno> {
    const PAGE: u64 = 4096;
    if len == 0 {
        return Ok(());
    }
    let last = addr.checked_add(len - 1).ok_or(Errno::EFAULT)?;
    let mut a = addr;
    loop {
        let mut b = [0u8; 1];
        read_bytes(a, &mut b)?;
        let next = (a | (PAGE - 1)).checked_add(1);
        match next {
            Some(n) if n <= last => a = n,
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrap_misalignment_and_huge_lengths() {
        assert_eq!(GuestRange::<u64>::new(u64::MAX - 7, 2).unwrap_err(), Errno::EFAULT);
        assert_eq!(GuestRange::<u64>::new(0x1004, 1).unwrap_err(), Errno::EFAULT);
        assert_eq!(GuestRange::<u8>::new(0, 1 << 32).unwrap_err(), Errno::EINVAL);
        assert_eq!(GuestRange::<u64>::new(0, u64::MAX).unwrap_err(), Errno::EFAULT);
    }

    #[test]
    fn accepts_valid_and_indexes_elements() {
        let r = GuestRange::<u32>::new(0x4000_0000, 4).unwrap();
        assert_eq!(r.byte_len(), 16);
        assert_eq!(r.element(3).unwrap().base(), 0x4000_000c);
        assert!(r.element(4).is_none());
        let empty = GuestRange::<u32>::new(u64::MAX - 3, 0).unwrap();
        assert_eq!(empty.byte_len(), 0);
    }
}
