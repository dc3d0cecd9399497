//! `daily_analytics`: one row per UTC day, computed from the published views.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use crate::analytics::DailyTotals;
use platform::error::Result;

/// Computes and upserts `day`'s totals over `[start, end)`.
pub(crate) async fn upsert_day(
    pool: &PgPool,
    day: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<DailyTotals> {
    Ok(sqlx::query_as(
        "insert into daily_analytics as a
             (day, donations_count, donations_amount, donors_count, refunds_count,
              refunds_amount, new_campaigns, new_users, loans_approved, loans_rejected,
              loans_repaid, computed_at)
         select $1,
                d.n::int, d.amount::bigint, d.donors::int, r.n::int, r.amount::bigint,
                (select count(*) from read.campaigns where created_at >= $2 and created_at < $3)::int,
                (select count(*) from read.users where created_at >= $2 and created_at < $3)::int,
                l.approved::int, l.rejected::int, l.repaid::int,
                now()
         from (select count(*) as n, coalesce(sum(amount), 0) as amount,
                      count(distinct donor_id) as donors
               from read.donations where created_at >= $2 and created_at < $3) d,
              (select count(*) as n, coalesce(sum(amount), 0) as amount
               from read.donations where refunded_at >= $2 and refunded_at < $3) r,
              (select count(*) filter (where to_status = 'fundraising') as approved,
                      count(*) filter (where to_status = 'rejected') as rejected,
                      count(*) filter (where to_status = 'repaid') as repaid
               from read.loan_transitions where created_at >= $2 and created_at < $3) l
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
    .await?)
}
