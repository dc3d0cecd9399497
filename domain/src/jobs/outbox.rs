//! The transactional outbox table: written inside the caller's transaction, so an event exists
//! exactly when the change that caused it committed. The relay moves committed events into the
//! job queues.

use sqlx::{PgConnection, PgPool};

use super::queue::{KeyedJob, Queues};
use super::{Event, Job};
use crate::error::Result;

/// Records `event` in the caller's transaction.
pub async fn record(conn: &mut PgConnection, event: &Event) -> Result<()> {
    record_many(conn, std::slice::from_ref(event)).await
}

/// Records many events in one statement, in the caller's transaction.
pub async fn record_many(conn: &mut PgConnection, events: &[Event]) -> Result<()> {
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    let payloads = events
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::Error::internal)?;
    sqlx::query("insert into outbox (kind, payload) select * from unnest($1::text[], $2::jsonb[])")
        .bind(&kinds)
        .bind(&payloads)
        .execute(conn)
        .await?;
    Ok(())
}

/// Relays up to `limit` unsent events and returns how many rows it marked sent.
///
/// The rows are locked (`FOR UPDATE SKIP LOCKED`, so several relays share the work), their jobs
/// are pushed to Redis, and only then are the rows marked sent, in the same transaction. If the
/// push fails (Redis down) the transaction rolls back and the rows are picked up again later; if
/// the commit fails after a push, the jobs are pushed again: delivery is at least once, and the
/// idempotency key `outbox:{id}:{n}` lets Redis drop most of those repeats.
#[tracing::instrument(skip_all, fields(limit))]
pub async fn relay_batch(pool: &PgPool, queues: &Queues, limit: i64) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "select id, payload from outbox
         where sent_at is null and kind = any($1)
         order by id
         limit $2
         for update skip locked",
    )
    .bind(Event::KINDS)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut events = Vec::with_capacity(rows.len());
    for (id, payload) in rows {
        match serde_json::from_value::<Event>(payload) {
            Ok(event) => events.push((id, event)),
            // A known kind that does not parse is a bug in the writer: leave the row for a fix
            // rather than dropping the work.
            Err(e) => tracing::error!(outbox_id = id, error = %e, "malformed outbox event"),
        }
    }
    let mut kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let subscribed = crate::webhooks::subscribed_kinds(&mut *tx, &kinds).await?;
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
    sqlx::query("update outbox set sent_at = now() where id = any($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids.len())
}
