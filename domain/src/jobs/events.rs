//! Domain events: what happened, recorded in the outbox with the change that caused it. Their
//! `kind()` names are also the event kinds that outgoing webhooks subscribe to.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    UserRegistered {
        user_id: Uuid,
    },
    DepositConfirmed {
        deposit_id: Uuid,
        user_id: Uuid,
        amount: i64,
    },
    DonationCreated {
        donation_id: Uuid,
        campaign_id: Uuid,
        donor_id: Uuid,
        amount: i64,
    },
    DonationRefunded {
        donation_id: Uuid,
        campaign_id: Uuid,
        donor_id: Uuid,
        amount: i64,
    },
    CampaignChanged {
        campaign_id: Uuid,
    },
    CampaignGoalReached {
        campaign_id: Uuid,
    },
}

impl Event {
    /// Stable dotted name, e.g. `donation.created`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::UserRegistered { .. } => "user.registered",
            Event::DepositConfirmed { .. } => "deposit.confirmed",
            Event::DonationCreated { .. } => "donation.created",
            Event::DonationRefunded { .. } => "donation.refunded",
            Event::CampaignChanged { .. } => "campaign.changed",
            Event::CampaignGoalReached { .. } => "campaign.goal_reached",
        }
    }
}
