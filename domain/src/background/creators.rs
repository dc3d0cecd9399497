//! Creators' scheduled mail: the hourly digest of the gifts their campaigns received. The
//! scheduler sends no mail, so its job only queues the hour's `send_donation_digests` walk for
//! the worker, which emails each creator given to in that hour once.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use jobs::Job;
use jobs::kinds::SendDonationDigests;

use super::BackgroundJob;
use crate::{App, Result};

/// The donation digests of the last full UTC hour before `now`: one email per creator whose
/// campaigns were given to in it. Ticks a few minutes past the hour, so gifts stamped just
/// before it (`created_at` is their transaction's start) have committed.
#[derive(Debug, Clone, Copy)]
pub struct DonationDigest {
    pub now: DateTime<Utc>,
}

impl BackgroundJob for DonationDigest {
    const NAME: &'static str = "donation_digest";
    type Context = App;

    async fn run(&self, app: &App) -> Result<()> {
        let hour = notifications::hour_start(self.now) - Duration::hours(1);
        let queues = jobs::Queues::new(&app.infra.kv);
        // Keyed by the hour, so a second tick for the same hour queues nothing new (and the
        // emails are deduplicated per creator and hour anyway).
        let key = format!(
            "donation_digest:{}",
            hour.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        let job = Job::SendDonationDigests(SendDonationDigests { hour });
        queues.push_all(vec![(job, Some(key))]).await?;
        tracing::info!(%hour, "donation digests queued");
        Ok(())
    }
}
