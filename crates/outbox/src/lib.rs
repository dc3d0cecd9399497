//! The transactional outbox: domain events written inside the caller's transaction, so an event
//! exists exactly when the change that caused it committed. Every context records its events
//! here; the worker's relay (`jobs::relay`) claims committed rows and turns them into jobs.
//! This crate owns the `outbox` table.

mod event;
mod repo;

pub use event::{Event, Settlement};
pub use repo::{claim_unsent, lag_seconds, mark_sent, prune_sent, record, record_many};

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &["outbox"];
