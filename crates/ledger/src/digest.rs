//! Nightly ledger digests: a Merkle root (SHA-256) over one UTC day's ledger lines, ordered by
//! id, stored once and never overwritten. Anyone holding a published root can later recompute
//! it from the ledger; a different root means that day's history was rewritten.
//!
//! The tree follows RFC 6962 (Certificate Transparency): a leaf hashes `0x00 || line`, an inner
//! node `0x01 || left || right`, an odd node is carried up unchanged, and an empty day's root is
//! SHA-256 of nothing. A line is `id|txn_id|account|amount|kind|created_at_unix_micros`.

use chrono::{DateTime, Days, NaiveDate, Utc};
use futures::TryStreamExt;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

use crate::repo::{digests, entries};

use platform::error::{Error, Result};
use platform::time::day_bounds;

pub type Hash = [u8; 32];

/// A day's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub day: NaiveDate,
    pub merkle_root: Hash,
    pub line_count: i64,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
}

impl Digest {
    pub fn root_hex(&self) -> String {
        hex::encode(self.merkle_root)
    }
}

/// A stored digest next to the ledger's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub stored: Option<Digest>,
    pub recomputed: Digest,
}

impl Verification {
    /// True when a digest was stored and the ledger still produces it.
    pub fn intact(&self) -> bool {
        self.stored.as_ref() == Some(&self.recomputed)
    }
}

/// The nightly task: digests the UTC day before `now`. Runs after midnight with a margin, so
/// transactions that began before midnight have committed.
pub async fn run_nightly(pool: &PgPool, now: DateTime<Utc>) -> Result<Digest> {
    let yesterday = now
        .date_naive()
        .checked_sub_days(Days::new(1))
        .ok_or_else(|| Error::internal("date out of range"))?;
    record_day(pool, yesterday).await
}

/// Stores `day`'s digest if none is stored yet. If one is, it is checked instead: a mismatch is
/// an error (and is never "fixed" by overwriting).
#[tracing::instrument(skip_all, fields(%day))]
pub async fn record_day(pool: &PgPool, day: NaiveDate) -> Result<Digest> {
    let digest = compute(pool, day).await?;
    digests::insert_once(pool, &digest).await?;
    let check = Verification {
        stored: stored(pool, day).await?,
        recomputed: digest,
    };
    if !check.intact() {
        tracing::error!(
            ?check,
            "ledger digest mismatch: history changed since it was recorded"
        );
        return Err(Error::internal(format!("ledger digest mismatch for {day}")));
    }
    Ok(check.recomputed)
}

/// Recomputes `day`'s digest and compares it with the stored one.
pub async fn verify(pool: &PgPool, day: NaiveDate) -> Result<Verification> {
    Ok(Verification {
        stored: stored(pool, day).await?,
        recomputed: compute(pool, day).await?,
    })
}

/// The stored digest of `day`, if any.
pub async fn stored(pool: &PgPool, day: NaiveDate) -> Result<Option<Digest>> {
    digests::find(pool, day)
        .await?
        .map(|r| {
            Ok(Digest {
                day,
                merkle_root: r
                    .merkle_root
                    .try_into()
                    .map_err(|_| Error::internal("stored merkle root is not 32 bytes"))?,
                line_count: r.line_count,
                first_id: r.first_id,
                last_id: r.last_id,
            })
        })
        .transpose()
}

/// Published digests, newest day first, before `before` if given (keyset paging).
pub async fn published(
    pool: &PgPool,
    before: Option<NaiveDate>,
    limit: i64,
) -> Result<Vec<Digest>> {
    let days = digests::days(pool, before, limit).await?;
    let mut digests = Vec::with_capacity(days.len());
    for day in days {
        if let Some(d) = stored(pool, day).await? {
            digests.push(d);
        }
    }
    Ok(digests)
}

/// Days whose stored digest the ledger no longer reproduces (history was rewritten).
pub async fn tampered_days(pool: &PgPool) -> Result<Vec<Verification>> {
    let mut days = digests::days(pool, None, i64::MAX).await?;
    days.reverse(); // oldest first
    let mut bad = Vec::new();
    for day in days {
        let check = verify(pool, day).await?;
        if !check.intact() {
            bad.push(check);
        }
    }
    Ok(bad)
}

/// Digests `day`'s ledger lines as they are now, streaming them in id order.
pub async fn compute(pool: &PgPool, day: NaiveDate) -> Result<Digest> {
    let (start, end) = day_bounds(day)?;
    let mut rows = entries::between(pool, start, end);
    let mut leaves = Vec::new();
    let (mut first_id, mut last_id) = (None, None);
    while let Some((id, txn, account, amount, kind, at)) = rows.try_next().await? {
        first_id.get_or_insert(id);
        last_id = Some(id);
        let line = format!(
            "{id}|{txn}|{account}|{amount}|{kind}|{}",
            at.timestamp_micros()
        );
        leaves.push(leaf_hash(line.as_bytes()));
    }
    Ok(Digest {
        day,
        merkle_root: merkle_root(&leaves),
        line_count: i64::try_from(leaves.len()).map_err(Error::internal)?,
        first_id,
        last_id,
    })
}

pub fn leaf_hash(line: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0u8])
        .chain_update(line)
        .finalize()
        .into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The root over `leaves` (already leaf-hashed), level by level.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        let mut pairs = level.chunks_exact(2);
        let mut next: Vec<Hash> = pairs.by_ref().map(|p| node_hash(&p[0], &p[1])).collect();
        next.extend_from_slice(pairs.remainder());
        level = next;
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u8) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[i])).collect()
    }

    #[test]
    fn the_root_of_one_leaf_is_that_leaf() {
        let l = leaves(1);
        assert_eq!(merkle_root(&l), l[0]);
    }

    #[test]
    fn an_odd_leaf_is_carried_up_unchanged() {
        let l = leaves(3);
        assert_eq!(merkle_root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
    }

    #[test]
    fn changing_order_or_any_line_changes_the_root() {
        let l = leaves(5);
        let mut swapped = l.clone();
        swapped.swap(1, 2);
        assert_ne!(merkle_root(&l), merkle_root(&swapped));
        let mut edited = l.clone();
        edited[4] = leaf_hash(b"forged");
        assert_ne!(merkle_root(&l), merkle_root(&edited));
    }

    #[test]
    fn the_empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(merkle_root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
