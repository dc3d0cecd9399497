//! `/api/webhooks`: outgoing event notifications for integrations. Deliveries are POSTed as
//! JSON with `Commonpot-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` and
//! `Commonpot-Event-Id` (stable across retries and replays, for dedupe).

use chrono::{DateTime, Utc};
use domain::App;
use domain::webhooks::{Attempt, Delivery, DeliveryLog, DeliveryStatus, Endpoint, NewEndpoint};
use poem::web::Data;
use poem_openapi::param::{Path, Query};

use super::common::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::common::{PageParams, Paged};
use super::enums::{EventKind, OneOf, from_db};
use super::error::{API, AUTH, ApiResult, BODY, BY_ID, CONFLICT, FORBIDDEN, PARAMS};
use super::json::JsonBody;
use super::params::{PageLimit, PageNumber};
use super::security::Auth;

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreateWebhookRequest {
    /// Required. `https://…` (plain http only where `WEBHOOKS_ALLOW_HTTP` is on), at most
    /// 2000 characters.
    #[oai(nullable, validator(max_length = 2000))]
    pub url: Option<String>,
    /// Required: event kinds to receive, e.g. `donation.created`, `donation.refunded`,
    /// `campaign.goal_reached`, `campaign.settled`, `loan.approved`, `loan.rejected`, `loan.funded`,
    /// `loan.repayment_received`, `loan.late`, `loan.defaulted`.
    #[oai(nullable)]
    pub events: Option<Vec<OneOf<EventKind>>>,
    /// Up to 200 characters, for the owner's own reference.
    #[oai(nullable, validator(max_length = 200))]
    pub description: Option<String>,
    /// Admins only: receive these events for every campaign and loan, not only the caller's.
    #[oai(nullable)]
    pub platform: Option<bool>,
}

// Not the domain's Endpoint: it sends `events` as the EventKind set, `platform` computed from
// the owner, and hides `owner_id`/`created_by`.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<EventKind>,
    #[oai(nullable)]
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
            events: e.kinds.iter().map(|k| event_kind(k)).collect(),
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

// Not the domain's Delivery: `eventId` is text, `event` the EventKind set, and the attempt
// log is joined in.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DeliveryDto {
    pub id: Uuid,
    /// Sent as `Commonpot-Event-Id`; the same for every attempt and replay.
    pub event_id: String,
    pub event: EventKind,
    pub status: DeliveryStatus,
    pub attempts: i32,
    #[oai(nullable)]
    pub last_status_code: Option<i16>,
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Null until delivered.
    #[oai(nullable)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempt_log: Vec<Attempt>,
}

impl DeliveryDto {
    fn new(d: Delivery, attempts: Vec<Attempt>) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id.to_string(),
            event: event_kind(&d.event_kind),
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            attempt_log: attempts,
        }
    }
}

impl From<DeliveryLog> for DeliveryDto {
    fn from(l: DeliveryLog) -> Self {
        Self::new(l.delivery, l.attempts)
    }
}

fn event_kind(raw: &str) -> EventKind {
    from_db(raw, EventKind::parse, EventKind::DonationCreated)
}

#[derive(ApiResponse)]
pub enum WebhookCreated {
    /// Registered; the response holds the only copy of the signing secret.
    #[oai(status = 201)]
    Created(Json<CreatedWebhookDto>),
}

#[derive(ApiResponse)]
pub enum WebhookDeleted {
    /// Deleted.
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
    #[oai(path = "/", method = "post", operation_id = "createWebhook")]
    #[tracing::instrument(skip_all)]
    async fn create(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<CreateWebhookRequest>,
    ) -> ApiResult<WebhookCreated, { API | AUTH | FORBIDDEN | BODY | CONFLICT }> {
        let b = body.0;
        let created = app
            .webhooks()
            .register(
                auth.principal(),
                NewEndpoint {
                    url: b.url,
                    events: b
                        .events
                        .map(|e| e.into_iter().map(OneOf::into_inner).collect()),
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
    #[oai(path = "/", method = "get", operation_id = "listWebhooks")]
    #[tracing::instrument(skip_all)]
    async fn list(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<Vec<WebhookDto>>, { API | AUTH }> {
        let endpoints = app.webhooks().list(auth.principal()).await?;
        Ok(Json(endpoints.into_iter().map(Into::into).collect()))
    }

    /// Delete an endpoint with its delivery log; nothing more is sent to it.
    #[oai(path = "/:id", method = "delete", operation_id = "deleteWebhook")]
    #[tracing::instrument(skip_all, fields(webhook_id = %id.0))]
    async fn delete(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<WebhookDeleted, { API | AUTH | BY_ID }> {
        app.webhooks().delete(auth.principal(), id.0).await?;
        Ok(WebhookDeleted::NoContent)
    }

    /// The endpoint's deliveries, newest first, each with every attempt (status code, error,
    /// duration).
    #[oai(
        path = "/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries"
    )]
    #[tracing::instrument(skip_all, fields(webhook_id = %id.0))]
    async fn deliveries(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<DeliveryDto>>, { API | AUTH | BY_ID | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
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
    #[oai(
        path = "/:id/deliveries/:delivery_id/replay",
        method = "post",
        operation_id = "replayWebhookDelivery"
    )]
    #[tracing::instrument(skip_all, fields(webhook_id = %id.0, delivery_id = %delivery_id.0))]
    async fn replay(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> ApiResult<ReplayQueued, { API | AUTH | BY_ID | CONFLICT }> {
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
