//! `/api/api-keys`: keys for integrations, sent as `X-API-Key` and acting as their owner.

use domain::App;
use domain::accounts::repo::ApiKeyRow;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::common::Json;
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::error::{API, AUTH, ApiResult, BODY, BY_ID};
use super::json::JsonBody;
use super::security::Auth;

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKeyRequest {
    /// 1 to 100 characters (trimmed).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: String,
}

// Not ApiKeyRow: the one response that carries the full key.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    /// The full key. Shown once: only its hash is stored.
    pub key: String,
}

#[derive(ApiResponse)]
pub enum KeyCreated {
    /// Created; the response holds the only copy of the full key.
    #[oai(status = 201)]
    Created(Json<CreatedApiKey>),
}

#[derive(ApiResponse)]
pub enum KeyRevoked {
    /// Revoked.
    #[oai(status = 204)]
    NoContent,
}

pub struct ApiKeysApi;

#[OpenApi(prefix_path = "/api/api-keys", tag = "ApiTags::ApiKeys")]
impl ApiKeysApi {
    /// Create a key. The response holds the only copy of the full key.
    #[oai(path = "/", method = "post", operation_id = "createApiKey")]
    async fn create(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<CreateApiKeyRequest>,
    ) -> ApiResult<KeyCreated, { API | AUTH | BODY }> {
        let new = app
            .accounts()
            .create_api_key(auth.principal(), &body.name)
            .await?;
        Ok(KeyCreated::Created(Json(CreatedApiKey {
            id: new.record.id,
            name: new.record.name,
            prefix: new.record.prefix,
            key: new.key,
        })))
    }

    /// The caller's keys, without secrets.
    #[oai(path = "/", method = "get", operation_id = "listApiKeys")]
    async fn list(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<Vec<ApiKeyRow>>, { API | AUTH }> {
        let keys = app.accounts().list_api_keys(auth.principal()).await?;
        Ok(Json(keys))
    }

    /// Revoke one of the caller's keys; it stops working at once.
    #[oai(path = "/:id", method = "delete", operation_id = "revokeApiKey")]
    async fn revoke(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<KeyRevoked, { API | AUTH | BY_ID }> {
        app.accounts()
            .revoke_api_key(auth.principal(), id.0)
            .await?;
        Ok(KeyRevoked::NoContent)
    }
}
