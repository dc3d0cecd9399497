//! Outgoing webhooks for integrations. A user registers an endpoint for events of their own
//! campaigns and loans; an admin may register platform-wide endpoints that receive every event
//! of their kinds. Each committed event from the outbox becomes one delivery per subscribed
//! endpoint, POSTed as JSON and signed with the endpoint's secret:
//!
//! `Commonpot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//!
//! Attempts are logged, failures retried with exponential backoff by the worker, and any
//! delivery can be replayed by its owner. Where deliveries may go is decided in
//! [`destination`]: at registration, and again, address by address, when the worker connects.

pub mod delivery;
pub mod destination;
mod repo;
pub mod service;

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &[
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
];

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use platform::error::{Error, Result};

pub use delivery::{Sender, deliver, dispatch, mark_failed, subscribed_kinds};
pub use destination::Policy;
use destination::Problem;
pub use repo::{delete_endpoints_of, prune_attempts};
pub use service::{NewEndpoint, WebhooksService};

/// The event kinds an endpoint may subscribe to (a subset of `Event::KINDS`: internal events
/// such as `report.requested` are not offered).
pub const EVENT_KINDS: &[&str] = &[
    "donation.created",
    "donation.refunded",
    "campaign.goal_reached",
    "campaign.settled",
    "loan.approved",
    "loan.rejected",
    "loan.funded",
    "loan.repayment_received",
    "loan.late",
    "loan.defaulted",
];

/// Header names, shared with the documentation and tests.
pub const SIGNATURE_HEADER: &str = "Commonpot-Signature";
pub const EVENT_ID_HEADER: &str = "Commonpot-Event-Id";
pub const EVENT_TYPE_HEADER: &str = "Commonpot-Event-Type";
pub const DELIVERY_ID_HEADER: &str = "Commonpot-Delivery-Id";

/// A registered endpoint, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Endpoint {
    pub id: Uuid,
    /// `None`: platform-wide.
    pub owner_id: Option<Uuid>,
    pub created_by: Uuid,
    pub url: String,
    pub kinds: Vec<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A new endpoint with the only copy of its secret the api ever returns.
#[derive(Debug, Clone)]
pub struct CreatedEndpoint {
    pub endpoint: Endpoint,
    pub secret: String,
}

/// `pending` (queued or retrying), `delivered`, or `failed` (gave up; replay it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Queued, or waiting for a retry.
    Pending,
    Delivered,
    /// Gave up after the last attempt; the owner may replay it.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: i64,
    pub event_kind: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<i16>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "AttemptDto", rename_all = "camelCase")
)]
pub struct Attempt {
    /// Row ids, not sent: an attempt is shown inside its delivery.
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub id: i64,
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub delivery_id: Uuid,
    /// The receiver's HTTP status; null if it did not answer.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub status_code: Option<i16>,
    /// Why the attempt failed (non-2xx, timeout, connection refused); null if it did not.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub error: Option<String>,
    pub duration_ms: i32,
    pub created_at: DateTime<Utc>,
}

/// A delivery with its attempt log, oldest attempt first.
#[derive(Debug, Clone)]
pub struct DeliveryLog {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(Error::internal)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// Checks an endpoint URL at registration (422 naming `url`): see [`destination::check`]. The
/// worker checks the addresses the host resolves to again when it connects.
pub fn parse_url(raw: &str, policy: Policy) -> Result<url::Url> {
    destination::check(raw, policy).map_err(|problem| match problem {
        Problem::Invalid(message) => Error::validation("url", message),
        Problem::NotAllowed => Error::validation("url", "url must point to a public host"),
    })
}

/// Parses the requested kinds: known, at least one, duplicates dropped.
pub fn parse_kinds(raw: &[String]) -> Result<Vec<String>> {
    if raw.is_empty() {
        return Err(Error::validation(
            "events",
            "subscribe to at least one event",
        ));
    }
    let mut kinds: Vec<String> = Vec::with_capacity(raw.len());
    for k in raw {
        if !EVENT_KINDS.contains(&k.as_str()) {
            return Err(Error::validation(
                "events",
                format!("unknown event {k:?}; known: {}", EVENT_KINDS.join(", ")),
            ));
        }
        if !kinds.contains(k) {
            kinds.push(k.clone());
        }
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn the_signature_is_an_hmac_of_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        let sig = sign("whsec_test", 1_700_000_000, br#"{"a":1}"#).expect("sign");
        assert_eq!(
            sig,
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(
            sig,
            sign("whsec_other", 1_700_000_000, br#"{"a":1}"#).expect("sign")
        );
        assert_ne!(
            sig,
            sign("whsec_test", 1_700_000_001, br#"{"a":1}"#).expect("sign")
        );
    }

    #[test]
    fn production_urls_must_be_https_to_a_public_host() {
        let production = Policy {
            allow_http: false,
            allow_private: false,
        };
        assert!(parse_url("https://hooks.example.com/commonpot", production).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "https://user:pw@hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://localhost/x",
            "https://localhost./x",
            "not a url",
        ] {
            let err = parse_url(bad, production).expect_err(bad);
            assert!(
                matches!(err, Error::Validation { field: "url", .. }),
                "{bad}"
            );
        }
        let development = Policy {
            allow_http: true,
            allow_private: true,
        };
        assert!(parse_url("http://127.0.0.1:8080/x", development).is_ok());
    }

    #[test]
    fn kinds_must_be_known_and_are_deduplicated() {
        let kinds = parse_kinds(&["loan.late".into(), "loan.late".into()]).expect("ok");
        assert_eq!(kinds, ["loan.late"]);
        assert!(parse_kinds(&[]).is_err());
        assert!(parse_kinds(&["report.requested".into()]).is_err());
    }
}
