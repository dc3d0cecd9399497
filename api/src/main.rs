//! `api` serves HTTP; `api migrate` only applies migrations.

use commonpot_api::startup::Application;
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
    if let Err(e) = run(config).await {
        tracing::error!(error = %e, "api stopped");
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let migrate_only = std::env::args().nth(1).as_deref() == Some("migrate");
    let app = App::connect(config).await?;
    app.db.migrate().await?;
    if migrate_only {
        tracing::info!("migrations applied");
        return Ok(());
    }
    if let (Some(email), Some(password)) = (&app.config.admin_email, &app.config.admin_password) {
        app.accounts()
            .ensure_admin(email, password.expose())
            .await?;
        tracing::info!(%email, "bootstrap admin ready");
    }
    if let Err(e) = app.storage.ensure_bucket().await {
        // The api still serves; /health/ready reports storage as down until it is reachable.
        tracing::warn!(error = %e, "object storage not ready");
    }
    let server = Application::build(app).await?;
    tracing::info!(port = server.port(), "api listening");
    server.run_until_stopped().await?;
    Ok(())
}
