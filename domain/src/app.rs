//! The composition root: connections and services, built once per process and shared.

use std::ops::Deref;
use std::sync::Arc;

use accounts::{AccountService, rate_limit::RateLimiter};
use campaigns::CampaignService;
use loans::LoanService;
use money::{MoneyService, recurring::RecurringService};
use ops::admin::dashboard::AdminService;
use platform::config::Config;
use platform::{Handles, Readiness, Result};
use reports::ReportsService;
use webhooks::WebhooksService;

/// Everything a request handler, job or cron task needs. A clone shares the one set of
/// services (a reference count): the api hands one to every request, and copying the services'
/// handles each time cost dozens of allocations per request.
#[derive(Clone, Debug)]
pub struct App(Arc<Services>);

impl Deref for App {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services of an [`App`], reached through it.
#[derive(Debug)]
pub struct Services {
    /// The connections and configuration the services were built from.
    pub infra: Handles,
    accounts: AccountService,
    campaigns: CampaignService,
    money: MoneyService,
    loans: LoanService,
    recurring: RecurringService,
    webhooks: WebhooksService,
    reports: ReportsService,
    admin: AdminService,
    rate_limiter: RateLimiter,
}

impl App {
    /// Connects to PostgreSQL, Redis and object storage (see [`Handles::connect`]) and builds
    /// the services on them.
    pub async fn connect(config: Config) -> Result<Self> {
        Ok(Self::new(Handles::connect(config).await?))
    }

    pub fn new(infra: Handles) -> Self {
        // A suspension pauses the campaign's recurring plans on its own transaction.
        let campaigns = CampaignService::new(infra.clone(), money::recurring::MODERATION);
        let money = MoneyService::new(infra.clone(), campaigns.clone());
        Self(Arc::new(Services {
            accounts: AccountService::new(infra.clone()),
            campaigns: campaigns.clone(),
            money: money.clone(),
            loans: LoanService::new(infra.clone()),
            recurring: RecurringService::new(infra.clone(), money),
            webhooks: WebhooksService::new(infra.clone()),
            reports: ReportsService::new(infra.clone()),
            admin: AdminService::new(infra.clone(), campaigns.clone()),
            rate_limiter: RateLimiter::new(infra.clone()),
            infra,
        }))
    }
}

impl Services {
    pub fn accounts(&self) -> &AccountService {
        &self.accounts
    }

    pub fn campaigns(&self) -> &CampaignService {
        &self.campaigns
    }

    pub fn money(&self) -> &MoneyService {
        &self.money
    }

    pub fn loans(&self) -> &LoanService {
        &self.loans
    }

    pub fn recurring(&self) -> &RecurringService {
        &self.recurring
    }

    pub fn webhooks(&self) -> &WebhooksService {
        &self.webhooks
    }

    pub fn reports(&self) -> &ReportsService {
        &self.reports
    }

    pub fn admin(&self) -> &AdminService {
        &self.admin
    }

    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.rate_limiter
    }

    /// Reconciles the ledger with every balance and total kept beside it, on the primary.
    pub async fn audit(&self) -> Result<ops::audit::AuditReport> {
        ops::audit::run(&self.infra.db.write).await
    }

    /// Checks each dependency concurrently, each with a short timeout.
    pub async fn readiness(&self) -> Readiness {
        self.infra.readiness().await
    }
}
