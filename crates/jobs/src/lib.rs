//! Background work. Services record domain events in the outbox in the same transaction as the
//! change; the worker's relay turns committed events into apalis jobs on Redis (one queue per
//! job kind), and the worker runs them. Delivery is at least once, so every handler here is
//! idempotent; a job that fails its last attempt lands in the dead-letter list.

pub mod cache;
pub mod dead_letter;
pub mod fan_out;
pub mod kinds;
pub mod queue;
pub mod relay;
pub mod reminders;
mod repo;
pub use repo::runs;

pub use kinds::{
    DeliverWebhook, DispatchWebhooks, GenerateReport, InvalidateCache, Job, JobKind, NotifyDonors,
    RecomputeCampaignStats, ScoreLoan, SendNotification,
};
pub use outbox::Event;
pub use queue::Queues;

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &["scheduler_runs", "dead_letters"];
