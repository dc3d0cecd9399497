//! PostgreSQL pools: one for writes (the primary) and one for reads (a replica when
//! `DATABASE_READ_URL` is set, otherwise the primary again). Reads that decide access or money,
//! and a caller's read after its own write, use `write`: a replica may lag.
//!
//! Migrations run from one process only (`api migrate`); the long-running processes check at
//! start that none is pending and refuse to run against an older schema.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, migrate::Migrator};

use crate::config::Config;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

#[derive(Clone, Debug)]
pub struct Db {
    pub write: PgPool,
    pub read: PgPool,
    /// The primary without a pooler, for migrations: sqlx's migrator takes an advisory lock
    /// for the whole session, which transaction pooling would hand to other clients.
    direct_url: String,
}

impl Db {
    pub async fn connect(config: &Config) -> Result<Self, sqlx::Error> {
        let max = config.database_max_connections;
        let write = pool(config.database_url.expose(), max).await?;
        let read = match &config.database_read_url {
            Some(url) => pool(url.expose(), max).await?,
            None => write.clone(),
        };
        Ok(Self {
            write,
            read,
            direct_url: config.direct_database_url().expose().to_string(),
        })
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        let mut conn = PgConnection::connect(&self.direct_url).await?;
        MIGRATOR.run(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    /// Fails when the database lacks a migration this build has (or one failed half-way).
    pub async fn check_migrated(&self) -> Result<(), crate::Error> {
        let applied: Vec<i64> = match sqlx::query_scalar(
            "select version from _sqlx_migrations where success order by version",
        )
        .fetch_all(&self.write)
        .await
        {
            Ok(applied) => applied,
            // Undefined table: a database nothing was ever applied to.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let pending: Vec<i64> = MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| m.version)
            .filter(|v| applied.binary_search(v).is_err())
            .collect();
        match pending.first() {
            None => Ok(()),
            Some(first) => Err(crate::Error::internal(format!(
                "the database schema is behind this build ({} migration(s) pending, first {first}); \
                 run `api migrate` once before starting the api, worker or scheduler",
                pending.len()
            ))),
        }
    }

    /// `SELECT 1` on both pools, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("select 1").execute(&self.write).await?;
        sqlx::query("select 1").execute(&self.read).await?;
        Ok(())
    }
}

async fn pool(url: &str, max: u32) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
}

/// Rows one pruning statement deletes at most, so no delete holds its locks or bloats the WAL
/// for long.
pub const PRUNE_BATCH: i64 = 5_000;

/// Runs `delete_batch` — a `delete … where ctid in (select ctid … where <older than $1> limit
/// $2)` written by the table's owner — until a batch deletes fewer than [`PRUNE_BATCH`] rows;
/// returns how many it deleted in all.
pub async fn prune(
    pool: &PgPool,
    delete_batch: &'static str,
    before: chrono::DateTime<chrono::Utc>,
) -> crate::Result<u64> {
    let mut total = 0;
    loop {
        let deleted = sqlx::query(sqlx::AssertSqlSafe(delete_batch))
            .bind(before)
            .bind(PRUNE_BATCH)
            .execute(pool)
            .await?
            .rows_affected();
        total += deleted;
        if deleted < PRUNE_BATCH as u64 {
            return Ok(total);
        }
    }
}
