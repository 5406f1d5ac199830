//! `audioby lexicon check [FILE]`: each entry's phonemes without and with it, flagging
//! entries that change nothing (exit code 1 if there are any).
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::text::Lexicon;
use crate::tts::lexicon_check::check_lexicon;

#[derive(Args)]
pub(super) struct LexiconArgs {
    #[command(subcommand)]
    command: LexiconCommand,
}

#[derive(Subcommand)]
enum LexiconCommand {
    /// Show, for every entry, espeak-ng's phonemes without and with it; flag entries that
    /// change nothing. Exit code 1 if any entry changes nothing.
    ///   audioby lexicon check              # ./lexicon.toml
    ///   audioby lexicon check my-words.toml --voice en-gb
    #[command(verbatim_doc_comment)]
    Check {
        /// Lexicon file (default: lexicon.toml).
        file: Option<PathBuf>,
        /// espeak-ng voice to phonemize with (the voice's `espeak.voice`; en-us for joe).
        #[arg(long, default_value = "en-us")]
        voice: String,
        /// One JSON object per entry instead of the table.
        #[arg(long)]
        json: bool,
    },
}

impl LexiconArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let LexiconCommand::Check { file, voice, json } = self.command;
        let path = file.unwrap_or_else(|| PathBuf::from("lexicon.toml"));
        let lexicon = Lexicon::load(&path)?;
        let checks = check_lexicon(&lexicon, &voice).context("phonemizing with espeak-ng")?;
        let mut out = std::io::stdout().lock();
        let mut unchanged = 0;
        for c in &checks {
            if c.unchanged() {
                unchanged += 1;
            }
            if json {
                let mut v = serde_json::to_value(c)?;
                v["unchanged"] = c.unchanged().into();
                writeln!(out, "{v}")?;
            } else {
                let flag = if c.unchanged() {
                    "  <- changes nothing"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{}\n  without: {}\n  with:    {}{flag}",
                    c.word, c.without, c.with
                )?;
            }
        }
        out.flush()?;
        eprintln!(
            "{} entries, {} change the phonemes, {unchanged} change nothing",
            checks.len(),
            checks.len() - unchanged
        );
        if unchanged > 0 {
            anyhow::bail!("{unchanged} lexicon entries change nothing");
        }
        Ok(())
    }
}
