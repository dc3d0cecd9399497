//! SQL for the `outbox` table.

use sqlx::{PgConnection, PgPool};

use crate::Event;
use platform::{Error, Result};

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
        .map_err(Error::internal)?;
    sqlx::query("insert into outbox (kind, payload) select * from unnest($1::text[], $2::jsonb[])")
        .bind(&kinds)
        .bind(&payloads)
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks up to `limit` unsent events of the kinds this build knows, oldest first, skipping rows
/// another relay holds (`FOR UPDATE SKIP LOCKED`, so several relays share the work). Rows whose
/// payload does not parse are logged and left for a fix rather than dropped.
pub async fn claim_unsent(conn: &mut PgConnection, limit: i64) -> Result<Vec<(i64, Event)>> {
    let rows: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "select id, payload from outbox
         where sent_at is null and kind = any($1)
         order by id
         limit $2
         for update skip locked",
    )
    .bind(Event::KINDS)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let mut events = Vec::with_capacity(rows.len());
    for (id, payload) in rows {
        match serde_json::from_value::<Event>(payload) {
            Ok(event) => events.push((id, event)),
            // A known kind that does not parse is a bug in the writer.
            Err(e) => tracing::error!(outbox_id = id, error = %e, "malformed outbox event"),
        }
    }
    Ok(events)
}

/// Marks claimed rows sent, in the claiming transaction.
pub async fn mark_sent(conn: &mut PgConnection, ids: &[i64]) -> Result<()> {
    sqlx::query("update outbox set sent_at = now() where id = any($1)")
        .bind(ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Seconds since the oldest unsent event was recorded (0 when none waits): how far the relay
/// is behind.
pub async fn lag_seconds(pool: &PgPool) -> Result<f64> {
    let age: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from now() - created_at)::float8 from outbox
         where sent_at is null
         order by id
         limit 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(age.unwrap_or(0.0).max(0.0))
}

/// Deletes rows relayed and created before `before`; unsent rows stay whatever their age.
pub async fn prune_sent(pool: &PgPool, before: chrono::DateTime<chrono::Utc>) -> Result<u64> {
    platform::infra::db::prune(
        pool,
        "delete from outbox where ctid in
           (select ctid from outbox where created_at < $1 and sent_at is not null limit $2)",
        before,
    )
    .await
}
