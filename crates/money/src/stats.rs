//! Rebuilding a campaign's stats from its donations. The donation path keeps the sharded stats
//! exact in its own transaction; this is the independent check that finds and repairs drift
//! (a bug, a manual edit) and reports it. The donations are this context's; the stats rows are
//! the campaigns context's and are read and rewritten through its repository.

use std::collections::HashMap;

use campaigns::repo::{self as campaigns_repo, StatTotals as Totals};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::repo;
use platform::error::Result;

/// The outcome of one recompute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsCheck {
    pub campaign_id: Uuid,
    /// From the completed donations.
    pub expected: Totals,
    /// From `campaign_stats_shards` before any correction.
    pub recorded: Totals,
    /// `campaign_donors` rows whose standing count disagreed with the donations.
    pub donor_rows_off: i64,
    /// True when drift was found and the stats were rewritten.
    pub corrected: bool,
}

impl StatsCheck {
    pub fn drifted(&self) -> bool {
        self.expected != self.recorded || self.donor_rows_off > 0
    }
}

/// Compares the campaign's stats with its donations and rewrites them when they differ.
///
/// The comparison reads donations and stats in one snapshot (a repeatable-read transaction)
/// and needs no lock: donations committed concurrently count on both sides alike. Only when
/// drift shows up is the campaign locked against donations (briefly, for the rewrite) and the
/// comparison repeated before the rewrite, so no concurrent donation can be lost. Running it
/// again afterwards finds nothing to do.
#[tracing::instrument(skip_all, fields(%campaign_id))]
pub async fn recompute(pool: &PgPool, campaign_id: Uuid) -> Result<StatsCheck> {
    let mut snapshot = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *snapshot)
        .await?;
    let (first, _) = compare(&mut snapshot, campaign_id).await?;
    snapshot.commit().await?;
    if !first.drifted() {
        return Ok(first);
    }
    let mut tx = pool.begin().await?;
    // Donations and refunds hold a key-share lock on their campaign's row while they change its
    // stats; this waits for those in flight and holds new ones off until the rewrite commits.
    campaigns_repo::lock_exclusive(&mut tx, campaign_id).await?;
    let (mut check, standing) = compare(&mut tx, campaign_id).await?;
    if check.drifted() {
        campaigns_repo::rewrite_stats(&mut tx, campaign_id, check.expected, &standing).await?;
        check.corrected = true;
        tracing::warn!(
            expected = ?check.expected,
            recorded = ?check.recorded,
            donor_rows_off = check.donor_rows_off,
            "campaign stats drifted from donations; corrected"
        );
    }
    tx.commit().await?;
    Ok(check)
}

/// The check, and each donor's standing donation count as the donations say.
async fn compare(
    conn: &mut PgConnection,
    campaign_id: Uuid,
) -> Result<(StatsCheck, Vec<(Uuid, i64)>)> {
    let given = repo::standing_by_donor(conn, campaign_id).await?;
    let (recorded, donor_rows) = campaigns_repo::recorded_stats(conn, campaign_id).await?;
    let expected = Totals {
        raised_amount: given.iter().map(|g| g.2).sum(),
        donations_count: given.iter().map(|g| g.1).sum(),
        donors_count: given.len() as i64,
    };
    let standing: Vec<(Uuid, i64)> = given.iter().map(|&(donor, n, _)| (donor, n)).collect();
    let mut recorded_by_donor: HashMap<Uuid, i64> = donor_rows.into_iter().collect();
    let mut donor_rows_off = 0;
    for (donor, n) in &standing {
        if recorded_by_donor.remove(donor).unwrap_or(0) != *n {
            donor_rows_off += 1;
        }
    }
    donor_rows_off += recorded_by_donor.values().filter(|&&n| n != 0).count() as i64;
    let check = StatsCheck {
        campaign_id,
        expected,
        recorded,
        donor_rows_off,
        corrected: false,
    };
    Ok((check, standing))
}
