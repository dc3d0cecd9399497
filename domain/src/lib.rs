//! The composition root. Each bounded context is its own crate under `crates/` (the README draws
//! the graph); this crate builds their services from the platform handles ([`App`]), defines the
//! background jobs on them ([`background`]), loads the demo data, and re-exports each context
//! under its own name, so the api, worker and scheduler (thin shells around it) write
//! `domain::money::…`, `domain::loans::…`.

pub mod app;
pub mod background;
pub mod demo;
pub mod privacy;
pub mod retention;
pub mod sampling;

pub use accounts;
pub use audit_log;
pub use campaigns;
pub use jobs;
pub use ledger;
pub use loans;
pub use money;
pub use notifications;
pub use ops::{self, admin, analytics};
pub use outbox;
#[cfg(feature = "testing")]
pub use platform::testing;
pub use platform::{config, error, infra, signed};
pub use reports;
pub use webhooks;

pub use app::App;
pub use error::{Error, Result};
