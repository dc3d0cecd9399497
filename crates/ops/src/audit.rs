//! The audit: checks that balances and campaign stats equal what the ledger and the donations
//! say, and that every ledger transaction balances. Read-only; reports drift, fixes nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

use crate::repo::{self, audit as checks};
use platform::error::Result;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Drift {
    /// What disagrees: `unbalanced_transaction`, `wallet_balance`, `campaign_stats`,
    /// `campaign_account`, `loan_account`, `loan_totals`, `payouts_pending`, `fees_processing`,
    /// `ledger_digest`.
    pub kind: String,
    /// Which transaction, wallet or campaign.
    pub subject: String,
    pub expected: i64,
    pub actual: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub ok: bool,
    pub checked_at: DateTime<Utc>,
    pub ledger_lines: i64,
    pub drift: Vec<Drift>,
}

async fn drift(db: impl PgExecutor<'_>, kind: &str, sql: &'static str) -> Result<Vec<Drift>> {
    let rows = repo::audit::disagreements(db, sql).await?;
    Ok(rows
        .into_iter()
        .map(|(subject, expected, actual)| Drift {
            kind: kind.to_string(),
            subject,
            expected,
            actual,
        })
        .collect())
}

/// Runs every check; pass the primary (replicas may lag).
#[tracing::instrument(skip_all)]
pub async fn run(db: &PgPool) -> Result<AuditReport> {
    let mut all = drift(db, "unbalanced_transaction", checks::UNBALANCED).await?;
    all.extend(drift(db, "wallet_balance", checks::WALLETS).await?);
    all.extend(drift(db, "campaign_stats", checks::STATS).await?);
    all.extend(drift(db, "campaign_account", checks::CAMPAIGN_ACCOUNTS).await?);
    all.extend(drift(db, "loan_account", checks::LOAN_ACCOUNTS).await?);
    all.extend(drift(db, "loan_totals", checks::LOAN_TOTALS).await?);
    all.extend(drift(db, "payouts_pending", checks::PAYOUTS_PENDING).await?);
    all.extend(drift(db, "fees_processing", checks::FEES_PROCESSING).await?);
    for check in ledger::digest::tampered_days(db).await? {
        all.push(Drift {
            kind: "ledger_digest".into(),
            subject: check.recomputed.day.to_string(),
            expected: check.stored.map(|d| d.line_count).unwrap_or(0),
            actual: check.recomputed.line_count,
        });
    }
    let ledger_lines = repo::audit::ledger_lines(db).await?;
    if !all.is_empty() {
        tracing::error!(drift = all.len(), "ledger audit found drift");
    }
    Ok(AuditReport {
        ok: all.is_empty(),
        checked_at: Utc::now(),
        ledger_lines,
        drift: all,
    })
}
