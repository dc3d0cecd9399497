//! The composition root: connections and services, built once per process and shared.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::infra::{db::Db, kv::Kv, storage::Storage};

/// Everything a request handler, job or cron task needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub config: std::sync::Arc<Config>,
    pub db: Db,
    pub kv: Kv,
    pub storage: Storage,
    pub cache_stats: std::sync::Arc<crate::campaigns::cache::CacheStats>,
    pub live: std::sync::Arc<crate::campaigns::live::LivePublisher>,
    pub group_commit: std::sync::Arc<crate::money::group_commit::GroupCommit>,
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

impl App {
    /// Connects to PostgreSQL, Redis and object storage. Fails when PostgreSQL or Redis cannot
    /// be reached at start; later outages are handled per request.
    pub async fn connect(config: Config) -> Result<Self> {
        let db = Db::connect(&config).await?;
        let kv = Kv::connect(config.redis_url.expose(), &config.redis_prefix)
            .await
            .map_err(|e| Error::internal(format!("REDIS_URL: cannot connect: {e}")))?;
        let storage = Storage::new(&config.s3);
        Ok(Self {
            config: std::sync::Arc::new(config),
            db,
            kv,
            storage,
            cache_stats: Default::default(),
            live: Default::default(),
            group_commit: Default::default(),
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
