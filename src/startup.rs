//! Building and running the server: load voices and lexicon, bind (port 0 allowed), serve
//! until SIGINT/SIGTERM, then stop accepting and let in-flight requests finish. The role
//! (`[role]`, `serve --role`, `audioby worker`) decides the parts: `all` runs the API and the
//! article workers, `api` the API without inference sessions, `worker` the workers with only
//! the operations routes.
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::audio::clips::ClipLibrary;
use crate::backends::Backends;
use crate::config::{Role, Settings};
use crate::http::{router, AppState};
use crate::pipeline::{Pipeline, PipelineSettings};
use crate::text::lexicon::Lexicon;
use crate::tts::{Engine, TtsError, VoiceRegistry};

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// Scan and load voices, logging every voice that was skipped and why.
pub fn load_engine(settings: &Settings) -> Result<Engine, TtsError> {
    load_engine_with(settings, settings.engine.clone())
}

/// [`load_engine`] with explicit engine options (the CLI's `prefetch` starts sessions lazily).
pub fn load_engine_with(
    settings: &Settings,
    mut opts: crate::tts::EngineOptions,
) -> Result<Engine, TtsError> {
    opts.session_cache_dir = Some(settings.data_dir.join("sessions"));
    let registry = VoiceRegistry::scan_with_user_dir(&settings.voices_dir);
    for p in &registry.problems {
        tracing::warn!(path = %p.path.display(), reason = %p.reason, "voice skipped");
    }
    let (engine, _problems) = Engine::load(&registry, &opts, settings.default_voice.as_deref())?;
    Ok(engine)
}

/// Load the configured lexicon; a missing default file means "no lexicon".
pub fn load_lexicon(settings: &Settings) -> anyhow::Result<Lexicon> {
    match &settings.lexicon {
        Some(path) if path.exists() => {
            let lex = Lexicon::load(path)
                .with_context(|| format!("loading lexicon {}", path.display()))?;
            tracing::info!(path = %path.display(), entries = lex.len(), "lexicon loaded");
            Ok(lex)
        }
        _ => Ok(Lexicon::empty()),
    }
}

