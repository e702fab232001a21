//! Cutting a byte stream that arrives in arbitrary chunks into NDJSON lines.
//!
//! Owns the partial line carried between chunks. Invariant: the carry never
//! holds more than [`MAX_LINE_BYTES`]; a longer line is reported once as
//! [`Line::TooLong`] and skipped up to its newline, so a stream without
//! newlines cannot grow memory past that bound.

/// Longest NDJSON line accepted, in bytes (a record encodes to at most
/// 256 KiB; its JSON is larger, but not four times larger in practice).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One line out of the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A whole line, without its `\n` (nor a `\r` before it).
    Text(&'a [u8]),
    /// A line longer than [`MAX_LINE_BYTES`], skipped.
    TooLong,
}

/// Carries a partial line from one chunk to the next.
#[derive(Debug, Default)]
pub struct LineSplitter {
    carry: Vec<u8>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl LineSplitter {
    /// Bytes held for a partial line.
    pub fn pending(&self) -> usize {
        self.carry.len()
    }

    /// Feeds a chunk; calls `each` for every line it completes, in order.
    pub fn feed(&mut self, mut chunk: &[u8], mut each: impl FnMut(Line<'_>)) {
        while let Some(nl) = chunk.iter().position(|&b| b == b'\n') {
            let (head, rest) = (&chunk[..nl], &chunk[nl + 1..]);
            chunk = rest;
            if self.skipping {
                self.skipping = false;
                continue;
            }
            if self.carry.is_empty() {
                each(Line::Text(trim_cr(head)));
            } else if self.carry.len() + head.len() > MAX_LINE_BYTES {
                self.carry = Vec::new();
                each(Line::TooLong);
            } else {
                self.carry.extend_from_slice(head);
                let line = core::mem::take(&mut self.carry);
                each(Line::Text(trim_cr(&line)));
                // Keep the allocation for the next partial line, emptied.
                self.carry = line;
                self.carry.clear();
            }
        }
        if self.skipping || chunk.is_empty() {
            return;
        }
        if self.carry.len() + chunk.len() > MAX_LINE_BYTES {
            self.carry = Vec::new();
            self.skipping = true;
            each(Line::TooLong);
        } else {
            self.carry.extend_from_slice(chunk);
        }
    }

    /// Ends the stream: a last line without a newline is still a line.
    pub fn finish(&mut self, mut each: impl FnMut(Line<'_>)) {
        let line = core::mem::take(&mut self.carry);
        let was_skipping = core::mem::replace(&mut self.skipping, false);
        if !line.is_empty() && !was_skipping {
            each(Line::Text(trim_cr(&line)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Result<String, ()>> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        let mut push = |l: Line<'_>| match l {
            Line::Text(t) => out.push(Ok(String::from_utf8(t.to_vec()).unwrap())),
            Line::TooLong => out.push(Err(())),
        };
        for c in chunks {
            s.feed(c, &mut push);
        }
        s.finish(&mut push);
        out
    }

    #[test]
    fn lines_across_chunks_come_out_whole() {
        let text = "{\"a\":1}\r\n{\"b\":\"é\"}\n\nlast";
        let whole = split(&[text.as_bytes()]);
        assert_eq!(
            whole,
            vec![
                Ok("{\"a\":1}".into()),
                Ok("{\"b\":\"é\"}".into()),
                Ok(String::new()),
                Ok("last".into())
            ]
        );
        // Every way of cutting the bytes in two or three gives the same lines,
        // including cuts inside the two-byte 'é'.
        let b = text.as_bytes();
        for i in 0..=b.len() {
            for j in i..=b.len() {
                assert_eq!(split(&[&b[..i], &b[i..j], &b[j..]]), whole, "cut {i} {j}");
            }
        }
    }

    #[test]
    fn an_overlong_line_is_skipped_and_memory_stays_bounded() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        let big = vec![b'x'; 300_000];
        for _ in 0..5 {
            s.feed(&big, |l| lines.push(format!("{l:?}").len()));
            assert!(s.pending() <= MAX_LINE_BYTES);
        }
        assert_eq!(lines.len(), 1, "reported once");
        let mut after = Vec::new();
        s.feed(b"tail\n{\"ok\":1}\n", |l| {
            after.push(matches!(l, Line::Text(b"{\"ok\":1}")))
        });
        assert_eq!(after, vec![true]);
        s.finish(|_| panic!("nothing pending"));
    }
}
