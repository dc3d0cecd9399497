//! The admin audit log: who did what to which thing, when, why, and what it looked like before
//! and after. Each admin action records its entry on the transaction that makes the change, so
//! the entry exists exactly when the change committed. Like the ledger, the table is
//! append-only (a trigger refuses updates and deletes). This crate owns the `audit_log` table.

mod model;
mod repo;

pub use model::{Action, Actor, AuditEntry, Change, Filter, Page};
pub use repo::{list, record};

/// The tables this context owns: only its repository queries them.
pub const TABLES: &[&str] = &["audit_log"];
