//! Idempotency keys for writes that move money. The key is claimed inside the write's own
//! transaction: a concurrent duplicate blocks on the primary key until the first commits (then
//! replays its stored response) or rolls back (then runs itself). So N parallel retries move
//! money once.

use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{Error, Result};

pub enum Claim<T> {
    /// First use of the key: do the work, then call [`complete`].
    New,
    /// The key was used for the same request: here is its stored result.
    Replay(T),
}

/// Validates the header value.
pub fn parse_key(raw: Option<&str>) -> Result<String> {
    let key = raw
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Error::validation("Idempotency-Key", "the Idempotency-Key header is required")
        })?;
    if key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::validation(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 200 printable ASCII characters",
        ));
    }
    Ok(key.to_string())
}

/// A fingerprint of what the request asked for, so a reused key with another body is caught.
pub fn fingerprint(scope: &str, request: &impl Serialize) -> Result<String> {
    let body = serde_json::to_vec(request).map_err(Error::internal)?;
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update([0]);
    h.update(&body);
    Ok(hex::encode(h.finalize()))
}

pub async fn claim<T: DeserializeOwned>(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
    fingerprint: &str,
) -> Result<Claim<T>> {
    let inserted = sqlx::query(
        "insert into idempotency_keys (user_id, key, request_hash, response_status, response)
         values ($1, $2, $3, 0, 'null') on conflict do nothing",
    )
    .bind(user_id)
    .bind(key)
    .bind(fingerprint)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::New);
    }
    let (hash, response): (String, serde_json::Value) = sqlx::query_as(
        "select request_hash, response from idempotency_keys where user_id = $1 and key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    if hash != fingerprint {
        return Err(Error::rule(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different request",
        ));
    }
    serde_json::from_value(response)
        .map(Claim::Replay)
        .map_err(Error::internal)
}

/// Stores the result under the claimed key, in the same transaction as the work.
pub async fn complete(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
    status: u16,
    result: &impl Serialize,
) -> Result<()> {
    let response = serde_json::to_value(result).map_err(Error::internal)?;
    sqlx::query(
        "update idempotency_keys set response_status = $3, response = $4
         where user_id = $1 and key = $2",
    )
    .bind(user_id)
    .bind(key)
    .bind(status as i16)
    .bind(response)
    .execute(conn)
    .await?;
    Ok(())
}
