//! The double-entry ledger: every money movement is a set of lines under one transaction id
//! that sums to zero. A trigger re-checks the sum of each insert statement's lines per
//! transaction, so a transaction's lines must go in one statement (as [`write_many`] does).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::repo::entries;
use platform::error::{Error, Result};

/// A ledger account. Positive amounts increase its balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// A user's spendable money.
    Wallet(Uuid),
    /// Money given to a campaign and not yet paid out or refunded.
    Campaign(Uuid),
    /// A loan's escrow: lenders' money before disbursement, repayments before distribution.
    Loan(Uuid),
    /// The world outside: deposits come from it (so its balance is negative).
    ExternalPayments,
    /// Payouts taken from wallets and not yet confirmed paid or failed by the provider.
    PayoutsPending,
    /// What the payment provider kept as its fee on deposits and payouts.
    FeesProcessing,
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Wallet(id) => write!(f, "wallet:{id}"),
            Account::Campaign(id) => write!(f, "campaign:{id}"),
            Account::Loan(id) => write!(f, "loan:{id}"),
            Account::ExternalPayments => f.write_str("external:payments"),
            Account::PayoutsPending => f.write_str("payouts:pending"),
            Account::FeesProcessing => f.write_str("fees:processing"),
        }
    }
}

/// A balanced set of lines, checked before anything is written.
pub struct Posting {
    kind: &'static str,
    lines: Vec<(Account, i64)>,
}

impl Posting {
    /// A transfer of `amount` (> 0) from one account to another.
    pub fn transfer(kind: &'static str, from: Account, to: Account, amount: i64) -> Result<Self> {
        Self::new(kind, vec![(from, -amount), (to, amount)])
    }

    pub fn new(kind: &'static str, lines: Vec<(Account, i64)>) -> Result<Self> {
        let lines: Vec<_> = lines.into_iter().filter(|(_, a)| *a != 0).collect();
        if lines.len() < 2 {
            return Err(Error::internal(
                "a posting needs at least two non-zero lines",
            ));
        }
        let sum = lines
            .iter()
            .try_fold(0i64, |acc, (_, a)| acc.checked_add(*a))
            .ok_or_else(|| Error::internal("posting overflows"))?;
        if sum != 0 {
            return Err(Error::internal(format!(
                "posting {kind} is unbalanced by {sum}"
            )));
        }
        Ok(Self { kind, lines })
    }

    /// Writes the lines under a new transaction id, in the caller's database transaction.
    pub async fn write(self, conn: &mut PgConnection) -> Result<Uuid> {
        write_many(conn, vec![self])
            .await?
            .pop()
            .ok_or_else(|| Error::internal("a written posting has no transaction id"))
    }
}

/// Writes many postings in one statement, each under a new transaction id (returned in order).
pub async fn write_many(conn: &mut PgConnection, postings: Vec<Posting>) -> Result<Vec<Uuid>> {
    let mut txn_ids = Vec::with_capacity(postings.len());
    let (mut txns, mut accounts, mut amounts, mut kinds) = (vec![], vec![], vec![], vec![]);
    for posting in postings {
        let txn_id = Uuid::now_v7();
        for (account, amount) in posting.lines {
            txns.push(txn_id);
            accounts.push(account.to_string());
            amounts.push(amount);
            kinds.push(posting.kind);
        }
        txn_ids.push(txn_id);
    }
    entries::insert(conn, &txns, &accounts, &amounts, &kinds).await?;
    Ok(txn_ids)
}

#[derive(Debug, Clone, Serialize, Deserialize, FromRow)]
pub struct LedgerLine {
    pub id: i64,
    pub txn_id: Uuid,
    pub account: String,
    pub amount: i64,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbalanced_posting_is_refused_before_anything_is_written() {
        let a = Account::Wallet(Uuid::nil());
        assert!(Posting::new("x", vec![(a, 5), (Account::ExternalPayments, -4)]).is_err());
        assert!(Posting::new("x", vec![(a, 5)]).is_err());
        assert!(Posting::new("x", vec![(a, 5), (Account::ExternalPayments, -5)]).is_ok());
    }

    #[test]
    fn overflowing_lines_are_refused() {
        let a = Account::Wallet(Uuid::nil());
        let lines = vec![
            (a, i64::MAX),
            (a, i64::MAX),
            (Account::ExternalPayments, -1),
        ];
        assert!(Posting::new("x", lines).is_err());
    }

    #[test]
    fn accounts_have_stable_names() {
        let id = Uuid::nil();
        assert_eq!(Account::Campaign(id).to_string(), format!("campaign:{id}"));
        assert_eq!(Account::ExternalPayments.to_string(), "external:payments");
        assert_eq!(Account::PayoutsPending.to_string(), "payouts:pending");
        assert_eq!(Account::FeesProcessing.to_string(), "fees:processing");
    }
}
