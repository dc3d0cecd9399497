//! The job handlers: thin adapters from an apalis task to the domain function that does the
//! work. Every one is idempotent, because the relay and Redis deliver at least once.

use std::future::Future;

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data};
use domain::App;
use domain::infra::mail::Mailer;
use domain::jobs::{
    DeliverWebhook, DispatchWebhooks, GenerateReport, InvalidateCache, Job, JobKind, Queues,
    RecomputeCampaignStats, ScoreLoan, SendNotification, cache, dead_letter,
};

/// What every handler may use. Cheap to clone.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub app: App,
    pub mailer: Mailer,
    pub queues: Queues,
    /// The HTTP client outgoing webhooks are sent with.
    pub webhooks: domain::webhooks::Sender,
    /// Attempts per job; the last failure goes to the dead-letter list.
    pub max_attempts: usize,
}

/// A job kind the worker can run.
pub trait Handler: JobKind {
    fn run(&self, ctx: &JobContext) -> impl Future<Output = domain::Result<()>> + Send;
    fn into_job(self) -> Job;
    /// Called once the last attempt failed, before the job is dead-lettered, so the job can
    /// record that it gave up where users see it.
    fn dead_lettered(
        &self,
        _ctx: &JobContext,
        _error: &str,
    ) -> impl Future<Output = domain::Result<()>> + Send {
        async { Ok(()) }
    }
}

impl Handler for RecomputeCampaignStats {
    async fn run(&self, ctx: &JobContext) -> domain::Result<()> {
        let check = domain::money::stats::recompute(&ctx.app.db.write, self.campaign_id).await?;
        if check.corrected {
            domain::campaigns::cache::stats_changed(&ctx.app.kv, &[self.campaign_id]).await;
        }
        Ok(())
    }
    fn into_job(self) -> Job {
        Job::RecomputeCampaignStats(self)
    }
}

impl Handler for InvalidateCache {
    async fn run(&self, ctx: &JobContext) -> domain::Result<()> {
        cache::invalidate(&ctx.app.kv, self).await?;
        Ok(())
    }
    fn into_job(self) -> Job {
        Job::InvalidateCache(self)
    }
}

impl Handler for SendNotification {
    async fn run(&self, ctx: &JobContext) -> domain::Result<()> {
        let outcome = domain::notifications::send(
            &ctx.app.db.write,
            &ctx.mailer,
            &ctx.app.config.public_url,
            &ctx.app.config.currency,
            &self.notification,
        )
        .await?;
        tracing::debug!(?outcome, "notification handled");
        Ok(())
    }
    fn into_job(self) -> Job {
        Job::SendNotification(self)
    }
}

impl Handler for ScoreLoan {
    async fn run(&self, ctx: &JobContext) -> domain::Result<()> {
        let score = ctx.app.loans().score(self.loan_id).await?;
        tracing::debug!(score = score.map(|s| s.score), "loan scored");
        Ok(())
    }
    fn into_job(self) -> Job {
        Job::ScoreLoan(self)
    }
}

impl Handler for GenerateReport {
    async fn run(&self, ctx: &JobContext) -> domain::Result<()> {
        domain::reports::generate(ctx.app.infra(), self.report_id).await?;
        Ok(())
    }
    fn into_job(self) -> Job {
        Job::GenerateReport(self)
    }
    async fn dead_lettered(&self, ctx: &JobContext, error: &str) -> domain::Result<()> {
        domain::reports::mark_failed(ctx.app.infra(), self.report_id, error).await
    }
}

impl Handler for DispatchWebhooks {
    async fn run(&self, ctx: &JobContext) -> domain::Result<()> {
        domain::jobs::fan_out::dispatch_webhooks(
            &ctx.app.db.write,
            &ctx.queues,
            self.event_id,
            &self.event,
        )
        .await?;
        Ok(())
    }
    fn into_job(self) -> Job {
        Job::DispatchWebhooks(self)
    }
}

impl Handler for DeliverWebhook {
    async fn run(&self, ctx: &JobContext) -> domain::Result<()> {
        let outcome =
            domain::webhooks::deliver(&ctx.app.db.write, &ctx.webhooks, self.delivery_id).await?;
        tracing::debug!(?outcome, "webhook handled");
        Ok(())
    }
    fn into_job(self) -> Job {
        Job::DeliverWebhook(self)
    }
    async fn dead_lettered(&self, ctx: &JobContext, _error: &str) -> domain::Result<()> {
        domain::webhooks::mark_failed(&ctx.app.db.write, self.delivery_id).await
    }
}

/// Runs one attempt. A failure is returned for the retry layer to try again after a backoff;
/// the last attempt's failure is recorded in the dead-letter list and returned as an abort, so
/// neither the retry layer nor Redis runs it again by itself.
#[tracing::instrument(skip_all, fields(job = J::NAME, attempt = attempt.current()))]
pub async fn handle<J: Handler>(
    job: J,
    ctx: Data<JobContext>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let Err(e) = job.run(&ctx).await else {
        return Ok(());
    };
    let attempts = attempt.current();
    if attempts < ctx.max_attempts {
        tracing::warn!(error = %e, "job failed; will retry");
        return Err(e.into());
    }
    tracing::error!(error = %e, "job failed its last attempt; dead-lettered");
    if let Err(hook) = job.dead_lettered(&ctx, &e.to_string()).await {
        tracing::error!(error = %hook, "recording the given-up job failed");
    }
    dead_letter::record(
        &ctx.app.kv,
        job.into_job(),
        e.to_string(),
        attempts,
        chrono::Utc::now(),
    )
    .await?;
    Err(AbortError::new(e).into())
}
