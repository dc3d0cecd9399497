//! The apalis queues on Redis, one per job kind. Producers and the worker build their backends
//! here so queue names and settings can never differ between the two sides.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::{ConnectionManager, RedisStorage};

use super::kinds::{
    DeliverWebhook, DispatchWebhooks, GenerateReport, InvalidateCache, Job, JobKind, NotifyDonors,
    NotifyLenders, RecomputeCampaignStats, ScoreLoan, SendDonationDigests, SendNotification,
    SendRepaymentDigests,
};
use platform::error::{Error, Result};
use platform::infra::kv::Kv;

/// A job with an optional idempotency key: Redis drops a second push with the same key of the
/// same kind for a day, which absorbs most duplicates of an at-least-once relay.
pub type KeyedJob = (Job, Option<String>);

/// How deep each queue is, for the admin overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    pub queue: &'static str,
    /// Waiting to be picked up.
    pub pending: u64,
    /// Delayed until a later time (scheduled or waiting for a retry).
    pub scheduled: u64,
    /// Taken by a worker and not finished: running now, or held by a worker that died until its
    /// heartbeat lapses and the jobs are queued again.
    pub in_flight: u64,
}

#[derive(Clone)]
pub struct Queues {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queues")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Queues {
    pub fn new(kv: &Kv) -> Self {
        Self {
            conn: kv.conn(),
            prefix: kv.prefix().to_string(),
        }
    }

    /// `{prefix}jobs:{NAME}`: explicit, so the Rust type name never leaks into Redis keys.
    pub fn queue_name<J: JobKind>(&self) -> String {
        format!("{}jobs:{}", self.prefix, J::NAME)
    }

    /// The one configuration both producers and consumers use for `J`'s queue.
    pub fn config<J: JobKind>(&self) -> apalis_redis::Config {
        apalis_redis::Config::default()
            .queue(self.queue_name::<J>())
            // A worker that stops heart-beating for 15 s is presumed dead and its in-flight jobs
            // go back to the queue: a worker killed mid-job has that job run again.
            .heartbeat_interval(Duration::from_secs(5))
            .missed_heartbeats(3)
            .idempotency_ttl(Some(Duration::from_secs(24 * 3600)))
    }

    /// A backend for `J`'s queue, to push to or to build a worker on.
    pub fn backend<J: JobKind>(&self) -> RedisStorage<J> {
        RedisStorage::new(self.conn.clone()).with_config(self.config::<J>())
    }

    /// Pushes one job now.
    pub async fn push(&self, job: Job) -> Result<()> {
        self.push_all(vec![(job, None)]).await
    }

    /// Pushes jobs of any kinds, one Redis round trip per kind. Fails if any push fails; the
    /// kinds pushed before the failure stay pushed (callers are at-least-once anyway).
    pub async fn push_all(&self, jobs: Vec<KeyedJob>) -> Result<()> {
        let (mut stats, mut caches, mut mails) = (Vec::new(), Vec::new(), Vec::new());
        let (mut scores, mut donor_walks) = (Vec::new(), Vec::new());
        let (mut reports, mut fan_outs, mut deliveries) = (Vec::new(), Vec::new(), Vec::new());
        let (mut lender_walks, mut digests, mut gift_digests) =
            (Vec::new(), Vec::new(), Vec::new());
        for (job, key) in jobs {
            match job {
                Job::RecomputeCampaignStats(j) => stats.push((j, key)),
                Job::InvalidateCache(j) => caches.push((j, key)),
                Job::SendNotification(j) => mails.push((j, key)),
                Job::ScoreLoan(j) => scores.push((j, key)),
                Job::GenerateReport(j) => reports.push((j, key)),
                Job::DispatchWebhooks(j) => fan_outs.push((j, key)),
                Job::DeliverWebhook(j) => deliveries.push((j, key)),
                Job::NotifyDonors(j) => donor_walks.push((j, key)),
                Job::NotifyLenders(j) => lender_walks.push((j, key)),
                Job::SendRepaymentDigests(j) => digests.push((j, key)),
                Job::SendDonationDigests(j) => gift_digests.push((j, key)),
            }
        }
        self.push_kind::<GenerateReport>(reports).await?;
        self.push_kind::<DispatchWebhooks>(fan_outs).await?;
        self.push_kind::<DeliverWebhook>(deliveries).await?;
        self.push_kind::<RecomputeCampaignStats>(stats).await?;
        self.push_kind::<InvalidateCache>(caches).await?;
        self.push_kind::<SendNotification>(mails).await?;
        self.push_kind::<NotifyDonors>(donor_walks).await?;
        self.push_kind::<NotifyLenders>(lender_walks).await?;
        self.push_kind::<SendRepaymentDigests>(digests).await?;
        self.push_kind::<SendDonationDigests>(gift_digests).await?;
        self.push_kind::<ScoreLoan>(scores).await
    }

    async fn push_kind<J: JobKind>(&self, jobs: Vec<(J, Option<String>)>) -> Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let tasks = jobs.into_iter().map(|(job, key)| {
            let task = TaskBuilder::new(job);
            match key {
                Some(key) => task.idempotency_key(key),
                None => task,
            }
            .build()
        });
        self.backend::<J>()
            .push_all(&mut futures::stream::iter(tasks))
            .await
            .map_err(|e| Error::internal(format!("enqueue {}: {e}", J::NAME)))
    }

    /// Pending and scheduled counts of every queue.
    pub async fn depths(&self) -> Result<Vec<QueueDepth>> {
        Ok(vec![
            self.depth::<RecomputeCampaignStats>().await?,
            self.depth::<InvalidateCache>().await?,
            self.depth::<SendNotification>().await?,
            self.depth::<ScoreLoan>().await?,
            self.depth::<GenerateReport>().await?,
            self.depth::<DispatchWebhooks>().await?,
            self.depth::<DeliverWebhook>().await?,
            self.depth::<NotifyDonors>().await?,
            self.depth::<NotifyLenders>().await?,
            self.depth::<SendRepaymentDigests>().await?,
            self.depth::<SendDonationDigests>().await?,
        ])
    }

    async fn depth<J: JobKind>(&self) -> Result<QueueDepth> {
        let config = self.config::<J>();
        let scheduled_set = config.scheduled_jobs_set();
        let now = chrono::Utc::now().timestamp();
        let mut conn = self.conn.clone();
        // apalis-redis parks every new job in the scheduled set, due at its push time, until a
        // worker's fetch moves it to the active list: jobs already due count as pending.
        let (active, due, later, workers): (u64, u64, u64, Vec<String>) = redis::pipe()
            .llen(config.active_jobs_list())
            .zcount(&scheduled_set, "-inf", now)
            .zcount(&scheduled_set, format!("({now}"), "+inf")
            .zrange(config.workers_set(), 0, -1)
            .query_async(&mut conn)
            .await?;
        // Each registered worker (a dead one too, until another re-queues its jobs) keeps the
        // jobs it took in a set of its own.
        let held: Vec<u64> = if workers.is_empty() {
            Vec::new() // Redis refuses an empty pipeline.
        } else {
            // Named as apalis-redis's `inflight_set_for` names a worker's set.
            let prefix = config.inflight_jobs_set();
            let mut sets = redis::pipe();
            for worker in &workers {
                sets.scard(format!("{prefix}:{worker}"));
            }
            sets.query_async(&mut conn).await?
        };
        Ok(QueueDepth {
            queue: J::NAME,
            pending: active + due,
            scheduled: later,
            in_flight: held.into_iter().sum(),
        })
    }
}
