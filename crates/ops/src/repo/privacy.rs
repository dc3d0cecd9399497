//! A user's own records, each section one query over the published views that returns JSON.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use platform::error::Result;

/// `(section, query)`: each query takes the user's id as `$1` and returns one JSON array (or
/// object).
pub(crate) const SECTIONS: &[(&str, &str)] = &[
    (
        "profile",
        "select to_jsonb(u) - 'full_name' - 'short_name' from read.users u where u.id = $1",
    ),
    (
        "wallet",
        "select jsonb_build_object('balance', coalesce((select balance from read.wallets
                                                         where user_id = $1), 0))",
    ),
    (
        "walletLedger",
        "select coalesce(jsonb_agg(to_jsonb(e) order by e.id), '[]') from read.ledger_entries e
         where e.account = 'wallet:' || $1::text",
    ),
    (
        "deposits",
        "select coalesce(jsonb_agg(to_jsonb(d) order by d.created_at), '[]') from read.deposits d
         where d.user_id = $1",
    ),
    (
        "payoutAccounts",
        "select coalesce(jsonb_agg(to_jsonb(a) order by a.created_at), '[]')
         from read.payout_accounts a where a.user_id = $1",
    ),
    (
        "payouts",
        "select coalesce(jsonb_agg(to_jsonb(p) order by p.created_at), '[]') from read.payouts p
         where p.user_id = $1",
    ),
    (
        "donations",
        "select coalesce(jsonb_agg(to_jsonb(d) order by d.created_at), '[]') from read.donations d
         where d.donor_id = $1",
    ),
    (
        "recurringDonations",
        "select coalesce(jsonb_agg(to_jsonb(r) order by r.created_at), '[]')
         from read.recurring_donations r where r.donor_id = $1",
    ),
    (
        "campaigns",
        "select coalesce(jsonb_agg(to_jsonb(c) order by c.created_at), '[]') from read.campaigns c
         where c.creator_id = $1",
    ),
    (
        "withdrawals",
        "select coalesce(jsonb_agg(to_jsonb(w) order by w.created_at), '[]')
         from read.withdrawals w where w.user_id = $1",
    ),
    (
        "loans",
        "select coalesce(jsonb_agg(to_jsonb(l) order by l.created_at), '[]') from read.loans l
         where l.borrower_id = $1",
    ),
    (
        "loanRepayments",
        "select coalesce(jsonb_agg(to_jsonb(r) order by r.created_at), '[]')
         from read.loan_repayments r where r.borrower_id = $1",
    ),
    (
        "loanShares",
        "select coalesce(jsonb_agg(to_jsonb(s) order by s.created_at), '[]')
         from read.loan_shares s where s.lender_id = $1",
    ),
    (
        "repaymentsReceived",
        "select coalesce(jsonb_agg(to_jsonb(d)), '[]') from read.loan_distributions d
         where d.lender_id = $1",
    ),
    (
        "apiKeys",
        "select coalesce(jsonb_agg(to_jsonb(k) order by k.created_at), '[]') from read.api_keys k
         where k.user_id = $1",
    ),
    (
        "webhookEndpoints",
        "select coalesce(jsonb_agg(to_jsonb(w) order by w.created_at), '[]')
         from read.webhook_endpoints w where w.owner_id = $1 or w.created_by = $1",
    ),
];

pub(crate) async fn section(
    conn: &mut PgConnection,
    query: &'static str,
    user_id: Uuid,
) -> Result<Value> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(query))
        .bind(user_id)
        .fetch_optional(conn)
        .await?
        .unwrap_or(Value::Null))
}

/// Makes the transaction one read-only snapshot (its first statement).
pub(crate) async fn snapshot(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(conn)
        .await?;
    Ok(())
}
