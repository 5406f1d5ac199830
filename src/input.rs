//! Streaming text input: reads any `Read` in small blocks and yields chunks that end at a line
//! break (or, for very long lines, at whitespace or a char boundary), validating UTF-8 on the
//! way. A 1 MB text starts producing audio after its first chunk, not after reading it all.
use std::io::Read;

/// Bytes read per system call.
const BLOCK: usize = 8 * 1024;
/// A line longer than this is cut at its last whitespace (never mid-word unless it has none).
const MAX_CHUNK: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 { offset: u64 },
    #[error("reading input failed: {0}")]
    Io(#[from] std::io::Error),
}

impl InputError {
    pub fn code(&self) -> &'static str {
        match self {
            InputError::InvalidUtf8 { .. } => "invalid-utf8",
            InputError::Io(_) => "io-error",
        }
    }
}

pub struct TextChunks<R: Read> {
    reader: R,
    /// Decoded text not yet handed out.
    text: String,
    /// Trailing bytes of an incomplete UTF-8 sequence.
    carry: Vec<u8>,
    offset: u64,
    eof: bool,
    failed: bool,
}

impl<R: Read> TextChunks<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            text: String::new(),
            carry: Vec::new(),
            offset: 0,
            eof: false,
            failed: false,
        }
    }

    fn fill(&mut self) -> Result<(), InputError> {
        let mut buf = [0u8; BLOCK];
        let n = loop {
            match self.reader.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            self.eof = true;
            if !self.carry.is_empty() {
                return Err(InputError::InvalidUtf8 {
                    offset: self.offset,
                });
            }
            return Ok(());
        }
        self.carry.extend_from_slice(&buf[..n]);
        match std::str::from_utf8(&self.carry) {
            Ok(s) => {
                self.text.push_str(s);
                self.offset += self.carry.len() as u64;
                self.carry.clear();
            }
            Err(e) => {
                let good = e.valid_up_to();
                if e.error_len().is_some() {
                    return Err(InputError::InvalidUtf8 {
                        offset: self.offset + good as u64,
                    });
                }
                // Incomplete sequence at the end: keep it for the next block.
                self.text
                    .push_str(std::str::from_utf8(&self.carry[..good]).unwrap_or_default());
                self.offset += good as u64;
                self.carry.drain(..good);
            }
        }
        Ok(())
    }

    /// Where to cut `text` so the chunk is complete: after the last newline, else (if long) at
    /// the last whitespace, else at a char boundary.
    fn cut(&self) -> Option<usize> {
        if let Some(i) = self.text.rfind('\n') {
            return Some(i + 1);
        }
        if self.text.len() < MAX_CHUNK {
            return None;
        }
        let head = floor_char_boundary(&self.text, MAX_CHUNK);
        match self.text[..head].rfind(char::is_whitespace) {
            Some(i) if i > 0 => Some(i + self.text[i..].chars().next().map_or(1, char::len_utf8)),
            _ => Some(head.max(self.text.chars().next().map_or(0, char::len_utf8))),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl<R: Read> Iterator for TextChunks<R> {
    type Item = Result<String, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(cut) = self.cut() {
                let rest = self.text.split_off(cut);
                return Some(Ok(std::mem::replace(&mut self.text, rest)));
            }
            if self.eof {
                return (!self.text.is_empty()).then(|| Ok(std::mem::take(&mut self.text)));
            }
            if let Err(e) = self.fill() {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(bytes: &[u8]) -> Result<Vec<String>, InputError> {
        TextChunks::new(bytes).collect()
    }

    #[test]
    fn lines_come_out_whole_and_nothing_is_lost() {
        let text = "First line.\nSecond line, longer.\n\nLast without newline";
        let got = chunks(text.as_bytes()).unwrap();
        assert_eq!(got.concat(), text);
        assert!(got.iter().all(|c| c.len() <= MAX_CHUNK));
    }

    #[test]
    fn a_long_line_is_cut_at_whitespace() {
        let text = "word ".repeat(10_000);
        let got = chunks(text.as_bytes()).unwrap();
        assert!(got.len() > 1);
        assert_eq!(got.concat(), text);
        assert!(got.iter().all(|c| c.ends_with(' ')));
    }

    #[test]
    fn multibyte_chars_split_across_blocks_survive() {
        let text = "é".repeat(BLOCK); // 2 bytes each: sequences straddle block edges
        assert_eq!(chunks(text.as_bytes()).unwrap().concat(), text);
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_offset() {
        let mut bytes = b"Hello world. ".to_vec();
        bytes.push(0xff);
        match chunks(&bytes) {
            Err(InputError::InvalidUtf8 { offset }) => assert_eq!(offset, 13),
            other => panic!("expected invalid-utf8, got {other:?}"),
        }
    }

    #[test]
    fn truncated_sequence_at_eof_is_invalid() {
        assert!(matches!(
            chunks(&[b'a', 0xc3]),
            Err(InputError::InvalidUtf8 { .. })
        ));
    }
}
