//! Registering endpoints, reading their delivery log and replaying deliveries. An endpoint is
//! visible to its owner; platform-wide ones to admins. Anyone else gets a 404, so ids do not
//! reveal what exists.

use rand::RngCore;
use uuid::Uuid;

use super::{
    Attempt, CreatedEndpoint, Delivery, DeliveryLog, Endpoint, Policy, parse_kinds, parse_url, repo,
};
use accounts::Principal;
use outbox::Event;
use platform::Handles;
use platform::error::{Error, ErrorCode, Result};

/// Endpoints one owner (or the platform) may have.
const MAX_ENDPOINTS: i64 = 20;

/// What a caller asks to register. Fields are optional so that validation names the field.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// Receive every event of these kinds, not only the caller's own (admins only).
    pub platform: bool,
}

#[derive(Clone, Debug)]
pub struct WebhooksService {
    infra: Handles,
}

impl WebhooksService {
    pub fn new(infra: Handles) -> Self {
        Self { infra }
    }
}

/// `whsec_` and 32 random bytes in hex.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

fn may_manage(principal: &Principal, endpoint: &Endpoint) -> bool {
    match endpoint.owner_id {
        Some(owner) => owner == principal.user_id,
        None => principal.is_admin(),
    }
}

impl WebhooksService {
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id, platform = input.platform))]
    pub async fn register(
        &self,
        principal: &Principal,
        input: NewEndpoint,
    ) -> Result<CreatedEndpoint> {
        if input.platform {
            principal.require_admin()?;
        }
        let url = input
            .url
            .ok_or_else(|| Error::validation("url", "url is required"))?;
        let url = parse_url(&url, Policy::of(&self.infra.config))?;
        let kinds = parse_kinds(&input.events.unwrap_or_default())?;
        let description = input.description.filter(|d| !d.trim().is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 200)
        {
            return Err(Error::validation(
                "description",
                "description must be at most 200 characters",
            ));
        }
        let owner = (!input.platform).then_some(principal.user_id);
        let count = repo::count_endpoints(&self.infra.db.write, owner).await?;
        if count >= MAX_ENDPOINTS {
            return Err(Error::rule(
                ErrorCode::TooManyWebhooks,
                format!("at most {MAX_ENDPOINTS} webhook endpoints; delete one first"),
            ));
        }
        let secret = new_secret();
        let endpoint = repo::insert_endpoint(
            &self.infra.db.write,
            owner,
            principal.user_id,
            url.as_str(),
            &kinds,
            description.as_deref(),
            &secret,
        )
        .await?;
        tracing::info!(endpoint_id = %endpoint.id, "webhook_registered");
        Ok(CreatedEndpoint { endpoint, secret })
    }

    /// The caller's endpoints, and for admins the platform-wide ones too; newest first.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<Endpoint>> {
        // The primary: an endpoint just registered or removed shows as such at once.
        repo::list_endpoints(
            &self.infra.db.write,
            principal.user_id,
            principal.is_admin(),
        )
        .await
    }

    async fn endpoint(&self, principal: &Principal, id: Uuid) -> Result<Endpoint> {
        repo::find_endpoint(&self.infra.db.write, id)
            .await?
            .filter(|e| may_manage(principal, e))
            .ok_or(Error::NotFound("webhook"))
    }

    /// Deletes the endpoint and its delivery log; queued deliveries are dropped.
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id, endpoint_id = %id))]
    pub async fn delete(&self, principal: &Principal, id: Uuid) -> Result<()> {
        let endpoint = self.endpoint(principal, id).await?;
        repo::delete_endpoint(&self.infra.db.write, endpoint.id).await
    }

    /// The endpoint's deliveries, newest first, each with its attempts.
    pub async fn deliveries(
        &self,
        principal: &Principal,
        endpoint_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<DeliveryLog>, i64)> {
        let endpoint = self.endpoint(principal, endpoint_id).await?;
        let db = &self.infra.db.write;
        let total = repo::count_deliveries(db, endpoint.id).await?;
        let deliveries = repo::deliveries(db, endpoint.id, limit, offset).await?;
        let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
        let mut attempts = repo::attempts_of(db, &ids).await?;
        let logs = deliveries
            .into_iter()
            .map(|delivery| {
                let (mine, rest) = attempts
                    .drain(..)
                    .partition(|a: &Attempt| a.delivery_id == delivery.id);
                attempts = rest;
                DeliveryLog {
                    delivery,
                    attempts: mine,
                }
            })
            .collect();
        Ok((logs, total))
    }

    /// Sends a delivery again, whatever became of it (same body and event id, fresh
    /// signature). The request and its event commit together.
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id, delivery_id = %delivery_id))]
    pub async fn replay(
        &self,
        principal: &Principal,
        endpoint_id: Uuid,
        delivery_id: Uuid,
    ) -> Result<Delivery> {
        let endpoint = self.endpoint(principal, endpoint_id).await?;
        let mut tx = self.infra.db.write.begin().await?;
        let delivery = repo::requeue(&mut tx, delivery_id, endpoint.id)
            .await?
            .ok_or(Error::NotFound("delivery"))?;
        outbox::record(&mut tx, &Event::WebhookReplayRequested { delivery_id }).await?;
        tx.commit().await?;
        Ok(delivery)
    }
}
