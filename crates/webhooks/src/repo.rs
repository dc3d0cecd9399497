//! SQL for webhook endpoints, their deliveries and the attempt log.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::{Attempt, Delivery, DeliveryStatus, Endpoint};
use platform::error::Result;

const ENDPOINT_COLUMNS: &str = "id, owner_id, created_by, url, kinds, description, created_at";
const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_id, event_kind, status, attempts, \
                                last_status_code, last_error, created_at, delivered_at";

/// Which of `kinds` some endpoint subscribes to.
pub(crate) async fn subscribed_kinds(
    db: impl PgExecutor<'_>,
    kinds: &[&str],
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select k from unnest($1::text[]) as k
         where exists (select 1 from webhook_endpoints where kinds @> array[k])",
    )
    .bind(kinds)
    .fetch_all(db)
    .await?)
}

/// The endpoints subscribed to `kind`: platform-wide ones, and `owner`'s.
pub(crate) async fn subscribed_endpoints(
    db: impl PgExecutor<'_>,
    kind: &str,
    owner: Option<Uuid>,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select id from webhook_endpoints
         where $1 = any(kinds) and (owner_id is null or owner_id = $2)",
    )
    .bind(kind)
    .bind(owner)
    .fetch_all(db)
    .await?)
}

/// Queues the event for the endpoint, unless it is queued already.
pub(crate) async fn insert_delivery(
    db: impl PgExecutor<'_>,
    endpoint_id: Uuid,
    event_id: i64,
    kind: &str,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "insert into webhook_deliveries (id, endpoint_id, event_id, event_kind, body)
             values ($1, $2, $3, $4, $5)
             on conflict (endpoint_id, event_id) do nothing",
    )
    .bind(Uuid::now_v7())
    .bind(endpoint_id)
    .bind(event_id)
    .bind(kind)
    .bind(body)
    .execute(db)
    .await?;
    Ok(())
}

/// The event's deliveries not yet attempted.
pub(crate) async fn fresh_deliveries(db: impl PgExecutor<'_>, event_id: i64) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select id from webhook_deliveries
         where event_id = $1 and status = 'pending' and attempts = 0",
    )
    .bind(event_id)
    .fetch_all(db)
    .await?)
}

/// A delivery with what sending it takes.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Outgoing {
    pub status: DeliveryStatus,
    pub event_id: i64,
    pub event_kind: String,
    pub body: String,
    pub url: String,
    pub secret: String,
}

/// Locks the delivery for the rest of the transaction; `None` if it is gone or another
/// worker holds it.
pub(crate) async fn lock_outgoing(
    conn: &mut PgConnection,
    delivery_id: Uuid,
) -> Result<Option<Outgoing>> {
    Ok(sqlx::query_as(
        "select d.status, d.event_id, d.event_kind, d.body, e.url, e.secret
         from webhook_deliveries d
         join webhook_endpoints e on e.id = d.endpoint_id
         where d.id = $1
         for update of d skip locked",
    )
    .bind(delivery_id)
    .fetch_optional(conn)
    .await?)
}

