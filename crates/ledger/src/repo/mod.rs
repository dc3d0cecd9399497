//! SQL for the tables the ledger owns.

pub mod digests;
pub mod entries;
pub mod keys;
pub mod wallets;
