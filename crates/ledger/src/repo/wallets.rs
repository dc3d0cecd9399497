//! Wallet balances. A wallet row appears with the first credit; the CHECK constraint keeps
//! balances non-negative whatever the code does.

use std::collections::HashSet;

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use platform::error::Result;

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
    Ok(debit_many(conn, &[user_id], &[amount])
        .await?
        .contains(&user_id))
}

/// Takes each amount from its user's wallet where the wallet holds it, in one statement;
/// returns the users whose wallets were debited. Each user at most once per call; callers
/// pass users in a stable order so that concurrent batches lock wallets in the same order.
pub async fn debit_many(
    conn: &mut PgConnection,
    users: &[Uuid],
    amounts: &[i64],
) -> Result<HashSet<Uuid>> {
    let debited: Vec<Uuid> = sqlx::query_scalar(
        "update wallets w set balance = w.balance - t.amount, updated_at = now()
         from unnest($1::uuid[], $2::bigint[]) as t(user_id, amount)
         where w.user_id = t.user_id and w.balance >= t.amount
         returning w.user_id",
    )
    .bind(users)
    .bind(amounts)
    .fetch_all(conn)
    .await?;
    Ok(debited.into_iter().collect())
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

/// Locks the wallets a transaction is about to change, in id order, so two money movements
/// touching the same wallets (a borrower who also lends, say) cannot deadlock. Wallets without
/// a row yet have nothing to lock; their first credit creates the row.
pub async fn lock(conn: &mut PgConnection, mut user_ids: Vec<Uuid>) -> Result<()> {
    user_ids.sort();
    user_ids.dedup();
    sqlx::query("select 1 from wallets where user_id = any($1) order by user_id for update")
        .bind(&user_ids)
        .execute(conn)
        .await?;
    Ok(())
}
