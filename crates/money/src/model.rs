//! Money records as the api returns them (and as idempotent replays store them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use uuid::Uuid;

use platform::error::{Error, Result};

/// Donations between 1.00 and 100,000.00.
pub const MIN_DONATION: i64 = 100;
pub const MAX_DONATION: i64 = 10_000_000;
/// Deposits between 1.00 and 50,000.00.
pub const MIN_DEPOSIT: i64 = 100;
pub const MAX_DEPOSIT: i64 = 5_000_000;

pub fn parse_amount(field: &'static str, amount: i64, min: i64, max: i64) -> Result<i64> {
    if !(min..=max).contains(&amount) {
        return Err(Error::validation(
            field,
            format!("{field} must be between {min} and {max} minor units"),
        ));
    }
    Ok(amount)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DonationStatus {
    Completed,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DepositStatus {
    /// Waiting for the payment provider's webhook.
    Pending,
    Confirmed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
pub struct Donation {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub donor_id: Uuid,
    pub amount: i64,
    pub anonymous: bool,
    pub message: Option<String>,
    pub status: DonationStatus,
    pub created_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
}

/// A donation as the public sees it: anonymous donors have no name.
#[derive(Debug, Clone, FromRow)]
pub struct PublicDonation {
    pub id: Uuid,
    pub amount: i64,
    pub donor_name: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
pub struct Deposit {
    pub id: Uuid,
    pub user_id: Uuid,
    pub amount: i64,
    pub provider: String,
    pub status: DepositStatus,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
pub struct Withdrawal {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub amount: i64,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}
