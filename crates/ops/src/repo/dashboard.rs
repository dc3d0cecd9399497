//! The dashboard's aggregates: live totals over the published views, days from
//! `daily_analytics`.

use sqlx::PgPool;

use crate::admin::dashboard::{Day, Totals};
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
