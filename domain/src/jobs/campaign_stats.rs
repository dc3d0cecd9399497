//! Rebuilding a campaign's stats from its donations. The donation path keeps the sharded stats
//! exact in its own transaction; this is the independent check that finds and repairs drift
//! (a bug, a manual edit) and reports it.
//!
//! It reads the campaigns and money tables directly because that context has no rebuild
//! service of its own yet; when it does, this should call it instead.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::Result;

/// Stats as the sum over a campaign's shard rows, or as its donations say they should be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Totals {
    pub raised_amount: i64,
    pub donations_count: i64,
    pub donors_count: i64,
}

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
/// The comparison is one statement, so it sees donations and stats in one snapshot and needs no
/// lock: donations committed concurrently count on both sides alike. Only when drift shows up
/// is the campaign locked against donations (briefly, for the rewrite) and the comparison
/// repeated before the rewrite, so no concurrent donation can be lost. Running it
/// again afterwards finds nothing to do.
#[tracing::instrument(skip_all, fields(%campaign_id))]
pub async fn recompute(pool: &PgPool, campaign_id: Uuid) -> Result<StatsCheck> {
    let mut conn = pool.acquire().await?;
    let first = compare(&mut conn, campaign_id).await?;
    drop(conn);
    if !first.drifted() {
        return Ok(first);
    }
    let mut tx = pool.begin().await?;
    // Donations and refunds hold a key-share lock on their campaign's row while they change its
    // stats; this waits for those in flight and holds new ones off until the rewrite commits.
    sqlx::query("select 1 from campaigns where id = $1 for update")
        .bind(campaign_id)
        .execute(&mut *tx)
        .await?;
    let mut check = compare(&mut tx, campaign_id).await?;
    if check.drifted() {
        rewrite(&mut tx, campaign_id, check.expected).await?;
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

async fn compare(conn: &mut PgConnection, campaign_id: Uuid) -> Result<StatsCheck> {
    let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "with given as (
             select donor_id, count(*) as standing, sum(amount) as amount
             from donations
             where campaign_id = $1 and status = 'completed'
             group by donor_id
         ),
         shards as (
             select coalesce(sum(raised_amount), 0)::bigint as raised,
                    coalesce(sum(donations_count), 0)::bigint as donations,
                    coalesce(sum(donors_count), 0)::bigint as donors
             from campaign_stats_shards where campaign_id = $1
         ),
         donors as (
             select donor_id, standing_donations from campaign_donors where campaign_id = $1
         )
         select coalesce((select sum(amount) from given), 0)::bigint,
                coalesce((select sum(standing) from given), 0)::bigint,
                (select count(*) from given),
                shards.raised, shards.donations, shards.donors,
                (select count(*) from given g full join donors d using (donor_id)
                 where coalesce(g.standing, 0) <> coalesce(d.standing_donations, 0))
         from shards",
    )
    .bind(campaign_id)
    .fetch_one(conn)
    .await?;
    let (raised, donations, donors, rec_raised, rec_donations, rec_donors, donor_rows_off) = row;
    Ok(StatsCheck {
        campaign_id,
        expected: Totals {
            raised_amount: raised,
            donations_count: donations,
            donors_count: donors,
        },
        recorded: Totals {
            raised_amount: rec_raised,
            donations_count: rec_donations,
            donors_count: rec_donors,
        },
        donor_rows_off,
        corrected: false,
    })
}

/// Puts the whole total on the campaign's lowest shard and zeroes the others. Rows are kept,
/// never deleted, because the donation path updates existing shard rows.
async fn rewrite(conn: &mut PgConnection, campaign_id: Uuid, totals: Totals) -> Result<()> {
    let to_i32 = |n: i64| i32::try_from(n).map_err(crate::Error::internal);
    let (donations, donors) = (
        to_i32(totals.donations_count)?,
        to_i32(totals.donors_count)?,
    );
    let updated = sqlx::query(
        "update campaign_stats_shards s
         set raised_amount   = case when s.shard = m.first then $2 else 0 end,
             donations_count = case when s.shard = m.first then $3 else 0 end,
             donors_count    = case when s.shard = m.first then $4 else 0 end
         from (select min(shard) as first from campaign_stats_shards where campaign_id = $1) m
         where s.campaign_id = $1",
    )
    .bind(campaign_id)
    .bind(totals.raised_amount)
    .bind(donations)
    .bind(donors)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "insert into campaign_stats_shards
                 (campaign_id, shard, raised_amount, donations_count, donors_count)
             values ($1, 0, $2, $3, $4)",
        )
        .bind(campaign_id)
        .bind(totals.raised_amount)
        .bind(donations)
        .bind(donors)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "insert into campaign_donors (campaign_id, donor_id, standing_donations)
         select $1, donor_id, count(*)::int from donations
         where campaign_id = $1 and status = 'completed'
         group by donor_id
         on conflict (campaign_id, donor_id) do update
             set standing_donations = excluded.standing_donations
             where campaign_donors.standing_donations <> excluded.standing_donations",
    )
    .bind(campaign_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update campaign_donors d set standing_donations = 0
         where d.campaign_id = $1 and d.standing_donations <> 0
           and not exists (select 1 from donations x
                           where x.campaign_id = $1 and x.donor_id = d.donor_id
                             and x.status = 'completed')",
    )
    .bind(campaign_id)
    .execute(conn)
    .await?;
    Ok(())
}
