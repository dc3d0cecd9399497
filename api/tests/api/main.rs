//! Integration tests: each test starts the real api on a free port against its own freshly
//! migrated database (cloned from a template), its own Redis key prefix and its own bucket.

mod accounts;
mod audit_log;
mod auth;
mod auth_smoke;
mod email_verification;
mod emails;
mod explain;
mod foundation;
mod group_commit;
mod helpers;
mod hostile;
mod loans;
mod metrics;
mod moderation;
mod money;
mod ops;
mod payouts;
mod portfolio;
mod privacy;
mod receipts;
mod recurring;
mod reports;
mod secrets;
mod sentry;
mod updates;
mod webhooks;
