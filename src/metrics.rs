//! Process-wide Prometheus metrics: HTTP requests and latency per route, queue depth and
//! ages, synthesis real-time factor, audio cache hit ratio. Everything goes through the
//! `metrics` facade into one recorder installed on first use; `GET /metrics` renders it.
//! Other layers call the small setters below and never touch the exporter.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static CACHE_HITS: AtomicU64 = AtomicU64::new(0);
static CACHE_MISSES: AtomicU64 = AtomicU64::new(0);

/// Seconds: request latency from a cached file (sub-millisecond) to a long synthesis.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// Inference seconds per audio second: below 1 is faster than real time.
const RTF_BUCKETS: &[f64] = &[0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0];

/// Install the recorder once per process (tests start many apps in one process). `None`
/// when another recorder was installed first, in which case `/metrics` says so.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("audioby_synthesis_real_time_factor".into()),
                        RTF_BUCKETS,
                    )
                })
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            spawn_upkeep(handle.clone());
            Some(handle)
        })
        .as_ref()
}

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The recorder keeps every histogram sample until upkeep folds it into the buckets; with no
/// scraper, a busy server would grow without bound. A plain thread: the recorder outlives
/// any one Tokio runtime (tests start many).
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_EVERY);
            handle.run_upkeep();
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics upkeep thread not started");
    }
}

fn describe() {
    metrics::describe_counter!(
        "audioby_http_requests_total",
        "HTTP requests by method, route and status"
    );
    metrics::describe_histogram!(
        "audioby_http_request_duration_seconds",
        "Time to the response head, by method and route"
    );
    metrics::describe_gauge!("audioby_queue_depth", "Jobs waiting in the queue");
    metrics::describe_gauge!(
        "audioby_queue_oldest_age_seconds",
        "Age of the oldest waiting job"
    );
    metrics::describe_histogram!(
        "audioby_queue_wait_seconds",
        "Time jobs waited before a worker took them"
    );
    metrics::describe_counter!(
        "audioby_synthesis_audio_milliseconds_total",
        "Milliseconds of audio synthesized"
    );
    metrics::describe_counter!(
        "audioby_synthesis_inference_milliseconds_total",
        "Milliseconds spent in inference"
    );
    metrics::describe_histogram!(
        "audioby_synthesis_real_time_factor",
        "Inference time / audio time per synthesis (lower is faster)"
    );
    metrics::describe_counter!("audioby_synthesis_total", "Completed syntheses by source");
    metrics::describe_counter!(
        "audioby_jobs_interrupted_total",
        "Running jobs stopped mid-sentence, by reason (listener: a prefetch job gave way to a listener's job; cancelled)"
    );
    metrics::describe_counter!(
        "audioby_cache_lookups_total",
        "Audio cache lookups by result (hit, miss)"
    );
    metrics::describe_gauge!(
        "audioby_cache_hit_ratio",
        "Cache hits / lookups since start"
    );
}

/// The Prometheus text exposition of everything recorded so far.
pub fn render() -> Option<String> {
    let h = install()?;
    h.run_upkeep();
    Some(h.render())
}

/// The request metrics of one route template. Registering a labelled metric allocates and
/// hashes its labels; requests look their handles up here instead (route templates,
/// methods and statuses are few, so the lists stay short).
#[derive(Default)]
struct RouteHandles {
    /// By method.
    latency: Vec<(String, Histogram)>,
    /// By method and status.
    requests: Vec<(String, u16, Counter)>,
}

impl RouteHandles {
    fn find(&self, method: &str, status: u16) -> Option<(&Counter, &Histogram)> {
        let counter = self
            .requests
            .iter()
            .find(|(m, s, _)| m == method && *s == status)?;
        let latency = self.latency.iter().find(|(m, _)| m == method)?;
        Some((&counter.2, &latency.1))
    }

