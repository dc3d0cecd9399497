//! Lenders' scheduled mail: the daily repayment digest. The scheduler sends no mail, so its job
//! only queues the day's `send_repayment_digests` walk for the worker, which emails each lender
//! repaid that day once.

use chrono::{DateTime, Duration, Utc};
use jobs::Job;
use jobs::kinds::SendRepaymentDigests;

use super::BackgroundJob;
use crate::{App, Result};

/// The repayment digests of the day before `now` (UTC): one email per lender listing the
/// repayments that reached them that day.
#[derive(Debug, Clone, Copy)]
pub struct RepaymentDigest {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for RepaymentDigest {
    const NAME: &'static str = "repayment_digest";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let day = (self.now - Duration::days(1)).date_naive();
        let queues = jobs::Queues::new(&app.infra.kv);
        // Keyed by the day, so a second tick for the same day queues nothing new (and the
        // emails are deduplicated per lender and day anyway).
        let job = Job::SendRepaymentDigests(SendRepaymentDigests { day });
        queues
            .push_all(vec![(job, Some(format!("repayment_digest:{day}")))])
            .await?;
        tracing::info!(%day, "repayment digests queued");
        Ok(())
    }
}
