//! Every symbol the rest of Xen 4.17.5 (arm64) takes from common/event_channel.c,
//! event_2l.c and event_fifo.c, with C's prototypes (include/xen/event.h, xen/sched.h,
//! hypercall-defs). Declared for C in include/xen-rust.h by cbindgen.
//!
//! Each export turns C's pointers into the glue's handles
//! ([`DomainPtr::get`](xen_rust_glue::evtchn::DomainPtr::get): C's prototype carries the
//! contract that they are live), calls the generic operation in [`crate::ops`], and converts
//! its `Result` to C's return value once, with [`to_int`] /
//! [`to_ret`](xen_rust_glue::errno::to_ret).
//!
//! One file per concern, in the order include/xen-rust.h declares them: [`lifecycle`]
//! (domain set-up, teardown, reset), [`virq`], [`consumers`] (Xen-attached and static
//! channels), [`hypercall`] (`do_event_channel_op`), [`keyhandler`] (the 'e' key).

// Declared in the header's order (cbindgen follows the modules as declared).
mod lifecycle;

mod virq;

mod consumers;

mod hypercall;

mod keyhandler;

use core::ffi::c_int;
use xen_rust_glue::Errno;
use xen_rust_glue::errno::to_int;

/// An export's `int` from an operation that returns nothing.
fn done(r: Result<(), Errno>) -> c_int {
    to_int(r.map(|()| 0))
}
