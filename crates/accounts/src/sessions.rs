//! Sessions in Redis (24 h) and short-lived JWT access tokens (15 min) bound to them.
//!
//! Every access token names its session; a request is accepted only while the session exists,
//! so logout, deactivation and role changes take effect at once on every api instance.
//! Refresh tokens rotate: each can be used once, and presenting a used one revokes the whole
//! session (someone else has a copy). A secret that was never valid changes nothing, so
//! knowing a session id (it is in every access token) is not enough to end the session.
//!
//! The session also holds the user's role and tier: a request takes them from there, not from
//! the token's claims, and the token's subject must be the session's user.

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::{Role, Tier};
use super::rate_limit::{COUNT_LUA, Hits, user_counter, window_ms};
use platform::config::RateLimits;
use platform::error::{Error, Result};
use platform::infra::kv::Kv;

// The session's user, role and tier, and (when ARGV[5] is 1, the session is the token's user
// ARGV[1] with the token's role ARGV[2], and that role is not admin) one more request on the
// user's counter for the session's tier, KEYS[2] (standard, window ARGV[3] ms) or KEYS[3]
// (premium, ARGV[4]), counted as the limiter counts (`COUNT_LUA`). Returns {user, role, tier,
// count, ms left}: '' for a missing field, -1 for a request not counted.
static STATE_AND_HIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        r"
local s = redis.call('HMGET', KEYS[1], 'user', 'role', 'tier')
local user, role, tier = s[1] or '', s[2] or '', s[3] or ''
local key, window
if tier == 'standard' then key, window = KEYS[2], ARGV[3]
elseif tier == 'premium' then key, window = KEYS[3], ARGV[4] end
if ARGV[5] ~= '1' or user ~= ARGV[1] or role ~= ARGV[2] or role == 'admin' or not key then
  return {{user, role, tier, -1, -1}}
end
{COUNT_LUA}return {{user, role, tier, n, ttl}}
"
    ))
});

pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
pub const SESSION_TTL: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub sid: String,
    pub role: Role,
    pub tier: Tier,
    pub iat: i64,
    pub exp: i64,
}

pub struct Sessions<'a> {
    kv: &'a Kv,
    secret: &'a [u8],
}

/// What the session store says about a live session.
pub struct SessionState {
    pub user_id: Uuid,
    /// `None` for sessions started before the store kept role and tier.
    pub role: Option<Role>,
    pub tier: Option<Tier>,
}

/// One live session as its owner sees it in their list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    /// The browser or app that signed in (its `User-Agent`, shortened).
    pub device: String,
    pub created_at: DateTime<Utc>,
    /// The sign-in or the latest token refresh (an active client refreshes every 15 minutes).
    pub last_used_at: DateTime<Utc>,
}

/// Longest `User-Agent` kept with a session.
const MAX_DEVICE_CHARS: usize = 200;

/// What presenting a refresh token found.
pub enum Rotation {
    Rotated {
        user_id: Uuid,
        refresh_token: String,
    },
    /// The token was valid once but has been used: the session is now revoked.
    Reused,
    /// No such session, or a secret it never issued: nothing changes.
    Unknown,
}

// Compare-and-swap of the session's refresh hash. The replaced hash is remembered as `used:…`,
// so only a replay of a secret this session issued revokes it.
const ROTATE: &str = r"
local cur = redis.call('HGET', KEYS[1], 'refresh')
if not cur then return -1 end
if cur == ARGV[1] then
  redis.call('HSET', KEYS[1], 'refresh', ARGV[2], 'used:' .. ARGV[1], '1', 'last_used', ARGV[3])
  return 1
