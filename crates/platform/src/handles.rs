//! The process's connections and configuration: built once by the composition root and cloned
//! into every service (each clone shares the same pools).

use std::sync::Arc;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::infra::{db::Db, kv::Kv, storage::Storage};

#[derive(Clone, Debug)]
pub struct Handles {
    pub config: Arc<Config>,
    pub db: Db,
    pub kv: Kv,
    pub storage: Storage,
}

/// Which dependency a readiness check found down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub postgres: bool,
    pub redis: bool,
    pub storage: bool,
}

impl Readiness {
    pub fn all_up(&self) -> bool {
        self.postgres && self.redis && self.storage
    }
}

impl Handles {
    /// Connects to PostgreSQL, Redis and object storage. Fails when PostgreSQL or Redis cannot
    /// be reached at start; later outages are handled per request. Installs the process's metrics
    /// recorder on first call.
    pub async fn connect(config: Config) -> Result<Self> {
        crate::infra::metrics::install();
        let db = Db::connect(&config).await?;
        let kv = Kv::connect(config.redis_url.expose(), &config.redis_prefix)
            .await
            .map_err(|e| Error::internal(format!("REDIS_URL: cannot connect: {e}")))?;
        let storage = Storage::new(&config.s3);
        Ok(Self {
            config: Arc::new(config),
            db,
            kv,
            storage,
        })
    }

    /// Checks each dependency concurrently, each with a short timeout.
    pub async fn readiness(&self) -> Readiness {
        let limit = std::time::Duration::from_secs(2);
        let (pg, redis, s3) = tokio::join!(
            tokio::time::timeout(limit, self.db.ping()),
            tokio::time::timeout(limit, self.kv.ping()),
            tokio::time::timeout(limit, self.storage.ping()),
        );
        Readiness {
            postgres: matches!(pg, Ok(Ok(()))),
            redis: matches!(redis, Ok(Ok(()))),
            storage: matches!(s3, Ok(Ok(()))),
        }
    }
}
