//! Xen's errno values (xen/include/public/errno.h), as a type.
//!
//! Hypercalls return `-errno`; Rust code returns `Result<T, Errno>` and converts once at the
//! hypercall boundary with [`Errno::to_ret`].

/// A Xen errno. The wrapped value is positive; the guest sees its negation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Errno(i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const EIO: Errno = Errno(5);
    pub const ENXIO: Errno = Errno(6);
    pub const E2BIG: Errno = Errno(7);
    pub const EAGAIN: Errno = Errno(11);
    pub const ENOMEM: Errno = Errno(12);
    pub const EACCES: Errno = Errno(13);
    pub const EFAULT: Errno = Errno(14);
    pub const EBUSY: Errno = Errno(16);
    pub const EEXIST: Errno = Errno(17);
    pub const EXDEV: Errno = Errno(18);
    pub const ENODEV: Errno = Errno(19);
    pub const EINVAL: Errno = Errno(22);
    pub const ENOSPC: Errno = Errno(28);
    pub const ERANGE: Errno = Errno(34);
    pub const ENOSYS: Errno = Errno(38);
    pub const ENOTEMPTY: Errno = Errno(39);
    pub const EOVERFLOW: Errno = Errno(75);
    pub const EOPNOTSUPP: Errno = Errno(95);
    pub const EMSGSIZE: Errno = Errno(90);
    pub const ENOBUFS: Errno = Errno(105);
    pub const EISCONN: Errno = Errno(106);
    pub const ENOTCONN: Errno = Errno(107);
    pub const ETIMEDOUT: Errno = Errno(110);
    pub const ECONNREFUSED: Errno = Errno(111);
    /// Xen-internal: restart the hypercall through a continuation (never seen by a guest).
    pub const ERESTART: Errno = Errno(85);

    /// From a C return value `-errno` (a negative int). A non-negative value is not an error
    /// code; it maps to `EINVAL` rather than to a bogus errno (callers check `rc != 0` first).
    pub const fn from_ret(rc: i32) -> Errno {
        if rc < 0 && rc > -4096 { Errno(-rc) } else { Errno::EINVAL }
    }

    /// The symbolic name (`"EINVAL"`), for messages; `"E?"` for a value without one here.
    pub const fn name(self) -> &'static str {
        match self.0 {
            1 => "EPERM",
            2 => "ENOENT",
            3 => "ESRCH",
            4 => "EINTR",
            5 => "EIO",
            6 => "ENXIO",
            7 => "E2BIG",
            11 => "EAGAIN",
            12 => "ENOMEM",
            13 => "EACCES",
            14 => "EFAULT",
            16 => "EBUSY",
            17 => "EEXIST",
            18 => "EXDEV",
            19 => "ENODEV",
            22 => "EINVAL",
            28 => "ENOSPC",
            34 => "ERANGE",
            38 => "ENOSYS",
            39 => "ENOTEMPTY",
            75 => "EOVERFLOW",
            85 => "ERESTART",
            90 => "EMSGSIZE",
            95 => "EOPNOTSUPP",
            105 => "ENOBUFS",
            106 => "EISCONN",
            107 => "ENOTCONN",
            110 => "ETIMEDOUT",
            111 => "ECONNREFUSED",
            _ => "E?",
        }
    }

    /// The positive errno value.
    pub const fn get(self) -> i32 {
        self.0
    }

    /// What a hypercall returns for this error: `-errno`.
    pub const fn to_ret(self) -> i64 {
        -(self.0 as i64)
    }
}

/// A hypercall's return value from its Rust result.
pub fn to_ret(r: Result<i64, Errno>) -> i64 {
    match r {
        Ok(v) => v,
        Err(e) => e.to_ret(),
    }
}

/// An exported C function's `int` return value from its Rust result: the value, or `-errno`.
pub fn to_int(r: Result<i32, Errno>) -> i32 {
    match r {
        Ok(v) => v,
        Err(e) => -e.get(),
    }
}

// The values above must be Xen's: checked against bindgen's constants when built for Xen.
#[cfg(xen)]
mod check {
    use super::Errno;
    use crate::bindings as b;
    use static_assertions::const_assert_eq;
    const_assert_eq!(Errno::EPERM.get() as u32, b::EPERM as u32);
    const_assert_eq!(Errno::ENOENT.get() as u32, b::ENOENT as u32);
    const_assert_eq!(Errno::ESRCH.get() as u32, b::ESRCH as u32);
    const_assert_eq!(Errno::EINTR.get() as u32, b::EINTR as u32);
    const_assert_eq!(Errno::EIO.get() as u32, b::EIO as u32);
    const_assert_eq!(Errno::ENXIO.get() as u32, b::ENXIO as u32);
    const_assert_eq!(Errno::E2BIG.get() as u32, b::E2BIG as u32);
    const_assert_eq!(Errno::EAGAIN.get() as u32, b::EAGAIN as u32);
    const_assert_eq!(Errno::ENOMEM.get() as u32, b::ENOMEM as u32);
    const_assert_eq!(Errno::EACCES.get() as u32, b::EACCES as u32);
    const_assert_eq!(Errno::EFAULT.get() as u32, b::EFAULT as u32);
    const_assert_eq!(Errno::EBUSY.get() as u32, b::EBUSY as u32);
    const_assert_eq!(Errno::EEXIST.get() as u32, b::EEXIST as u32);
    const_assert_eq!(Errno::EXDEV.get() as u32, b::EXDEV as u32);
    const_assert_eq!(Errno::ENODEV.get() as u32, b::ENODEV as u32);
    const_assert_eq!(Errno::EINVAL.get() as u32, b::EINVAL as u32);
    const_assert_eq!(Errno::ENOSPC.get() as u32, b::ENOSPC as u32);
    const_assert_eq!(Errno::ERANGE.get() as u32, b::ERANGE as u32);
    const_assert_eq!(Errno::ENOSYS.get() as u32, b::ENOSYS as u32);
    const_assert_eq!(Errno::ENOTEMPTY.get() as u32, b::ENOTEMPTY as u32);
    const_assert_eq!(Errno::EOVERFLOW.get() as u32, b::EOVERFLOW as u32);
    const_assert_eq!(Errno::EOPNOTSUPP.get() as u32, b::EOPNOTSUPP as u32);
    const_assert_eq!(Errno::EMSGSIZE.get() as u32, b::EMSGSIZE as u32);
    const_assert_eq!(Errno::ENOBUFS.get() as u32, b::ENOBUFS as u32);
    const_assert_eq!(Errno::EISCONN.get() as u32, b::EISCONN as u32);
    const_assert_eq!(Errno::ENOTCONN.get() as u32, b::ENOTCONN as u32);
    const_assert_eq!(Errno::ETIMEDOUT.get() as u32, b::ETIMEDOUT as u32);
    const_assert_eq!(Errno::ECONNREFUSED.get() as u32, b::ECONNREFUSED as u32);
    const_assert_eq!(Errno::ERESTART.get() as u32, b::ERESTART as u32);
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hypercall_return_is_negated() {
        assert_eq!(Errno::EFAULT.to_ret(), -14);
        assert_eq!(to_ret(Ok(3)), 3);
        assert_eq!(to_ret(Err(Errno::ENOSYS)), -38);
    }
}
