//! `api` serves HTTP. Subcommands: `api migrate` applies migrations, `api seed` loads demo
//! data into an empty development database, `api audit` checks the books (exit 1 on drift).
//! Every command but `migrate` refuses to run while migrations are pending.
//! `api healthcheck` GETs `/health/ready` of the running api (the container health check).

use commonpot_api::startup::Application;
use domain::infra::{healthcheck, telemetry};
use domain::{App, config::Config};

/// glibc's allocator was over a quarter of this process's CPU under load (`perf`, bench donation
/// point); mimalloc keeps per-thread free lists, so the many small per-request allocations
/// stay cheap.
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
        // The container's health check: no logs, no connections, just /health/ready.
        std::process::exit(healthcheck::exit_code(config.bind_addr, "/health/ready").await);
    }
    let _sentry = telemetry::init(&config);
    if let Err(e) = run(config).await {
        tracing::error!(error = %e, "api stopped");
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let command = std::env::args().nth(1);
    let app = App::connect(config).await?;
    // Only `api migrate` changes the schema, so instances starting together never race to.
    if command.as_deref() == Some("migrate") {
        app.infra.db.migrate().await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    app.infra.db.check_migrated().await?;
    match command.as_deref() {
        None | Some("serve") => {}
        Some("seed") => {
            app.infra.storage.ensure_bucket().await?;
            let seeded = domain::demo::seed(&app).await?;
            tracing::info!(seeded, "demo data ready");
            return Ok(());
        }
        Some("audit") => {
            let report = app.audit().await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.ok {
                std::process::exit(1);
            }
            return Ok(());
        }
        Some(other) => {
            return Err(format!(
                "unknown command {other:?}; use serve, migrate, seed, audit or healthcheck"
            )
            .into());
        }
    }
    if let (Some(email), Some(password)) = (
        &app.infra.config.admin_email,
        &app.infra.config.admin_password,
    ) {
        app.accounts()
            .ensure_admin(email, password.expose())
            .await?;
        tracing::info!(%email, "bootstrap admin ready");
    }
    if let Err(e) = app.infra.storage.ensure_bucket().await {
        // The api still serves; /health/ready reports storage as down until it is reachable.
        tracing::warn!(error = %e, "object storage not ready");
    }
    let server = Application::build(app).await?;
    tracing::info!(port = server.port(), "api listening");
    server.run_until_stopped().await?;
    Ok(())
}
