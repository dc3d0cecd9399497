//! Operations: the nightly safety net that is not a business context of its own, database
//! backups (the ledger digests live with the ledger).

pub mod backup;
