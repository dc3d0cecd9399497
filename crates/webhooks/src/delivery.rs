//! The worker's side: fanning an event out to the subscribed endpoints, and sending one
//! delivery. Both are idempotent (the worker runs them at least once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::destination::{self, GuardedResolver, Policy, Problem};
use super::repo;
use super::{
    DELIVERY_ID_HEADER, DeliveryStatus, EVENT_ID_HEADER, EVENT_KINDS, EVENT_TYPE_HEADER,
    SIGNATURE_HEADER, sign,
};
use outbox::Event;
use platform::config::Config;
use platform::error::{Error, Result};
use sqlx::PgPool;

/// The HTTP client deliveries go out with: short timeouts (a slow receiver must not hold a
/// worker), no redirects and no proxy (the registered URL is the only one that gets the
/// payload, and the address checked is the one connected to), and unless private destinations
/// are allowed, a resolver that refuses names resolving to non-public addresses.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: Policy,
}

impl Sender {
    pub fn new(config: &Config) -> Result<Self> {
        let policy = Policy::of(config);
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("Commonpot-Webhooks/1");
        if !policy.allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let client = builder
            .build()
            .map_err(|e| Error::internal(format!("webhook http client: {e}")))?;
        Ok(Self { client, policy })
    }
}

/// Who an event belongs to: the campaign's creator or the loan's borrower.
async fn owner_of(db: &PgPool, event: &Event) -> Result<Option<Uuid>> {
    Ok(match *event {
        Event::DonationCreated { campaign_id, .. }
        | Event::DonationRefunded { campaign_id, .. }
        | Event::CampaignGoalReached { campaign_id }
        | Event::CampaignSettled { campaign_id, .. } => campaigns::repo::find(db, campaign_id)
            .await?
            .map(|c| c.creator_id),
        Event::LoanApproved { loan_id }
        | Event::LoanRejected { loan_id }
        | Event::LoanFunded { loan_id }
        | Event::LoanRepaymentReceived { loan_id, .. }
        | Event::LoanLate { loan_id, .. }
        | Event::LoanDefaulted { loan_id } => {
            loans::repo::find(db, loan_id).await?.map(|l| l.borrower_id)
        }
        _ => None,
    })
}

/// `some_field` → `someField`, so payloads read like the rest of the api.
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The JSON body receivers get: `{"id", "type", "createdAt", "data"}`.
pub fn body(event_id: i64, event: &Event, now: chrono::DateTime<Utc>) -> Result<String> {
    let data: Map<String, Value> = match serde_json::to_value(event).map_err(Error::internal)? {
        Value::Object(fields) => fields
            .into_iter()
            .filter(|(k, _)| k != "type")
            .map(|(k, v)| (camel(&k), v))
            .collect(),
        _ => Map::new(),
    };
    serde_json::to_string(&json!({
        "id": event_id.to_string(),
        "type": event.kind(),
        "createdAt": now,
        "data": data,
    }))
    .map_err(Error::internal)
}

/// Which of `kinds` some endpoint subscribes to, so the relay fans out only events somebody
/// wants (one indexed query per relay batch instead of a job per event).
pub async fn subscribed_kinds(
    db: impl sqlx::PgExecutor<'_>,
    kinds: &[&str],
) -> Result<std::collections::HashSet<String>> {
    Ok(repo::subscribed_kinds(db, kinds)
        .await?
        .into_iter()
        .collect())
}

/// The `dispatch_webhooks` job: one delivery per endpoint subscribed to the event (platform
/// endpoints, and the owner's). Returns the deliveries not yet attempted, each to become a
/// `deliver_webhook` job; running it again inserts nothing new and returns the same ones.
#[tracing::instrument(skip_all, fields(event_id = event_id, kind = event.kind()))]
pub async fn dispatch(db: &PgPool, event_id: i64, event: &Event) -> Result<Vec<Uuid>> {
    let kind = event.kind();
    if !EVENT_KINDS.contains(&kind) {
        return Ok(Vec::new());
    }
    let owner = owner_of(db, event).await?;
    let endpoints = repo::subscribed_endpoints(db, kind, owner).await?;
    if endpoints.is_empty() {
        return Ok(Vec::new());
    }
    let body = body(event_id, event, Utc::now())?;
    for endpoint in endpoints {
        repo::insert_delivery(db, endpoint, event_id, kind, &body).await?;
    }
    let fresh = repo::fresh_deliveries(db, event_id).await?;
    tracing::debug!(deliveries = fresh.len(), "webhooks dispatched");
    Ok(fresh)
}

/// What one run of `deliver_webhook` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Nothing to do: delivered already, the endpoint was deleted, or another worker is
    /// sending it at this moment.
    Skipped,
}

