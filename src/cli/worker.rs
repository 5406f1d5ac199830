//! `audioby worker`: `audioby serve --role worker`, the synthesis process of a scale-out
//! deployment (docs/DEPLOY.md). It claims jobs for the voices it has from the shared database
//! and serves only `/healthz`, `/readyz` and `/metrics`.
use clap::Args;

use super::serve::{run_server, ServerArgs};
use crate::config::{Role, Settings};

#[derive(Args)]
pub(super) struct WorkerArgs {
    #[command(flatten)]
    server: ServerArgs,
}

impl WorkerArgs {
    pub(super) fn apply(&self, settings: &mut Settings) {
        self.server.apply(settings);
        settings.role = Role::Worker;
    }

    pub(super) fn run(self, settings: Settings) -> anyhow::Result<()> {
        run_server(settings)
    }
}
