//! The scheduled jobs, one per cron task. Each is built from its tick's scheduled time (`now`),
//! so tests run it with any clock; the day-based ones work on the day before `now`.

use chrono::{DateTime, Utc};

use super::BackgroundJob;
use crate::{App, Result};

/// Campaign deadlines: keep-it-all ones complete, all-or-nothing ones release or refund.
#[derive(Debug, Clone, Copy)]
pub struct CloseDueCampaigns {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for CloseDueCampaigns {
    const NAME: &'static str = "close_due_campaigns";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let closing = app.money().close_due_campaigns(self.now).await?;
        if closing != Default::default() {
            tracing::info!(?closing, "campaigns closed at their deadline");
        }
        Ok(())
    }
}

/// How far back the goal sweep looks for campaigns that were given to.
pub const GOAL_SWEEP_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// Goals reached by gifts whose batch could not look again after committing (see
/// `MoneyService::sweep_goals`), recorded within a minute.
#[derive(Debug, Clone, Copy)]
pub struct SweepGoals {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for SweepGoals {
    const NAME: &'static str = "sweep_goals";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let marked = app
            .money()
            .sweep_goals(self.now - GOAL_SWEEP_WINDOW)
            .await?;
        if !marked.is_empty() {
            tracing::warn!(
                campaigns = marked.len(),
                "goal sweep recorded goals a batch missed"
            );
        }
        Ok(())
    }
}

/// The sandbox payment provider's settlement of payouts (development and tests; a live
/// provider confirms through its webhook, and there are no sandbox payouts to settle).
#[derive(Debug, Clone, Copy)]
pub struct SettleSandboxPayouts {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for SettleSandboxPayouts {
    const NAME: &'static str = "settle_sandbox_payouts";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let settled = app.money().settle_sandbox_payouts(self.now).await?;
        if settled > 0 {
            tracing::info!(settled, "sandbox payouts settled");
        }
        Ok(())
    }
}

/// Deletes operational records past their retention period (`crate::retention`).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for Retention {
    const NAME: &'static str = "retention";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let pruned = crate::retention::run(app, self.now).await?;
        tracing::info!(?pruned, "retention done");
        Ok(())
    }
}

/// Loan applications whose scoring job was lost, queued for scoring again.
#[derive(Debug, Clone, Copy)]
pub struct RequeueStaleScoring {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for RequeueStaleScoring {
    const NAME: &'static str = "requeue_stale_scoring";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        app.loans().requeue_stale_scoring(self.now).await.map(drop)
    }
}

/// Loans: arrears (late, defaulted, cured) and expired fundraising with lender refunds.
#[derive(Debug, Clone, Copy)]
pub struct LoanDuties {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for LoanDuties {
    const NAME: &'static str = "loan_duties";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let sweep = app.loans().daily(self.now).await?;
        tracing::info!(?sweep, "loan duties done");
        Ok(())
    }
}

/// Recurring donations due today (retries of short wallets included).
#[derive(Debug, Clone, Copy)]
pub struct ChargeRecurring {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for ChargeRecurring {
    const NAME: &'static str = "recurring_donations";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        app.recurring().charge_due(self.now).await.map(drop)
    }
}

/// Repayment reminders a few days before each installment falls due.
#[derive(Debug, Clone, Copy)]
pub struct QueueLoanReminders {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for QueueLoanReminders {
    const NAME: &'static str = "loan_reminders";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let queues = jobs::Queues::new(&app.infra.kv);
        jobs::reminders::queue_loan_reminders(&app.infra.db.read, &queues, self.now)
            .await
            .map(drop)
    }
}

/// The day's totals for the admin dashboard.
#[derive(Debug, Clone, Copy)]
pub struct DailyAnalytics {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for DailyAnalytics {
    const NAME: &'static str = "daily_analytics";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let totals = ops::analytics::run_nightly(&app.infra.db.write, self.now).await?;
        tracing::info!(day = %totals.day, donations = totals.donations_count, "analytics computed");
        Ok(())
    }
}

/// The day's ledger digest (a Merkle root over its ledger lines).
#[derive(Debug, Clone, Copy)]
pub struct LedgerDigest {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for LedgerDigest {
    const NAME: &'static str = "ledger_digest";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let digest = ledger::digest::run_nightly(&app.infra.db.write, self.now).await?;
        tracing::info!(day = %digest.day, root = %digest.root_hex(), lines = digest.line_count, "ledger digest recorded");
        Ok(())
    }
}

/// A database backup to object storage, keeping the newest `keep`.
#[derive(Debug, Clone, Copy)]
pub struct Backup {
    pub now: DateTime<Utc>,
    pub keep: usize,
}

impl BackgroundJob for Backup {
    const NAME: &'static str = "backup";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        ops::backup::run(
            &app.infra.storage,
            app.infra.config.direct_database_url().expose(),
            self.now,
            self.keep,
        )
        .await
        .map(drop)
    }
}

/// January, daily: last year's giving statement for every donor with gifts in it who has none
/// yet (once per donor and year however often it runs); the worker builds each and emails it.
/// Daily through the month rather than once, so a missed day is made up the next.
#[derive(Debug, Clone, Copy)]
pub struct YearlyStatements {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for YearlyStatements {
    const NAME: &'static str = "yearly_statements";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        app.reports()
            .queue_yearly_statements(self.now)
            .await
            .map(drop)
    }
}
