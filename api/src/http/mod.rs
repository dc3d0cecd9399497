//! HTTP: one module per route group, each owning one `#[OpenApi]` impl. Handlers extract,
//! call one service method and map the result; rules live in the domain.

pub mod api_keys;
pub mod auth;
pub mod error;
pub mod health;
pub mod middleware;
pub mod pagination;
pub mod security;
pub mod users;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness and readiness
    Health,
    /// Registration, login, tokens
    Auth,
    /// The caller's account and admin user moderation
    Users,
    /// Keys for integrations
    ApiKeys,
}

/// Every route group, composed into one spec.
pub type Apis = (
    health::HealthApi,
    auth::AuthApi,
    users::UsersApi,
    api_keys::ApiKeysApi,
);

pub fn apis() -> Apis {
    (
        health::HealthApi,
        auth::AuthApi,
        users::UsersApi,
        api_keys::ApiKeysApi,
    )
}

/// Routes anyone may call without credentials. Every other route must answer 401 without them
/// (checked by the authorization matrix test against the spec).
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
];
