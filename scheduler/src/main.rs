//! `scheduler`: runs the nightly tasks (analytics, ledger digest, backup) until SIGINT or
//! SIGTERM. Configured like the api (see `domain::config`), plus `BACKUP_KEEP` (default 7): how
//! many backups to keep in object storage.
//!
//! Subcommands, for operators:
//! - `scheduler backup` — back the database up now.
//! - `scheduler backups` — list the stored backups, oldest first.
//! - `scheduler restore <KEY|latest> <DATABASE_URL>` — restore a backup into an empty database
//!   (create it first, e.g. `createdb commonpot_restored`).

use commonpot_scheduler::{Options, nightly_tasks};
use domain::infra::telemetry;
use domain::ops::backup;
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
    let options = match options_from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let _sentry = telemetry::init(&config);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(config, options, &args).await {
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

async fn run(config: Config, options: Options, args: &[String]) -> domain::Result<()> {
    let app = App::connect(config).await?;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {
            let tasks = nightly_tasks(&options)?;
            commonpot_scheduler::run(app, tasks, options, shutdown_signal()).await
        }
        ["backup"] => {
            let done = backup::run(
                &app.storage,
                app.config.database_url.expose(),
                chrono::Utc::now(),
                options.backup_keep,
            )
            .await?;
            println!("{} ({} bytes)", done.key, done.size_bytes);
            Ok(())
        }
        ["backups"] => {
            for key in backup::list(&app.storage).await? {
                println!("{key}");
            }
            Ok(())
        }
        ["restore", key, target] => {
            let key = match *key {
                "latest" => backup::list(&app.storage)
                    .await?
                    .pop()
                    .ok_or(domain::Error::NotFound("backup"))?,
                key => key.to_string(),
            };
            backup::restore(&app.storage, &key, target).await?;
            println!("restored {key}");
            Ok(())
        }
        _ => Err(domain::Error::internal(
            "usage: scheduler [backup | backups | restore <KEY|latest> <DATABASE_URL>]",
        )),
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
