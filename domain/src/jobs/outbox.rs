//! The transactional outbox table: written inside the caller's transaction, so an event exists
//! exactly when the change that caused it committed.

use sqlx::PgConnection;

use super::Event;
use crate::error::Result;

/// Records `event` in the caller's transaction.
pub async fn record(conn: &mut PgConnection, event: &Event) -> Result<()> {
    let payload = serde_json::to_value(event).map_err(crate::Error::internal)?;
    sqlx::query("insert into outbox (kind, payload) values ($1, $2)")
        .bind(event.kind())
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(())
}
