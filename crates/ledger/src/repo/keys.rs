//! `idempotency_keys`: one row per (user, key); see `crate::idempotency` for the rules.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use platform::error::Result;

/// Inserts the keys not yet present and returns those it inserted: with their response
/// (status 201) where `answers` has one, else pending (status 0). A concurrent claim of the
/// same key waits here until the other transaction ends.
pub(crate) async fn insert_new(
    conn: &mut PgConnection,
    users: &[Uuid],
    keys: &[&str],
    hashes: &[&str],
    answers: &[Option<&Value>],
) -> Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "insert into idempotency_keys (user_id, key, request_hash, response_status, response)
         select u, k, h, case when r is null then 0 else 201 end, coalesce(r, 'null')
         from unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) as t(u, k, h, r)
         on conflict do nothing returning user_id, key",
    )
    .bind(users)
    .bind(keys)
    .bind(hashes)
    .bind(answers)
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

/// Stores the key's response (status 201).
pub(crate) async fn set_response(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
    response: &Value,
) -> Result<()> {
    sqlx::query(
        "update idempotency_keys set response_status = 201, response = $3
         where user_id = $1 and key = $2",
    )
    .bind(user_id)
    .bind(key)
    .bind(response)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes keys claimed in this transaction whose work was refused.
pub(crate) async fn release(conn: &mut PgConnection, users: &[Uuid], keys: &[&str]) -> Result<()> {
    sqlx::query(
        "delete from idempotency_keys k using unnest($1::uuid[], $2::text[]) as t(u, k)
         where k.user_id = t.u and k.key = t.k",
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
