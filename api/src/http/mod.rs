//! HTTP: one module per route group, each owning one `#[OpenApi]` impl. Handlers extract,
//! call one service method and map the result; rules live in the domain.

pub mod admin;
pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod campaigns;
pub mod common;
pub mod enums;
pub mod error;
pub mod health;
pub mod json;
pub mod loans;
pub mod middleware;
pub mod money;
pub mod ops;
pub mod params;
pub mod payouts;
pub mod public;
pub mod recurring;
pub mod reports;
pub mod security;
#[cfg(test)]
mod spec_checks;
pub mod text;
pub mod updates;
pub mod upload;
pub mod users;
pub mod webhooks;

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
    /// Campaigns, their images, updates, donations pages, ledger and live totals
    Campaigns,
    /// Wallet, deposits, payouts and the payment provider webhook
    Wallet,
    /// Donations, refunds and the audit
    Donations,
    /// The admin dashboard, job queues, dead letters and the audit log
    Admin,
    /// Microloans: applications, lending, schedules, repayments and the admin review
    Loans,
    /// CSV reports built in the background
    Reports,
    /// Outgoing webhooks for integrations: endpoints, deliveries and replays
    Webhooks,
}

/// Every route group, composed into one spec.
pub type Apis = (
    health::HealthApi,
    auth::AuthApi,
    users::UsersApi,
    api_keys::ApiKeysApi,
    campaigns::CampaignsApi,
    updates::UpdatesApi,
    money::MoneyApi,
    payouts::PayoutsApi,
    admin::AdminApi,
    audit_log::AuditLogApi,
    ops::OpsApi,
    recurring::RecurringApi,
    loans::LoansApi,
    reports::ReportsApi,
    webhooks::WebhooksApi,
);

pub fn apis() -> Apis {
    (
        health::HealthApi,
        auth::AuthApi,
        users::UsersApi,
        api_keys::ApiKeysApi,
        campaigns::CampaignsApi,
        updates::UpdatesApi,
        money::MoneyApi,
        payouts::PayoutsApi,
        admin::AdminApi,
        audit_log::AuditLogApi,
        ops::OpsApi,
        recurring::RecurringApi,
        loans::LoansApi,
        reports::ReportsApi,
        webhooks::WebhooksApi,
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
    ("post", "/api/auth/password-reset"),
    ("post", "/api/auth/password-reset/confirm"),
    ("post", "/api/auth/verify-email"),
    ("get", "/api/campaigns"),
    ("get", "/api/campaigns/{id}"),
    ("get", "/api/campaigns/{id}/donations"),
    ("get", "/api/campaigns/{id}/ledger"),
    ("get", "/api/campaigns/{id}/events"),
    ("get", "/api/campaigns/{id}/updates"),
    ("get", "/api/loans"),
    ("get", "/api/loans/{id}"),
    ("get", "/api/loans/{id}/schedule"),
    // Authenticated by the provider's HMAC signature instead of a user credential.
    ("post", "/api/payments/webhook"),
    ("get", "/api/ledger/digests"),
];
