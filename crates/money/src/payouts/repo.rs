//! SQL for payout accounts and payouts.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::model::{Payout, PayoutAccount, PayoutStatus};
use platform::error::Result;

const ACCOUNT_COLUMNS: &str = "id, bank_name, last4, created_at";
const PAYOUT_COLUMNS: &str =
    "id, user_id, payout_account_id, amount, fee, amount - fee as net_amount,
     status, failure_reason, created_at, settled_at";

/// Adds a bank account, or returns the live one with the same provider token (the same bank
/// account added twice).
pub async fn insert_account(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
    token: &str,
    bank_name: &str,
    last4: &str,
) -> Result<PayoutAccount> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into payout_accounts (id, user_id, provider_token, bank_name, last4)
         values ($1, $2, $3, $4, $5)
         on conflict (user_id, provider_token) where removed_at is null
         do update set bank_name = excluded.bank_name
         returning {ACCOUNT_COLUMNS}"
    )))
    .bind(id)
    .bind(user_id)
    .bind(token)
    .bind(bank_name)
    .bind(last4)
    .fetch_one(conn)
    .await?)
}

pub async fn accounts_of(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Vec<PayoutAccount>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ACCOUNT_COLUMNS} from payout_accounts
         where user_id = $1 and removed_at is null order by created_at desc"
    )))
    .bind(user_id)
    .fetch_all(db)
    .await?)
}

/// The caller's live bank account `id`, if it is theirs.
pub async fn live_account(
    conn: &mut PgConnection,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<PayoutAccount>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ACCOUNT_COLUMNS} from payout_accounts
         where id = $1 and user_id = $2 and removed_at is null"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

/// Marks a bank account removed (payouts already sent to it keep pointing at it); false when
/// the caller has no such live account.
pub async fn remove_account(db: impl PgExecutor<'_>, user_id: Uuid, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "update payout_accounts set removed_at = now()
         where id = $1 and user_id = $2 and removed_at is null",
    )
    .bind(id)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the user paid out (or is paying out) since `since`: failed payouts do not count.
pub async fn paid_out_since(
    conn: &mut PgConnection,
    user_id: Uuid,
    since: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select coalesce(sum(amount), 0)::bigint from payouts
         where user_id = $1 and created_at > $2 and status <> 'failed'",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(conn)
    .await?)
}

pub struct NewPayout<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub amount: i64,
    pub fee: i64,
    pub provider: &'a str,
    pub ledger_txn: Uuid,
}

pub async fn insert_payout(conn: &mut PgConnection, p: NewPayout<'_>) -> Result<Payout> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into payouts (id, user_id, payout_account_id, amount, fee, provider, ledger_txn)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning {PAYOUT_COLUMNS}"
    )))
    .bind(p.id)
    .bind(p.user_id)
    .bind(p.account_id)
    .bind(p.amount)
    .bind(p.fee)
    .bind(p.provider)
    .bind(p.ledger_txn)
    .fetch_one(conn)
    .await?)
}

pub async fn lock_payout(conn: &mut PgConnection, id: Uuid) -> Result<Option<Payout>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {PAYOUT_COLUMNS} from payouts where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn settle_payout(
    conn: &mut PgConnection,
    id: Uuid,
    status: PayoutStatus,
    failure_reason: Option<&str>,
) -> Result<Payout> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update payouts set status = $2, failure_reason = $3, settled_at = now()
         where id = $1 returning {PAYOUT_COLUMNS}"
    )))
    .bind(id)
    .bind(status)
    .bind(failure_reason)
    .fetch_one(conn)
    .await?)
}

pub async fn payouts_of(
    db: impl PgExecutor<'_> + Copy,
    user_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Payout>, i64)> {
    let items = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {PAYOUT_COLUMNS} from payouts where user_id = $1
         order by created_at desc, id desc limit $2 offset $3"
    )))
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar("select count(*) from payouts where user_id = $1")
        .bind(user_id)
        .fetch_one(db)
        .await?;
    Ok((items, total))
}

/// Open sandbox payouts requested before `before`, oldest first, with the last four digits
/// of their bank account (the sandbox's outcome depends on them).
pub async fn open_sandbox_payouts(
    db: impl PgExecutor<'_>,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Uuid, i64, Option<String>)>> {
    Ok(sqlx::query_as(
        "select p.id, p.amount, a.last4 from payouts p
         left join payout_accounts a on a.id = p.payout_account_id
         where p.status = 'pending' and p.provider = 'sandbox' and p.created_at < $1
         order by p.created_at limit $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Payouts of the user still waiting for the provider.
pub async fn open_payouts_of(conn: &mut PgConnection, user_id: Uuid) -> Result<i64> {
    Ok(
        sqlx::query_scalar(
            "select count(*) from payouts where user_id = $1 and status = 'pending'",
        )
        .bind(user_id)
        .fetch_one(conn)
        .await?,
    )
}

/// Deletes a deleted user's bank accounts (their payouts stay, pointing at none).
pub async fn delete_accounts_of(conn: &mut PgConnection, user_id: Uuid) -> Result<()> {
    sqlx::query("delete from payout_accounts where user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}
