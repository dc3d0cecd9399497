//! Wallet balances. A wallet row appears with the first credit; the CHECK constraint keeps
//! balances non-negative whatever the code does.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::Result;

pub async fn credit(conn: &mut PgConnection, user_id: Uuid, amount: i64) -> Result<()> {
    sqlx::query(
        "insert into wallets (user_id, balance) values ($1, $2)
         on conflict (user_id) do update set balance = wallets.balance + excluded.balance, updated_at = now()",
    )
    .bind(user_id)
    .bind(amount)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes `amount` if the wallet holds it; false (and nothing changed) otherwise.
pub async fn debit(conn: &mut PgConnection, user_id: Uuid, amount: i64) -> Result<bool> {
    let done = sqlx::query(
        "update wallets set balance = balance - $2, updated_at = now()
         where user_id = $1 and balance >= $2",
    )
    .bind(user_id)
    .bind(amount)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn balance(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<i64> {
    Ok(
        sqlx::query_scalar::<_, i64>("select balance from wallets where user_id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?
            .unwrap_or(0),
    )
}
