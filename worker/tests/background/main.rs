//! Integration tests of the background work against real PostgreSQL, Redis and object storage:
//! the outbox relay, the job handlers, the worker, the scheduler and the nightly tasks.

mod handlers;
mod loans;
mod metrics;
mod nightly;
mod outbox;
mod reports;
mod scheduler;
mod support;
mod webhooks;