pub(crate) async fn insert_attempt(
    conn: &mut PgConnection,
    delivery_id: Uuid,
    status_code: Option<i16>,
    error: Option<&str>,
    duration_ms: i32,
) -> Result<()> {
    sqlx::query(
        "insert into webhook_attempts (delivery_id, status_code, error, duration_ms)
         values ($1, $2, $3, $4)",
    )
    .bind(delivery_id)
    .bind(status_code)
    .bind(error)
    .bind(duration_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts the attempt: no error means delivered, otherwise the delivery stays pending.
pub(crate) async fn record_attempt(
    conn: &mut PgConnection,
    delivery_id: Uuid,
    status_code: Option<i16>,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "update webhook_deliveries
         set attempts = attempts + 1, last_status_code = $2, last_error = $3::text,
             status = case when $3 is null then 'delivered' else 'pending' end,
             delivered_at = case when $3 is null then now() else delivered_at end
         where id = $1",
    )
    .bind(delivery_id)
    .bind(status_code)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn mark_failed(db: impl PgExecutor<'_>, delivery_id: Uuid) -> Result<()> {
    sqlx::query(
        "update webhook_deliveries set status = 'failed' where id = $1 and status = 'pending'",
    )
    .bind(delivery_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Endpoints of one owner, or of the platform when `owner` is `None`.
pub(crate) async fn count_endpoints(db: impl PgExecutor<'_>, owner: Option<Uuid>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select count(*) from webhook_endpoints where owner_id is not distinct from $1",
    )
    .bind(owner)
    .fetch_one(db)
    .await?)
}

pub(crate) async fn insert_endpoint(
    db: impl PgExecutor<'_>,
    owner: Option<Uuid>,
    created_by: Uuid,
    url: &str,
    kinds: &[String],
    description: Option<&str>,
    secret: &str,
) -> Result<Endpoint> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into webhook_endpoints (id, owner_id, created_by, url, kinds, description, secret)
             values ($1, $2, $3, $4, $5, $6, $7)
             returning {ENDPOINT_COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(owner)
    .bind(created_by)
    .bind(url)
    .bind(kinds)
    .bind(description)
    .bind(secret)
    .fetch_one(db)
    .await?)
}

/// The user's endpoints, and with `platform` the platform-wide ones too; newest first.
pub(crate) async fn list_endpoints(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    platform: bool,
) -> Result<Vec<Endpoint>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ENDPOINT_COLUMNS} from webhook_endpoints
             where owner_id = $1 or (owner_id is null and $2)
             order by created_at desc, id desc"
    )))
    .bind(user_id)
    .bind(platform)
    .fetch_all(db)
    .await?)
}

pub(crate) async fn find_endpoint(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Endpoint>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ENDPOINT_COLUMNS} from webhook_endpoints where id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Deliveries and attempts go with it (`on delete cascade`).
pub(crate) async fn delete_endpoint(db: impl PgExecutor<'_>, id: Uuid) -> Result<()> {
    sqlx::query("delete from webhook_endpoints where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub(crate) async fn count_deliveries(db: impl PgExecutor<'_>, endpoint_id: Uuid) -> Result<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from webhook_deliveries where endpoint_id = $1")
            .bind(endpoint_id)
            .fetch_one(db)
            .await?,
    )
}

/// One page of the endpoint's deliveries, newest first.
pub(crate) async fn deliveries(
    db: impl PgExecutor<'_>,
    endpoint_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<Delivery>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DELIVERY_COLUMNS} from webhook_deliveries
             where endpoint_id = $1
             order by created_at desc, id desc
             limit $2 offset $3"
    )))
    .bind(endpoint_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?)
}

/// The attempts of these deliveries, oldest first.
pub(crate) async fn attempts_of(
    db: impl PgExecutor<'_>,
    delivery_ids: &[Uuid],
) -> Result<Vec<Attempt>> {
    Ok(sqlx::query_as(
        "select id, delivery_id, status_code, error, duration_ms, created_at
             from webhook_attempts where delivery_id = any($1) order by id",
    )
    .bind(delivery_ids)
    .fetch_all(db)
    .await?)
}

/// Sets the endpoint's delivery back to pending; `None` if the endpoint has no such delivery.
pub(crate) async fn requeue(
    conn: &mut PgConnection,
    delivery_id: Uuid,
    endpoint_id: Uuid,
) -> Result<Option<Delivery>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update webhook_deliveries set status = 'pending'
             where id = $1 and endpoint_id = $2
             returning {DELIVERY_COLUMNS}"
    )))
    .bind(delivery_id)
    .bind(endpoint_id)
    .fetch_optional(conn)
    .await?)
}

/// Deletes delivery attempts made before `before` (their deliveries keep their outcome).
pub async fn prune_attempts(
    pool: &sqlx::PgPool,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    platform::infra::db::prune(
        pool,
        "delete from webhook_attempts where ctid in
           (select ctid from webhook_attempts where created_at < $1 limit $2)",
        before,
    )
    .await
}

/// Deletes the endpoints the user owns or registered (their deliveries go with them).
pub async fn delete_endpoints_of(conn: &mut PgConnection, user_id: Uuid) -> Result<u64> {
    Ok(
        sqlx::query("delete from webhook_endpoints where owner_id = $1 or created_by = $1")
            .bind(user_id)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
