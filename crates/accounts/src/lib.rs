//! Accounts and authentication: users, passwords, sessions, access tokens, API keys, roles
//! and tiers.

pub mod model;
pub mod rate_limit;
pub mod recovery;
pub mod repo;
pub mod service;
pub mod sessions;
pub mod verification;

pub use model::{Email, Password, PersonName, Principal, Role, Tier, User};
pub use service::{AccountService, AuthSuccess, Registration, TokenPair};
pub use sessions::SessionInfo;

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &["users", "api_keys", "account_tokens"];