    fn register(&mut self, method: &str, route: &str, status: u16) -> (&Counter, &Histogram) {
        if !self.latency.iter().any(|(m, _)| m == method) {
            let labels = [("method", method.to_string()), ("route", route.to_string())];
            let h = metrics::histogram!("audioby_http_request_duration_seconds", &labels);
            self.latency.push((method.to_string(), h));
        }
        if !self
            .requests
            .iter()
            .any(|(m, s, _)| m == method && *s == status)
        {
            let c = metrics::counter!("audioby_http_requests_total", "method" => method.to_string(), "route" => route.to_string(), "status" => status.to_string());
            self.requests.push((method.to_string(), status, c));
        }
        self.find(method, status).expect("just registered")
    }
}

/// Route template → its handles.
static REQUEST_HANDLES: LazyLock<RwLock<HashMap<String, RouteHandles>>> =
    LazyLock::new(Default::default);

/// One finished HTTP request. `route` is the matched route template, never the raw path,
/// so label cardinality stays bounded.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let record = |(counter, latency): (&Counter, &Histogram)| {
        counter.increment(1);
        latency.record(elapsed.as_secs_f64());
    };
    {
        let handles = REQUEST_HANDLES.read().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = handles.get(route).and_then(|h| h.find(method, status)) {
            return record(found);
        }
    }
    let mut handles = REQUEST_HANDLES.write().unwrap_or_else(|e| e.into_inner());
    record(
        handles
            .entry(route.to_string())
            .or_default()
            .register(method, route, status),
    );
}

/// Jobs currently waiting (set by the queue after every change or on a timer).
pub fn set_queue_depth(n: u64) {
    metrics::gauge!("audioby_queue_depth").set(n as f64);
}

/// Age of the oldest waiting job, 0 when the queue is empty.
pub fn set_queue_oldest_age(age: Duration) {
    metrics::gauge!("audioby_queue_oldest_age_seconds").set(age.as_secs_f64());
}

/// How long a job waited before a worker picked it up.
pub fn record_queue_wait(wait: Duration) {
    metrics::histogram!("audioby_queue_wait_seconds").record(wait.as_secs_f64());
}

/// One finished synthesis: `source` is a short static label such as `"direct"`,
/// `"openai"` or `"article"`. The real-time factor is inference / audio seconds.
/// A direct synthesis stopped because its client went away (`segments` were made).
pub fn record_abandoned_synthesis(source: &'static str, segments: usize) {
    metrics::counter!("audioby_synthesis_abandoned_total", "source" => source).increment(1);
    metrics::counter!("audioby_synthesis_abandoned_segments_total", "source" => source)
        .increment(segments as u64);
}

pub fn record_interrupted(reason: &'static str) {
    metrics::counter!("audioby_jobs_interrupted_total", "reason" => reason).increment(1);
}

pub fn record_synthesis(source: &'static str, audio_secs: f64, inference_secs: f64) {
    metrics::counter!("audioby_synthesis_total", "source" => source).increment(1);
    // `metrics` counters are integers: milliseconds keep the precision.
    metrics::counter!("audioby_synthesis_audio_milliseconds_total")
        .increment((audio_secs * 1000.0) as u64);
    metrics::counter!("audioby_synthesis_inference_milliseconds_total")
        .increment((inference_secs * 1000.0) as u64);
    if audio_secs > 0.0 {
        metrics::histogram!("audioby_synthesis_real_time_factor")
            .record(inference_secs / audio_secs);
    }
}

/// One audio-cache lookup (segment or article cache).
pub fn cache_lookup(hit: bool) {
    let (hits, misses) = if hit {
        (
            CACHE_HITS.fetch_add(1, Ordering::Relaxed) + 1,
            CACHE_MISSES.load(Ordering::Relaxed),
        )
    } else {
        (
            CACHE_HITS.load(Ordering::Relaxed),
            CACHE_MISSES.fetch_add(1, Ordering::Relaxed) + 1,
        )
    };
    metrics::counter!("audioby_cache_lookups_total", "result" => if hit { "hit" } else { "miss" })
        .increment(1);
    metrics::gauge!("audioby_cache_hit_ratio").set(hits as f64 / (hits + misses) as f64);
}
