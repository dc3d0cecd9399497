//! Scheduler runs: each scheduled task claims its tick in `scheduler_runs` before it starts, so
//! a tick runs once however many schedulers see it, and the table keeps the run history.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use platform::error::Result;

/// Claims `task`'s run for `scheduled_for`. False when some scheduler already claimed it.
pub async fn claim(pool: &PgPool, task: &str, scheduled_for: DateTime<Utc>) -> Result<bool> {
    let claimed = sqlx::query(
        "insert into scheduler_runs (task, scheduled_for) values ($1, $2)
         on conflict (task, scheduled_for) do nothing",
    )
    .bind(task)
    .bind(scheduled_for)
    .execute(pool)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Records how a claimed run ended.
pub async fn finish(
    pool: &PgPool,
    task: &str,
    scheduled_for: DateTime<Utc>,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "update scheduler_runs set finished_at = now(), error = $3
         where task = $1 and scheduled_for = $2",
    )
    .bind(task)
    .bind(scheduled_for)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes finished runs scheduled before `before`; a run still claimed stays.
pub async fn prune(pool: &PgPool, before: DateTime<Utc>) -> Result<u64> {
    platform::infra::db::prune(
        pool,
        "delete from scheduler_runs where ctid in
           (select ctid from scheduler_runs
            where scheduled_for < $1 and finished_at is not null limit $2)",
        before,
    )
    .await
}
