//! Exact match of `audioby::text::normalize::normalize` on the golden corpora, per class and
//! overall (issue 17). With no `--file`, every tsv of tests/text/golden; `--file PATH` (may be
//! repeated) scores the given files; `--fail` also lists each failing case with its line.
//!
//!     cargo run --release --example normalize_eval -- --file tests/text/golden/standalone2.tsv --fail
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use audioby::text::normalize::eval::{parse_golden, Score};
use audioby::text::normalize::normalize;

fn main() -> ExitCode {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut fail = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fail" => fail = true,
            "--file" => match args.next() {
                Some(p) => files.push(p.into()),
                None => return usage("--file needs a PATH"),
            },
            _ => return usage(&format!("unknown argument {a:?}")),
        }
    }
    if files.is_empty() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/text/golden");
        files = match std::fs::read_dir(&dir) {
            Ok(d) => d
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
                .collect(),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        };
        files.sort();
    }
    for path in &files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {name}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let cases = match parse_golden(&text, &name) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        report(&name, &Score::of(&cases, normalize), fail);
    }
    ExitCode::SUCCESS
}

fn report(name: &str, s: &Score, fail: bool) {
    println!("{name}");
    for (class, (p, t)) in &s.classes {
        println!("  {class:14} {:.3}  {p:>4}/{t}", ratio(*p, *t));
    }
    let (p, t) = s.overall();
    println!("  {:14} {:.3}  {p:>4}/{t}", "overall", ratio(p, t));
    if fail {
        for m in &s.misses {
            let c = m.case;
            println!(
                "  {name}:{} [{}]\n     input: {}\n    expect: {}\n       got: {}",
                c.line, c.class, c.input, c.expected, m.got
            );
        }
    }
}

fn ratio(p: usize, t: usize) -> f64 {
    if t == 0 {
        0.0
    } else {
        p as f64 / t as f64
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {msg}\nusage: normalize_eval [--file PATH]... [--fail]");
    ExitCode::from(2)
}
