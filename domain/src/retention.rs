//! What Commonpot keeps, and for how long, of the records that only serve operations: the
//! nightly `retention` task deletes what is older than its period, a batch at a time. The
//! ledger, donations, loans, the audit log and anything about money are never pruned.

use chrono::{DateTime, Duration, Utc};

use crate::{App, Result};

/// The periods, also in the README ("Data retention").
pub const IDEMPOTENCY_KEYS: Duration = Duration::days(30);
pub const SENT_OUTBOX_ROWS: Duration = Duration::days(7);
pub const WEBHOOK_ATTEMPTS: Duration = Duration::days(30);
pub const NOTIFICATION_RECORDS: Duration = Duration::days(180);
pub const SCHEDULER_RUNS: Duration = Duration::days(30);
pub const RETRIED_DEAD_LETTERS: Duration = Duration::days(30);
pub const EXPIRED_ACCOUNT_LINKS: Duration = Duration::days(7);

/// Rows deleted, per kind of record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub idempotency_keys: u64,
    pub outbox_rows: u64,
    pub webhook_attempts: u64,
    pub notification_records: u64,
    pub scheduler_runs: u64,
    pub dead_letters: u64,
    pub account_links: u64,
}

/// Deletes every record older than its period as of `now`. Safe to run again at any time.
pub async fn run(app: &App, now: DateTime<Utc>) -> Result<Pruned> {
    let db = &app.infra.db.write;
    Ok(Pruned {
        idempotency_keys: ledger::idempotency::prune(db, now - IDEMPOTENCY_KEYS).await?,
        outbox_rows: outbox::prune_sent(db, now - SENT_OUTBOX_ROWS).await?,
        webhook_attempts: webhooks::prune_attempts(db, now - WEBHOOK_ATTEMPTS).await?,
        notification_records: notifications::repo::prune(db, now - NOTIFICATION_RECORDS).await?,
        scheduler_runs: jobs::runs::prune(db, now - SCHEDULER_RUNS).await?,
        dead_letters: jobs::dead_letter::prune_retried(db, now - RETRIED_DEAD_LETTERS).await?,
        account_links: accounts::repo::prune_tokens(db, now - EXPIRED_ACCOUNT_LINKS).await?,
    })
}
