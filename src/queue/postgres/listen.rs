//! The wake-up hint: one connection per process LISTENs on the jobs channel and wakes idle
//! workers when another process pushes a job. Only a hint: notifications sent while the
//! listener reconnects are lost, so workers still poll (with jitter); after a reconnect the
//! listener wakes them once, to look for what it may have missed.
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub(super) struct Listener {
    notify: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Listener {
    pub(super) fn start(pool: PgPool, channel: &'static str) -> Listener {
        let notify = Arc::new(Notify::new());
        let wake = Arc::clone(&notify);
        let task = tokio::spawn(async move {
            loop {
                match listen(&pool, channel, &wake).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::debug!(error = %e, "job notifications interrupted; reconnecting");
                        tokio::time::sleep(
                            Duration::from_secs(1)
                                + crate::queue::jitter(Duration::from_millis(500)),
                        )
                        .await;
                        wake.notify_waiters();
                    }
                }
            }
        });
        Listener { notify, task }
    }

    pub(super) fn notify(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listen until the pool is closed (Ok) or reconnecting fails (Err).
async fn listen(pool: &PgPool, channel: &str, wake: &Notify) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    loop {
        if pool.is_closed() {
            return Ok(());
        }
        // `try_recv` reports a lost connection as None (and reconnects on the next call)
        // instead of reconnecting silently: either way the workers look.
        listener.try_recv().await?;
        wake.notify_waiters();
    }
}
