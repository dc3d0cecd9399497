//! `ledger_entries`: append-only; lines are inserted and read, never changed.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use crate::posting::{Account, LedgerLine};
use platform::error::Result;

/// Inserts lines given column-wise, in one statement.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    txns: &[Uuid],
    accounts: &[String],
    amounts: &[i64],
    kinds: &[&str],
) -> Result<()> {
    sqlx::query(
        "insert into ledger_entries (txn_id, account, amount, kind)
         select * from unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[])",
    )
    .bind(txns)
    .bind(accounts)
    .bind(amounts)
    .bind(kinds)
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of an account's lines, newest first.
pub async fn lines_of(
    db: impl PgExecutor<'_>,
    account: Account,
    limit: i64,
    offset: i64,
) -> Result<Vec<LedgerLine>> {
    Ok(sqlx::query_as(
        "select id, txn_id, account, amount, kind, created_at from ledger_entries
         where account = $1 order by id desc limit $2 offset $3",
    )
    .bind(account.to_string())
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?)
}

pub async fn count_of(db: impl PgExecutor<'_>, account: Account) -> Result<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from ledger_entries where account = $1")
            .bind(account.to_string())
            .fetch_one(db)
            .await?,
    )
}

/// The account's balance according to the ledger.
pub async fn balance_of(db: impl PgExecutor<'_>, account: Account) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select coalesce(sum(amount), 0)::bigint from ledger_entries where account = $1",
    )
    .bind(account.to_string())
    .fetch_one(db)
    .await?)
}

/// A raw ledger line: (id, txn_id, account, amount, kind, created_at).
pub(crate) type RawLine = (i64, Uuid, String, i64, String, DateTime<Utc>);

/// The lines created in `[start, end)`, streamed in id order.
pub(crate) fn between(
    pool: &PgPool,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> BoxStream<'_, Result<RawLine, sqlx::Error>> {
    sqlx::query_as(
        "select id, txn_id, account, amount, kind, created_at from ledger_entries
         where created_at >= $1 and created_at < $2 order by id",
    )
    .bind(start)
    .bind(end)
    .fetch(pool)
}
