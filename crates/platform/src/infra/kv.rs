//! Redis: cache, sessions, rate-limit counters and pub/sub. Every key and channel carries the
//! configured prefix so deployments and tests can share one server without seeing each other.
//!
//! Commands time out quickly: callers on the money path treat Redis as optional and must not
//! hang when it is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// After a failed command, optional Redis work (cache, pub/sub) is skipped for this long, so an
/// outage costs one timeout instead of one per request.
const BACKOFF_MS: i64 = 2_000;

#[derive(Clone)]
pub struct Kv {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    down_until_ms: Arc<AtomicI64>,
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kv").field("prefix", &self.prefix).finish()
    }
}

impl Kv {
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_string(),
            down_until_ms: Arc::new(AtomicI64::new(0)),
        })
    }

    /// False shortly after a failure: callers with a fallback should use it instead.
    pub fn available(&self) -> bool {
        chrono::Utc::now().timestamp_millis() >= self.down_until_ms.load(Ordering::Relaxed)
    }

    /// Records a failed command (see [`Kv::available`]).
    pub fn mark_down(&self, error: &redis::RedisError) {
        tracing::warn!(%error, "redis unavailable; using fallbacks");
        self.down_until_ms.store(
            chrono::Utc::now().timestamp_millis() + BACKOFF_MS,
            Ordering::Relaxed,
        );
    }

    /// A connection handle; cheap to clone, multiplexed.
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full key (or channel) name for `name`.
    pub fn key(&self, name: impl std::fmt::Display) -> String {
        format!("{}{}", self.prefix, name)
    }

    pub async fn ping(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn();
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(())
    }
}
