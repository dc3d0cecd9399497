//! The queued job kinds: thin adapters from a payload to the context function that does the
//! work. The relay and Redis deliver at least once, so each is idempotent.

use jobs::kinds::{NotifyLenders, SendDonationDigests, SendRepaymentDigests};
use jobs::{
    DeliverWebhook, DispatchWebhooks, GenerateReport, InvalidateCache, Job, JobKind, NotifyDonors,
    RecomputeCampaignStats, ScoreLoan, SendNotification, cache,
};

use super::{BackgroundJob, JobContext, QueuedJob};
use crate::Result;

impl BackgroundJob for RecomputeCampaignStats {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        let check = money::stats::recompute(&ctx.app.infra.db.write, self.campaign_id).await?;
        if check.corrected {
            campaigns::cache::stats_changed(&ctx.app.infra.kv, &[self.campaign_id]).await;
        }
        Ok(())
    }
}

impl QueuedJob for RecomputeCampaignStats {
    fn into_job(self) -> Job {
        Job::RecomputeCampaignStats(self)
    }
}

impl BackgroundJob for InvalidateCache {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        cache::invalidate(&ctx.app.infra.kv, self).await?;
        Ok(())
    }
}

impl QueuedJob for InvalidateCache {
    fn into_job(self) -> Job {
        Job::InvalidateCache(self)
    }
}

impl BackgroundJob for SendNotification {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        let outcomes = notifications::send_all(
            &ctx.app.infra.db.write,
            &ctx.mailer,
            &ctx.app.infra.config,
            &self.notifications,
        )
        .await?;
        tracing::debug!(?outcomes, "notifications handled");
        Ok(())
    }
}

impl QueuedJob for SendNotification {
    fn into_job(self) -> Job {
        Job::SendNotification(self)
    }
}

impl BackgroundJob for NotifyDonors {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        notifications::notify_donors(
            &ctx.app.infra.db.write,
            &ctx.mailer,
            &ctx.app.infra.config,
            self.campaign_id,
            self.notice,
        )
        .await?;
        Ok(())
    }
}

impl QueuedJob for NotifyDonors {
    fn into_job(self) -> Job {
        Job::NotifyDonors(self)
    }
}

impl BackgroundJob for NotifyLenders {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        notifications::notify_lenders(
            &ctx.app.infra.db.write,
            &ctx.mailer,
            &ctx.app.infra.config,
            self.loan_id,
            self.notice,
        )
        .await?;
        Ok(())
    }
}

impl QueuedJob for NotifyLenders {
    fn into_job(self) -> Job {
        Job::NotifyLenders(self)
    }
}

impl BackgroundJob for SendRepaymentDigests {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        notifications::send_repayment_digests(
            &ctx.app.infra.db.write,
            &ctx.mailer,
            &ctx.app.infra.config,
            self.day,
        )
        .await?;
        Ok(())
    }
}

impl QueuedJob for SendRepaymentDigests {
    fn into_job(self) -> Job {
        Job::SendRepaymentDigests(self)
    }
}

impl BackgroundJob for SendDonationDigests {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        notifications::send_donation_digests(
            &ctx.app.infra.db.write,
            &ctx.mailer,
            &ctx.app.infra.config,
            self.hour,
        )
        .await?;
        Ok(())
    }
}

impl QueuedJob for SendDonationDigests {
    fn into_job(self) -> Job {
        Job::SendDonationDigests(self)
    }
}

impl BackgroundJob for ScoreLoan {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        let score = ctx.app.loans().score(self.loan_id).await?;
        tracing::debug!(score = score.map(|s| s.score), "loan scored");
        Ok(())
    }
}

impl QueuedJob for ScoreLoan {
    fn into_job(self) -> Job {
        Job::ScoreLoan(self)
    }
}

impl BackgroundJob for GenerateReport {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        reports::generate(&ctx.app.infra, self.report_id).await?;
        Ok(())
    }
}

impl QueuedJob for GenerateReport {
    fn into_job(self) -> Job {
        Job::GenerateReport(self)
    }

    async fn dead_lettered(&self, ctx: &JobContext, error: &str) -> Result<()> {
        reports::mark_failed(&ctx.app.infra, self.report_id, error).await
    }
}

impl BackgroundJob for DispatchWebhooks {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        jobs::fan_out::dispatch_webhooks(
            &ctx.app.infra.db.write,
            &ctx.queues,
            self.event_id,
            &self.event,
        )
        .await?;
        Ok(())
    }
}

impl QueuedJob for DispatchWebhooks {
    fn into_job(self) -> Job {
        Job::DispatchWebhooks(self)
    }
}

impl BackgroundJob for DeliverWebhook {
    const NAME: &'static str = <Self as JobKind>::NAME;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<()> {
        let outcome =
            webhooks::deliver(&ctx.app.infra.db.write, &ctx.webhooks, self.delivery_id).await?;
        tracing::debug!(?outcome, "webhook handled");
        Ok(())
    }
}

impl QueuedJob for DeliverWebhook {
    fn into_job(self) -> Job {
        Job::DeliverWebhook(self)
    }

    async fn dead_lettered(&self, ctx: &JobContext, _error: &str) -> Result<()> {
        webhooks::mark_failed(&ctx.app.infra.db.write, self.delivery_id).await
    }
}
