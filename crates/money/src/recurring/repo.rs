//! SQL for recurring donation plans.

use chrono::NaiveDate;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::{RecurringPlan, RecurringStatus};
use platform::error::Result;

const COLUMNS: &str = "id, donor_id, campaign_id, amount, day_of_month, status, status_reason,
    next_charge_on, failed_attempts, last_charged_period, created_at";

pub(super) async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<RecurringPlan>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from recurring_donations where id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// A new `next_charge_on` also clears the failed attempts.
pub(super) async fn set_status(
    db: impl PgExecutor<'_>,
    id: Uuid,
    status: RecurringStatus,
    reason: Option<&str>,
    next_charge_on: Option<NaiveDate>,
) -> Result<RecurringPlan> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update recurring_donations set status = $2, status_reason = $3,
            next_charge_on = coalesce($4, next_charge_on), failed_attempts = case when $4 is null then failed_attempts else 0 end,
            updated_at = now()
         where id = $1 returning {COLUMNS}"
    )))
    .bind(id)
    .bind(status)
    .bind(reason)
    .bind(next_charge_on)
    .fetch_one(db)
    .await?)
}

/// Fails on `recurring_one_live_plan` when the donor has a live plan for the campaign.
pub(super) async fn insert(
    db: impl PgExecutor<'_>,
    donor_id: Uuid,
    campaign_id: Uuid,
    amount: i64,
    day_of_month: i16,
    next_charge_on: NaiveDate,
) -> Result<RecurringPlan> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into recurring_donations (id, donor_id, campaign_id, amount, day_of_month, next_charge_on)
             values ($1, $2, $3, $4, $5, $6) returning {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(donor_id)
    .bind(campaign_id)
    .bind(amount)
    .bind(day_of_month)
    .bind(next_charge_on)
    .fetch_one(db)
    .await?)
}

/// The donor's plans, newest first.
pub(super) async fn of_donor(
    db: impl PgExecutor<'_>,
    donor_id: Uuid,
) -> Result<Vec<RecurringPlan>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from recurring_donations where donor_id = $1 order by created_at desc"
    )))
    .bind(donor_id)
    .fetch_all(db)
    .await?)
}

/// Stops the campaign's live plans; how many.
pub(super) async fn stop_for_campaign(db: impl PgExecutor<'_>, campaign_id: Uuid) -> Result<u64> {
    let done = sqlx::query(
        "update recurring_donations set status = 'stopped', status_reason = 'by_campaign', updated_at = now()
             where campaign_id = $1 and status in ('active', 'paused')",
    )
    .bind(campaign_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Ends the live plans (active or paused, whatever paused them) of a campaign that closed; how
/// many.
pub(super) async fn end_for_campaign(conn: &mut PgConnection, campaign_id: Uuid) -> Result<u64> {
    let done = sqlx::query(
        "update recurring_donations set status = 'ended', status_reason = 'campaign_closed',
                updated_at = now()
         where campaign_id = $1 and status in ('active', 'paused')",
    )
    .bind(campaign_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Pauses the campaign's active plans for `reason`; how many.
pub(super) async fn pause_for_campaign(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    reason: &str,
) -> Result<u64> {
    let done = sqlx::query(
        "update recurring_donations set status = 'paused', status_reason = $2, updated_at = now()
             where campaign_id = $1 and status = 'active'",
    )
    .bind(campaign_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The campaign's plans paused for `reason`, locked, with their day of the month.
pub(super) async fn lock_paused(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    reason: &str,
) -> Result<Vec<(Uuid, i16)>> {
    Ok(sqlx::query_as(
        "select id, day_of_month from recurring_donations
             where campaign_id = $1 and status = 'paused' and status_reason = $2
             order by id for update",
    )
    .bind(campaign_id)
    .bind(reason)
    .fetch_all(conn)
    .await?)
}

/// Makes the plans active again, each next charged on its date in `next`; how many.
pub(super) async fn resume(
    conn: &mut PgConnection,
    ids: &[Uuid],
    next: &[NaiveDate],
) -> Result<u64> {
    let done = sqlx::query(
        "update recurring_donations r set status = 'active', status_reason = null,
                next_charge_on = n.next, failed_attempts = 0, updated_at = now()
             from unnest($1::uuid[], $2::date[]) as n(id, next) where r.id = n.id",
    )
    .bind(ids)
    .bind(next)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Active plans due on or before `today`, earliest first.
pub(super) async fn due(db: impl PgExecutor<'_>, today: NaiveDate) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select id from recurring_donations where status = 'active' and next_charge_on <= $1
             order by next_charge_on, id",
    )
    .bind(today)
    .fetch_all(db)
    .await?)
}

/// Locks the plan for the rest of the transaction if it is still due; `None` if it is not,
/// or another scheduler holds it.
pub(super) async fn lock_due(
    conn: &mut PgConnection,
    id: Uuid,
    today: NaiveDate,
) -> Result<Option<RecurringPlan>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from recurring_donations
                 where id = $1 and status = 'active' and next_charge_on <= $2 for update skip locked"
    )))
    .bind(id)
    .bind(today)
    .fetch_optional(conn)
    .await?)
}

/// The period was charged: the next charge is on `next`.
pub(super) async fn record_charge(
    conn: &mut PgConnection,
    id: Uuid,
    next: NaiveDate,
    period: &str,
) -> Result<()> {
    sqlx::query(
        "update recurring_donations set next_charge_on = $2, failed_attempts = 0,
                            last_charged_period = $3, updated_at = now() where id = $1",
    )
    .bind(id)
    .bind(next)
    .bind(period)
    .execute(conn)
    .await?;
    Ok(())
}

/// The charge failed; it is tried again on `retry_on`.
pub(super) async fn record_failed_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    failed_attempts: i16,
    retry_on: NaiveDate,
) -> Result<()> {
    sqlx::query(
        "update recurring_donations set failed_attempts = $2, next_charge_on = $3,
                                updated_at = now() where id = $1",
    )
    .bind(id)
    .bind(failed_attempts)
    .bind(retry_on)
    .execute(conn)
    .await?;
    Ok(())
}
