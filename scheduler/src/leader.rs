//! Leader election through a Redis lease: `SET key token NX PX ttl`, renewed at a third of the
//! ttl by its holder only (compare-and-expire in Lua), dropped on shutdown. One scheduler leads
//! at a time; if it dies, another takes over within one ttl.
//!
//! A lease cannot fence a leader that stalls past its ttl, so scheduled runs also claim their
//! tick in PostgreSQL (`domain::jobs::runs`): the lease keeps schedulers from doing the work
//! twice, the claim guarantees it.

use std::sync::Arc;
use std::time::Duration;

use domain::infra::kv::Kv;
use redis::Script;
use tokio::sync::{Mutex, watch};
use tokio::time::Instant;

const RENEW: &str = r#"
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"#;

#[derive(Clone, Debug)]
pub struct Leader {
    kv: Kv,
    key: String,
    token: String,
    ttl: Duration,
    /// Leadership is trusted until this instant: one ttl after the last acquire or renewal
    /// started, and only if it succeeded. A stalled renewal therefore ends leadership locally
    /// no later than the lease itself expires in Redis.
    valid_until: Arc<Mutex<Option<Instant>>>,
}

impl Leader {
    pub fn new(kv: Kv, ttl: Duration) -> Self {
        Self {
            key: kv.key("scheduler:leader"),
            kv,
            token: uuid::Uuid::new_v4().to_string(),
            ttl,
            valid_until: Arc::new(Mutex::new(None)),
        }
    }

    pub async fn is_leader(&self) -> bool {
        self.valid_until
            .lock()
            .await
            .is_some_and(|until| Instant::now() < until)
    }

    /// One round: renews the lease if held, otherwise tries to take it. Returns whether this
    /// scheduler leads afterwards. Redis errors count as not leading.
    pub async fn try_lead(&self) -> bool {
        let started = Instant::now();
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let mut conn = self.kv.conn();
        let held = self.is_leader().await;
        let result: redis::RedisResult<bool> = if held {
            Script::new(RENEW)
                .key(&self.key)
                .arg(&self.token)
                .arg(ttl_ms)
                .invoke_async::<i64>(&mut conn)
                .await
                .map(|renewed| renewed == 1)
        } else {
            redis::cmd("SET")
                .arg(&self.key)
                .arg(&self.token)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query_async::<Option<String>>(&mut conn)
                .await
                .map(|set| set.is_some())
        };
        let leading = match result {
            Ok(leading) => leading,
            Err(e) => {
                tracing::warn!(error = %e, "leader lease: redis unreachable");
                false
            }
        };
        if leading != held {
            tracing::info!(leading, "scheduler leadership changed");
        }
        *self.valid_until.lock().await = leading.then_some(started + self.ttl);
        leading
    }

    /// Gives the lease up if held, so another scheduler can lead at once.
    pub async fn release(&self) {
        *self.valid_until.lock().await = None;
        let mut conn = self.kv.conn();
        let released = Script::new(RELEASE)
            .key(&self.key)
            .arg(&self.token)
            .invoke_async::<i64>(&mut conn)
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "leader lease: could not release; it will expire");
        }
    }

    /// Keeps trying to lead (or stay leader) every third of the ttl until `stopped`, then
    /// releases the lease.
    pub async fn maintain(self, mut stopped: watch::Receiver<bool>) {
        loop {
            self.try_lead().await;
            tokio::select! {
                _ = tokio::time::sleep(self.ttl / 3) => {}
                _ = stopped.wait_for(|stop| *stop) => break,
            }
        }
        self.release().await;
    }
}