end
if redis.call('HEXISTS', KEYS[1], 'used:' .. ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
return -1
";

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl<'a> Sessions<'a> {
    pub fn new(kv: &'a Kv, secret: &'a [u8]) -> Self {
        Self { kv, secret }
    }

    fn session_key(&self, sid: &str) -> String {
        self.kv.key(format!("session:{sid}"))
    }

    fn user_key(&self, user_id: Uuid) -> String {
        self.kv.key(format!("user_sessions:{user_id}"))
    }

    pub fn issue_access(&self, user_id: Uuid, role: Role, tier: Tier, sid: &str) -> Result<String> {
        self.issue_access_at(user_id, role, tier, sid, Utc::now().timestamp())
    }

    /// An access token as if issued at `now` (Unix seconds); lets tests make expired tokens.
    pub fn issue_access_at(
        &self,
        user_id: Uuid,
        role: Role,
        tier: Tier,
        sid: &str,
        now: i64,
    ) -> Result<String> {
        let claims = Claims {
            sub: user_id,
            sid: sid.to_string(),
            role,
            tier,
            iat: now,
            exp: now + ACCESS_TTL.as_secs() as i64,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret),
        )
        .map_err(Error::internal)
    }

    /// Checks signature (HS256 only, so `alg=none` and key-confusion tricks fail) and expiry.
    pub fn verify_access(&self, token: &str) -> Result<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(self.secret), &validation)
            .map(|data| data.claims)
            .map_err(|_| Error::Unauthorized("invalid or expired access token"))
    }

    /// Starts a session from `device` (a `User-Agent`); returns its id and the first refresh
    /// token (`sid.secret`).
    pub async fn create(
        &self,
        user_id: Uuid,
        role: Role,
        tier: Tier,
        device: &str,
    ) -> Result<(String, String)> {
        let sid = Uuid::new_v4().simple().to_string();
        let secret = random_token();
        let ttl = SESSION_TTL.as_secs();
        let now = Utc::now().timestamp_millis().to_string();
        let device: String = device.trim().chars().take(MAX_DEVICE_CHARS).collect();
        let mut conn = self.kv.conn();
        redis::pipe()
            .atomic()
            .hset_multiple(
                self.session_key(&sid),
                &[
                    ("user", user_id.to_string()),
                    ("refresh", hash(&secret)),
                    ("role", role.as_str().to_string()),
                    ("tier", tier.as_str().to_string()),
                    ("device", device),
                    ("created", now.clone()),
                    ("last_used", now),
                ],
            )
            .expire(self.session_key(&sid), ttl as i64)
            .sadd(self.user_key(user_id), &sid)
            .expire(self.user_key(user_id), ttl as i64)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|_| Error::Unavailable("session store"))?;
        Ok((sid.clone(), format!("{sid}.{secret}")))
    }

    pub async fn rotate(&self, refresh_token: &str) -> Result<Rotation> {
        let Some((sid, secret)) = refresh_token.split_once('.') else {
            return Ok(Rotation::Unknown);
        };
        let new_secret = random_token();
        let mut conn = self.kv.conn();
        let key = self.session_key(sid);
        let outcome: i64 = redis::Script::new(ROTATE)
            .key(&key)
            .arg(hash(secret))
            .arg(hash(&new_secret))
            .arg(Utc::now().timestamp_millis())
            .invoke_async(&mut conn)
            .await
            .map_err(|_| Error::Unavailable("session store"))?;
        match outcome {
            1 => {
                let user: Option<String> = conn
                    .hget(&key, "user")
                    .await
                    .map_err(|_| Error::Unavailable("session store"))?;
                let user_id = user
                    .and_then(|u| Uuid::parse_str(&u).ok())
                    .ok_or(Error::Unauthorized("session expired"))?;
                Ok(Rotation::Rotated {
                    user_id,
                    refresh_token: format!("{sid}.{new_secret}"),
                })
            }
            0 => Ok(Rotation::Reused),
            _ => Ok(Rotation::Unknown),
        }
    }

    /// The live session's user, role and tier (`None` once it has ended) and, with `count`,
    /// the request counted against the limit of the token's user in the same round trip: only
    /// when the session is that user's, with the token's role, and not an admin's (see
    /// [`STATE_AND_HIT`]). Errors mean Redis could not answer.
    pub(crate) async fn state(
        &self,
        claims: &Claims,
        count: Option<&RateLimits>,
    ) -> redis::RedisResult<(Option<SessionState>, Option<Hits>)> {
        let mut conn = self.kv.conn();
        let (user, role, tier, n, ttl_ms): (String, String, String, i64, i64) = STATE_AND_HIT
            .key(self.session_key(&claims.sid))
            .key(self.kv.key(user_counter(claims.sub, Tier::Standard)))
            .key(self.kv.key(user_counter(claims.sub, Tier::Premium)))
            .arg(claims.sub.to_string())
            .arg(claims.role.as_str())
            .arg(count.map_or(0, |l| window_ms(l.authenticated)))
            .arg(count.map_or(0, |l| window_ms(l.premium)))
            .arg(u8::from(count.is_some()))
            .invoke_async(&mut conn)
            .await?;
        let state = Uuid::parse_str(&user).ok().map(|user_id| SessionState {
            user_id,
            role: Role::parse(&role).ok(),
            tier: Tier::parse(&tier).ok(),
        });
        let hits = u64::try_from(n)
            .ok()
            .zip(u64::try_from(ttl_ms).ok())
            .map(|(count, ttl_ms)| Hits { count, ttl_ms });
        Ok((state, hits))
    }

    /// The ids of the user's sessions (some may have ended since).
    async fn session_ids(
        &self,
        conn: &mut redis::aio::ConnectionManager,
        user_id: Uuid,
    ) -> Result<Vec<String>> {
        conn.smembers(self.user_key(user_id))
            .await
            .map_err(|_| Error::Unavailable("session store"))
    }

    /// Gives every live session of the user the new tier, so it applies without a new login.
    pub async fn set_tier(&self, user_id: Uuid, tier: Tier) -> Result<()> {
        let mut conn = self.kv.conn();
        let sids = self.session_ids(&mut conn, user_id).await?;
        // An empty pipeline is not a valid request: a user with no session has nothing to change.
        if sids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for sid in &sids {
            // Only sessions that still exist: HSET on an ended one would bring back a husk.
            pipe.cmd("EVAL")
                .arg("if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'tier', ARGV[1]) end")
                .arg(1)
                .arg(self.session_key(sid))
                .arg(tier.as_str())
                .ignore();
        }
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|_| Error::Unavailable("session store"))
    }

    pub async fn revoke(&self, sid: &str) -> Result<()> {
        let mut conn = self.kv.conn();
        conn.del::<_, ()>(self.session_key(sid))
            .await
            .map_err(|_| Error::Unavailable("session store"))
    }

    /// The user's live sessions, newest first. Ids of sessions that have ended are dropped
    /// from the user's set on the way.
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<SessionInfo>> {
        let mut conn = self.kv.conn();
        let sids = self.session_ids(&mut conn, user_id).await?;
        if sids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for sid in &sids {
            pipe.cmd("HMGET").arg(self.session_key(sid)).arg(&[
                "user",
                "device",
                "created",
                "last_used",
            ]);
        }
        type Fields = (Option<String>, Option<String>, Option<i64>, Option<i64>);
        let rows: Vec<Fields> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|_| Error::Unavailable("session store"))?;
        let mut live = Vec::new();
        let mut ended = Vec::new();
        for (sid, (user, device, created, last_used)) in sids.into_iter().zip(rows) {
            if user.as_deref() != Some(user_id.to_string().as_str()) {
                ended.push(sid);
                continue;
            }
            // Sessions started before devices were kept show as unknown, dated at the epoch.
            let at = |millis: Option<i64>| {
                DateTime::from_timestamp_millis(millis.unwrap_or(0)).unwrap_or(DateTime::UNIX_EPOCH)
            };
            live.push(SessionInfo {
                device: device.unwrap_or_default(),
                created_at: at(created),
                last_used_at: at(last_used.or(created)),
                id: sid,
            });
        }
        if !ended.is_empty() {
            conn.srem::<_, _, ()>(self.user_key(user_id), &ended)
                .await
                .map_err(|_| Error::Unavailable("session store"))?;
        }
        live.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(live)
    }

    /// Ends the user's session `sid`; `false` when the user has no such live session.
    pub async fn revoke_own(&self, user_id: Uuid, sid: &str) -> Result<bool> {
        let mut conn = self.kv.conn();
        // Only the owner's: the session's user is checked and the key deleted in one step.
        let deleted: i64 = redis::Script::new(
            "if redis.call('HGET', KEYS[1], 'user') == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        )
        .key(self.session_key(sid))
        .arg(user_id.to_string())
        .invoke_async(&mut conn)
        .await
        .map_err(|_| Error::Unavailable("session store"))?;
        conn.srem::<_, _, ()>(self.user_key(user_id), sid)
            .await
            .map_err(|_| Error::Unavailable("session store"))?;
        Ok(deleted == 1)
    }

    /// Ends every session of the user but `keep`; returns how many ended.
    pub async fn revoke_others(&self, user_id: Uuid, keep: Option<&str>) -> Result<usize> {
        let others: Vec<String> = self
            .list(user_id)
            .await?
            .into_iter()
            .map(|s| s.id)
            .filter(|sid| Some(sid.as_str()) != keep)
            .collect();
        if others.is_empty() {
            return Ok(0);
        }
        let mut conn = self.kv.conn();
        let mut pipe = redis::pipe();
        for sid in &others {
            pipe.del(self.session_key(sid)).ignore();
        }
        pipe.srem(self.user_key(user_id), &others).ignore();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|_| Error::Unavailable("session store"))?;
        Ok(others.len())
    }

    /// Ends every session of the user, e.g. after deactivation or a role change.
    pub async fn revoke_all(&self, user_id: Uuid) -> Result<()> {
        let mut conn = self.kv.conn();
        let sids = self.session_ids(&mut conn, user_id).await?;
        let mut pipe = redis::pipe();
        for sid in &sids {
            pipe.del(self.session_key(sid));
        }
        pipe.del(self.user_key(user_id));
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|_| Error::Unavailable("session store"))
    }
}
