//! The outbox relay: committed events (`outbox`) become jobs on the Redis queues.

use sqlx::PgPool;

use super::Job;
use super::kinds::SendNotification;
use super::queue::{KeyedJob, Queues};
use notifications::Notification;
use platform::error::Result;

/// Relays up to `limit` unsent events and returns how many rows it marked sent.
///
/// The rows are claimed, their jobs are pushed to Redis, and only then are the rows marked sent,
/// in the same transaction. If the push fails (Redis down) the transaction rolls back and the
/// rows are picked up again later; if the commit fails after a push, the jobs are pushed again:
/// delivery is at least once, and the idempotency key `outbox:{id}:{n}` lets Redis drop most of
/// those repeats. The emails of the events go out in jobs of up to [`MAILS_PER_JOB`] events
/// each (the worker reads a job's receipts in one query and claims them in one statement); every
/// email is deduplicated on its own, so a repeat that groups them differently sends none twice.
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
    let mut mails: Vec<(i64, Vec<Notification>)> = Vec::new();
    for (id, event) in &events {
        let fan_out = subscribed.contains(event.kind());
        for (n, job) in Job::for_outbox(*id, event, fan_out).into_iter().enumerate() {
            match job {
                Job::SendNotification(mail) => mails.push((*id, mail.notifications)),
                job => jobs.push((job, Some(format!("outbox:{id}:{n}")))),
            }
        }
        ids.push(*id);
    }
    jobs.extend(mail_jobs(mails));
    queues.push_all(jobs).await?;
    outbox::mark_sent(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok(ids.len())
}

/// Events whose emails one `send_notification` job carries.
const MAILS_PER_JOB: usize = 100;

/// The emails of consecutive events, `MAILS_PER_JOB` events to a job, each keyed by the range
/// of outbox ids it covers.
fn mail_jobs(mails: Vec<(i64, Vec<Notification>)>) -> Vec<KeyedJob> {
    mails
        .chunks(MAILS_PER_JOB)
        .filter_map(|chunk| {
            let (first, last) = (chunk.first()?.0, chunk.last()?.0);
            let notifications = chunk.iter().flat_map(|(_, n)| n.iter().cloned()).collect();
            Some((
                Job::SendNotification(SendNotification { notifications }),
                Some(format!("outbox:{first}-{last}:mail")),
            ))
        })
        .collect()
}
