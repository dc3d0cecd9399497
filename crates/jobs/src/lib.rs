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
pub mod runs;

pub use kinds::{
    DeliverWebhook, DispatchWebhooks, GenerateReport, InvalidateCache, Job, JobKind,
    RecomputeCampaignStats, ScoreLoan, SendNotification,
};
pub use outbox::Event;
pub use queue::Queues;