/// Decode every clip `[clips]` and the feeds (`[feeds.define.NAME]` intro / outro /
/// sponsors) name (off the async runtime): a missing, truncated or unsupported file is an
/// error naming it, so it stops the service at startup instead of ever reaching a rendition.
pub async fn load_clips(settings: &Settings) -> anyhow::Result<ClipLibrary> {
    let clips = settings.clips.clone();
    let feeds = settings.feeds.clip_overrides();
    Ok(tokio::task::spawn_blocking(move || ClipLibrary::load(&clips, &feeds)).await??)
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        // Before the voices: a bad clip is reported at once, not after seconds of loading.
        let clips = load_clips(&settings).await?;
        let s = settings.clone();
        let engine = tokio::task::spawn_blocking(move || match s.role {
            // The API hashes the voice files (cache keys, voice checks) but starts no sessions:
            // synthesis is the workers' job.
            Role::Api => load_engine_with(
                &s,
                crate::tts::EngineOptions {
                    lazy_sessions: true,
                    ..s.engine.clone()
                },
            ),
            Role::All | Role::Worker => load_engine(&s),
        })
        .await??;
        Self::build_parts(settings, Arc::new(engine), clips).await
    }

    /// Build around an already loaded engine (tests share one across many apps).
    pub async fn build_with_engine(
        settings: Settings,
        engine: Arc<Engine>,
    ) -> anyhow::Result<Application> {
        let clips = load_clips(&settings).await?;
        Self::build_parts(settings, engine, clips).await
    }

    async fn build_parts(
        mut settings: Settings,
        engine: Arc<Engine>,
        clips: ClipLibrary,
    ) -> anyhow::Result<Application> {
        // Creates the data folder, where the generated API key goes.
        let backends = Backends::open(&settings).await?;
        if settings.role.serves_api() {
            ensure_api_key(&mut settings)?;
        }
        let lexicon = Arc::new(load_lexicon(&settings)?);
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let store = backends.store.clone();
        let events = backends.queue.clone();
        let settings = Arc::new(settings);
        let pipeline = Pipeline::new(
            PipelineSettings {
                clips,
                ..settings.pipeline()
            },
            Arc::clone(&engine),
            Arc::clone(&lexicon),
            backends,
        );
        if settings.demo && settings.role.serves_api() {
            ensure_demo_article(&pipeline).await;
        }
        let state = AppState {
            settings,
            engine,
            lexicon,
            store,
            pipeline,
            events,
        };
        Ok(Application { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let addr = self.local_addr();
        let role = self.state.settings.role;
        tracing::info!(%addr, ?role, voices = ?self.state.engine.voices().map(|v| v.id.as_str()).collect::<Vec<_>>(), "audioby listening on http://{addr}");
        let pipeline = Arc::clone(&self.state.pipeline);
        let worker_count = if role.works() {
            self.state.settings.queue.workers.max(1)
        } else {
            0
        };
        let keep = self.state.settings.database.prune_finished_after_secs;
        let pruner = (role.works() && keep > 0).then(|| {
            tokio::spawn(
                Arc::clone(&pipeline).prune_finished_jobs(std::time::Duration::from_secs(keep)),
            )
        });
        // The day's listener salt and hashes go once the day is over, even on a day without
        // events (otherwise the next day's first play would delete them).
        let forgetter = role.serves_api().then(|| {
            let events = Arc::clone(&self.state.events);
            tokio::spawn(async move {
                use crate::queue::events::{day_of, MS_PER_DAY};
                loop {
                    let wait_ms = match events.forget_past_listeners().await {
                        // Just after the next UTC midnight.
                        Ok(()) => {
                            let now = crate::queue::now_ms();
                            (day_of(now) + 1) * MS_PER_DAY - now + 1_000
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "deleting past days' listener data failed; retrying in a minute");
                            60_000
                        }
                    };
                    tokio::time::sleep(std::time::Duration::from_millis(wait_ms.max(1_000) as u64)).await;
                }
            })
        });
        let workers: Vec<_> = (0..worker_count)
            .map(|n| {
                tokio::spawn(Arc::clone(&pipeline).run_worker(format!(
                    "{}-{}-{n}",
                    hostname(),
                    std::process::id()
                )))
            })
            .collect();
        let serve_options = crate::http::ServeOptions::from_settings(&self.state.settings.http);
        let routes = if role.serves_api() {
            router(self.state)
        } else {
            router(self.state).layer(axum::middleware::from_fn(operations_only))
        };
        crate::http::serve(self.listener, routes, serve_options, shutdown_signal()).await;
        if let Some(p) = pruner {
            p.abort();
        }
        if let Some(f) = forgetter {
            f.abort();
        }
        // Requests are done; let the article being synthesized stop after its current segment.
        pipeline.stop();
        for w in workers {
            let _ = w.await;
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// A worker's HTTP surface: health, readiness and metrics for the orchestrator; everything
/// else is the API processes' (a layer over the one router, so both share every route's code).
async fn operations_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match request.uri().path() {
        "/healthz" | "/readyz" | "/metrics" => next.run(request).await,
        _ => crate::http::ApiError::not_found(
            "this is a worker: it serves only /healthz, /readyz and /metrics",
        )
        .into_response(),
    }
}

/// Store the seed article as `seed` (the demo page's article) and queue its audio when it
/// has none yet. Failure only costs the demo, so it is logged, not fatal.
pub async fn ensure_demo_article(pipeline: &Pipeline) {
    let Ok(id) = crate::article::ArticleId::parse("seed") else {
        return;
    };
    let record = crate::article::ArticleRecord::build(
        id,
        crate::player::demo::demo_input(),
        &Default::default(),
        crate::queue::now_ms(),
    );
    match record {
        Ok(r) => match pipeline.put_article(&r).await {
            Ok((_, Some(job))) => {
                tracing::info!(job = %job.id, "demo article `seed` queued for audio")
            }
            Ok((_, None)) => tracing::info!("demo article `seed` is ready"),
            Err(e) => tracing::warn!(error = %e, "demo article not stored"),
        },
        Err(e) => tracing::warn!(error = %e, "demo article not built"),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "audioby".into())
}

/// The file holding the generated API key, inside the data folder.
pub const API_KEY_FILE: &str = "api-key";

/// With no configured key, use the one generated on first start (`<data_dir>/api-key`,
/// mode 0600), creating it if needed. A new key is printed once, to stderr, never logged.
fn ensure_api_key(settings: &mut Settings) -> anyhow::Result<()> {
    if !settings.http.api_keys.is_empty() {
        return Ok(());
    }
    let path = settings.data_dir.join(API_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => {
            settings.http.api_keys = vec![k.trim().to_string()];
            tracing::info!(path = %path.display(), "using the generated API key");
            return Ok(());
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness for an API key: {e}"))?;
    let key = hex::encode(raw);
    write_private(&path, key.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "audioby: generated an API key (saved in {}, mode 0600):\n  {key}",
        path.display()
    );
    settings.http.api_keys = vec![key];
    Ok(())
}

/// Write a secret atomically: a 0600 temp file in the same folder, synced, renamed.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    // tempfile creates with mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".api-key")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}