/// The `deliver_webhook` job: one attempt, logged. The delivery row stays locked while the
/// request is in flight, so two workers never send it at once. A failed attempt is returned
/// as an error for the worker to retry with backoff.
#[tracing::instrument(skip_all, fields(delivery_id = %delivery_id))]
pub async fn deliver(db: &PgPool, sender: &Sender, delivery_id: Uuid) -> Result<Outcome> {
    let mut tx = db.begin().await?;
    let Some(outgoing) = repo::lock_outgoing(&mut tx, delivery_id).await? else {
        return Ok(Outcome::Skipped);
    };
    if outgoing.status == DeliveryStatus::Delivered {
        return Ok(Outcome::Skipped);
    }
    let started = Instant::now();
    let result = send(
        sender,
        &outgoing.url,
        &outgoing.secret,
        outgoing.event_id,
        &outgoing.event_kind,
        delivery_id,
        &outgoing.body,
    )
    .await;
    // A refused destination is decided before any packet leaves: its duration says nothing.
    let duration_ms = match result {
        Err(Failure::NotAllowed) => 0,
        _ => i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
    };
    let (code, error) = match &result {
        Ok(code) if (200..300).contains(code) => (Some(*code), None),
        Ok(code) => (Some(*code), Some(format!("receiver answered HTTP {code}"))),
        Err(failure) => (None, Some(failure.message().to_string())),
    };
    let code = code.and_then(|c| i16::try_from(c).ok());
    repo::insert_attempt(&mut tx, delivery_id, code, error.as_deref(), duration_ms).await?;
    repo::record_attempt(&mut tx, delivery_id, code, error.as_deref()).await?;
    tx.commit().await?;
    match (result, error) {
        (Ok(status), None) => Ok(Outcome::Delivered { status }),
        // Logged by the worker and kept in the dead-letter list: the origin only, never the
        // path or query, where receivers keep their tokens.
        (_, error) => Err(Error::internal(format!(
            "webhook delivery {delivery_id} to {}: {}",
            destination::origin(&outgoing.url),
            error.unwrap_or_default()
        ))),
    }
}

/// Why an attempt got no status code. Each maps to a fixed message for the attempt log:
/// nothing from the receiver or the network stack (whose messages name the full URL) is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The URL breaks a rule tightened since registration (e.g. http no longer allowed).
    Invalid(&'static str),
    /// The host is, or resolves to, an address webhooks may not reach.
    NotAllowed,
    TimedOut,
    ConnectionFailed,
    RequestFailed,
}

impl Failure {
    fn message(self) -> &'static str {
        match self {
            Failure::Invalid(message) => message,
            Failure::NotAllowed => "destination not allowed",
            Failure::TimedOut => "timed out",
            Failure::ConnectionFailed => "connection failed",
            Failure::RequestFailed => "request failed",
        }
    }

    fn of(error: &reqwest::Error) -> Self {
        if destination::is_refusal(error) {
            Failure::NotAllowed
        } else if error.is_timeout() {
            Failure::TimedOut
        } else if error.is_connect() {
            Failure::ConnectionFailed
        } else {
            Failure::RequestFailed
        }
    }
}

/// One signed POST; the receiver's status code, or why there was none. The response body is
/// never read.
async fn send(
    sender: &Sender,
    url: &str,
    secret: &str,
    event_id: i64,
    kind: &str,
    delivery_id: Uuid,
    body: &str,
) -> std::result::Result<u16, Failure> {
    // Checked again at send time: the configuration may have tightened since registration,
    // and reqwest connects to IP literals without asking the guarded resolver.
    let url =
        destination::check_before_connect(url, sender.policy).map_err(|problem| match problem {
            Problem::Invalid(message) => Failure::Invalid(message),
            Problem::NotAllowed => Failure::NotAllowed,
        })?;
    let signature = sign(secret, Utc::now().timestamp(), body.as_bytes())
        .map_err(|_| Failure::RequestFailed)?;
    let response = sender
        .client
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_ID_HEADER, event_id.to_string())
        .header(EVENT_TYPE_HEADER, kind)
        .header(DELIVERY_ID_HEADER, delivery_id.to_string())
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| Failure::of(&e))?;
    Ok(response.status().as_u16())
}

/// Called when the last attempt failed: the delivery shows `failed` until it is replayed.
pub async fn mark_failed(db: &PgPool, delivery_id: Uuid) -> Result<()> {
    repo::mark_failed(db, delivery_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_event_id_type_and_camel_case_data() {
        let campaign_id = Uuid::new_v4();
        let event = Event::DonationRefunded {
            donation_id: Uuid::nil(),
            campaign_id,
            donor_id: Uuid::nil(),
            amount: 250,
        };
        let now = Utc::now();
        let raw = body(42, &event, now).expect("body");
        let v: Value = serde_json::from_str(&raw).expect("json");
        assert_eq!(v["id"], "42");
        assert_eq!(v["type"], "donation.refunded");
        assert_eq!(v["data"]["campaignId"], campaign_id.to_string());
        assert_eq!(v["data"]["amount"], 250);
        assert!(v["data"].get("type").is_none());
        assert_eq!(raw, body(42, &event, now).expect("again"), "stable bytes");
    }
}
