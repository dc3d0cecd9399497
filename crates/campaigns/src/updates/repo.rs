//! SQL for campaign updates.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::CampaignUpdate;
use platform::error::Result;

/// Stores the update; returns when it was posted (the transaction's time).
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    campaign_id: Uuid,
    author_id: Uuid,
    title: &str,
    body: &str,
) -> Result<DateTime<Utc>> {
    Ok(sqlx::query_scalar(
        "insert into campaign_updates (id, campaign_id, author_id, title, body)
         values ($1, $2, $3, $4, $5) returning created_at",
    )
    .bind(id)
    .bind(campaign_id)
    .bind(author_id)
    .bind(title)
    .bind(body)
    .fetch_one(conn)
    .await?)
}

/// How many updates the campaign posted in the 24 hours before the transaction began.
pub async fn count_last_day(conn: &mut PgConnection, campaign_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select count(*) from campaign_updates
         where campaign_id = $1 and created_at > now() - interval '1 day'",
    )
    .bind(campaign_id)
    .fetch_one(conn)
    .await?)
}

/// One page of the campaign's updates, newest first, and how many it has.
pub async fn page(
    db: impl PgExecutor<'_> + Copy,
    campaign_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<CampaignUpdate>, i64)> {
    let items = sqlx::query_as(
        "select id, campaign_id, title, body, created_at from campaign_updates
         where campaign_id = $1 order by created_at desc, id desc limit $2 offset $3",
    )
    .bind(campaign_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar("select count(*) from campaign_updates where campaign_id = $1")
        .bind(campaign_id)
        .fetch_one(db)
        .await?;
    Ok((items, total))
}
