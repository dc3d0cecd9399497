//! Cache invalidation after a change has committed. The campaign pages are cached under a
//! generation number (see `campaigns::cache`); bumping it retires every page at once. The
//! request that made the change already bumps it, but only on a best-effort basis; this job
//! is the retried, at-least-once backstop for when Redis was unreachable at that moment.

use redis::AsyncCommands;

use super::kinds::InvalidateCache;
use platform::error::Result;
use platform::infra::kv::Kv;

/// The generation counter of the campaign page cache (`campaigns::cache::PageCache`).
pub use campaigns::cache::PAGES_GENERATION as CAMPAIGN_PAGES_GENERATION;

/// Deletes the job's keys and bumps its generation counters. Repeating it leaves the same
/// effect: the keys are gone and every page cached before the change is unreachable.
#[tracing::instrument(skip_all, fields(keys = job.keys.len(), generations = job.generations.len()))]
pub async fn invalidate(kv: &Kv, job: &InvalidateCache) -> Result<()> {
    let mut conn = kv.conn();
    if !job.keys.is_empty() {
        let keys: Vec<String> = job.keys.iter().map(|k| kv.key(k)).collect();
        let _: u64 = conn.del(keys).await?;
    }
    for generation in &job.generations {
        let _: u64 = conn.incr(kv.key(generation), 1).await?;
    }
    Ok(())
}
