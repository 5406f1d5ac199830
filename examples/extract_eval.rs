//! Extraction candidates on the development set (tests/fixtures/extract/dev): pooled token
//! precision, recall and F1 of each, pages where a candidate found nothing, and the median
//! time to extract a 10,000-word page. `make bench` runs it; BENCHMARKS.md keeps the figures.
use std::path::Path;

#[path = "util/mod.rs"]
mod util;
use util::median_ms;

use audioby::article::eval::{load_dev_set, TokenCounts};
use audioby::article::extract::{extract_html, extract_html_with, ExtractOptions, Locator};

type Candidate = fn(&str) -> Option<String>;

fn lines(a: &audioby::article::extract::Article) -> String {
    a.spoken_lines().join("\n")
}

/// Our extractor (dom_smoothie locator + our walker).
fn ours(html: &str) -> Option<String> {
    extract_html(html, &ExtractOptions::default())
        .ok()
        .map(|a| lines(&a))
}

/// rs-trafilatura locates the article on our DOM; our walker reads it.
fn traf_locator(html: &str) -> Option<String> {
    let text = traf(html)?.content_text;
    extract_html_with(html, &ExtractOptions::default(), &Locator::MainText(text))
        .ok()
        .map(|a| lines(&a))
}

/// Both locators with our walker; the longer reading wins unless it is over twice as long
/// (then the shorter, since the longer one probably took in comments or rails).
fn locator_vote(html: &str) -> Option<String> {
    let (a, b) = (ours(html), traf_locator(html));
    let (wa, wb) = (words(&a), words(&b));
    match (wa, wb) {
        (0, _) => b,
        (_, 0) => a,
        _ if wa >= wb && wa <= wb * 2 => a,
        _ if wb > wa && wb <= wa * 2 => b,
        _ if wa > wb => b,
        _ => a,
    }
}

fn traf(html: &str) -> Option<rs_trafilatura::ExtractResult> {
    rs_trafilatura::extract(html).ok()
}

/// rs-trafilatura's text, with its title first (we speak the title).
fn trafilatura(html: &str) -> Option<String> {
    let r = traf(html)?;
    if r.content_text.trim().is_empty() {
        return None;
    }
    Some(format!(
        "{}\n{}",
        r.metadata.title.unwrap_or_default(),
        r.content_text
    ))
}

/// rs-trafilatura finds the content; our walker turns its HTML into blocks.
fn trafilatura_walker(html: &str) -> Option<String> {
    let r = traf(html)?;
    let body = r.content_html?;
    let title = r.metadata.title.unwrap_or_default();
    let page = format!("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>");
    let opts = ExtractOptions {
        include: vec!["article".into()],
        ..Default::default()
    };
    extract_html(&page, &opts).ok().map(|a| lines(&a))
}

fn words(s: &Option<String>) -> usize {
    s.as_deref()
        .map(|t| t.split_whitespace().count())
        .unwrap_or(0)
}

/// Ours, unless it found less than half of what rs-trafilatura found.
fn ours_fallback(html: &str) -> Option<String> {
    let (a, b) = (ours(html), trafilatura(html));
    if words(&a) * 2 < words(&b) {
        b
    } else {
        a.or(b)
    }
}

/// rs-trafilatura, unless it found less than half of what ours found.
fn trafilatura_fallback(html: &str) -> Option<String> {
    let (a, b) = (trafilatura(html), ours(html));
    if words(&a) * 2 < words(&b) {
        b
    } else {
        a.or(b)
    }
}

