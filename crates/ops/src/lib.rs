//! Operations: the views and safety nets that read across contexts rather than owning one —
//! the admin dashboard, the nightly analytics roll-up, the ledger audit and database backups.
//! Everything here reads other contexts through their published `read.*` views.

pub mod admin;
pub mod analytics;
pub mod audit;
pub mod backup;
pub mod privacy;
mod repo;

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &["daily_analytics"];
