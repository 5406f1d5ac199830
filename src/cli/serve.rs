//! `audioby serve`: build the server and run it until SIGINT or SIGTERM.
use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;

use super::DataDirArg;
use crate::config::Settings;
use crate::startup::Application;

#[derive(Args)]
pub(super) struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:80.
    #[arg(long, env = "AUDIOBY_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    data_dir: DataDirArg,
}

impl ServeArgs {
    pub(super) fn apply(&self, settings: &mut Settings) {
        if let Some(l) = self.listen {
            settings.listen = l;
        }
        self.data_dir.apply(settings);
    }

    pub(super) fn run(self, settings: Settings) -> anyhow::Result<()> {
        let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        rt.block_on(async {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await
        })
    }
}
