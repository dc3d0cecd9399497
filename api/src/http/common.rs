//! Helpers every route module shares: the JSON reply, 201 replies of idempotent writes and the
//! `Idempotency-Key` they take, and page/limit pagination.

use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use poem_openapi::{ApiResponse, Object};

use domain::ledger::Idempotent;

use super::error::ApiError;
use super::params::MAX_PAGE;

/// The body of an admin action that takes something away and must say why.
#[derive(Object, serde::Deserialize)]
pub struct ReasonRequest {
    /// Required: why, 1 to 1000 characters, kept in the admin audit log. (Optional in the
    /// schema so that non-admins get their 403 before any body validation.)
    #[oai(nullable, validator(min_length = 1, max_length = 1000))]
    pub reason: Option<String>,
}

/// `Json<T>`: poem-openapi's JSON payload, but documented with a description when an
/// operation returns it directly as its 200 response (poem-openapi leaves that empty).
pub struct Json<T>(pub T);

impl<T: Type> Payload for Json<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        <poem_openapi::payload::Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ToJSON> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        poem_openapi::payload::Json(self.0).into_response()
    }
}

impl<T: ToJSON> ApiResponse for Json<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "OK: the result, as JSON.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: <Self as Payload>::CONTENT_TYPE,
                    schema: T::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

#[derive(ApiResponse)]
pub enum Created<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// Done; `Idempotent-Replayed: true` when this is the stored result of an earlier call
    /// with the same key.
    #[oai(status = 201)]
    Created(Json<T>, #[oai(header = "Idempotent-Replayed")] bool),
}

/// The 201 reply of an idempotent write, marked when it replays an earlier call's result.
pub fn created<T, D: ParseFromJSON + ToJSON + Send + Sync>(
    r: Idempotent<T>,
    map: impl FnOnce(T) -> D,
) -> Created<D> {
    Created::Created(Json(map(r.value)), r.replayed)
}

pub fn idempotency_key(raw: Option<String>) -> Result<String, ApiError> {
    Ok(domain::ledger::idempotency::parse_key(raw.as_deref())?)
}

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, Copy)]
pub struct PageParams {
    pub page: i64,
    pub limit: i64,
}

impl PageParams {
    /// `page` is 1..=10,000 (default 1); `limit` is 1..=100 (default 20). Every list checks its
    /// paging here, so `offset` cannot overflow and no page sends PostgreSQL scanning for
    /// millions of rows to skip.
    pub fn parse(page: Option<i64>, limit: Option<i64>) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(domain::Error::validation(
                "page",
                format!("page must be between 1 and {MAX_PAGE}"),
            )
            .into());
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(
                domain::Error::validation("limit", "limit must be between 1 and 100").into(),
            );
        }
        Ok(Self { page, limit })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.limit
    }
}

/// One page of items with the total count.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct Paged<T: ParseFromJSON + ToJSON + Send + Sync> {
    pub items: Vec<T>,
    pub page: i64,
    pub limit: i64,
    pub total: i64,
}

impl<T: ParseFromJSON + ToJSON + Send + Sync> Paged<T> {
    pub fn new(items: Vec<T>, params: PageParams, total: i64) -> Self {
        Self {
            items,
            page: params.page,
            limit: params.limit,
            total,
        }
    }
}
