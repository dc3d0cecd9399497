//! Idempotency keys for writes that move money. The key is claimed inside the write's own
//! transaction: a concurrent duplicate blocks on the primary key until the first commits (then
//! replays its stored response) or rolls back (then runs itself). So N parallel retries move
//! money once.

use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::repo::keys;
use platform::error::{Error, ErrorCode, Result};

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
    let claim = KeyClaim {
        user_id,
        key,
        fingerprint,
        answer: None,
    };
    match claim_many(conn, &[claim]).await?.pop().flatten() {
        None => Ok(Claim::New),
        Some((hash, response)) => replay(&hash, fingerprint, response).map(Claim::Replay),
    }
}

/// The stored result of an earlier use of a key, if that use asked for the same thing.
pub fn replay<T: DeserializeOwned>(
    stored_hash: &str,
    fingerprint: &str,
    response: serde_json::Value,
) -> Result<T> {
    if stored_hash != fingerprint {
        return Err(Error::rule(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was already used for a different request",
        ));
    }
    serde_json::from_value(response).map_err(Error::internal)
}

/// One key of a batch (see [`claim_many`]).
pub struct KeyClaim<'a> {
    pub user_id: Uuid,
    pub key: &'a str,
    pub fingerprint: &'a str,
    /// The response (status 201) the work will give when it goes ahead, if already known: the
    /// key is then stored complete at once instead of claimed and completed later. Work that is
    /// refused gives its key back ([`release_many`]) in the same transaction either way.
    pub answer: Option<&'a serde_json::Value>,
}

/// Claims many keys in one statement, with the same waiting rules as [`claim`]. For each
/// claim, in order: `None` when it is new, or the earlier use's stored request hash and
/// response. The batch must not hold one (user, key) twice.
pub async fn claim_many(
    conn: &mut PgConnection,
    claims: &[KeyClaim<'_>],
) -> Result<Vec<Option<(String, serde_json::Value)>>> {
    let users: Vec<Uuid> = claims.iter().map(|c| c.user_id).collect();
    let keys: Vec<&str> = claims.iter().map(|c| c.key).collect();
    let hashes: Vec<&str> = claims.iter().map(|c| c.fingerprint).collect();
    let answers: Vec<Option<&serde_json::Value>> = claims.iter().map(|c| c.answer).collect();
    let inserted = keys::insert_new(conn, &users, &keys, &hashes, &answers).await?;
    if inserted.len() == claims.len() {
        return Ok(vec![None; claims.len()]);
    }
    let new: std::collections::HashSet<(Uuid, String)> = inserted.into_iter().collect();
    let (old_users, old_keys): (Vec<Uuid>, Vec<&str>) = claims
        .iter()
        .filter(|c| !new.contains(&(c.user_id, c.key.to_string())))
        .map(|c| (c.user_id, c.key))
        .unzip();
    let stored = keys::stored(conn, &old_users, &old_keys).await?;
    let mut stored: std::collections::HashMap<(Uuid, String), (String, serde_json::Value)> = stored
        .into_iter()
        .map(|(u, k, h, r)| ((u, k), (h, r)))
        .collect();
    claims
        .iter()
        .map(|c| {
            let id = (c.user_id, c.key.to_string());
            if new.contains(&id) {
                Ok(None)
            } else {
                // Present: the conflicting row committed before our insert gave up on it.
                stored
                    .remove(&id)
                    .map(Some)
                    .ok_or_else(|| Error::internal("idempotency key vanished during its claim"))
            }
        })
        .collect()
}

/// Stores the result (status 201) under the claimed key, in the same transaction as the work.
pub async fn complete(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
    result: &impl Serialize,
) -> Result<()> {
    let response = serde_json::to_value(result).map_err(Error::internal)?;
    keys::set_response(conn, user_id, key, &response).await
}

/// Gives back keys claimed earlier in this transaction whose work was refused, so a retry
/// (after a deposit, say) runs afresh — as if the claim had rolled back with the work. Only
/// keys this transaction claimed may be passed: a key claimed with its answer looks complete.
pub async fn release_many(conn: &mut PgConnection, keys: &[(Uuid, &str)]) -> Result<()> {
    let (users, keys): (Vec<Uuid>, Vec<&str>) = keys.iter().copied().unzip();
    keys::release(conn, &users, &keys).await
}

/// Forgets keys created before `before` (the retention period): a key used again after that
/// is a new request.
pub async fn prune(pool: &sqlx::PgPool, before: chrono::DateTime<chrono::Utc>) -> Result<u64> {
    keys::prune(pool, before).await
}
