//! `scheduler`: runs the periodic tasks (campaign deadlines every minute; nightly analytics,
//! ledger digest and backup) until SIGINT or SIGTERM, serving `GET /metrics` on
//! `SCHEDULER_METRICS_ADDR`. Configured like the api (see `domain::config`), plus
//! `BACKUP_KEEP` (default 7): how many backups to keep in object storage.
//!
//! Subcommands, for operators:
//! - `scheduler backup` — back the database up now.
//! - `scheduler backups` — list the stored backups, oldest first.
//! - `scheduler restore <KEY|latest> <DATABASE_URL>` — restore a backup into an empty database
//!   (create it first, e.g. `createdb commonpot_restored`).
//! - `scheduler healthcheck` — GET `/metrics` of the running scheduler (the container health
//!   check).

use commonpot_scheduler::{Options, production_tasks};
use domain::infra::{healthcheck, metrics, shutdown, telemetry};
use domain::ops::backup;
use domain::{App, config::Config};

const USAGE: &str =
    "usage: scheduler [backup | backups | restore <KEY|latest> <DATABASE_URL> | healthcheck]";

/// What the command line asks for.
enum Command {
    Run,
    Backup,
    ListBackups,
    Restore { key: String, target: String },
}

impl Command {
    fn parse(args: &[String]) -> Option<Self> {
        match args {
            [] => Some(Self::Run),
            [cmd] if cmd == "backup" => Some(Self::Backup),
            [cmd] if cmd == "backups" => Some(Self::ListBackups),
            [cmd, key, target] if cmd == "restore" => Some(Self::Restore {
                key: key.clone(),
                target: target.clone(),
            }),
            _ => None,
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if args == ["healthcheck"] {
        // The container's health check: GET /metrics on this process's metrics port.
        let code = healthcheck::exit_code(config.scheduler_metrics_addr, "/metrics").await;
        std::process::exit(code);
    }
    let Some(command) = Command::parse(&args) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let options = match options_from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let _sentry = telemetry::init(&config);
    if let Err(e) = run(config, options, command).await {
        tracing::error!(error = %e, "scheduler stopped");
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn options_from_env() -> Result<Options, String> {
    let mut options = Options::default();
    if let Some(raw) = std::env::var("BACKUP_KEEP")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        options.backup_keep = raw.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            format!("configuration error: BACKUP_KEEP must be a positive integer, got {raw:?}")
        })?;
    }
    Ok(options)
}

async fn run(config: Config, options: Options, command: Command) -> domain::Result<()> {
    let app = App::connect(config).await?;
    match command {
        Command::Run => {
            app.infra.db.check_migrated().await?;
            let tasks = production_tasks(&options)?;
            let listen = app.infra.config.scheduler_metrics_addr;
            let (addr, _server) = metrics::serve(listen, shutdown::signal())
                .await
                .map_err(|e| domain::Error::internal(format!("SCHEDULER_METRICS_ADDR: {e}")))?;
            tracing::info!(%addr, "metrics listening");
            commonpot_scheduler::run(app, tasks, options, shutdown::signal()).await
        }
        Command::Backup => {
            let done = backup::run(
                &app.infra.storage,
                app.infra.config.direct_database_url().expose(),
                chrono::Utc::now(),
                options.backup_keep,
            )
            .await?;
            println!("{} ({} bytes)", done.key, done.size_bytes);
            Ok(())
        }
        Command::ListBackups => {
            for key in backup::list(&app.infra.storage).await? {
                println!("{key}");
            }
            Ok(())
        }
        Command::Restore { key, target } => {
            let key = if key == "latest" {
                backup::list(&app.infra.storage)
                    .await?
                    .pop()
                    .ok_or(domain::Error::NotFound("backup"))?
            } else {
                key
            };
            backup::restore(&app.infra.storage, &key, &target).await?;
            println!("restored {key}");
            Ok(())
        }
    }
}
