//! The outbox relay loop: moves committed events into the job queues, back to back while there
//! is a backlog, every `relay_interval` when idle, and with a growing pause while Redis or
//! PostgreSQL is unreachable (the rows simply wait in the outbox).

use std::time::Duration;

use domain::jobs::{Queues, relay};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::Options;

pub async fn run(
    pool: PgPool,
    queues: Queues,
    options: Options,
    mut stopped: watch::Receiver<bool>,
) {
    let mut failing_pause = options.relay_interval;
    loop {
        let pause = match relay::relay_batch(&pool, &queues, options.relay_batch).await {
            Ok(n) if i64::try_from(n).is_ok_and(|n| n >= options.relay_batch) => Duration::ZERO,
            Ok(n) => {
                if n > 0 {
                    tracing::debug!(events = n, "outbox relayed");
                }
                failing_pause = options.relay_interval;
                options.relay_interval
            }
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay failed; events stay queued in the outbox");
                failing_pause = (failing_pause * 2).min(Duration::from_secs(5));
                failing_pause
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}
