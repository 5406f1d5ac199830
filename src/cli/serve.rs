//! `audioby serve`: build the server and run it until SIGINT or SIGTERM.
use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;

use super::DataDirArg;
use crate::config::{Role, Settings};
use crate::startup::Application;

/// What every server process takes: where to listen and the data folder.
#[derive(Args)]
pub(super) struct ServerArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:80.
    #[arg(long, env = "AUDIOBY_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    data_dir: DataDirArg,
}

impl ServerArgs {
    pub(super) fn apply(&self, settings: &mut Settings) {
        if let Some(l) = self.listen {
            settings.listen = l;
        }
        self.data_dir.apply(settings);
    }
}

#[derive(Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// What this process runs: `all` (API and workers), `api` (no inference sessions) or
    /// `worker` (only /healthz, /readyz, /metrics over HTTP). Default: `role` in the config, else all.
    #[arg(long, value_enum)]
    role: Option<Role>,
}

impl ServeArgs {
    pub(super) fn apply(&self, settings: &mut Settings) {
        self.server.apply(settings);
        if let Some(r) = self.role {
            settings.role = r;
        }
    }

    pub(super) fn run(self, settings: Settings) -> anyhow::Result<()> {
        run_server(settings)
    }
}

/// Build the server for `settings.role` and run it until SIGINT or SIGTERM.
pub(super) fn run_server(settings: Settings) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let app = Application::build(settings).await?;
        app.run_until_stopped().await
    })
}
