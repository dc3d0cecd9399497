//! Live campaign totals for server-sent events. Donations only mark a campaign as changed; a
//! background task coalesces the marks for a moment and publishes each changed campaign's
//! totals once on Redis pub/sub, so a viral campaign costs one stats query per tick, not one per
//! donation, and donations never wait on Redis. Campaigns nobody is watching are skipped.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use platform::Handles;

use super::repo;
use super::service::events_channel;

/// How long changes are gathered before publishing.
const COALESCE: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub struct LivePublisher {
    sender: OnceLock<mpsc::UnboundedSender<Uuid>>,
}

impl LivePublisher {
    /// Marks the campaign's totals as changed; they are published shortly.
    pub fn changed(&self, infra: &Handles, campaign_id: Uuid) {
        let sender = self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(publish_loop(infra.clone(), rx));
            tx
        });
        // The receiver lives as long as the process's runtime; a send can only fail at shutdown.
        let _ = sender.send(campaign_id);
    }
}

async fn publish_loop(infra: Handles, mut changes: mpsc::UnboundedReceiver<Uuid>) {
    while let Some(first) = changes.recv().await {
        tokio::time::sleep(COALESCE).await;
        let mut ids = HashSet::from([first]);
        while let Ok(id) = changes.try_recv() {
            ids.insert(id);
        }
        if !infra.kv.available() {
            continue;
        }
        let ids = match watched(&infra, ids).await {
            Ok(ids) if ids.is_empty() => continue,
            Ok(ids) => ids,
            Err(e) => {
                infra.kv.mark_down(&e);
                continue;
            }
        };
        let stats = match repo::stats_for(&infra.db.read, &ids).await {
            Ok(stats) => stats,
            Err(e) => {
                tracing::warn!(error = %e, "live totals not published");
                continue;
            }
        };
        let mut pipe = redis::pipe();
        for id in &ids {
            let totals = stats.get(id).copied().unwrap_or_default();
            if let Ok(json) = serde_json::to_string(&totals) {
                pipe.cmd("PUBLISH")
                    .arg(events_channel(&infra.kv, *id))
                    .arg(json)
                    .ignore();
            }
        }
        if let Err(e) = pipe.query_async::<()>(&mut infra.kv.conn()).await {
            infra.kv.mark_down(&e);
        }
    }
}

/// The campaigns of `ids` someone is watching: each viewer subscribes to its campaign's channel
/// (on whichever api instance), so Redis counts them. The rest cost no stats query and no
/// message. A viewer who subscribes just after the count reads its snapshot after subscribing,
/// and so after the change being published.
async fn watched(infra: &Handles, ids: HashSet<Uuid>) -> redis::RedisResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut numsub = redis::cmd("PUBSUB");
    numsub.arg("NUMSUB");
    for id in &ids {
        numsub.arg(events_channel(&infra.kv, *id));
    }
    // Channel, subscribers, channel, subscribers, … in the order asked.
    let counts: Vec<(String, u64)> = numsub.query_async(&mut infra.kv.conn()).await?;
    Ok(ids
        .into_iter()
        .zip(counts)
        .filter(|(_, (_, viewers))| *viewers > 0)
        .map(|(id, _)| id)
        .collect())
}
