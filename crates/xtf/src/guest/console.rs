//! Console output through CONSOLEIO_write. Xen buffers a domain's output per line and prints
//! it as `(dN) <line>` (a release Xen only with `guest_loglvl=all`).

use core::fmt::{self, Write};

use super::hypercall;
use crate::buf::ChunkWriter;

/// Writes raw bytes. Errors are dropped: there is nowhere else to say anything.
pub fn write_bytes(bytes: &[u8]) {
    let _ = hypercall::console_write(bytes);
}

/// Formats `args` in 128-byte chunks on the stack and writes them out.
pub fn print(args: fmt::Arguments<'_>) {
    let mut w = ChunkWriter::<_, 128>::new(write_bytes);
    // ChunkWriter never fails; a Display impl that fails only cuts its own text short.
    let _ = w.write_fmt(args);
    w.flush();
}
