//! PostgreSQL pools: one for writes (the primary) and one for reads (a replica when
//! `DATABASE_READ_URL` is set, otherwise the primary again).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, migrate::Migrator};

use crate::config::Config;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

#[derive(Clone, Debug)]
pub struct Db {
    pub write: PgPool,
    pub read: PgPool,
}

impl Db {
    pub async fn connect(config: &Config) -> Result<Self, sqlx::Error> {
        let write = pool(
            config.database_url.expose(),
            config.database_max_connections,
        )
        .await?;
        let read = match &config.database_read_url {
            Some(url) => pool(url.expose(), config.database_max_connections).await?,
            None => write.clone(),
        };
        Ok(Self { write, read })
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.write).await
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
