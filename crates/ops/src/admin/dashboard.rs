//! The admin dashboard: platform totals, the last 30 days' activity and the days from
//! `daily_analytics`, cached in Redis for an hour (they are expensive aggregates and an hour
//! old is fine for a dashboard). Today's activity, the outbox lag, the queue depths and the dead
//! letters are read on every view, from the primary and Redis: they are what an admin watches
//! during an incident. Cache hit/miss counters are always live.

use chrono::{DateTime, Days, NaiveDate, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::repo;
use accounts::Principal;
use campaigns::CampaignService;
use jobs::queue::QueueDepth;
use jobs::{Queues, dead_letter};
use platform::time::day_bounds;
use platform::{Error, Handles, Result};

pub const TTL_SECS: u64 = 3600;

// Bumped when the cached shape changes, so an old entry is never misread.
const KEY: &str = "dashboard:v3";

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

/// What happened since a moment: money given, people and campaigns arriving, loan decisions
/// and outcomes (from the loans' status history).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "ActivityCounts", rename_all = "camelCase")
)]
pub struct Activity {
    pub donations_count: i64,
    /// Minor units, donations made in the period (refunded ones included).
    pub donations_amount: i64,
    /// Donors whose first donation ever falls in the period.
    pub new_donors: i64,
    pub registrations: i64,
    pub campaigns_created: i64,
    pub loans_submitted: i64,
    pub loans_approved: i64,
    pub loans_rejected: i64,
    pub loans_repaid: i64,
    pub loans_defaulted: i64,
}

impl Activity {
    /// Approved share of the period's loan decisions, in basis points; `None` without any.
    pub fn approval_rate_bp(&self) -> Option<i64> {
        share_bp(self.loans_approved, self.loans_rejected)
    }

    /// Defaulted share of the loans that ended in the period (repaid or defaulted), in basis
    /// points; `None` when none ended.
    pub fn default_rate_bp(&self) -> Option<i64> {
        share_bp(self.loans_defaulted, self.loans_repaid)
    }
}

/// `part` as a share of `part + rest`, in basis points.
fn share_bp(part: i64, rest: i64) -> Option<i64> {
    let all = part + rest;
    (all > 0).then(|| part * 10_000 / all)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    pub computed_at: DateTime<Utc>,
    pub totals: Totals,
    /// The 30 UTC days up to and including today (as of `computed_at`).
    pub last_30_days_activity: Activity,
    pub last_30_days: Vec<Day>,
}

/// The figures read on every view.
#[derive(Debug, Clone)]
pub struct Live {
    /// Since midnight UTC, from the primary.
    pub today: Activity,
    /// Age in seconds of the oldest event the relay has not sent yet (0 when none).
    pub outbox_lag_seconds: i64,
    pub outbox_unsent: i64,
    pub queues: Vec<QueueDepth>,
    /// Jobs that failed their last attempt, waiting for an admin.
    pub dead_letters: u64,
}

/// The first moment of the UTC day `days_back` days before `now`'s.
fn day_start(now: DateTime<Utc>, days_back: u64) -> Result<DateTime<Utc>> {
    let day = now
        .date_naive()
        .checked_sub_days(Days::new(days_back))
        .ok_or_else(|| Error::internal("date out of range"))?;
    Ok(day_bounds(day)?.0)
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

    /// The dashboard (admins only): its aggregates from the cache when they are less than an
    /// hour old, and the live figures.
    pub async fn dashboard(&self, principal: &Principal) -> Result<(Dashboard, Live)> {
        principal.require_admin()?;
        let now = Utc::now();
        let (dashboard, live) = tokio::try_join!(self.aggregates(now), self.live(now))?;
        Ok((dashboard, live))
    }

    async fn live(&self, now: DateTime<Utc>) -> Result<Live> {
        let db = &self.infra.db.write;
        let queues = Queues::new(&self.infra.kv);
        let (today, (outbox_lag_seconds, outbox_unsent), queues, dead_letters) = tokio::try_join!(
            repo::dashboard::activity(db, day_start(now, 0)?),
            repo::dashboard::outbox_backlog(db),
            queues.depths(),
            dead_letter::count(db),
        )?;
        Ok(Live {
            today,
            outbox_lag_seconds,
            outbox_unsent,
            queues,
            dead_letters,
        })
    }

    async fn aggregates(&self, now: DateTime<Utc>) -> Result<Dashboard> {
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
        let (totals, last_30_days_activity, last_30_days) = tokio::try_join!(
            repo::dashboard::totals(db),
            repo::dashboard::activity(db, day_start(now, 29)?),
            repo::dashboard::last_days(db, 30),
        )?;
        let dashboard = Dashboard {
            computed_at: now,
            totals,
            last_30_days_activity,
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
