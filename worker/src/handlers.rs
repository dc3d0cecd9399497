//! Runs the queued jobs (`domain::background::QueuedJob`): one attempt per call, with the retry
//! and dead-letter decisions. What each job does lives with the job.

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data};
use domain::background::{BackgroundJob, JobContext, QueuedJob};
use domain::jobs::dead_letter;

/// What the worker hands every job run. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WorkerContext {
    pub jobs: JobContext,
    /// Attempts per job; the last failure goes to the dead-letter list.
    pub max_attempts: usize,
}

/// Runs one attempt. A failure is returned for the retry layer to try again after a backoff;
/// the last attempt's failure is recorded in the dead-letter list and returned as an abort, so
/// neither the retry layer nor Redis runs it again by itself.
#[tracing::instrument(skip_all, fields(job = <J as BackgroundJob>::NAME, attempt = attempt.current()))]
pub async fn handle<J: QueuedJob>(
    job: J,
    ctx: Data<WorkerContext>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let Err(e) = job.run(&ctx.jobs).await else {
        return Ok(());
    };
    let attempts = attempt.current();
    if attempts < ctx.max_attempts {
        tracing::warn!(error = %e, "job failed; will retry");
        return Err(e.into());
    }
    tracing::error!(error = %e, "job failed its last attempt; dead-lettered");
    if let Err(hook) = job.dead_lettered(&ctx.jobs, &e.to_string()).await {
        tracing::error!(error = %hook, "recording the given-up job failed");
    }
    dead_letter::record(
        &ctx.jobs.app.infra.kv,
        job.into_job(),
        e.to_string(),
        attempts,
        chrono::Utc::now(),
    )
    .await?;
    Err(AbortError::new(e).into())
}
