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
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DonationStatus {
    Completed,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DepositStatus {
    /// Waiting for the payment provider's webhook.
    Pending,
    Confirmed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "DonationDto", rename_all = "camelCase")
)]
pub struct Donation {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub donor_id: Uuid,
    pub amount: i64,
    pub anonymous: bool,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub message: Option<String>,
    pub status: DonationStatus,
    pub created_at: DateTime<Utc>,
    /// Null unless refunded.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub refunded_at: Option<DateTime<Utc>>,
}

/// A donation as the public sees it: anonymous donors have no name.
#[derive(Debug, Clone, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "PublicDonationDto", rename_all = "camelCase")
)]
pub struct PublicDonation {
    pub id: Uuid,
    pub amount: i64,
    /// Null for anonymous donors.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub donor_name: Option<String>,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "DepositDto", rename_all = "camelCase")
)]
pub struct Deposit {
    pub id: Uuid,
    /// The depositor; the api does not send it (deposits are only ever the caller's own).
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub user_id: Uuid,
    pub amount: i64,
    pub provider: String,
    pub status: DepositStatus,
    /// The provider's fee, taken from the wallet as its own ledger line when confirmed.
    pub fee: i64,
    pub created_at: DateTime<Utc>,
    /// Null until confirmed.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// `withdrawal` by a keep_it_all creator, `release` of an all_or_nothing campaign's held
/// funds when it met its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalKind {
    Withdrawal,
    Release,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "WithdrawalDto", rename_all = "camelCase")
)]
pub struct Withdrawal {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub amount: i64,
    pub kind: WithdrawalKind,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    /// Taken from the wallet; waiting for the provider to confirm.
    Pending,
    /// The provider sent it to the bank.
    Paid,
    /// The bank refused it; the amount went back to the wallet.
    Failed,
}

/// A bank account held by the payment provider: Commonpot keeps its token, never the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "PayoutAccountDto", rename_all = "camelCase")
)]
pub struct PayoutAccount {
    pub id: Uuid,
    pub bank_name: String,
    /// The account number's last four digits.
    pub last4: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "PayoutDto", rename_all = "camelCase")
)]
pub struct Payout {
    pub id: Uuid,
    /// Whose wallet it came from; the api does not send it (payouts are only the caller's).
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub user_id: Uuid,
    /// Null once the bank account was removed with its owner's account.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub payout_account_id: Option<Uuid>,
    /// Minor units taken from the wallet.
    pub amount: i64,
    /// The provider's fee, kept from what reaches the bank.
    pub fee: i64,
    /// What reaches the bank: `amount - fee`.
    pub net_amount: i64,
    pub status: PayoutStatus,
    /// Why the bank refused it (failed payouts only).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the provider confirmed it paid or failed.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub settled_at: Option<DateTime<Utc>>,
}
