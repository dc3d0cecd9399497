//! `worker`: relays the outbox to the job queues and runs the jobs until SIGINT or SIGTERM,
//! serving `GET /metrics` on `WORKER_METRICS_ADDR`. Configured like the api (see
//! `domain::config`). `worker healthcheck` GETs that `/metrics` (the container health check).

use commonpot_worker::Options;
use domain::infra::{healthcheck, metrics, shutdown, telemetry};
use domain::{App, config::Config};

/// glibc's allocator was a quarter of this process's CPU while it sent the receipts of the
/// bench's donation point (`perf`); mimalloc keeps per-thread free lists, so the many small
/// per-job allocations stay cheap (as in the api).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        // The container's health check: GET /metrics on this process's metrics port.
        std::process::exit(healthcheck::exit_code(config.worker_metrics_addr, "/metrics").await);
    }
    let _sentry = telemetry::init(&config);
    let result = async {
        let app = App::connect(config).await?;
        app.infra.db.check_migrated().await?;
        let listen = app.infra.config.worker_metrics_addr;
        let (addr, _server) = metrics::serve(listen, shutdown::signal())
            .await
            .map_err(|e| domain::Error::internal(format!("WORKER_METRICS_ADDR: {e}")))?;
        tracing::info!(%addr, "metrics listening");
        let _sampler = domain::sampling::spawn(app.clone());
        commonpot_worker::run(app, Options::default(), shutdown::signal()).await
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "worker stopped");
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
