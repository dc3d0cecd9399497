//! The dashboard's aggregates: live totals over the published views, days from
//! `daily_analytics`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::admin::dashboard::{Activity, Day, Totals};
use platform::error::Result;

pub(crate) async fn totals(db: &PgPool) -> Result<Totals> {
    Ok(sqlx::query_as(
        "select (select count(*) from read.users) as users,
                (select count(*) from read.campaigns where status = 'active') as active_campaigns,
                count(*) as donations_count,
                coalesce(sum(amount), 0)::bigint as donations_amount,
                coalesce(sum(amount) filter (where status = 'refunded'), 0)::bigint as refunded_amount,
                (select coalesce(sum(balance), 0)::bigint from read.wallets) as wallet_balances
         from read.donations",
    )
    .fetch_one(db)
    .await?)
}

/// The latest `n` days, newest first.
pub(crate) async fn last_days(db: &PgPool, n: i64) -> Result<Vec<Day>> {
    Ok(sqlx::query_as(
        "select day, donations_count, donations_amount, donors_count, new_campaigns, new_users,
                loans_approved, loans_rejected, loans_repaid
         from daily_analytics order by day desc limit $1",
    )
    .bind(n)
    .fetch_all(db)
    .await?)
}

/// What happened since `since`; each part reads a range of its view's `created_at` index.
pub(crate) async fn activity(db: &PgPool, since: DateTime<Utc>) -> Result<Activity> {
    Ok(sqlx::query_as(
        "select d.n as donations_count, d.amount as donations_amount,
                (select count(distinct f.donor_id) from read.donations f
                 where f.created_at >= $1
                   and not exists (select 1 from read.donations e
                                   where e.donor_id = f.donor_id and e.created_at < $1)
                ) as new_donors,
                (select count(*) from read.users where created_at >= $1) as registrations,
                (select count(*) from read.campaigns where created_at >= $1) as campaigns_created,
                (select count(*) from read.loans where created_at >= $1) as loans_submitted,
                t.approved as loans_approved, t.rejected as loans_rejected,
                t.repaid as loans_repaid, t.defaulted as loans_defaulted
         from (select count(*) as n, coalesce(sum(amount), 0)::bigint as amount
               from read.donations where created_at >= $1) d,
              (select count(*) filter (where to_status = 'fundraising') as approved,
                      count(*) filter (where to_status = 'rejected') as rejected,
                      count(*) filter (where to_status = 'repaid') as repaid,
                      count(*) filter (where to_status = 'defaulted') as defaulted
               from read.loan_transitions where created_at >= $1) t",
    )
    .bind(since)
    .fetch_one(db)
    .await?)
}

/// The relay's backlog: the age in whole seconds of its oldest unsent event (0 when none) and
/// how many are waiting.
pub(crate) async fn outbox_backlog(db: &PgPool) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "select coalesce(extract(epoch from now() - oldest_unsent_at), 0)::bigint, unsent
         from read.outbox_backlog",
    )
    .fetch_one(db)
    .await?)
}
