//! The scheduler: runs the periodic tasks on cron schedules (apalis-cron, UTC, with a seconds
//! field). Several schedulers may run for availability; one leads (a Redis lease), and each tick
//! is claimed in PostgreSQL before it runs, so a task never runs twice for the same tick.
//!
//! Every task is a `domain::background::BackgroundJob` built from the tick's time (`now`), so
//! tests run it with any clock; the scheduler only decides when it runs and records the run.

pub mod leader;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_cron::{CronScheduler, Tick};
use chrono::{DateTime, Utc};
use domain::App;
use domain::background::scheduled::{
    Backup, ChargeRecurring, CloseDueCampaigns, DailyAnalytics, LedgerDigest, LoanDuties,
    QueueLoanReminders, RequeueStaleScoring, Retention, SettleSandboxPayouts, SweepGoals,
    YearlyStatements,
};
use domain::background::{BackgroundJob, DonationDigest, RepaymentDigest};
use domain::infra::metrics::{JOB_DURATION, JOB_FAILURES};
use domain::infra::telemetry;
use domain::jobs::runs;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::watch;

pub use leader::Leader;

/// A task body: builds the job for the tick's scheduled time and runs it on the app.
pub type TaskFn =
    Arc<dyn Fn(App, DateTime<Utc>) -> BoxFuture<'static, domain::Result<()>> + Send + Sync>;

/// A named task and when it runs.
#[derive(Clone)]
pub struct ScheduledTask {
    /// The job's name: unique, and the key of its runs in `scheduler_runs`.
    pub name: &'static str,
    pub schedule: cron::Schedule,
    pub run: TaskFn,
}

impl std::fmt::Debug for ScheduledTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledTask")
            .field("name", &self.name)
            .field("schedule", &self.schedule.to_string())
            .finish()
    }
}

