//! The extraction development set (issue 17): 112 news pages in many site layouts
//! (`tests/fixtures/extract/dev/NAME.html` → `NAME.expected.txt`, written by the team; the 14 of
//! `batch2.txt`, the 17 of `batch3.txt`, the 20 of `batch4.txt` and the 20 of `batch5.txt` were
//! written before the extractor was tuned on them), scored by pooled token precision, recall and F1. Every page
//! in the directory is loaded, whatever its batch. The floors are the figures measured when the
//! extractor was chosen (BENCHMARKS.md), less a small margin: a change that loses text
//! quality fails here. `cargo run --release --example extract_eval` prints every candidate.

use std::path::PathBuf;

use audioby::article::eval::{load_dev_set, TokenCounts};
use audioby::article::extract::{extract_html, ExtractOptions};

#[test]
fn dev_set_scores_hold() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extract/dev");
    let pages = load_dev_set(&dir).expect("dev set");
    assert!(pages.len() >= 112, "{} pages", pages.len());
    let mut total = TokenCounts::default();
    let mut empty = Vec::new();
    for p in &pages {
        let got = match extract_html(&p.html, &ExtractOptions::default()) {
            Ok(a) => a.spoken_lines().join("\n"),
            Err(e) => {
                empty.push(format!("{}: {}", p.name, e.code()));
                String::new()
            }
        };
        let c = TokenCounts::compare(&got, &p.expected);
        eprintln!(
            "{:28} P {:.3} R {:.3} F1 {:.3}",
            p.name,
            c.precision(),
            c.recall(),
            c.f1()
        );
        total.add(c);
    }
    let (p, r, f) = (total.precision(), total.recall(), total.f1());
    eprintln!("dev set: P {p:.3} R {r:.3} F1 {f:.3}");
    assert!(empty.is_empty(), "pages without text: {empty:?}");
    assert!(p >= PRECISION_FLOOR, "precision {p:.3}");
    assert!(r >= RECALL_FLOOR, "recall {r:.3}");
    assert!(f >= F1_FLOOR, "F1 {f:.3}");
}

const PRECISION_FLOOR: f64 = 0.98;
const RECALL_FLOOR: f64 = 0.98;
const F1_FLOOR: f64 = 0.98;
