//! Platform analytics: per-day totals in `daily_analytics`, which the admin dashboard reads
//! instead of aggregating the live tables on every view. Days are UTC dates.

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::PgPool;

use crate::repo;
use platform::error::{Error, Result};
use platform::time::day_bounds;

/// One day's totals. Donations count by the day they were made (whatever happened to them
/// later), refunds by the day they were refunded, so a past day's numbers do not change.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DailyTotals {
    pub day: NaiveDate,
    pub donations_count: i32,
    pub donations_amount: i64,
    pub donors_count: i32,
    pub refunds_count: i32,
    pub refunds_amount: i64,
    pub new_campaigns: i32,
    pub new_users: i32,
    /// Loan decisions and repayments that day (from the loans' status history).
    pub loans_approved: i32,
    pub loans_rejected: i32,
    pub loans_repaid: i32,
}

impl DailyTotals {
    pub fn approval_rate_bp(&self) -> Option<i64> {
        approval_rate_bp(self.loans_approved, self.loans_rejected)
    }
}

/// Approved share of loan decisions, in basis points; `None` without decisions.
pub fn approval_rate_bp(approved: i32, rejected: i32) -> Option<i64> {
    let decided = i64::from(approved) + i64::from(rejected);
    (decided > 0).then(|| i64::from(approved) * 10_000 / decided)
}

/// The nightly task: totals for the UTC day before `now`.
pub async fn run_nightly(pool: &PgPool, now: DateTime<Utc>) -> Result<DailyTotals> {
    let yesterday = now
        .date_naive()
        .checked_sub_days(Days::new(1))
        .ok_or_else(|| Error::internal("date out of range"))?;
    compute_day(pool, yesterday).await
}

/// (Re)computes and stores `day`'s totals. An upsert: running it again gives the same row.
#[tracing::instrument(skip_all, fields(%day))]
pub async fn compute_day(pool: &PgPool, day: NaiveDate) -> Result<DailyTotals> {
    let (start, end) = day_bounds(day)?;
    repo::analytics::upsert_day(pool, day, start, end).await
}
