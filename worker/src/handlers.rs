//! Runs the queued jobs (`domain::background::QueuedJob`): one attempt per call, with the retry
//! and dead-letter decisions. What each job does lives with the job.

use std::time::Instant;

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data};
use domain::background::{BackgroundJob, JobContext, QueuedJob};
use domain::infra::metrics::{JOB_DURATION, JOB_FAILURES};
use domain::infra::telemetry;
use domain::jobs::dead_letter;

/// What the worker hands every job run. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WorkerContext {
    pub jobs: JobContext,
    /// Attempts per job; the last failure goes to the dead-letter list.
    pub max_attempts: usize,
}

/// Runs one attempt, timed and counted by kind in the metrics, under a Sentry scope naming the
/// job. A failure is returned for the retry layer to try again after a backoff; the last
/// attempt's failure is recorded in the dead-letter list and returned as an abort, so neither
/// the retry layer nor Redis runs it again by itself.
#[tracing::instrument(skip_all, fields(job = <J as BackgroundJob>::NAME, attempt = attempt.current()))]
pub async fn handle<J: QueuedJob>(
    job: J,
    ctx: Data<WorkerContext>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let kind = <J as BackgroundJob>::NAME;
    let attempts = attempt.current();
    let number = attempts.to_string();
    let tags = [("job_kind", kind), ("job_attempt", number.as_str())];
    telemetry::with_sentry_tags(&tags, run_attempt(job, &ctx, attempts)).await
}

async fn run_attempt<J: QueuedJob>(
    job: J,
    ctx: &WorkerContext,
    attempts: usize,
) -> Result<(), BoxDynError> {
    let kind = <J as BackgroundJob>::NAME;
    let started = Instant::now();
    let result = job.run(&ctx.jobs).await;
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    metrics::histogram!(JOB_DURATION, "kind" => kind, "outcome" => outcome)
        .record(started.elapsed());
    let Err(e) = result else {
        return Ok(());
    };
    metrics::counter!(JOB_FAILURES, "kind" => kind).increment(1);
    if attempts < ctx.max_attempts {
        tracing::warn!(error = %e, "job failed; will retry");
        return Err(e.into());
    }
    tracing::error!(error = %e, "job failed its last attempt; dead-lettered");
    if let Err(hook) = job.dead_lettered(&ctx.jobs, &e.to_string()).await {
        tracing::error!(error = %hook, "recording the given-up job failed");
    }
    dead_letter::record(
        &ctx.jobs.app.infra.db.write,
        job.into_job(),
        e.to_string(),
        attempts,
        chrono::Utc::now(),
    )
    .await?;
    Err(AbortError::new(e).into())
}
