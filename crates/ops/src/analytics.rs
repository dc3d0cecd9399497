//! Platform analytics: per-day totals in `daily_analytics`, which the admin dashboard reads
//! instead of aggregating the live tables on every view. Days are UTC dates.

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::PgPool;

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
    let totals = sqlx::query_as(
        "insert into daily_analytics as a
             (day, donations_count, donations_amount, donors_count, refunds_count,
              refunds_amount, new_campaigns, new_users, loans_approved, loans_rejected,
              loans_repaid, computed_at)
         select $1,
                d.n::int, d.amount::bigint, d.donors::int, r.n::int, r.amount::bigint,
                (select count(*) from campaigns where created_at >= $2 and created_at < $3)::int,
                (select count(*) from users where created_at >= $2 and created_at < $3)::int,
                l.approved::int, l.rejected::int, l.repaid::int,
                now()
         from (select count(*) as n, coalesce(sum(amount), 0) as amount,
                      count(distinct donor_id) as donors
               from donations where created_at >= $2 and created_at < $3) d,
              (select count(*) as n, coalesce(sum(amount), 0) as amount
               from donations where refunded_at >= $2 and refunded_at < $3) r,
              (select count(*) filter (where to_status = 'fundraising') as approved,
                      count(*) filter (where to_status = 'rejected') as rejected,
                      count(*) filter (where to_status = 'repaid') as repaid
               from loan_transitions where created_at >= $2 and created_at < $3) l
         on conflict (day) do update set
             donations_count = excluded.donations_count,
             donations_amount = excluded.donations_amount,
             donors_count = excluded.donors_count,
             refunds_count = excluded.refunds_count,
             refunds_amount = excluded.refunds_amount,
             new_campaigns = excluded.new_campaigns,
             new_users = excluded.new_users,
             loans_approved = excluded.loans_approved,
             loans_rejected = excluded.loans_rejected,
             loans_repaid = excluded.loans_repaid,
             computed_at = excluded.computed_at
         returning day, donations_count, donations_amount, donors_count, refunds_count,
                   refunds_amount, new_campaigns, new_users, loans_approved, loans_rejected,
                   loans_repaid",
    )
    .bind(day)
    .bind(start)
    .bind(end)
    .fetch_one(pool)
    .await?;
    Ok(totals)
}
