//! Commonpot's domain: one module per bounded context (accounts, campaigns, money, loans, jobs),
//! each holding its model, service and repository, plus the infrastructure they share.
//! The api, worker and scheduler binaries are thin shells around this crate.

pub mod app;
pub mod demo;
pub mod jobs;

pub use accounts;
pub use campaigns;
pub use ledger;
pub use loans;
pub use money;
pub use notifications;
pub use ops::{self, admin, analytics};
pub use outbox;
#[cfg(feature = "testing")]
pub use platform::testing;
pub use platform::{config, error, infra};
pub use reports;
pub use webhooks;

pub use app::App;
pub use error::{Error, Result};