impl ScheduledTask {
    /// Runs the job `at` builds from each tick's time, on `cron`: six or seven fields, seconds
    /// first (`"0 30 0 * * *"` is 00:30:00 UTC daily).
    pub fn new<J, F>(cron: &str, at: F) -> domain::Result<Self>
    where
        J: BackgroundJob<Context = App>,
        F: Fn(DateTime<Utc>) -> J + Send + Sync + 'static,
    {
        let schedule = cron::Schedule::from_str(cron)
            .map_err(|e| domain::Error::internal(format!("schedule of {}: {e}", J::NAME)))?;
        Ok(Self {
            name: J::NAME,
            schedule,
            run: Arc::new(move |app, now| {
                let job = at(now);
                Box::pin(async move { job.run(&app).await })
            }),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// How long a leader's lease lasts without renewal (failover time).
    pub leader_ttl: Duration,
    /// Backups kept in object storage (`BACKUP_KEEP`, default 7).
    pub backup_keep: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            leader_ttl: Duration::from_secs(15),
            backup_keep: 7,
        }
    }
}

/// The production tasks. Times are UTC; the day-based ones work on the day before the tick and
/// start after midnight with a margin, so that day's last transactions have committed (the
/// hourly donation digest likewise works on the hour before, 5 minutes past).
pub fn production_tasks(options: &Options) -> domain::Result<Vec<ScheduledTask>> {
    let keep = options.backup_keep;
    Ok(vec![
        ScheduledTask::new("0 * * * * *", |now| CloseDueCampaigns { now })?,
        ScheduledTask::new("30 * * * * *", |now| SweepGoals { now })?,
        ScheduledTask::new("15 * * * * *", |now| SettleSandboxPayouts { now })?,
        ScheduledTask::new("0 */5 * * * *", |now| RequeueStaleScoring { now })?,
        ScheduledTask::new("0 15 0 * * *", |now| LoanDuties { now })?,
        ScheduledTask::new("0 0 6 * * *", |now| ChargeRecurring { now })?,
        ScheduledTask::new("0 0 8 * * *", |now| QueueLoanReminders { now })?,
        ScheduledTask::new("0 30 0 * * *", |now| DailyAnalytics { now })?,
        ScheduledTask::new("0 45 0 * * *", |now| LedgerDigest { now })?,
        ScheduledTask::new("0 0 2 * * *", move |now| Backup { now, keep })?,
        ScheduledTask::new("0 30 3 * * *", |now| Retention { now })?,
        ScheduledTask::new("0 0 1 * * *", |now| RepaymentDigest { now })?,
        ScheduledTask::new("0 5 * * * *", |now| DonationDigest { now })?,
        ScheduledTask::new("0 0 4 * 1 *", |now| YearlyStatements { now })?,
    ])
}

/// Runs `tasks` until `shutdown` completes, then lets running tasks finish and gives up the
/// leader lease.
pub async fn run(
    app: App,
    tasks: Vec<ScheduledTask>,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> domain::Result<()> {
    let leader = Leader::new(app.infra.kv.clone(), options.leader_ttl);
    let (stop, stopped) = watch::channel(false);
    let mut handles = vec![tokio::spawn(leader.clone().maintain(stopped.clone()))];
    for task in tasks {
        let ctx = TickContext {
            app: app.clone(),
            task,
            leader: leader.clone(),
        };
        handles.push(tokio::spawn(supervise(ctx, stopped.clone())));
    }
    tracing::info!("scheduler running");
    shutdown.await;
    tracing::info!("scheduler stopping");
    // Ignored error: every receiver gone means every task already ended.
    let _ = stop.send(true);
    for handle in handles {
        if let Err(e) = handle.await {
            tracing::error!(error = %e, "scheduler task panicked");
        }
    }
    Ok(())
}

#[derive(Clone)]
struct TickContext {
    app: App,
    task: ScheduledTask,
    leader: Leader,
}

/// Runs the cron worker of one task, restarting it after a pause if it fails.
async fn supervise(ctx: TickContext, mut stopped: watch::Receiver<bool>) {
    let name = ctx.task.name;
    loop {
        let worker = WorkerBuilder::new(format!("cron-{name}"))
            .backend(CronScheduler::new(ctx.task.schedule.clone()))
            .data(ctx.clone())
            .build(on_tick);
        let mut signal = stopped.clone();
        let until = async move {
            let _ = signal.wait_for(|stop| *stop).await;
            Ok::<(), std::io::Error>(())
        };
        match worker.run_until(until).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(task = name, error = %e, "cron worker failed; restarting"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

/// One tick: only the leader acts, and only if it wins the tick's claim.
#[tracing::instrument(skip_all, fields(task = ctx.task.name, tick = tick.get_timestamp()))]
async fn on_tick(tick: Tick, ctx: Data<TickContext>) -> Result<(), BoxDynError> {
    let scheduled_for = i64::try_from(tick.get_timestamp())
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or("tick out of range")?;
    if !ctx.leader.is_leader().await {
        tracing::debug!("not the leader; skipping");
        return Ok(());
    }
    let pool = &ctx.app.infra.db.write;
    if !runs::claim(pool, ctx.task.name, scheduled_for).await? {
        tracing::info!("tick already claimed by another scheduler");
        return Ok(());
    }
    let kind = ctx.task.name;
    let started = Instant::now();
    let tick = scheduled_for.to_rfc3339();
    let tags = [("task", kind), ("tick", tick.as_str())];
    // The outcome is logged inside the tagged scope: the failure's error event is the one
    // Sentry receives, and it must say which task failed.
    let run = async {
        // A panic is the task's failure like any other: caught here, the claimed run is still
        // finished with its error instead of staying claimed and unexplained.
        let result = std::panic::AssertUnwindSafe((ctx.task.run)(ctx.app.clone(), scheduled_for))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(domain::Error::internal(panic_message(panic.as_ref()))));
        match &result {
            Ok(()) => tracing::info!("scheduled task done"),
            Err(e) => tracing::error!(error = %e, "scheduled task failed"),
        }
        result
    };
    let result = telemetry::with_sentry_tags(&tags, run).await;
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    metrics::histogram!(JOB_DURATION, "kind" => kind, "outcome" => outcome)
        .record(started.elapsed());
    if result.is_err() {
        metrics::counter!(JOB_FAILURES, "kind" => kind).increment(1);
    }
    let error = result.as_ref().err().map(ToString::to_string);
    runs::finish(pool, ctx.task.name, scheduled_for, error.as_deref()).await?;
    Ok(result?)
}

/// What a panic said, when it said it with a string (as `panic!` and `expect` do).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let said = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("the task panicked: {said}")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn task_names_are_unique_and_the_donation_digest_ticks_five_past_every_hour() {
        let tasks = production_tasks(&Options::default()).expect("tasks");
        let names: std::collections::BTreeSet<_> = tasks.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), tasks.len(), "names key the runs: {tasks:?}");
        let digest = tasks
            .iter()
            .find(|t| t.name == "donation_digest")
            .expect("the donation digest");
        let at = |h| {
            Utc.with_ymd_and_hms(2026, 3, 1, h, 5, 0)
                .single()
                .expect("time")
        };
        let next: Vec<_> = digest.schedule.after(&at(13)).take(2).collect();
        assert_eq!(next, [at(14), at(15)]);
    }
}
