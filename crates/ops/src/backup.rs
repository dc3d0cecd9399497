//! Database backups: `pg_dump` (custom format) into object storage under `backups/`, keeping
//! the newest N, and `pg_restore` of one of them into a given database.
//!
//! The database password goes to the PostgreSQL tools through `PGPASSWORD`, not their command
//! line, where any local user could read it. `pg_dump` must be the server's major version or
//! newer.

use std::process::Stdio;

use chrono::{DateTime, Utc};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use platform::error::{Error, Result};
use platform::infra::storage::Storage;

const PREFIX: &str = "backups/";

/// A finished backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub key: String,
    pub size_bytes: usize,
    /// Older backups deleted to keep the newest `keep`.
    pub pruned: Vec<String>,
}

/// Dumps `database_url` to `backups/commonpot-<now>.dump` and prunes all but the newest `keep`.
#[tracing::instrument(skip_all, fields(keep))]
pub async fn run(
    storage: &Storage,
    database_url: &str,
    now: DateTime<Utc>,
    keep: usize,
) -> Result<Backup> {
    storage.ensure_bucket().await?;
    let dump = pg_tool("pg_dump", database_url, &["--format=custom"])?
        .stdout(Stdio::piped())
        .output()
        .await
        .map_err(|e| Error::internal(format!("pg_dump: cannot start: {e}")))?;
    if !dump.status.success() {
        return Err(Error::internal(format!(
            "pg_dump failed ({}): {}",
            dump.status,
            String::from_utf8_lossy(&dump.stderr).trim()
        )));
    }
    let key = format!("{PREFIX}commonpot-{}.dump", now.format("%Y%m%dT%H%M%SZ"));
    let size_bytes = dump.stdout.len();
    storage
        .put(&key, "application/octet-stream", dump.stdout)
        .await?;
    let pruned = prune(storage, keep).await?;
    tracing::info!(%key, size_bytes, pruned = pruned.len(), "database backed up");
    Ok(Backup {
        key,
        size_bytes,
        pruned,
    })
}

/// Backup keys, oldest first (the timestamp in the name sorts them).
pub async fn list(storage: &Storage) -> Result<Vec<String>> {
    storage.list(PREFIX).await
}

async fn prune(storage: &Storage, keep: usize) -> Result<Vec<String>> {
    let keys = list(storage).await?;
    let excess = keys.len().saturating_sub(keep.max(1));
    let old = keys[..excess].to_vec();
    for key in &old {
        storage.delete(key).await?;
    }
    Ok(old)
}

/// Restores the backup `key` into `target_url`, which should be an empty database. Runs in a
/// single transaction and stops at the first error, so a failed restore leaves nothing behind.
#[tracing::instrument(skip_all, fields(%key))]
pub async fn restore(storage: &Storage, key: &str, target_url: &str) -> Result<()> {
    let dump = storage.get(key).await?;
    let mut child = pg_tool(
        "pg_restore",
        target_url,
        &["--exit-on-error", "--single-transaction"],
    )?
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .map_err(|e| Error::internal(format!("pg_restore: cannot start: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::internal("pg_restore: no stdin"))?;
    // Fed from its own task so a full stderr pipe can never deadlock the two.
    let feed = tokio::spawn(async move {
        stdin.write_all(&dump).await?;
        stdin.shutdown().await
    });
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| Error::internal(format!("pg_restore: {e}")))?;
    let fed = feed.await.map_err(Error::internal)?;
    if !out.status.success() {
        return Err(Error::internal(format!(
            "pg_restore failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    fed.map_err(|e| Error::internal(format!("pg_restore: writing the dump: {e}")))?;
    tracing::info!("backup restored");
    Ok(())
}

/// `tool --no-owner --no-privileges --dbname=<url without password> extra…`, password in env.
fn pg_tool(tool: &str, database_url: &str, extra: &[&str]) -> Result<Command> {
    let mut url = url::Url::parse(database_url)
        .map_err(|e| Error::internal(format!("{tool}: bad database url: {e}")))?;
    let password = url
        .password()
        .map(|p| percent_encoding::percent_decode_str(p).decode_utf8())
        .transpose()
        .map_err(|_| Error::internal(format!("{tool}: database password is not UTF-8")))?
        .map(|p| p.into_owned());
    url.set_password(None)
        .map_err(|_| Error::internal(format!("{tool}: cannot strip the password")))?;
    let mut cmd = Command::new(tool);
    cmd.arg("--no-owner")
        .arg("--no-privileges")
        .arg(format!("--dbname={url}"))
        .args(extra)
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    Ok(cmd)
}
