//! Redis cache for campaign pages. Keys carry a generation number that every campaign change
//! bumps, so a reader that raced with a change can only write a key nobody reads any more.
//!
//! Detail pages also carry the money figures. Their keys add the campaign's own stats
//! generation, which every committed change of its totals bumps (donation batches, refunds,
//! stats corrections; closings retire every page through the campaigns generation) before the
//! change is answered: a donor who got their 201 never reads
//! the total from before their gift. If Redis fails between a commit and its bump, the short
//! [`LIVE_PAGE_TTL`] bounds how long a total can lag. Redis down → every read is a miss.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use platform::infra::kv::Kv;
use platform::infra::metrics::{CACHE_HITS, CACHE_MISSES};

/// This cache's `cache` label in the hit and miss counters.
const CACHE_NAME: &str = "campaign_pages";

pub const PAGE_TTL: Duration = Duration::from_secs(15 * 60);
/// Pages with money figures: short, because it is the bound on staleness after a lost bump.
pub const LIVE_PAGE_TTL: Duration = Duration::from_secs(60);
/// A stats generation outlives every page filled under an older value of it.
const STATS_GEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

// The campaigns generation and the page under it; returns the page's key too.
static LOOKUP: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local g = redis.call('GET', KEYS[1]) or '0'
local key = ARGV[1] .. g .. ':' .. ARGV[2]
return {key, redis.call('GET', key)}
",
    )
});

// Both generations and the page under them; returns the page's key too.
static LOOKUP_LIVE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local g = redis.call('GET', KEYS[1]) or '0'
local s = redis.call('GET', KEYS[2]) or '0'
local key = ARGV[1] .. g .. ':s' .. s .. ':' .. ARGV[2]
return {key, redis.call('GET', key)}
",
    )
});

fn stats_gen_key(kv: &Kv, campaign_id: Uuid) -> String {
    kv.key(format!("campaign:{campaign_id}:stats_gen"))
}

/// Retires the cached detail pages of campaigns whose totals just changed (after the commit,
/// before answering). Failure is logged, not raised: the change has committed, and
/// [`LIVE_PAGE_TTL`] bounds the staleness.
pub async fn stats_changed(kv: &Kv, campaign_ids: &[Uuid]) {
    if campaign_ids.is_empty() || !kv.available() {
        return;
    }
    let mut pipe = redis::pipe();
    for id in campaign_ids {
        let key = stats_gen_key(kv, *id);
        pipe.incr(&key, 1)
            .ignore()
            .expire(&key, STATS_GEN_TTL.as_secs() as i64)
            .ignore();
    }
    if let Err(e) = pipe.query_async::<()>(&mut kv.conn()).await {
        kv.mark_down(&e);
    }
}

#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl CacheStats {
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(CACHE_HITS, "cache" => CACHE_NAME).increment(1);
    }
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(CACHE_MISSES, "cache" => CACHE_NAME).increment(1);
    }
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// The generation counter the campaign pages are cached under; bumping it retires them all.
pub const PAGES_GENERATION: &str = "campaigns:gen";

pub struct PageCache<'a> {
    pub kv: &'a Kv,
    pub stats: &'a CacheStats,
}

impl PageCache<'_> {
    fn gen_key(&self) -> String {
        self.kv.key(PAGES_GENERATION)
    }

    /// Reads the campaigns generation and the page `name` under it in one round trip. Returns
    /// the cached value, if any, and the key to fill on a miss (`None` when Redis is
    /// unavailable).
    pub async fn lookup<T: DeserializeOwned>(&self, name: &str) -> (Option<T>, Option<String>) {
        self.run_lookup(&LOOKUP, &[self.gen_key()], name).await
    }

    /// As [`Self::lookup`], under both generations (campaigns, and `campaign_id`'s stats).
    pub async fn lookup_live<T: DeserializeOwned>(
        &self,
        campaign_id: Uuid,
        name: &str,
    ) -> (Option<T>, Option<String>) {
        let keys = [self.gen_key(), stats_gen_key(self.kv, campaign_id)];
        self.run_lookup(&LOOKUP_LIVE, &keys, name).await
    }

    async fn run_lookup<T: DeserializeOwned>(
        &self,
        script: &redis::Script,
        keys: &[String],
        name: &str,
    ) -> (Option<T>, Option<String>) {
        if !self.kv.available() {
            return (None, None);
        }
        let mut conn = self.kv.conn();
        let found: redis::RedisResult<(String, Option<String>)> = script
            .key(keys)
            .arg(self.kv.key("campaigns:g"))
            .arg(name)
            .invoke_async(&mut conn)
            .await;
        match found {
            Ok((key, raw)) => (self.counted(raw), Some(key)),
            Err(e) => {
                self.kv.mark_down(&e);
                (None, None)
            }
        }
    }

    /// Decodes a cached value and counts the hit or miss.
    fn counted<T: DeserializeOwned>(&self, raw: Option<String>) -> Option<T> {
        let hit = raw.and_then(|s| serde_json::from_str(&s).ok());
        if hit.is_some() {
            self.stats.hit();
        } else {
            self.stats.miss();
        }
        hit
    }

    pub async fn put<T: Serialize>(&self, key: &str, value: &T) {
        self.put_for(key, value, PAGE_TTL).await
    }

    pub async fn put_for<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) {
        let Ok(json) = serde_json::to_string(value) else {
            return;
        };
        let mut conn = self.kv.conn();
        if let Err(e) = conn.set_ex::<_, _, ()>(key, json, ttl.as_secs()).await {
            self.kv.mark_down(&e);
        }
    }

    /// Invalidates every cached campaign page. Failure is logged, not raised: the write it
    /// follows has committed, and the TTL bounds the staleness.
    pub async fn invalidate(&self) {
        let mut conn = self.kv.conn();
        if let Err(e) = conn.incr::<_, _, ()>(self.gen_key(), 1).await {
            self.kv.mark_down(&e);
        }
    }
}
