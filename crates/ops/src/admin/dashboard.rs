//! The admin dashboard: platform totals and the last 30 days from `daily_analytics`, cached in
//! Redis for an hour (they are expensive aggregates and an hour old is fine for a dashboard).
//! Cache hit/miss counters are always live.

use chrono::{DateTime, NaiveDate, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::repo;
use accounts::Principal;
use campaigns::CampaignService;
use platform::{Handles, Result};

pub const TTL_SECS: u64 = 3600;

// Bumped when the cached shape changes, so an old entry is never misread.
const KEY: &str = "dashboard:v2";

#[derive(Debug, Clone, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "TotalsDto", rename_all = "camelCase")
)]
pub struct Totals {
    pub users: i64,
    pub active_campaigns: i64,
    pub donations_count: i64,
    /// Minor units, all donations ever made (refunded ones included).
    pub donations_amount: i64,
    pub refunded_amount: i64,
    /// Money sitting in wallets.
    pub wallet_balances: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, FromRow)]
pub struct Day {
    pub day: NaiveDate,
    pub donations_count: i32,
    pub donations_amount: i64,
    pub donors_count: i32,
    pub new_campaigns: i32,
    pub new_users: i32,
    pub loans_approved: i32,
    pub loans_rejected: i32,
    pub loans_repaid: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    pub computed_at: DateTime<Utc>,
    pub totals: Totals,
    pub last_30_days: Vec<Day>,
}

/// The admin's overview.
#[derive(Clone, Debug)]
pub struct AdminService {
    pub(super) infra: Handles,
    campaigns: CampaignService,
}

impl AdminService {
    pub fn new(infra: Handles, campaigns: CampaignService) -> Self {
        Self { infra, campaigns }
    }

    /// The dashboard (admins only), from the cache when it is less than an hour old.
    pub async fn dashboard(&self, principal: &Principal) -> Result<Dashboard> {
        principal.require_admin()?;
        let key = self.infra.kv.key(KEY);
        if self.infra.kv.available() {
            let mut conn = self.infra.kv.conn();
            match conn.get::<_, Option<String>>(&key).await {
                Ok(Some(json)) => {
                    if let Ok(hit) = serde_json::from_str(&json) {
                        self.campaigns.cache_stats().hit();
                        return Ok(hit);
                    }
                }
                Ok(None) => {}
                Err(e) => self.infra.kv.mark_down(&e),
            }
        }
        self.campaigns.cache_stats().miss();
        let db = &self.infra.db.read;
        let totals = repo::dashboard::totals(db).await?;
        let last_30_days = repo::dashboard::last_days(db, 30).await?;
        let dashboard = Dashboard {
            computed_at: Utc::now(),
            totals,
            last_30_days,
        };
        if self.infra.kv.available()
            && let Ok(json) = serde_json::to_string(&dashboard)
        {
            let mut conn = self.infra.kv.conn();
            if let Err(e) = conn.set_ex::<_, _, ()>(&key, json, TTL_SECS).await {
                self.infra.kv.mark_down(&e);
            }
        }
        Ok(dashboard)
    }
}