fn main() {
    let dir = Path::new("tests/fixtures/extract/dev");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("extract_eval [-v] [--diff] [--ours] [--no-time] [--batch N] [--set DIR] [PAGE...]\n  --batch N  only batch N of the pages (N >= 2: batchN.txt, written before tuning; 1: the pages of no list); --batch2 is --batch 2\n  -v         per-page P/R/F1 on stderr\n  --diff     our extraction's extra and missing lines per page (implies --ours)\n  --ours     only our extractor\n  --no-time  skip the 10,000-word timing\n  --set DIR  another page set (default tests/fixtures/extract/dev)\n  PAGE       only pages whose name contains one of these");
        return;
    }
    let verbose = args.iter().any(|a| a == "-v");
    let diff = args.iter().any(|a| a == "--diff");
    let only_ours = diff || args.iter().any(|a| a == "--ours");
    let no_time = args.iter().any(|a| a == "--no-time");
    let set = args
        .iter()
        .position(|a| a == "--set")
        .and_then(|i| args.get(i + 1).cloned());
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            !a.starts_with('-') && (*i == 0 || (args[i - 1] != "--set" && args[i - 1] != "--batch"))
        })
        .map(|(_, a)| a)
        .collect();
    let dir_buf = set.map(std::path::PathBuf::from);
    let dir = dir_buf.as_deref().unwrap_or(dir);
    let mut pages = load_dev_set(dir).expect("run from the repository root");
    if !filters.is_empty() {
        pages.retain(|p| filters.iter().any(|f| p.name.contains(f.as_str())));
    }
    let batch = args
        .iter()
        .position(|a| a == "--batch")
        .map(|i| {
            args.get(i + 1)
                .and_then(|n| n.parse::<u32>().ok())
                .expect("--batch N")
        })
        .or_else(|| args.iter().any(|a| a == "--batch2").then_some(2));
    if let Some(n) = batch {
        // A later batch, written before the extractor was tuned on it (issue 17): its score,
        // apart, is the check against over-fitting the earlier ones. Batch 1 is every page
        // that no batchN.txt lists.
        let listed = |n: u32| -> Option<Vec<String>> {
            let list = std::fs::read_to_string(dir.join(format!("batch{n}.txt"))).ok()?;
            Some(
                list.lines()
                    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                    .map(|l| l.trim().to_string())
                    .collect(),
            )
        };
        if n >= 2 {
            let names = listed(n).unwrap_or_else(|| panic!("batch{n}.txt"));
            pages.retain(|p| names.contains(&p.name));
        } else {
            let later: Vec<String> = (2..).map_while(listed).flatten().collect();
            pages.retain(|p| !later.contains(&p.name));
        }
    }
    if diff {
        for p in &pages {
            print_diff(&p.name, ours(&p.html).as_deref().unwrap_or(""), &p.expected);
        }
    }
    let candidates: [(&str, Candidate); 7] = [
        ("audioby (dom_smoothie + walker)", ours),
        ("rs-trafilatura locator + our walker", traf_locator),
        ("vote of both locators, our walker", locator_vote),
        ("rs-trafilatura 0.2.2", trafilatura),
        ("rs-trafilatura + our walker", trafilatura_walker),
        ("ours, fallback rs-trafilatura", ours_fallback),
        ("rs-trafilatura, fallback ours", trafilatura_fallback),
    ];
    println!("{} pages in {}", pages.len(), dir.display());
    println!("| candidate | P | R | F1 | no text | median ms, 10,000 words |");
    println!("|---|---|---|---|---|---|");
    let big = big_page();
    let candidates = if only_ours {
        &candidates[..1]
    } else {
        &candidates[..]
    };
    for &(name, f) in candidates {
        let mut total = TokenCounts::default();
        let mut empty = 0;
        for p in &pages {
            let got = f(&p.html);
            if got.is_none() {
                empty += 1;
            }
            let c = TokenCounts::compare(got.as_deref().unwrap_or(""), &p.expected);
            if verbose {
                eprintln!(
                    "{name:32} {:28} P {:.3} R {:.3} F1 {:.3}",
                    p.name,
                    c.precision(),
                    c.recall(),
                    c.f1()
                );
            }
            total.add(c);
        }
        let ms = if no_time {
            f64::NAN
        } else {
            median_ms(11, || {
                f(&big);
            })
        };
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {empty} | {ms:.1} |",
            total.precision(),
            total.recall(),
            total.f1()
        );
    }
}

/// A 10,000-word page in a real layout: the dev set's magazine page with its body repeated.
fn big_page() -> String {
    let html = std::fs::read_to_string("tests/fixtures/extract/dev/mag-octopus.html")
        .expect("run from the repository root");
    let start = html.find("<div class=\"article-body\">").expect("body") + 26;
    let end = start + html[start..].find("</div></article>").expect("end");
    let body = &html[start..end];
    let n = body.split_whitespace().count();
    let copies = 10_000 / n + 1;
    format!("{}{}{}", &html[..start], body.repeat(copies), &html[end..])
}

/// Lines of `got` whose words are not in `expected` (extra) and the reverse (missing), by
/// normalized line, with the page's P/R.
fn print_diff(name: &str, got: &str, expected: &str) {
    let norm = |l: &str| {
        l.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let exp: std::collections::HashSet<String> = expected.lines().map(norm).collect();
    let gotn: std::collections::HashSet<String> = got.lines().map(norm).collect();
    let c = TokenCounts::compare(got, expected);
    println!(
        "== {name}: P {:.3} R {:.3} F1 {:.3}",
        c.precision(),
        c.recall(),
        c.f1()
    );
    for l in got.lines().filter(|l| !exp.contains(&norm(l))) {
        println!("  + {l}");
    }
    for l in expected.lines().filter(|l| !gotn.contains(&norm(l))) {
        println!("  - {l}");
    }
}
