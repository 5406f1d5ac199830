//! `audioby voices`: the voices found in the voices folder, as a table or JSON.
use std::io::Write;

use clap::Args;

use crate::config::Settings;
use crate::tts::VoiceRegistry;

#[derive(Args)]
pub(super) struct VoicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl VoicesArgs {
    pub(super) fn run(self, settings: Settings) -> anyhow::Result<()> {
        let reg = VoiceRegistry::scan_with_user_dir(&settings.voices_dir);
        for p in &reg.problems {
            eprintln!(
                "audioby: warning: skipped {}: {}",
                p.path.display(),
                p.reason
            );
        }
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, &reg.voices)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:<24} {:<8} {:<8} {:>6}  {:<8} SPEAKERS",
                "ID", "ALIAS", "LANG", "RATE", "QUALITY"
            )?;
            for v in &reg.voices {
                let speakers = if v.speakers.is_empty() {
                    "1".to_string()
                } else {
                    v.speakers.join(",")
                };
                writeln!(
                    out,
                    "{:<24} {:<8} {:<8} {:>6}  {:<8} {}",
                    v.id,
                    v.alias.as_deref().unwrap_or("-"),
                    v.language,
                    v.sample_rate,
                    v.quality.as_deref().unwrap_or("-"),
                    speakers
                )?;
            }
        }
        if reg.voices.is_empty() {
            anyhow::bail!("no usable voice in {}", reg.dir.display());
        }
        Ok(())
    }
}
