//! The scheduler: runs the periodic tasks on cron schedules (apalis-cron, UTC, with a seconds
//! field). Several schedulers may run for availability; one leads (a Redis lease), and each tick
//! is claimed in PostgreSQL before it runs, so a task never runs twice for the same tick.
//!
//! Every task is a plain domain function taking the tick's time as `now`, so tests call it
//! directly with any clock.

pub mod leader;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_cron::{CronScheduler, Tick};
use chrono::{DateTime, Utc};
use domain::App;
use domain::jobs::runs;
use futures::future::BoxFuture;
use tokio::sync::watch;

pub use leader::Leader;

/// A task body: the app and the tick's scheduled time.
pub type TaskFn =
    Arc<dyn Fn(App, DateTime<Utc>) -> BoxFuture<'static, domain::Result<()>> + Send + Sync>;

/// A named task and when it runs.
#[derive(Clone)]
pub struct ScheduledTask {
    /// Unique; also the key of its runs in `scheduler_runs`.
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
    /// `cron` has six or seven fields, seconds first: `"0 30 0 * * *"` is 00:30:00 UTC daily.
    pub fn new<F, Fut>(name: &'static str, cron: &str, run: F) -> domain::Result<Self>
    where
        F: Fn(App, DateTime<Utc>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = domain::Result<()>> + Send + 'static,
    {
        let schedule = cron::Schedule::from_str(cron)
            .map_err(|e| domain::Error::internal(format!("schedule of {name}: {e}")))?;
        Ok(Self {
            name,
            schedule,
            run: Arc::new(move |app, now| Box::pin(run(app, now))),
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
/// start after midnight with a margin, so that day's last transactions have committed.
pub fn production_tasks(options: &Options) -> domain::Result<Vec<ScheduledTask>> {
    let keep = options.backup_keep;
    Ok(vec![
        // Campaign deadlines: keep-it-all ones complete, all-or-nothing ones release or refund.
        ScheduledTask::new(
            "close_due_campaigns",
            "0 * * * * *",
            |app: App, now| async move {
                let closing = app.money().close_due_campaigns(now).await?;
                if closing != Default::default() {
                    tracing::info!(?closing, "campaigns closed at their deadline");
                }
                Ok(())
            },
        )?,
        // Loans: arrears (late, defaulted, cured) and expired fundraising with lender refunds.
        ScheduledTask::new("loan_duties", "0 15 0 * * *", |app: App, now| async move {
            let sweep = app.loans().daily(now).await?;
            tracing::info!(?sweep, "loan duties done");
            Ok(())
        })?,
        // Recurring donations due today (retries of short wallets included).
        ScheduledTask::new(
            "recurring_donations",
            "0 0 6 * * *",
            |app: App, now| async move { app.recurring().charge_due(now).await.map(drop) },
        )?,
        // Repayment reminders a few days before each installment falls due.
        ScheduledTask::new(
            "loan_reminders",
            "0 0 8 * * *",
            |app: App, now| async move {
                let queues = domain::jobs::Queues::new(&app.kv);
                domain::jobs::reminders::queue_loan_reminders(&app.db.read, &queues, now)
                    .await
                    .map(drop)
            },
        )?,
        ScheduledTask::new(
            "daily_analytics",
            "0 30 0 * * *",
            |app: App, now| async move {
                let totals = domain::analytics::run_nightly(&app.db.write, now).await?;
                tracing::info!(day = %totals.day, donations = totals.donations_count, "analytics computed");
                Ok(())
            },
        )?,
        ScheduledTask::new(
            "ledger_digest",
            "0 45 0 * * *",
            |app: App, now| async move {
                let digest = domain::ledger::digest::run_nightly(&app.db.write, now).await?;
                tracing::info!(day = %digest.day, root = %digest.root_hex(), lines = digest.line_count, "ledger digest recorded");
                Ok(())
            },
        )?,
        ScheduledTask::new("backup", "0 0 2 * * *", move |app: App, now| async move {
            domain::ops::backup::run(&app.storage, app.config.database_url.expose(), now, keep)
                .await
                .map(drop)
        })?,
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
    let leader = Leader::new(app.kv.clone(), options.leader_ttl);
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
    let pool = &ctx.app.db.write;
    if !runs::claim(pool, ctx.task.name, scheduled_for).await? {
        tracing::info!("tick already claimed by another scheduler");
        return Ok(());
    }
    let result = (ctx.task.run)(ctx.app.clone(), scheduled_for).await;
    let error = result.as_ref().err().map(ToString::to_string);
    runs::finish(pool, ctx.task.name, scheduled_for, error.as_deref()).await?;
    match result {
        Ok(()) => {
            tracing::info!("scheduled task done");
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "scheduled task failed");
            Err(e.into())
        }
    }
}
