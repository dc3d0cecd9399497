//! Request limits per caller class, counted in Redis so that every api instance shares one
//! counter per caller.
//!
//! Fixed windows: the first request of a window creates the counter with the window as its TTL;
//! one atomic script increments it and returns the count and the time left. When Redis cannot
//! answer, requests are let through (fail open) so that an outage of the limiter never stops
//! donations or repayments.

use std::sync::LazyLock;
use std::time::Duration;

use super::model::{Principal, Tier};
use platform::Handles;
use platform::config::{RateLimit, RateLimits};
use uuid::Uuid;

/// How long the limiter may wait for Redis before letting the request through.
const STORE_TIMEOUT: Duration = Duration::from_millis(250);

/// One more request on the counter `key` (a Lua local), whose window is `window` milliseconds:
/// INCR, and set the window's expiry when the counter is new (or somehow lost its TTL, which
/// would otherwise block the caller forever). Leaves the count in `n` and the milliseconds left
/// in `ttl`. Shared by [`HIT`] and the session check that counts in the same round trip
/// ([`crate::sessions`]), so the counting rule is written once.
pub(crate) const COUNT_LUA: &str = r"
local n = redis.call('INCR', key)
local ttl = redis.call('PTTL', key)
if ttl < 0 then
  redis.call('PEXPIRE', key, window)
  ttl = tonumber(window)
end
";

// Counts one request on KEYS[1] with a window of ARGV[1] ms. Returns {count, milliseconds left}.
static HIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        "local key, window = KEYS[1], ARGV[1]\n{COUNT_LUA}return {{n, ttl}}\n"
    ))
});

/// Who is counted.
pub enum Caller<'a> {
    /// No (valid) credentials: counted per client IP.
    Anonymous {
        ip: &'a str,
    },
    User(&'a Principal),
}

/// The caller's standing in the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
    /// This request is over the limit.
    pub exceeded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Admins are not limited.
    Unlimited,
    /// The counter store did not answer; the request is allowed (already logged).
    Unchecked,
    Counted(Quota),
}

#[derive(Clone, Debug)]
pub struct RateLimiter {
    infra: Handles,
}

impl RateLimiter {
    pub fn new(infra: Handles) -> Self {
        Self { infra }
    }
}

impl RateLimiter {
    /// Counts one request by `caller` and says whether it is within the limit.
    pub async fn hit(&self, caller: Caller<'_>) -> Verdict {
        let limits = &self.infra.config.rate_limits;
        let (name, limit) = match caller {
            Caller::Anonymous { ip } => (format!("rl:ip:{ip}"), limits.anonymous),
            Caller::User(p) if p.is_admin() => return Verdict::Unlimited,
            Caller::User(p) => (user_counter(p.user_id, p.tier), limit_of(limits, p.tier)),
        };
        self.hit_named(&name, limit).await
    }

    /// Counts one use of a guarded action under its own counter `name` (e.g. password-reset
    /// requests per IP), beside the caller's general limit.
    pub async fn hit_named(&self, name: &str, limit: RateLimit) -> Verdict {
        match tokio::time::timeout(STORE_TIMEOUT, self.count(name, limit)).await {
            Ok(Ok((count, ttl_ms))) => Verdict::Counted(quota(limit, count, ttl_ms)),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "rate limiter unavailable; request allowed");
                Verdict::Unchecked
            }
            Err(_) => {
                tracing::warn!("rate limiter timed out; request allowed");
                Verdict::Unchecked
            }
        }
    }

    async fn count(&self, name: &str, limit: RateLimit) -> redis::RedisResult<(u64, u64)> {
        let mut conn = self.infra.kv.conn();
        HIT.key(self.infra.kv.key(name))
            .arg(window_ms(limit))
            .invoke_async(&mut conn)
            .await
    }
}

/// A user's counter. The tier is part of the name so that a tier change starts a fresh window.
pub(crate) fn user_counter(user_id: Uuid, tier: Tier) -> String {
    format!("rl:user:{user_id}:{}", tier.as_str())
}

/// A limit's window in milliseconds, as the counting scripts take it.
pub(crate) fn window_ms(limit: RateLimit) -> u64 {
    u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX)
}

fn limit_of(limits: &RateLimits, tier: Tier) -> RateLimit {
    match tier {
        Tier::Standard => limits.authenticated,
        Tier::Premium => limits.premium,
    }
}

/// A user's counter after a request counted with the session check (see
/// [`crate::sessions::Sessions::state`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hits {
    pub count: u64,
    pub ttl_ms: u64,
}

/// The verdict on a request counted on the user's counter for `tier`.
pub(crate) fn counted(limits: &RateLimits, tier: Tier, hits: Hits) -> Verdict {
    Verdict::Counted(quota(limit_of(limits, tier), hits.count, hits.ttl_ms))
}

fn quota(limit: RateLimit, count: u64, ttl_ms: u64) -> Quota {
    Quota {
        limit: limit.requests,
        remaining: limit.requests.saturating_sub(count),
        reset_secs: ttl_ms.div_ceil(1000).max(1),
        exceeded: count > limit.requests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_allowed_request_leaves_zero_remaining() {
        let q = quota(RateLimit::new(3, 60), 3, 59_001);
        assert_eq!(q.remaining, 0);
        assert!(!q.exceeded);
        assert_eq!(q.reset_secs, 60);
    }

    #[test]
    fn requests_past_the_limit_are_exceeded_and_reset_is_at_least_a_second() {
        let q = quota(RateLimit::new(3, 60), 5, 10);
        assert_eq!(q.remaining, 0);
        assert!(q.exceeded);
        assert_eq!(q.reset_secs, 1);
    }
}
