//! Hypercalls: `hvc #0xEA1`, number in x16, arguments in x0–x4, result in x0.
//!
//! A debug Xen overwrites x0–x4 and x16 on return (to catch guests that rely on them), so all
//! six are in/out operands. The typed wrappers below are safe: each passes only pointers to
//! its own live, correctly laid out arguments.

use core::arch::asm;

use crate::abi::{self, Errno, EvtchnOp, SchedShutdown, XenExtraversion};

/// Issues hypercall `nr` with five arguments and returns x0 as Xen left it (`-errno` on
/// failure for most hypercalls).
///
/// # Safety
///
/// 1. Every argument that hypercall `nr` takes as a guest address must point to memory of the
///    size and layout Xen expects, readable (and writable, where Xen writes back) for the
///    whole call; with the identity map, a pointer's value is its guest physical address.
/// 2. The call must not change the guest's own state behind Rust's back (unmapping or
///    remapping memory Rust is using, changing vCPU registers).
#[inline]
pub unsafe fn hypercall(nr: u64, args: [u64; 5]) -> i64 {
    let ret: u64;
    // SAFETY: the caller guarantees the arguments (points 1 and 2); the asm only traps to Xen,
    // which returns to the next instruction having possibly written x0–x4 and x16 (declared)
    // and memory the arguments point to (asm! assumes memory is read and written by default).
    unsafe {
        asm!(
            "hvc #0xEA1",
            inlateout("x0") args[0] => ret,
            inlateout("x1") args[1] => _,
            inlateout("x2") args[2] => _,
            inlateout("x3") args[3] => _,
            inlateout("x4") args[4] => _,
            inlateout("x16") nr => _,
            options(nostack),
        );
    }
    ret as i64
}

/// `console_io(CONSOLEIO_write, len, buf)`: writes `bytes` to the Xen console.
pub fn console_write(bytes: &[u8]) -> Result<(), Errno> {
    let args = [abi::CONSOLEIO_WRITE, bytes.len() as u64, bytes.as_ptr() as u64, 0, 0];
    // SAFETY: CONSOLEIO_write only reads `len` bytes at `buf`: `bytes` is that long and lives
    // across the call.
    Errno::from_ret(unsafe { hypercall(abi::nr::CONSOLE_IO, args) }).map(|_| ())
}

/// `xen_version(XENVER_version)`: Xen's (major, minor).
pub fn xen_version() -> Result<(u16, u16), Errno> {
    // SAFETY: XENVER_version ignores its pointer argument (0 here) and touches no memory.
    let ret = unsafe { hypercall(abi::nr::XEN_VERSION, [abi::XENVER_VERSION, 0, 0, 0, 0]) };
    let v = Errno::from_ret(ret)?;
    Ok(((v >> 16) as u16, v as u16))
}

/// `xen_version(XENVER_extraversion)`: the version suffix (".5"), NUL-padded.
pub fn xen_extraversion() -> Result<XenExtraversion, Errno> {
    let mut buf: XenExtraversion = [0; 16];
    let args = [abi::XENVER_EXTRAVERSION, buf.as_mut_ptr() as u64, 0, 0, 0];
    // SAFETY: XENVER_extraversion writes exactly size_of::<xen_extraversion_t>() = 16 bytes at
    // its pointer: `buf` is those 16 bytes, alive across the call.
    Errno::from_ret(unsafe { hypercall(abi::nr::XEN_VERSION, args) })?;
    Ok(buf)
}

/// `sched_op(SCHEDOP_shutdown, {reason})`. Returns only if Xen refuses.
pub fn shutdown(reason: u32) -> Errno {
    let arg = SchedShutdown { reason };
    let args = [abi::SCHEDOP_SHUTDOWN, &arg as *const SchedShutdown as u64, 0, 0, 0];
    // SAFETY: SCHEDOP_shutdown reads one struct sched_shutdown at its pointer: `arg` is one
    // (repr(C), layout checked in abi), alive across the call.
    match Errno::from_ret(unsafe { hypercall(abi::nr::SCHED_OP, args) }) {
        Ok(_) => Errno(0),
        Err(e) => e,
    }
}

/// `sched_op(SCHEDOP_yield)`.
pub fn yield_now() {
    // SAFETY: SCHEDOP_yield takes no argument and touches no memory.
    unsafe { hypercall(abi::nr::SCHED_OP, [abi::SCHEDOP_YIELD, 0, 0, 0, 0]) };
}

/// `event_channel_op(T::CMD, arg)`: Xen reads `arg` and writes its OUT fields back.
pub fn event_channel_op<T: EvtchnOp>(arg: &mut T) -> Result<u64, Errno> {
    let args = [u64::from(T::CMD), arg as *mut T as u64, 0, 0, 0];
    // SAFETY: `T: EvtchnOp` promises T has exactly the layout Xen uses for T::CMD, so Xen
    // reads and writes within `*arg`, which is exclusively borrowed for the call.
    Errno::from_ret(unsafe { hypercall(abi::nr::EVENT_CHANNEL_OP, args) })
}
