//! `worker`: relays the outbox to the job queues and runs the jobs until SIGINT or SIGTERM.
//! Configured like the api (see `domain::config`).

use commonpot_worker::Options;
use domain::infra::telemetry;
use domain::{App, config::Config};

#[tokio::main]
async fn main() {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let _sentry = telemetry::init(&config);
    let result = async {
        let app = App::connect(config).await?;
        commonpot_worker::run(app, Options::default(), domain::infra::shutdown::signal()).await
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "worker stopped");
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
