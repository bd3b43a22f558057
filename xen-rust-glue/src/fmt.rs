//! Formatting into a fixed buffer: no allocation, truncation instead of failure.
//!
//! printk and the panic handler format `core::fmt::Arguments` into a [`LineBuffer`] and hand
//! the bytes to Xen's printk/panic with `%.*s`, so Rust never calls a variadic C function.

use core::fmt;

/// A stack buffer of `N` bytes that `write!` fills; bytes past `N` are dropped and the last
/// three become "..." so a truncated line says so.
pub struct LineBuffer<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> LineBuffer<N> {
    pub const fn new() -> Self {
        Self { buf: [0; N], len: 0, truncated: false }
    }

    /// The formatted bytes (valid UTF-8 unless truncation split a character).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Format `args` into a fresh buffer.
    pub fn format(args: fmt::Arguments<'_>) -> Self {
        let mut b = Self::new();
        // Writing to a LineBuffer never fails; a Display impl that fails just stops early.
        let _ = fmt::write(&mut b, args);
        b
    }
}

impl<const N: usize> Default for LineBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for LineBuffer<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let take = s.len().min(room);
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() && !self.truncated {
            self.truncated = true;
            let dots = N.min(3);
            self.buf[N - dots..].fill(b'.');
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats_and_truncates() {
        let b = LineBuffer::<16>::format(format_args!("port {} ok", 7));
        assert_eq!(b.as_bytes(), b"port 7 ok");
        assert!(!b.is_truncated());
        let b = LineBuffer::<8>::format(format_args!("{}", "0123456789"));
        assert_eq!(b.as_bytes(), b"01234...");
        assert!(b.is_truncated());
    }
}
