//! The composition root: connections and services, built once per process and shared.

use std::sync::Arc;

use accounts::{AccountService, rate_limit::RateLimiter};
use campaigns::CampaignService;
use platform::config::Config;
use platform::infra::{db::Db, kv::Kv, storage::Storage};
use platform::{Handles, Readiness, Result};

/// Everything a request handler, job or cron task needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub db: Db,
    pub kv: Kv,
    pub storage: Storage,
    pub group_commit: Arc<crate::money::group_commit::GroupCommit>,
    infra: Handles,
    accounts: AccountService,
    campaigns: CampaignService,
    rate_limiter: RateLimiter,
}

impl App {
    /// Connects to PostgreSQL, Redis and object storage (see [`Handles::connect`]) and builds
    /// the services on them.
    pub async fn connect(config: Config) -> Result<Self> {
        Ok(Self::new(Handles::connect(config).await?))
    }

    pub fn new(infra: Handles) -> Self {
        Self {
            config: infra.config.clone(),
            db: infra.db.clone(),
            kv: infra.kv.clone(),
            storage: infra.storage.clone(),
            group_commit: Default::default(),
            accounts: AccountService::new(infra.clone()),
            campaigns: CampaignService::new(infra.clone()),
            rate_limiter: RateLimiter::new(infra.clone()),
            infra,
        }
    }

    /// The connections and configuration the services were built from.
    pub fn infra(&self) -> &Handles {
        &self.infra
    }

    pub fn accounts(&self) -> &AccountService {
        &self.accounts
    }

    pub fn campaigns(&self) -> &CampaignService {
        &self.campaigns
    }

    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.rate_limiter
    }

    /// Checks each dependency concurrently, each with a short timeout.
    pub async fn readiness(&self) -> Readiness {
        self.infra.readiness().await
    }
}
