//! HTTP: one module per route group, each owning one `#[OpenApi]` impl. Handlers extract,
//! call one service method and map the result; rules live in the domain.

pub mod error;
pub mod health;
pub mod middleware;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness and readiness
    Health,
}

/// Every route group, composed into one spec.
pub type Apis = health::HealthApi;

pub fn apis() -> Apis {
    health::HealthApi
}
