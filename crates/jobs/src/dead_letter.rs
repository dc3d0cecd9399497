//! Jobs that failed their last attempt, kept in PostgreSQL (`dead_letters`) where admins can
//! see them and send them back to their queue. Nothing is dropped: retried letters are pruned by
//! the retention job after a documented period, waiting ones never.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::Job;
use super::queue::Queues;
use super::repo::dead_letters as repo;
use platform::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: Uuid,
    pub job: Job,
    /// The last attempt's error.
    pub error: String,
    pub attempts: usize,
    pub failed_at: DateTime<Utc>,
}

/// Records a job that failed its last attempt.
pub async fn record(
    db: &PgPool,
    job: Job,
    error: String,
    attempts: usize,
    now: DateTime<Utc>,
) -> Result<DeadLetter> {
    let letter = DeadLetter {
        id: Uuid::now_v7(),
        job,
        error,
        attempts,
        failed_at: now,
    };
    let payload = serde_json::to_value(&letter.job).map_err(Error::internal)?;
    let attempts = i32::try_from(letter.attempts).unwrap_or(i32::MAX);
    let queue = letter.job.name();
    repo::insert(db, letter.id, queue, &payload, &letter.error, attempts, now).await?;
    Ok(letter)
}

/// How many dead letters wait for a retry.
pub async fn count(db: &PgPool) -> Result<u64> {
    Ok(u64::try_from(repo::count_waiting(db).await?).unwrap_or(0))
}

/// Up to `limit` waiting dead letters, newest first.
pub async fn list(db: &PgPool, limit: usize) -> Result<Vec<DeadLetter>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(repo::waiting(db, limit)
        .await?
        .into_iter()
        .filter_map(letter)
        .collect())
}

/// An admin's retry ([`retry`]) and its audit entry, in one transaction. Returns false when no
/// such letter waits.
pub async fn retry_as_admin(
    db: &PgPool,
    queues: &Queues,
    actor: audit_log::Actor<'_>,
    id: Uuid,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let Some(letter) = take(&mut tx, queues, id).await? else {
        return Ok(false);
    };
    let queue = letter.job.name();
    let change = audit_log::Change {
        action: audit_log::Action::DeadLetterRetried,
        target_type: "dead_letter",
        target_id: id.to_string(),
        before: serde_json::json!({"state": "dead", "queue": queue, "attempts": letter.attempts}),
        after: serde_json::json!({"state": "queued", "queue": queue, "attempts": 0}),
        reason: None,
    };
    audit_log::record(&mut tx, actor, &change).await?;
    tx.commit().await?;
    Ok(true)
}

/// Pushes the dead letter `id` back to its queue (with fresh attempts) and marks it retried.
/// Returns the letter, or `None` when no such letter waits.
pub async fn retry(db: &PgPool, queues: &Queues, id: Uuid) -> Result<Option<DeadLetter>> {
    let mut tx = db.begin().await?;
    let letter = take(&mut tx, queues, id).await?;
    tx.commit().await?;
    Ok(letter)
}

/// Under the letter's row lock (two admins retrying at once push it once): pushed before the
/// mark commits, so a crash in between leaves a duplicate job, never a lost one.
async fn take(
    tx: &mut sqlx::PgConnection,
    queues: &Queues,
    id: Uuid,
) -> Result<Option<DeadLetter>> {
    let Some(letter) = repo::lock_waiting(tx, id).await?.and_then(letter) else {
        return Ok(None);
    };
    queues.push(letter.job.clone()).await?;
    repo::mark_retried(tx, id).await?;
    Ok(Some(letter))
}

/// Deletes letters retried before `before` (the retention job); returns how many.
pub async fn prune_retried(db: &PgPool, before: DateTime<Utc>) -> Result<u64> {
    repo::prune_retried(db, before).await
}

fn letter(row: repo::Row) -> Option<DeadLetter> {
    let job = serde_json::from_value(row.job)
        .inspect_err(|e| tracing::error!(error = %e, id = %row.id, "unreadable dead letter"))
        .ok()?;
    Some(DeadLetter {
        id: row.id,
        job,
        error: row.error,
        attempts: usize::try_from(row.attempts).unwrap_or(0),
        failed_at: row.failed_at,
    })
}
