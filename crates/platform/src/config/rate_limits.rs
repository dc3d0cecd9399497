//! Rate limits per caller class (`RATE_LIMIT_*`).

use std::str::FromStr;
use std::time::Duration;

/// Requests allowed per window for one caller class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u64,
    pub window: Duration,
}

impl RateLimit {
    pub const fn new(requests: u64, window_secs: u64) -> Self {
        Self {
            requests,
            window: Duration::from_secs(window_secs),
        }
    }
}

impl FromStr for RateLimit {
    type Err = String;
    /// Format `REQUESTS/SECONDS`, e.g. `30/60`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, w) = s
            .split_once('/')
            .ok_or_else(|| "must look like REQUESTS/SECONDS, e.g. 30/60".to_string())?;
        let requests = n
            .trim()
            .parse()
            .map_err(|_| format!("bad request count {n:?}"))?;
        let secs: u64 = w.trim().parse().map_err(|_| format!("bad window {w:?}"))?;
        if secs == 0 {
            return Err("window must be at least one second".into());
        }
        Ok(Self {
            requests,
            window: Duration::from_secs(secs),
        })
    }
}

#[derive(Debug, Clone)]
pub struct RateLimits {
    /// `RATE_LIMIT_ANONYMOUS` (default `30/60`): per client IP.
    pub anonymous: RateLimit,
    /// `RATE_LIMIT_AUTHENTICATED` (default `100/300`): per user, standard tier.
    pub authenticated: RateLimit,
    /// `RATE_LIMIT_PREMIUM` (default `500/300`): per user, premium tier. Admins are unlimited.
    pub premium: RateLimit,
}
