//! The ground every context stands on: the one domain error type, configuration read from the
//! environment, and the handles to PostgreSQL, Redis, object storage and mail. Nothing here
//! knows about campaigns, money or loans.

pub mod config;
pub mod error;
mod handles;
pub mod infra;
pub mod signed;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use error::{Error, Result};
pub use handles::{Handles, Readiness};
