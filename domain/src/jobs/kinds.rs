//! Job payloads: typed, serde-encoded, each with a unique constant name that is also its queue
//! name. Producers (the outbox relay, admin retries, the scheduler) and consumers (the worker)
//! share these types, so both sides always agree on the queue and the encoding.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Event;
use super::cache;
use crate::notifications::Notification;

/// A job payload type. The queue is `{REDIS_KEY_PREFIX}jobs:{NAME}`.
pub trait JobKind:
    Serialize + DeserializeOwned + Clone + std::fmt::Debug + Send + Sync + Unpin + 'static
{
    const NAME: &'static str;
}

/// Rebuild one campaign's stats from its donations, correcting and reporting any drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecomputeCampaignStats {
    pub campaign_id: Uuid,
}

impl JobKind for RecomputeCampaignStats {
    const NAME: &'static str = "recompute_campaign_stats";
}

/// Delete cache entries a change made stale. Names are relative to the Redis key prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidateCache {
    /// Exact keys to delete.
    pub keys: Vec<String>,
    /// Every key starting with one of these is deleted (list pages, whose keys embed filters).
    pub prefixes: Vec<String>,
}

impl JobKind for InvalidateCache {
    const NAME: &'static str = "invalidate_cache";
}

/// Send one email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendNotification {
    pub notification: Notification,
}

impl JobKind for SendNotification {
    const NAME: &'static str = "send_notification";
}

/// Any job, for code that handles every kind alike: the relay and the dead-letter list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Job {
    RecomputeCampaignStats(RecomputeCampaignStats),
    InvalidateCache(InvalidateCache),
    SendNotification(SendNotification),
}

impl Job {
    /// The kind's constant name (and queue).
    pub fn name(&self) -> &'static str {
        match self {
            Job::RecomputeCampaignStats(_) => RecomputeCampaignStats::NAME,
            Job::InvalidateCache(_) => InvalidateCache::NAME,
            Job::SendNotification(_) => SendNotification::NAME,
        }
    }

    /// The jobs a committed event calls for. Stats are maintained in the donation transaction
    /// itself; they are only rebuilt here when a refund rewrites them, and nightly as a check.
    pub fn for_event(event: &Event) -> Vec<Job> {
        match *event {
            Event::UserRegistered { user_id } => {
                vec![notify(Notification::Welcome { user_id })]
            }
            Event::DepositConfirmed { .. } => Vec::new(),
            Event::DonationCreated {
                donation_id,
                campaign_id,
                ..
            } => vec![
                invalidate_campaign(campaign_id),
                notify(Notification::DonationReceipt { donation_id }),
                notify(Notification::DonationReceived { donation_id }),
            ],
            Event::DonationRefunded { campaign_id, .. } => vec![
                Job::RecomputeCampaignStats(RecomputeCampaignStats { campaign_id }),
                invalidate_campaign(campaign_id),
            ],
            Event::CampaignChanged { campaign_id } | Event::CampaignGoalReached { campaign_id } => {
                vec![invalidate_campaign(campaign_id)]
            }
        }
    }
}

fn notify(notification: Notification) -> Job {
    Job::SendNotification(SendNotification { notification })
}

fn invalidate_campaign(campaign_id: Uuid) -> Job {
    Job::InvalidateCache(InvalidateCache {
        keys: vec![cache::campaign_key(campaign_id)],
        prefixes: vec![cache::CAMPAIGN_LISTS_PREFIX.to_string()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_donation_invalidates_its_campaign_and_notifies_donor_and_creator() {
        let (donation_id, campaign_id) = (Uuid::new_v4(), Uuid::new_v4());
        let jobs = Job::for_event(&Event::DonationCreated {
            donation_id,
            campaign_id,
            donor_id: Uuid::new_v4(),
            amount: 500,
        });
        let names: Vec<_> = jobs.iter().map(Job::name).collect();
        assert_eq!(
            names,
            ["invalidate_cache", "send_notification", "send_notification"]
        );
        assert!(jobs.contains(&notify(Notification::DonationReceived { donation_id })));
    }

    #[test]
    fn jobs_round_trip_through_json_with_their_kind_name() {
        let job = Job::RecomputeCampaignStats(RecomputeCampaignStats {
            campaign_id: Uuid::nil(),
        });
        let json = serde_json::to_value(&job).expect("encodes");
        assert_eq!(json["kind"], "recompute_campaign_stats");
        let back: Job = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, job);
    }
}
