//! Background work. Services record domain events in the outbox in the same transaction as the
//! change; the worker's relay turns committed events into apalis jobs on Redis.

pub mod events;
pub mod outbox;

pub use events::Event;
