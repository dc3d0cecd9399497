//! `ledger_digests`: one row per day, written once, never updated.

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::digest::Digest;
use platform::error::Result;

/// Stores a day's digest unless one is stored already.
pub(crate) async fn insert_once(pool: &PgPool, digest: &Digest) -> Result<()> {
    sqlx::query(
        "insert into ledger_digests (day, merkle_root, line_count, first_id, last_id)
         values ($1, $2, $3, $4, $5)
         on conflict (day) do nothing",
    )
    .bind(digest.day)
    .bind(digest.merkle_root.as_slice())
    .bind(digest.line_count)
    .bind(digest.first_id)
    .bind(digest.last_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// A stored digest's row as kept.
#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    pub merkle_root: Vec<u8>,
    pub line_count: i64,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
}

pub(crate) async fn find(pool: &PgPool, day: NaiveDate) -> Result<Option<Row>> {
    Ok(sqlx::query_as(
        "select merkle_root, line_count, first_id, last_id from ledger_digests where day = $1",
    )
    .bind(day)
    .fetch_optional(pool)
    .await?)
}

/// Days with a stored digest, newest first, before `before` if given (keyset paging).
pub(crate) async fn days(
    pool: &PgPool,
    before: Option<NaiveDate>,
    limit: i64,
) -> Result<Vec<NaiveDate>> {
    Ok(sqlx::query_scalar(
        "select day from ledger_digests where $1::date is null or day < $1
         order by day desc limit $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
