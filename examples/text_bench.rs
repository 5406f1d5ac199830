//! Text pipeline speed (issue: "Extraction, normalization and segmentation of a 10,000-word
//! article take at most 100 ms"). Builds a 10,000-word HTML article from the seed article,
//! then times extract → segment (normalize + lexicon inside), 21 runs, and prints the median.
use std::time::Instant;

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
    println!("{{\"words\": {words}, \"segments\": {segments}, \"median_ms\": {:.1}, \"min_ms\": {:.1}, \"max_ms\": {:.1}}}", times[10], times[0], times[20]);
}
