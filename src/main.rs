//! The `audioby` binary: parse the command line, start telemetry, run the command (see
//! `audioby::cli`), and report an error as `audioby: error [code]: …` with exit code 1.
use std::process::ExitCode;

use clap::Parser;

use audioby::cli::{error_code, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let (format, level) = cli.log_filter(&settings);
    audioby::telemetry::init(format, level);
    match cli.run(settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("audioby: error [{}]: {e:#}", error_code(&e));
    ExitCode::FAILURE
}
