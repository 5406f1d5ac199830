//! `audioby normalize`: stdin to stdout, one line in, exactly one normalized line out.
use std::io::{BufRead, Write};

use clap::Args;

#[derive(Args)]
pub(super) struct NormalizeArgs {}

impl NormalizeArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let mut reader = std::io::stdin().lock();
        let mut out = std::io::stdout().lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                return Ok(());
            }
            // Invalid UTF-8 is replaced, never fatal: one line in must give one line out.
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            let spoken = crate::text::normalize::normalize(line);
            writeln!(out, "{}", spoken.replace(['\n', '\r'], " "))?;
            out.flush()?;
        }
    }
}
