//! Text pipeline speed (issue: "Extraction, normalization and segmentation of a 10,000-word
//! article take at most 100 ms"). Builds a 10,000-word HTML article from the seed article,
//! then times extract → segment (normalize + lexicon inside), 21 runs, and prints the median.
//! Also the wall-time side of the linearity tests (which count allocated bytes instead, as
//! wall time on a shared machine measures the neighbours): normalizing a 1 MB and a 2 MB
//! line without punctuation, and a 1000-entry lexicon on 10,000 words.
use std::time::Instant;

#[path = "util/mod.rs"]
mod util;
use util::median_ms;

fn main() {
    let seed =
        std::fs::read_to_string("player/seed-article.txt").expect("run from the repository root");
    let paragraphs: Vec<&str> = seed
        .lines()
        .filter(|l| l.split_whitespace().count() > 8)
        .collect();
    let mut html = String::from("<html><head><title>Bench</title></head><body><nav>Home | World</nav><article><h1>Bench article</h1>");
    let mut words = 0;
    'outer: loop {
        for p in &paragraphs {
            html.push_str(&format!("<p>{p}</p>"));
            words += p.split_whitespace().count();
            if words >= 10_000 {
                break 'outer;
            }
        }
    }
    html.push_str("</article><footer>Copyright</footer></body></html>");
    let lexicon = audioby::text::Lexicon::load("lexicon.toml")
        .unwrap_or_else(|_| audioby::text::Lexicon::empty());
    let opts = audioby::text::SegmentOptions::default();
    let mut times = Vec::new();
    let mut segments = 0;
    for _ in 0..21 {
        let t = Instant::now();
        let article =
            audioby::article::extract::extract_html(&html, &Default::default()).expect("extracts");
        let segs = audioby::text::segment_blocks(&article.blocks, &lexicon, &opts);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        segments = segs.len();
    }
    times.sort_by(|a, b| a.total_cmp(b));

    let unit = "the quick brown fox jumps over the lazy dog and NATO said US ";
    let line = unit.repeat((1 << 20) / unit.len());
    let line2 = line.repeat(2);
    let normalize_1mb = median_ms(5, || drop(audioby::text::normalize::normalize(&line)));
    let normalize_2mb = median_ms(5, || drop(audioby::text::normalize::normalize(&line2)));
    let mut toml = String::from("[words]\n");
    for i in 0..500 {
        toml.push_str(&format!(
            "name{i} = \"respelling {i}\"\n\"first{i} last{i}\" = {{ phonemes = \"fˈɜːst{i}\" }}\n"
        ));
    }
    let big_lexicon = audioby::text::Lexicon::from_toml_str(&toml).expect("lexicon parses");
    let vocabulary = [
        "the", "talks", "name17", "first3", "last3", "in", "Kyiv", "name499",
    ];
    let text: Vec<&str> = (0..10_000)
        .map(|i| vocabulary[i % vocabulary.len()])
        .collect();
    let text = text.join(" ");
    let lexicon_ms = median_ms(21, || drop(big_lexicon.apply(&text)));

    println!("{{\"words\": {words}, \"segments\": {segments}, \"median_ms\": {:.1}, \"min_ms\": {:.1}, \"max_ms\": {:.1}, \"normalize_1mb_ms\": {normalize_1mb:.1}, \"normalize_2mb_ms\": {normalize_2mb:.1}, \"lexicon_1000_entries_ms\": {lexicon_ms:.2}}}", times[10], times[0], times[20]);
}
