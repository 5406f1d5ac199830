//! Shared by the bench examples (not an example itself: Cargo only builds `examples/*.rs` and
//! `examples/*/main.rs`).
use std::time::Instant;

/// Median milliseconds of `runs` calls of `f`.
pub fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[runs / 2]
}
