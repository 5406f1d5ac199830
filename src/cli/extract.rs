//! `audioby extract`: an article page (file or stdin) to its spoken lines, or to JSON.
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::article::extract::{extract_bytes, ExtractOptions};

#[derive(Args)]
pub(super) struct ExtractArgs {
    /// Input file, or - (default) for stdin.
    file: Option<PathBuf>,
    /// Print the structured form (title, byline, typed blocks) as JSON.
    #[arg(long)]
    json: bool,
    /// CSS selector to restrict extraction to (repeatable).
    #[arg(long, value_name = "SELECTOR")]
    include: Vec<String>,
    /// CSS selector to drop before extraction (repeatable).
    #[arg(long, value_name = "SELECTOR")]
    exclude: Vec<String>,
}

impl ExtractArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let mut bytes = Vec::new();
        match self.file.as_deref().filter(|p| p.as_os_str() != "-") {
            Some(path) => {
                bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
            }
            None => {
                std::io::stdin().lock().read_to_end(&mut bytes)?;
            }
        }
        let opts = ExtractOptions {
            include: self.include,
            exclude: self.exclude,
            ..ExtractOptions::default()
        };
        let article = extract_bytes(&bytes, &opts)?;
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, &article)?;
            writeln!(out)?;
        } else {
            for line in article.spoken_lines() {
                writeln!(out, "{line}")?;
            }
        }
        Ok(())
    }
}
