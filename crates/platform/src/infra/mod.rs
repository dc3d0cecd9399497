//! Connections to the outside world: PostgreSQL, Redis, object storage and mail.
//! Nothing here knows about campaigns or loans.

pub mod db;
pub mod healthcheck;
pub mod kv;
pub mod mail;
pub mod metrics;
pub mod shutdown;
pub mod storage;
pub mod telemetry;
