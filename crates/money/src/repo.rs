//! SQL for donations, deposits, withdrawals and payment events.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::model::{Deposit, DepositStatus, Donation, PublicDonation, Withdrawal};
use platform::error::Result;

const DONATION_COLUMNS: &str =
    "id, campaign_id, donor_id, amount, anonymous, message, status, created_at, refunded_at";

/// A donation row: the donation the caller is answered with, under its ledger transaction and
/// stats shard.
pub struct NewDonation<'a> {
    pub donation: &'a Donation,
    pub ledger_txn: Uuid,
    pub shard: i16,
}

/// Inserts completed donations in one statement.
pub async fn insert_donations(conn: &mut PgConnection, rows: &[NewDonation<'_>]) -> Result<()> {
    sqlx::query(
        "insert into donations
            (id, campaign_id, donor_id, amount, anonymous, message, created_at, ledger_txn, shard)
         select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::bool[],
                              $6::text[], $7::timestamptz[], $8::uuid[], $9::smallint[])",
    )
    .bind(rows.iter().map(|r| r.donation.id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.donation.campaign_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.donation.donor_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.donation.amount).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.donation.anonymous)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.donation.message.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.donation.created_at)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.ledger_txn).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.shard).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks a donation for a refund; returns it with its stats shard.
pub async fn lock_donation(conn: &mut PgConnection, id: Uuid) -> Result<Option<(Donation, i16)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        donation: Donation,
        shard: i16,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DONATION_COLUMNS}, shard from donations where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.donation, r.shard)))
}

/// Standing donations of a campaign, locked, for refunding them all.
pub async fn lock_standing_donations(
    conn: &mut PgConnection,
    campaign_id: Uuid,
) -> Result<Vec<(Donation, i16)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        donation: Donation,
        shard: i16,
    }
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DONATION_COLUMNS}, shard from donations
         where campaign_id = $1 and status = 'completed' order by created_at, id for update"
    )))
    .bind(campaign_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.donation, r.shard)).collect())
}

pub async fn mark_refunded(conn: &mut PgConnection, id: Uuid) -> Result<Donation> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update donations set status = 'refunded', refunded_at = now() where id = $1
         returning {DONATION_COLUMNS}"
    )))
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// A campaign's standing donations, newest first, donor names shortened (the plan tests
/// explain it).
pub const PUBLIC_DONATIONS_PAGE: &str = "select d.id, d.amount,
        case when d.anonymous then null else u.short_name end as donor_name,
        d.message, d.created_at
    from donations d join read.users u on u.id = d.donor_id
    where d.campaign_id = $1 and d.status = 'completed'
    order by d.created_at desc, d.id desc limit $2 offset $3";

/// A page of [`PUBLIC_DONATIONS_PAGE`]. Their total is the campaign's donation count from its
/// stats (see `MoneyService::campaign_donations`), not a count of the rows.
pub async fn public_donations(
    db: impl PgExecutor<'_>,
    campaign_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<PublicDonation>> {
    Ok(sqlx::query_as(PUBLIC_DONATIONS_PAGE)
        .bind(campaign_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?)
}

pub async fn donations_of(
    db: impl PgExecutor<'_> + Copy,
    donor_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Donation>, i64)> {
    let items = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DONATION_COLUMNS} from donations where donor_id = $1
         order by created_at desc, id desc limit $2 offset $3"
    )))
    .bind(donor_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar("select count(*) from donations where donor_id = $1")
        .bind(donor_id)
        .fetch_one(db)
        .await?;
    Ok((items, total))
}

const DEPOSIT_COLUMNS: &str =
    "id, user_id, amount, provider, status, fee, created_at, confirmed_at";

pub async fn insert_deposit(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
    amount: i64,
    fee: i64,
    provider: &str,
) -> Result<Deposit> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into deposits (id, user_id, amount, fee, provider) values ($1, $2, $3, $4, $5)
         returning {DEPOSIT_COLUMNS}"
    )))
    .bind(id)
    .bind(user_id)
    .bind(amount)
    .bind(fee)
    .bind(provider)
    .fetch_one(conn)
    .await?)
}

pub async fn lock_deposit(conn: &mut PgConnection, id: Uuid) -> Result<Option<Deposit>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DEPOSIT_COLUMNS} from deposits where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn set_deposit_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: DepositStatus,
    ledger_txn: Option<Uuid>,
) -> Result<Deposit> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update deposits set status = $2, ledger_txn = $3,
            confirmed_at = case when $2 = 'confirmed' then now() else confirmed_at end
         where id = $1 returning {DEPOSIT_COLUMNS}"
    )))
    .bind(id)
    .bind(status)
    .bind(ledger_txn)
    .fetch_one(conn)
    .await?)
}

/// Records a provider event id; false if it was seen before (a replay).
pub async fn record_payment_event(conn: &mut PgConnection, event_id: &str) -> Result<bool> {
    let done =
        sqlx::query("insert into payment_events (event_id) values ($1) on conflict do nothing")
            .bind(event_id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_withdrawal(
    conn: &mut PgConnection,
    kind: &str,
    campaign_id: Uuid,
    user_id: Uuid,
    amount: i64,
    ledger_txn: Uuid,
) -> Result<Withdrawal> {
    Ok(sqlx::query_as(
        "insert into withdrawals (id, kind, campaign_id, user_id, amount, ledger_txn)
         values ($1, $2, $3, $4, $5, $6)
         returning id, campaign_id, amount, kind, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(kind)
    .bind(campaign_id)
    .bind(user_id)
    .bind(amount)
    .bind(ledger_txn)
    .fetch_one(conn)
    .await?)
}

/// Each donor's completed donations to a campaign: (donor, count, amount).
pub async fn standing_by_donor(
    conn: &mut PgConnection,
    campaign_id: Uuid,
) -> Result<Vec<(Uuid, i64, i64)>> {
    Ok(sqlx::query_as(
        "select donor_id, count(*)::bigint, sum(amount)::bigint from donations
         where campaign_id = $1 and status = 'completed' group by donor_id",
    )
    .bind(campaign_id)
    .fetch_all(conn)
    .await?)
}

/// The campaigns given to since `since`.
pub async fn campaigns_given_to_since(
    db: impl PgExecutor<'_>,
    since: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    Ok(
        sqlx::query_scalar("select distinct campaign_id from donations where created_at >= $1")
            .bind(since)
            .fetch_all(db)
            .await?,
    )
}

/// The messages the donor wrote with their gifts are personal data: erased, the gifts kept.
/// Their recurring plans stop for good.
pub async fn erase_donor(conn: &mut PgConnection, donor_id: Uuid) -> Result<()> {
    sqlx::query("update donations set message = null where donor_id = $1 and message is not null")
        .bind(donor_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "update recurring_donations set status = 'stopped', status_reason = 'account deleted'
         where donor_id = $1 and status in ('active', 'paused')",
    )
    .bind(donor_id)
    .execute(conn)
    .await?;
    Ok(())
}
