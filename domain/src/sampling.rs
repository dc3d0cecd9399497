//! Gauges that no single request or job moves — pool connections, outbox lag, queue depths —
//! read every few seconds by each process that serves metrics.

use std::time::Duration;

use platform::infra::metrics::{self, OUTBOX_LAG, QUEUE_DEPTH};

use crate::App;
use crate::jobs::Queues;

/// How often the gauges are read.
pub const EVERY: Duration = Duration::from_secs(5);

/// Reads the gauges every [`EVERY`] for as long as the process runs.
pub fn spawn(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let queues = Queues::new(&app.infra.kv);
        loop {
            sample(&app, &queues).await;
            tokio::time::sleep(EVERY).await;
        }
    })
}

/// One reading. A dependency that is down leaves its gauges at their last value (the
/// readiness check and the error logs report the outage).
pub async fn sample(app: &App, queues: &Queues) {
    let db = &app.infra.db;
    metrics::sample_pool("write", &db.write).await;
    if app.infra.config.database_read_url.is_some() {
        metrics::sample_pool("read", &db.read).await;
    }
    match outbox::lag_seconds(&db.write).await {
        Ok(lag) => ::metrics::gauge!(OUTBOX_LAG).set(lag),
        Err(e) => tracing::debug!(error = %e, "outbox lag not sampled"),
    }
    if app.infra.kv.available() {
        match queues.depths().await {
            Ok(depths) => {
                for d in depths {
                    ::metrics::gauge!(QUEUE_DEPTH, "queue" => d.queue).set(d.pending as f64);
                }
            }
            Err(e) => tracing::debug!(error = %e, "queue depths not sampled"),
        }
    }
    metrics::upkeep();
}
