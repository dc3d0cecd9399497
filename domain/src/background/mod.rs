//! Background work has one shape: a job type with a unique name and an idempotent `run`. The
//! worker runs the queued kinds ([`QueuedJob`], one apalis queue each); the scheduler builds a
//! scheduled job from each cron tick's time and runs it ([`scheduled`]). Both only decide when a
//! job runs and record how it went; what it does lives here.

mod creators;
mod lenders;
pub mod queued;
pub mod scheduled;

pub use creators::DonationDigest;
pub use lenders::RepaymentDigest;

use std::future::Future;

use jobs::{Job, JobKind, Queues};
use platform::infra::mail::Mailer;

use crate::{App, Result};

/// A unit of background work.
pub trait BackgroundJob: Send + Sync + 'static {
    /// Unique among jobs: a queued kind's queue (its `JobKind::NAME`), a scheduled job's key in
    /// `scheduler_runs`.
    const NAME: &'static str;

    /// What `run` needs: [`JobContext`] for queued kinds, the [`App`] for scheduled jobs (the
    /// scheduler sends no mail and calls no webhooks, so it builds neither client).
    type Context: Send + Sync;

    /// Does the work. Idempotent: queued jobs are delivered at least once and retried, and a
    /// scheduled job may meet work a stalled earlier run already did.
    fn run(&self, ctx: &Self::Context) -> impl Future<Output = Result<()>> + Send;
}

/// A job kind the worker takes from its queue (`{REDIS_KEY_PREFIX}jobs:{NAME}`).
pub trait QueuedJob: BackgroundJob<Context = JobContext> + JobKind {
    /// The kind as a [`Job`], for the dead-letter list.
    fn into_job(self) -> Job;

    /// Called once the last attempt failed, before the job is dead-lettered, so the job can
    /// record that it gave up where users see it.
    fn dead_lettered(
        &self,
        _ctx: &JobContext,
        _error: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// What every queued job may use. Cheap to clone.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub app: App,
    pub mailer: Mailer,
    pub queues: Queues,
    /// The HTTP client outgoing webhooks are sent with.
    pub webhooks: webhooks::Sender,
}

impl JobContext {
    pub fn new(app: App) -> Result<Self> {
        Ok(Self {
            mailer: Mailer::new(&app.infra.config)?,
            queues: Queues::new(&app.infra.kv),
            webhooks: webhooks::Sender::new(&app.infra.config)?,
            app,
        })
    }
}
