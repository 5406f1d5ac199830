//! Building and running the server: load voices and lexicon, bind (port 0 allowed), serve
//! until SIGINT/SIGTERM, then stop accepting and let in-flight requests finish.
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::http::{router, AppState};
use crate::text::lexicon::Lexicon;
use crate::tts::{Engine, TtsError, VoiceRegistry};

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// Scan and load voices, logging every voice that was skipped and why.
pub fn load_engine(settings: &Settings) -> Result<Engine, TtsError> {
    let registry = VoiceRegistry::scan(&settings.voices_dir);
    for p in &registry.problems {
        tracing::warn!(path = %p.path.display(), reason = %p.reason, "voice skipped");
    }
    let (engine, _problems) = Engine::load(&registry, &settings.engine_options(), settings.default_voice.as_deref())?;
    Ok(engine)
}

/// Load the configured lexicon; a missing default file means "no lexicon".
pub fn load_lexicon(settings: &Settings) -> anyhow::Result<Lexicon> {
    match &settings.lexicon {
        Some(path) if path.exists() => {
            let lex = Lexicon::load(path).with_context(|| format!("loading lexicon {}", path.display()))?;
            tracing::info!(path = %path.display(), entries = lex.len(), "lexicon loaded");
            Ok(lex)
        }
        _ => Ok(Lexicon::empty()),
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let s = settings.clone();
        let engine = tokio::task::spawn_blocking(move || load_engine(&s)).await??;
        Self::build_with_engine(settings, Arc::new(engine)).await
    }

    /// Build around an already loaded engine (tests share one across many apps).
    pub async fn build_with_engine(settings: Settings, engine: Arc<Engine>) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data folder {}", settings.data_dir.display()))?;
        let lexicon = load_lexicon(&settings)?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let store = crate::store::open(&settings.data_dir)?;
        let state = AppState {
            settings: Arc::new(settings),
            engine,
            lexicon: Arc::new(lexicon),
            store,
        };
        Ok(Application { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!(%addr, voices = ?self.state.engine.voices().map(|v| v.id.as_str()).collect::<Vec<_>>(), "audioby listening on http://{addr}");
        axum::serve(self.listener, router(self.state)).with_graceful_shutdown(shutdown_signal()).await?;
        tracing::info!("server stopped");
        Ok(())
    }
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
