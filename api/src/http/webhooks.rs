//! `/api/webhooks`: outgoing event notifications for integrations. Deliveries are POSTed as
//! JSON with `Commonpot-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` and
//! `Commonpot-Event-Id` (stable across retries and replays, for dedupe).

use chrono::{DateTime, Utc};
use domain::App;
use domain::webhooks::{Attempt, Delivery, DeliveryLog, Endpoint, NewEndpoint};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::error::ApiResult;
use super::json::JsonBody;
use super::pagination::{PageParams, Paged};
use super::security::Auth;

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreateWebhookRequest {
    /// Required. `https://…` (plain http only where `WEBHOOKS_ALLOW_HTTP` is on).
    pub url: Option<String>,
    /// Required: event kinds to receive, e.g. `donation.created`, `donation.refunded`,
    /// `campaign.goal_reached`, `loan.approved`, `loan.rejected`, `loan.funded`,
    /// `loan.repayment_received`, `loan.late`, `loan.defaulted`.
    pub events: Option<Vec<String>>,
    /// Up to 200 characters, for the owner's own reference.
    pub description: Option<String>,
    /// Admins only: receive these events for every campaign and loan, not only the caller's.
    pub platform: Option<bool>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    /// Platform-wide (every campaign and loan) rather than the owner's own.
    pub platform: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Endpoint> for WebhookDto {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            events: e.kinds,
            description: e.description,
            platform: e.owner_id.is_none(),
            created_at: e.created_at,
        }
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CreatedWebhookDto {
    #[oai(flatten)]
    pub webhook: WebhookDto,
    /// The signing secret. Shown once: store it now.
    pub secret: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct AttemptDto {
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i16>,
    /// Why the attempt failed (non-2xx, timeout, connection refused), if it did.
    pub error: Option<String>,
    pub duration_ms: i32,
    pub created_at: DateTime<Utc>,
}

impl From<Attempt> for AttemptDto {
    fn from(a: Attempt) -> Self {
        Self {
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
            created_at: a.created_at,
        }
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DeliveryDto {
    pub id: Uuid,
    /// Sent as `Commonpot-Event-Id`; the same for every attempt and replay.
    pub event_id: String,
    pub event: String,
    /// `pending` (queued or retrying), `delivered`, or `failed` (gave up; replay it).
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i16>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempt_log: Vec<AttemptDto>,
}

impl DeliveryDto {
    fn new(d: Delivery, attempts: Vec<Attempt>) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id.to_string(),
            event: d.event_kind,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            attempt_log: attempts.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<DeliveryLog> for DeliveryDto {
    fn from(l: DeliveryLog) -> Self {
        Self::new(l.delivery, l.attempts)
    }
}

#[derive(ApiResponse)]
pub enum WebhookCreated {
    #[oai(status = 201)]
    Created(Json<CreatedWebhookDto>),
}

#[derive(ApiResponse)]
pub enum WebhookDeleted {
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum ReplayQueued {
    /// Queued to be sent again.
    #[oai(status = 202)]
    Accepted(Json<DeliveryDto>),
}

pub struct WebhooksApi;

#[OpenApi(prefix_path = "/api/webhooks", tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Register an endpoint for events of the caller's campaigns and loans (or, for admins
    /// with `platform: true`, of all of them). The response holds the only copy of the
    /// signing secret.
    #[oai(path = "/", method = "post")]
    #[tracing::instrument(skip_all)]
    async fn create(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<CreateWebhookRequest>,
    ) -> ApiResult<WebhookCreated> {
        let b = body.0;
        let created = app
            .webhooks()
            .register(
                auth.principal(),
                NewEndpoint {
                    url: b.url,
                    events: b.events,
                    description: b.description,
                    platform: b.platform.unwrap_or(false),
                },
            )
            .await?;
        Ok(WebhookCreated::Created(Json(CreatedWebhookDto {
            webhook: created.endpoint.into(),
            secret: created.secret,
        })))
    }

    /// The caller's endpoints (and, for admins, the platform-wide ones), without secrets.
    #[oai(path = "/", method = "get")]
    #[tracing::instrument(skip_all)]
    async fn list(&self, app: Data<&App>, auth: Auth) -> ApiResult<Json<Vec<WebhookDto>>> {
        let endpoints = app.webhooks().list(auth.principal()).await?;
        Ok(Json(endpoints.into_iter().map(Into::into).collect()))
    }

    /// Delete an endpoint with its delivery log; nothing more is sent to it.
    #[oai(path = "/:id", method = "delete")]
    #[tracing::instrument(skip_all, fields(webhook_id = %id.0))]
    async fn delete(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<WebhookDeleted> {
        app.webhooks().delete(auth.principal(), id.0).await?;
        Ok(WebhookDeleted::NoContent)
    }

    /// The endpoint's deliveries, newest first, each with every attempt (status code, error,
    /// duration).
    #[oai(path = "/:id/deliveries", method = "get")]
    #[tracing::instrument(skip_all, fields(webhook_id = %id.0))]
    async fn deliveries(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        page: Query<Option<i64>>,
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<DeliveryDto>>> {
        let p = PageParams::parse(page.0, limit.0)?;
        let (items, total) = app
            .webhooks()
            .deliveries(auth.principal(), id.0, p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(
            items.into_iter().map(Into::into).collect(),
            p,
            total,
        )))
    }

    /// Send a delivery again: the same body and event id, a fresh signature.
    #[oai(path = "/:id/deliveries/:delivery_id/replay", method = "post")]
    #[tracing::instrument(skip_all, fields(webhook_id = %id.0, delivery_id = %delivery_id.0))]
    async fn replay(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> ApiResult<ReplayQueued> {
        let delivery = app
            .webhooks()
            .replay(auth.principal(), id.0, delivery_id.0)
            .await?;
        Ok(ReplayQueued::Accepted(Json(DeliveryDto::new(
            delivery,
            Vec::new(),
        ))))
    }
}
