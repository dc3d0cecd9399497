//! `dead_letters`: one row per job that failed its last attempt; `retried_at` once an admin
//! sent it back to its queue.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgConnection, PgExecutor};
use uuid::Uuid;

use platform::error::Result;

#[derive(Debug, FromRow)]
pub struct Row {
    pub id: Uuid,
    pub job: Value,
    pub error: String,
    pub attempts: i32,
    pub failed_at: DateTime<Utc>,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    id: Uuid,
    queue: &str,
    job: &Value,
    error: &str,
    attempts: i32,
    failed_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "insert into dead_letters (id, queue, job, error, attempts, failed_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(queue)
    .bind(job)
    .bind(error)
    .bind(attempts)
    .bind(failed_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Letters not yet retried.
pub async fn count_waiting(db: impl PgExecutor<'_>) -> Result<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from dead_letters where retried_at is null")
            .fetch_one(db)
            .await?,
    )
}

/// Up to `limit` letters not yet retried, newest first.
pub async fn waiting(db: impl PgExecutor<'_>, limit: i64) -> Result<Vec<Row>> {
    Ok(sqlx::query_as(
        "select id, job, error, attempts, failed_at from dead_letters
         where retried_at is null order by failed_at desc, id desc limit $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Locks letter `id` if it is still waiting.
pub async fn lock_waiting(conn: &mut PgConnection, id: Uuid) -> Result<Option<Row>> {
    Ok(sqlx::query_as(
        "select id, job, error, attempts, failed_at from dead_letters
         where id = $1 and retried_at is null for update",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn mark_retried(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query("update dead_letters set retried_at = now() where id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes letters retried before `before`; returns how many.
pub async fn prune_retried(pool: &sqlx::PgPool, before: DateTime<Utc>) -> Result<u64> {
    platform::infra::db::prune(
        pool,
        "delete from dead_letters where ctid in
           (select ctid from dead_letters where retried_at < $1 limit $2)",
        before,
    )
    .await
}
