//! Operations: the nightly safety nets that are not a business context of their own, database
//! backups and ledger digests.

pub mod backup;
pub mod ledger_digest;
