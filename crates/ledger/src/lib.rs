//! The ground floor of every money movement: double-entry postings, wallet balances, the
//! idempotency keys that make each movement happen once, and the nightly digests that make the
//! history tamper-evident. This crate alone writes `ledger_entries`, `wallets`,
//! `idempotency_keys` and `ledger_digests`.
//!
//! A movement goes: [`begin`] claims the caller's idempotency key inside a fresh transaction
//! (or returns the stored answer of an earlier identical call), the context writes its own rows
//! and its [`Posting`]s on [`Work::tx`], and [`Work::finish`] stores the answer and commits.

pub mod digest;
pub mod idempotency;
mod posting;
mod repo;
pub use repo::wallets;

use std::time::Instant;

use platform::infra::metrics::DB_TRANSACTION;
use serde::{Serialize, de::DeserializeOwned};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use idempotency::Claim;
use platform::Result;
pub use posting::{Account, LedgerLine, Posting, write_many};
pub use repo::entries::{balance_of, count_of, lines_of};

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &[
    "ledger_entries",
    "wallets",
    "idempotency_keys",
    "ledger_digests",
];

/// The result of an idempotent write: fresh, or the stored result of an earlier identical call.
#[derive(Debug)]
pub struct Idempotent<T> {
    pub value: T,
    pub replayed: bool,
}

/// A claimed idempotency key and the transaction the movement runs in.
pub struct Work {
    pub tx: Transaction<'static, Postgres>,
    user_id: Uuid,
    key: String,
    /// What kind of movement (the idempotency scope) and when its transaction began, for the
    /// transaction-time metric.
    scope: String,
    began: Instant,
}

impl Work {
    /// Stores `value` as the key's answer and commits everything written on `tx`.
    pub async fn finish<T: Serialize>(mut self, value: T) -> Result<Idempotent<T>> {
        idempotency::complete(&mut self.tx, self.user_id, &self.key, &value).await?;
        self.tx.commit().await?;
        metrics::histogram!(DB_TRANSACTION, "kind" => self.scope).record(self.began.elapsed());
        Ok(Idempotent {
            value,
            replayed: false,
        })
    }
}

/// What [`begin`] found: a fresh claim to work under, or the answer of an earlier identical call.
pub enum Started<T> {
    Fresh(Work),
    Replayed(Idempotent<T>),
}

/// Begins an idempotent money write on the primary: the stored result if `key` was used for
/// the same request (`scope` + `request`) before, otherwise a transaction holding the claim.
pub async fn begin<T: DeserializeOwned>(
    primary: &PgPool,
    user_id: Uuid,
    key: &str,
    scope: &str,
    request: &impl Serialize,
) -> Result<Started<T>> {
    let fingerprint = idempotency::fingerprint(scope, request)?;
    let began = Instant::now();
    let mut tx = primary.begin().await?;
    match idempotency::claim::<T>(&mut tx, user_id, key, &fingerprint).await? {
        Claim::Replay(value) => Ok(Started::Replayed(Idempotent {
            value,
            replayed: true,
        })),
        Claim::New => Ok(Started::Fresh(Work {
            tx,
            user_id,
            key: key.to_string(),
            scope: scope.to_string(),
            began,
        })),
    }
}
