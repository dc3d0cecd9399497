//! The worker: relays committed outbox events into the job queues and runs the jobs, one apalis
//! worker per queue, until told to stop.

pub mod handlers;
pub mod relay;

use std::future::Future;
use std::time::Duration;

use apalis::layers::retry::HasherRng;
use apalis::layers::retry::backoff::{ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use apalis::prelude::*;
use domain::App;
use domain::background::{JobContext, QueuedJob};
use domain::jobs::kinds::{NotifyLenders, SendDonationDigests, SendRepaymentDigests};
use domain::jobs::{
    DeliverWebhook, DispatchWebhooks, GenerateReport, InvalidateCache, JobKind, NotifyDonors,
    RecomputeCampaignStats, ScoreLoan, SendNotification,
};
use tokio::sync::watch;

use handlers::WorkerContext;

type Policy = BackoffRetryPolicy<ExponentialBackoff<HasherRng>>;

/// Tuning knobs; the defaults suit production, tests shorten the waits.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often the relay looks for new outbox rows when the last look found none.
    pub relay_interval: Duration,
    /// Outbox rows per relay transaction.
    pub relay_batch: i64,
    /// How often an idle apalis worker asks Redis for jobs.
    pub poll_interval: Duration,
    /// Attempts per job, the first included; after the last one it is dead-lettered.
    pub max_attempts: usize,
    /// Exponential backoff between attempts: from `backoff_min`, doubling, capped at
    /// `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Longest wait for running jobs to finish at shutdown.
    pub shutdown_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            relay_interval: Duration::from_millis(250),
            relay_batch: 100,
            poll_interval: Duration::from_millis(500),
            max_attempts: 5,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Runs the relay and the job workers until `shutdown` completes, then stops taking work and
/// waits (up to `shutdown_timeout`) for running jobs to finish. Jobs cut off by the timeout are
/// re-queued by Redis once this worker's heartbeat lapses.
pub async fn run(
    app: App,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> domain::Result<()> {
    let ctx = WorkerContext {
        jobs: JobContext::new(app)?,
        max_attempts: options.max_attempts.max(1),
    };
    let policy = retry_policy(&options)?;
    let (stop, stopped) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(relay::run(
            ctx.jobs.app.infra.db.write.clone(),
            ctx.jobs.queues.clone(),
            options.clone(),
            stopped.clone(),
        )),
        tokio::spawn(supervise::<RecomputeCampaignStats>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<InvalidateCache>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<SendNotification>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<NotifyDonors>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<NotifyLenders>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<SendRepaymentDigests>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<SendDonationDigests>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<GenerateReport>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<DispatchWebhooks>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<DeliverWebhook>(
            ctx.clone(),
            policy.clone(),
            options.poll_interval,
            stopped.clone(),
        )),
        tokio::spawn(supervise::<ScoreLoan>(
            ctx.clone(),
            policy,
            options.poll_interval,
            stopped,
        )),
    ];
    tracing::info!("worker running");
    shutdown.await;
    tracing::info!("worker stopping");
    // Ignored error: every receiver gone means every task already ended.
    let _ = stop.send(true);
    let all = async {
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "worker task panicked");
            }
        }
    };
    if tokio::time::timeout(options.shutdown_timeout, all)
        .await
        .is_err()
    {
        tracing::warn!("jobs still running at the shutdown timeout; they will be retried");
    }
    Ok(())
}

/// Runs an apalis worker for `J`'s queue and starts a fresh one whenever it fails (Redis gone,
/// say), after a pause, until `stopped` turns true.
async fn supervise<J: QueuedJob>(
    ctx: WorkerContext,
    policy: Policy,
    poll_interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let queue = <J as JobKind>::NAME;
    let mut pause = Duration::from_millis(500);
    loop {
        let backend = ctx
            .jobs
            .queues
            .backend::<J>()
            .poll_with_interval(poll_interval);
        // A fresh name per run: Redis re-queues a dead name's in-flight jobs after its
        // heartbeat lapses, and two processes must never share one.
        let worker = WorkerBuilder::new(format!("{queue}-{}", uuid::Uuid::new_v4()))
            .backend(backend)
            .retry(policy.clone())
            .data(ctx.clone())
            .build(handlers::handle::<J>);
        let mut signal = stopped.clone();
        let until = async move {
            // An error means the sender is gone, which also means stop.
            let _ = signal.wait_for(|stop| *stop).await;
            Ok::<(), std::io::Error>(())
        };
        match worker.run_until(until).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(queue, error = %e, "job worker failed; restarting")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// Retries a failed job after an exponentially growing, jittered pause, up to `max_attempts`
/// runs in all; the handler dead-letters the last failure.
fn retry_policy(options: &Options) -> domain::Result<Policy> {
    let backoff = ExponentialBackoffMaker::new(
        options.backoff_min,
        options.backoff_max,
        0.2,
        HasherRng::default(),
    )
    .map_err(|e| domain::Error::internal(format!("worker backoff settings: {e}")))?
    .make_backoff();
    Ok(RetryPolicy::retries(options.max_attempts.saturating_sub(1)).with_backoff(backoff))
}
