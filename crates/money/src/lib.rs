//! Money: wallets, deposits, donations, refunds, withdrawals, settlement of all-or-nothing
//! campaigns, the ledger and its audit. Every movement is double-entry, in one database
//! transaction, behind an idempotency key.

pub mod group_commit;
pub mod model;
pub mod payouts;
pub mod recurring;
pub mod repo;
pub mod service;
pub mod stats;

pub use ledger::Idempotent;
pub use model::{
    Deposit, DepositStatus, Donation, DonationStatus, Payout, PayoutAccount, PayoutStatus,
    PublicDonation, Withdrawal, WithdrawalKind,
};
pub use service::{Closing, Donate, MoneyService, WebhookOutcome};

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &[
    "deposits",
    "donations",
    "payment_events",
    "payout_accounts",
    "payouts",
    "recurring_donations",
    "withdrawals",
];
