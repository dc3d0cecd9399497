//! SQL for the `audit_log` table.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::model::{Action, Actor, AuditEntry, Change, Filter, Page};
use platform::{Error, Result};

/// Records `change` by `actor` on the caller's transaction, so it commits with the change.
/// Refuses (and so rolls the caller back) when the action needs a reason and has none.
pub async fn record(conn: &mut PgConnection, actor: Actor<'_>, change: &Change<'_>) -> Result<()> {
    let reason = change.checked_reason()?;
    sqlx::query(
        "insert into audit_log
             (actor_id, action, target_type, target_id, before, after, request_id, reason)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(actor.user_id)
    .bind(change.action.as_str())
    .bind(change.target_type)
    .bind(&change.target_id)
    .bind(&change.before)
    .bind(&change.after)
    .bind(actor.request_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

type Row = (
    i64,
    DateTime<Utc>,
    Uuid,
    Option<String>,
    String,
    String,
    String,
    Value,
    Value,
    Option<String>,
    Option<String>,
);

/// Entries matching `filter`, newest first, one page (keyset on the id).
pub async fn list(pool: &PgPool, filter: &Filter) -> Result<Page> {
    let rows: Vec<Row> = sqlx::query_as(
        "select a.id, a.at, a.actor_id, u.email, a.action, a.target_type, a.target_id,
                a.before, a.after, a.request_id, a.reason
         from audit_log a
         left join read.users u on u.id = a.actor_id
         where ($1::uuid is null or a.actor_id = $1)
           and ($2::text is null or a.target_type = $2)
           and ($3::text is null or a.target_id = $3)
           and ($4::text is null or a.action = $4)
           and ($5::timestamptz is null or a.at >= $5)
           and ($6::timestamptz is null or a.at < $6)
           and ($7::bigint is null or a.id < $7)
         order by a.id desc
         limit $8",
    )
    .bind(filter.actor_id)
    .bind(&filter.target_type)
    .bind(&filter.target_id)
    .bind(filter.action.map(Action::as_str))
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.before)
    .bind(filter.limit + 1)
    .fetch_all(pool)
    .await?;
    let has_more = rows.len() as i64 > filter.limit;
    let entries = rows
        .into_iter()
        .take(filter.limit as usize)
        .map(|r| {
            Ok(AuditEntry {
                id: r.0,
                at: r.1,
                actor_id: r.2,
                actor_email: r.3,
                action: Action::parse(&r.4).map_err(|_| {
                    Error::internal(format!("audit_log {} has unknown action {}", r.0, r.4))
                })?,
                target_type: r.5,
                target_id: r.6,
                before: r.7,
                after: r.8,
                request_id: r.9,
                reason: r.10,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next_before = has_more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok(Page {
        entries,
        next_before,
    })
}
