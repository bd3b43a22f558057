//! Formatting without allocation: [`ChunkWriter`] gathers `write!` output in a stack buffer
//! and hands it on in chunks (for the console: nothing is lost, however long the text).

use core::fmt;

/// Buffers formatted text and passes it to `sink` whenever `N` bytes have gathered, and on
/// [`ChunkWriter::flush`]. Chunks split at character boundaries, so each one is valid UTF-8
/// when `N` >= 4.
pub struct ChunkWriter<F: FnMut(&[u8]), const N: usize> {
    buf: [u8; N],
    len: usize,
    sink: F,
}

impl<F: FnMut(&[u8]), const N: usize> ChunkWriter<F, N> {
    pub const fn new(sink: F) -> Self {
        const { assert!(N > 0, "a ChunkWriter needs room for at least one byte") };
        Self { buf: [0; N], len: 0, sink }
    }

    /// Hands whatever is buffered to the sink.
    pub fn flush(&mut self) {
        if self.len > 0 {
            (self.sink)(&self.buf[..self.len]);
            self.len = 0;
        }
    }

    /// Writes raw bytes (no UTF-8 boundary care).
    pub fn write_bytes(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.len == N {
                self.flush();
            }
            let take = bytes.len().min(N - self.len);
            self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            self.len += take;
            bytes = &bytes[take..];
        }
    }
}

impl<F: FnMut(&[u8]), const N: usize> fmt::Write for ChunkWriter<F, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        loop {
            let room = N - self.len;
            if rest.len() <= room {
                self.write_bytes(rest.as_bytes());
                return Ok(());
            }
            // Fill up to the last character boundary that fits, then flush.
            let mut cut = room;
            while cut > 0 && !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            if cut == 0 {
                if self.len > 0 {
                    self.flush();
                    continue;
                }
                // One character is longer than the whole buffer (N < 4): split its bytes.
                self.write_bytes(rest.as_bytes());
                return Ok(());
            }
            let (head, tail) = rest.split_at(cut);
            self.write_bytes(head.as_bytes());
            self.flush();
            rest = tail;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    fn chunks<const N: usize>(text: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut w = ChunkWriter::<_, N>::new(|c: &[u8]| out.push(c.to_vec()));
        write!(w, "{text}").unwrap();
        w.flush();
        out
    }

    #[test]
    fn chunk_writer_loses_nothing() {
        let text = "0123456789abcdefghij".repeat(7);
        let out = chunks::<16>(&text);
        assert!(out.iter().all(|c| c.len() <= 16));
        assert_eq!(out.concat(), text.as_bytes());
    }

    #[test]
    fn chunk_writer_keeps_characters_whole() {
        let text = "héllo wörld ✓ ".repeat(20);
        let out = chunks::<8>(&text);
        for c in &out {
            assert!(core::str::from_utf8(c).is_ok(), "{c:?}");
        }
        assert_eq!(out.concat(), text.as_bytes());
    }

    #[test]
    fn chunk_writer_tiny_buffer() {
        let text = "a✓b";
        let out = chunks::<1>(text);
        assert_eq!(out.concat(), text.as_bytes());
    }

    #[test]
    fn chunk_writer_flush_on_empty_is_silent() {
        let mut n = 0;
        let mut w = ChunkWriter::<_, 8>::new(|_: &[u8]| n += 1);
        w.flush();
        assert_eq!(n, 0);
    }
}
