//! `idempotency_keys`: one row per (user, key); see `crate::idempotency` for the rules.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use platform::error::Result;

/// Inserts the keys not yet present (response pending) and returns those it inserted; a
/// concurrent claim of the same key waits here until the other transaction ends.
pub(crate) async fn insert_new(
    conn: &mut PgConnection,
    users: &[Uuid],
    keys: &[&str],
    hashes: &[&str],
) -> Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "insert into idempotency_keys (user_id, key, request_hash, response_status, response)
         select u, k, h, 0, 'null' from unnest($1::uuid[], $2::text[], $3::text[]) as t(u, k, h)
         on conflict do nothing returning user_id, key",
    )
    .bind(users)
    .bind(keys)
    .bind(hashes)
    .fetch_all(conn)
    .await?)
}

/// The stored request hash and response of existing keys.
pub(crate) async fn stored(
    conn: &mut PgConnection,
    users: &[Uuid],
    keys: &[&str],
) -> Result<Vec<(Uuid, String, String, Value)>> {
    Ok(sqlx::query_as(
        "select k.user_id, k.key, k.request_hash, k.response
         from unnest($1::uuid[], $2::text[]) as t(u, k)
         join idempotency_keys k on k.user_id = t.u and k.key = t.k",
    )
    .bind(users)
    .bind(keys)
    .fetch_all(conn)
    .await?)
}

/// Stores each key's response (status 201).
pub(crate) async fn set_responses(
    conn: &mut PgConnection,
    users: &[Uuid],
    keys: &[&str],
    responses: &[Value],
) -> Result<()> {
    sqlx::query(
        "update idempotency_keys k set response_status = 201, response = t.r
         from unnest($1::uuid[], $2::text[], $3::jsonb[]) as t(u, k, r)
         where k.user_id = t.u and k.key = t.k",
    )
    .bind(users)
    .bind(keys)
    .bind(responses)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes keys still pending (claimed in this transaction, work refused).
pub(crate) async fn release(conn: &mut PgConnection, users: &[Uuid], keys: &[&str]) -> Result<()> {
    sqlx::query(
        "delete from idempotency_keys k using unnest($1::uuid[], $2::text[]) as t(u, k)
         where k.user_id = t.u and k.key = t.k and k.response_status = 0",
    )
    .bind(users)
    .bind(keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes keys created before `before`; a key used again after that is a new request.
pub async fn prune(pool: &sqlx::PgPool, before: chrono::DateTime<chrono::Utc>) -> Result<u64> {
    platform::infra::db::prune(
        pool,
        "delete from idempotency_keys where ctid in
           (select ctid from idempotency_keys where created_at < $1 limit $2)",
        before,
    )
    .await
}
