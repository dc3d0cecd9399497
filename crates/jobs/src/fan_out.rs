//! The `dispatch_webhooks` job's hand-over: the webhooks context records one delivery per
//! subscribed endpoint, and each delivery not yet attempted becomes a `deliver_webhook` job.

use sqlx::PgPool;

use super::kinds::{DeliverWebhook, Job};
use super::queue::Queues;
use outbox::Event;
use platform::error::Result;

/// Dispatches outbox event `event_id` and queues its fresh deliveries. Running it again inserts
/// nothing new and re-pushes under the same idempotency keys.
pub async fn dispatch_webhooks(
    primary: &PgPool,
    queues: &Queues,
    event_id: i64,
    event: &Event,
) -> Result<usize> {
    let fresh = webhooks::dispatch(primary, event_id, event).await?;
    let jobs = fresh
        .iter()
        .map(|&delivery_id| {
            (
                Job::DeliverWebhook(DeliverWebhook { delivery_id }),
                Some(format!("delivery:{delivery_id}")),
            )
        })
        .collect();
    queues.push_all(jobs).await?;
    Ok(fresh.len())
}
