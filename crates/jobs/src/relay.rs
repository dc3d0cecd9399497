//! The outbox relay: committed events (`outbox`) become jobs on the Redis queues.

use sqlx::PgPool;

use super::Job;
use super::queue::{KeyedJob, Queues};
use platform::error::Result;

/// Relays up to `limit` unsent events and returns how many rows it marked sent.
///
/// The rows are claimed, their jobs are pushed to Redis, and only then are the rows marked sent,
/// in the same transaction. If the push fails (Redis down) the transaction rolls back and the
/// rows are picked up again later; if the commit fails after a push, the jobs are pushed again:
/// delivery is at least once, and the idempotency key `outbox:{id}:{n}` lets Redis drop most of
/// those repeats.
#[tracing::instrument(skip_all, fields(limit))]
pub async fn relay_batch(pool: &PgPool, queues: &Queues, limit: i64) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let events = outbox::claim_unsent(&mut tx, limit).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let mut kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let subscribed = webhooks::subscribed_kinds(&mut *tx, &kinds).await?;
    let mut ids = Vec::with_capacity(events.len());
    let mut jobs: Vec<KeyedJob> = Vec::new();
    for (id, event) in &events {
        let fan_out = subscribed.contains(event.kind());
        jobs.extend(
            Job::for_outbox(*id, event, fan_out)
                .into_iter()
                .enumerate()
                .map(|(n, job)| (job, Some(format!("outbox:{id}:{n}")))),
        );
        ids.push(*id);
    }
    queues.push_all(jobs).await?;
    outbox::mark_sent(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok(ids.len())
}
