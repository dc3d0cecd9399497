//! Jobs that failed their last attempt, kept in a Redis list (newest first) where admins can
//! see them and send them back to their queue.

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::Job;
use super::queue::Queues;
use platform::error::{Error, Result};
use platform::infra::kv::Kv;

const LIST: &str = "jobs:dead_letters";
/// The list is trimmed to this many entries so a flood of failures cannot fill Redis.
const KEEP: isize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: Uuid,
    pub job: Job,
    /// The last attempt's error.
    pub error: String,
    pub attempts: usize,
    pub failed_at: DateTime<Utc>,
}

/// Adds a failed job to the list.
pub async fn record(
    kv: &Kv,
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
    let raw = serde_json::to_string(&letter).map_err(Error::internal)?;
    let key = kv.key(LIST);
    let mut conn = kv.conn();
    let _: () = redis::pipe()
        .lpush(&key, raw)
        .ltrim(&key, 0, KEEP - 1)
        .query_async(&mut conn)
        .await?;
    Ok(letter)
}

/// How many dead letters are waiting (at most the [`KEEP`] newest are kept).
pub async fn count(kv: &Kv) -> Result<u64> {
    Ok(kv.conn().llen(kv.key(LIST)).await?)
}

/// Up to `limit` dead letters, newest first.
pub async fn list(kv: &Kv, limit: usize) -> Result<Vec<DeadLetter>> {
    let stop = isize::try_from(limit).unwrap_or(KEEP).min(KEEP) - 1;
    if stop < 0 {
        return Ok(Vec::new());
    }
    let raw: Vec<String> = kv.conn().lrange(kv.key(LIST), 0, stop).await?;
    Ok(raw.iter().filter_map(|r| parse(r)).collect())
}

/// An admin's retry ([`retry`]), recorded in the audit log. Dead letters live in Redis, so
/// there is no transaction to share with the change: the entry is written in its own small
/// transaction right after the retry succeeds (a crash in between leaves a retried job without
/// its entry, never an entry without its retry). Returns false when there is no such letter.
pub async fn retry_as_admin(
    kv: &Kv,
    db: &PgPool,
    actor: audit_log::Actor<'_>,
    id: Uuid,
) -> Result<bool> {
    let Some(letter) = retry(kv, &Queues::new(kv), id).await? else {
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
    let mut tx = db.begin().await?;
    audit_log::record(&mut tx, actor, &change).await?;
    tx.commit().await?;
    Ok(true)
}

/// Pushes the dead letter `id` back to its queue (with fresh attempts) and removes it from the
/// list. Returns the letter, or `None` when there is no such entry.
pub async fn retry(kv: &Kv, queues: &Queues, id: Uuid) -> Result<Option<DeadLetter>> {
    let key = kv.key(LIST);
    let mut conn = kv.conn();
    let raw: Vec<String> = conn.lrange(&key, 0, KEEP - 1).await?;
    let Some((raw, letter)) = raw
        .into_iter()
        .find_map(|r| parse(&r).filter(|l| l.id == id).map(|l| (r, l)))
    else {
        return Ok(None);
    };
    // Pushed before it is removed: a crash in between leaves a duplicate, never a lost job.
    queues.push(letter.job.clone()).await?;
    let _: i64 = conn.lrem(&key, 1, raw).await?;
    Ok(Some(letter))
}

fn parse(raw: &str) -> Option<DeadLetter> {
    serde_json::from_str(raw)
        .inspect_err(|e| tracing::error!(error = %e, "unreadable dead letter"))
        .ok()
}
