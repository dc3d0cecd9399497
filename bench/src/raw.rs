//! The baseline: one donation as raw SQL from this process, no HTTP. The statements of group
//! commit (`crates/money/src/group_commit.rs`) for one donation, one row each, in the same
//! order and in one transaction: claim the idempotency key (stored with the answer), take the
//! campaign's key-share gate, debit the wallet, write two ledger lines, insert the donation,
//! add the gift to `campaign_donors` and a stats shard, record the outbox event, commit.

use anyhow::{Result, bail};
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::PgPool;
use uuid::Uuid;

const STAT_SHARDS: i16 = 16;

pub async fn donate(
    db: &PgPool,
    donor: Uuid,
    campaign: Uuid,
    amount: i64,
    key: &str,
) -> Result<()> {
    // The api stores a SHA-256 hex fingerprint of the request; any 64 hex digits do here.
    let fingerprint = format!("{:032x}{:032x}", campaign.as_u128(), amount as u128);
    // The answer is known before anything is written, so the key is stored with it.
    let (id, created_at) = (Uuid::now_v7(), Utc::now().trunc_subsecs(6));
    let response = serde_json::json!({
        "id": id,
        "campaign_id": campaign,
        "donor_id": donor,
        "amount": amount,
        "anonymous": false,
        "message": null,
        "status": "completed",
        "created_at": created_at,
        "refunded_at": null,
    });
    let mut tx = db.begin().await?;
    let claimed = sqlx::query(
        "insert into idempotency_keys (user_id, key, request_hash, response_status, response)
         values ($1, $2, $3, 201, $4) on conflict do nothing",
    )
    .bind(donor)
    .bind(key)
    .bind(&fingerprint)
    .bind(response)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        bail!("idempotency key {key} was already used");
    }
    let gate: Option<(String, Option<DateTime<Utc>>)> =
        sqlx::query_as("select status, deadline from campaigns where id = $1 for key share")
            .bind(campaign)
            .fetch_optional(&mut *tx)
            .await?;
    match gate {
        Some((status, deadline))
            if status == "active" && deadline.is_none_or(|d| d > Utc::now()) => {}
        _ => bail!("campaign {campaign} is not accepting donations"),
    }
    let debited = sqlx::query(
        "update wallets set balance = balance - $2, updated_at = now()
         where user_id = $1 and balance >= $2",
    )
    .bind(donor)
    .bind(amount)
    .execute(&mut *tx)
    .await?;
    if debited.rows_affected() != 1 {
        bail!("insufficient funds");
    }
    let txn = Uuid::now_v7();
    sqlx::query(
        "insert into ledger_entries (txn_id, account, amount, kind)
         select $1, account, amount, $4 from unnest($2::text[], $3::bigint[]) as t(account, amount)",
    )
    .bind(txn)
    .bind(vec![format!("wallet:{donor}"), format!("campaign:{campaign}")])
    .bind(vec![-amount, amount])
    .bind("donation")
    .execute(&mut *tx)
    .await?;
    let shard: i16 = rand::random_range(0..STAT_SHARDS);
    sqlx::query(
        "insert into donations
            (id, campaign_id, donor_id, amount, anonymous, message, created_at, ledger_txn, shard)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(campaign)
    .bind(donor)
    .bind(amount)
    .bind(false)
    .bind(None::<String>)
    .bind(created_at)
    .bind(txn)
    .bind(shard)
    .execute(&mut *tx)
    .await?;
    let standing: i32 = sqlx::query_scalar(
        "insert into campaign_donors (campaign_id, donor_id, standing_donations)
         values ($1, $2, $3)
         on conflict (campaign_id, donor_id)
         do update set standing_donations = campaign_donors.standing_donations + excluded.standing_donations
         returning standing_donations",
    )
    .bind(campaign)
    .bind(donor)
    .bind(1i32)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "insert into campaign_stats_shards (campaign_id, shard, raised_amount, donors_count, donations_count)
         values ($1, $2, $3, $4, $5)
         on conflict (campaign_id, shard) do update set
            raised_amount = campaign_stats_shards.raised_amount + excluded.raised_amount,
            donors_count = campaign_stats_shards.donors_count + excluded.donors_count,
            donations_count = campaign_stats_shards.donations_count + excluded.donations_count",
    )
    .bind(campaign)
    .bind(shard)
    .bind(amount)
    .bind(i32::from(standing == 1))
    .bind(1i32)
    .execute(&mut *tx)
    .await?;
    sqlx::query("insert into outbox (kind, payload) values ($1, $2)")
        .bind("donation.created")
        .bind(serde_json::json!({
            "type": "donation_created",
            "donation_id": id,
            "campaign_id": campaign,
            "donor_id": donor,
            "amount": amount,
        }))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
