//! A user's copy of everything Commonpot holds about them (`GET /api/users/me/export`), read
//! from every context's published views in one repeatable-read snapshot, so the sections agree
//! with each other.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::repo::privacy::{SECTIONS, section, snapshot};
use platform::Handles;
use platform::error::Result;

/// Every section for `user_id`, keyed by name. Read from the primary: a user who just gave or
/// changed something expects to see it.
pub async fn export(infra: &Handles, user_id: Uuid) -> Result<Map<String, Value>> {
    let mut tx = infra.db.write.begin().await?;
    snapshot(&mut tx).await?;
    let mut out = Map::new();
    for &(name, query) in SECTIONS {
        out.insert(name.to_string(), section(&mut tx, query, user_id).await?);
    }
    tx.commit().await?;
    Ok(out)
}
