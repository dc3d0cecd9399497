//! The api's one error type and the JSON error shape every error response uses:
//! `{"error": {"code": "...", "message": "...", "details": ...}}`.
//!
//! Domain errors map to statuses here; internal causes are logged with the request id and
//! replaced by a generic message.
//!
//! Each operation documents only the error statuses it can answer: a handler returns
//! [`ApiResult<T, S>`], where `S` is a set of the flags below (`{ API | AUTH | NOT_FOUND }`),
//! and the spec lists exactly those statuses, each with the shared envelope.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};
use serde_json::{Value, json};

/// The codes are the domain's own type, documented through platform's `openapi` feature.
pub use domain::error::ErrorCode;

/// The body of every error response.
#[derive(Object, Debug)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Object, Debug)]
pub struct ErrorBody {
    /// Stable code to switch on, e.g. `validation_failed`, `insufficient_funds`.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// Extra structured information, e.g. `{"field": "email"}`; null when there is none.
    #[oai(nullable)]
    pub details: Option<std::collections::BTreeMap<String, Value>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422 `validation_failed` naming a field known only at run time (a JSON path, a query
    /// parameter).
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            message,
        )
        .with_details(serde_json::json!({ "field": field }))
    }

    /// Any error as the JSON error response: ours as it is, poem's shaped by `from_poem`.
    pub fn respond(err: poem::Error) -> Response {
        if err.is::<ApiError>() {
            err.into_response()
        } else {
            let mut resp = Self::from_poem(&err).into_response();
            // Which route answered, for the request metrics (`middleware::observe`).
            if let Some(op) = err.data::<poem_openapi::OperationId>() {
                resp.set_data(*op);
            }
            if let Some(pattern) = err.data::<poem::PathPattern>() {
                resp.set_data(pattern.clone());
            }
            resp
        }
    }

    /// Shapes any error poem or poem-openapi produced (unknown route, unparsable body, missing
    /// header, ...) like our own, keeping its status.
    pub fn from_poem(err: &poem::Error) -> Self {
        let status = err.status();
        let code = match status {
            StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
            s if s.is_server_error() => ErrorCode::InternalError,
            _ => ErrorCode::Error,
        };
        let message = if status.is_server_error() {
            tracing::error!(error = %err, "unhandled server error");
            "internal server error".to_string()
        } else if status == StatusCode::UNAUTHORIZED {
            "authentication required".to_string()
        } else {
            err.to_string()
        };
        Self::new(status, code, message)
    }
}

/// Seconds a client should wait before retrying when a dependency is down.
const RETRY_AFTER_OUTAGE_SECS: u64 = 2;

impl ApiError {
    fn unavailable(what: &str) -> Self {
        Self {
            retry_after: Some(RETRY_AFTER_OUTAGE_SECS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                format!("{what} is unavailable, try again shortly"),
            )
        }
    }
}

impl From<domain::Error> for ApiError {
    fn from(err: domain::Error) -> Self {
        use domain::Error as E;
        match err {
            E::Validation { field, message } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                message,
            )
            .with_details(json!({ "field": field })),
            E::Rule { code, message } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            E::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("{what} not found"),
            ),
            E::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            E::Unauthorized(message) => {
                Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
            }
            E::Forbidden(message) => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
            }
            E::Denied { code, message } => Self::new(StatusCode::FORBIDDEN, code, message),
            E::RateLimited { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::RateLimited,
                    "too many requests",
                )
            },
            E::Unavailable(what) => Self::unavailable(what),
            outage if outage.is_outage() => {
                tracing::warn!(error = %outage, "dependency unreachable");
                Self::unavailable(match outage {
                    E::Redis(_) => "redis",
                    _ => "database",
                })
            }
            other @ (E::Database(_) | E::Redis(_) | E::Internal(_)) => {
                tracing::error!(error = %other, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::InternalError,
                    "internal server error",
                )
            }
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        let body = json!({
            "error": { "code": self.code.as_str(), "message": self.message, "details": self.details }
        });
        let mut resp = poem::web::Json(body)
            .with_status(self.status)
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert("Retry-After", secs.into());
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
    }
}

// The error statuses an operation can answer, as flags to combine in `ApiResult<T, S>`.

/// 400: a parameter or the JSON body could not be parsed.
pub const BAD_REQUEST: u32 = 1 << 0;
/// 401: the route needs credentials.
pub const UNAUTHORIZED: u32 = 1 << 1;
/// 403: for admins, or for the owner of the thing (or, with `email_not_verified`, until the
/// caller's email is verified).
pub const FORBIDDEN: u32 = 1 << 2;
/// 404: the thing named in the path does not exist (or the caller may not know it does).
pub const NOT_FOUND: u32 = 1 << 3;
/// 409: conflicts with the current state.
pub const CONFLICT: u32 = 1 << 4;
/// 413: the body is over the size limit.
pub const PAYLOAD_TOO_LARGE: u32 = 1 << 5;
/// 415: the body is not of the documented media type.
pub const UNSUPPORTED_MEDIA_TYPE: u32 = 1 << 6;
/// 422: validation or a business rule refused the request.
pub const UNPROCESSABLE: u32 = 1 << 7;
/// 429: over the caller's rate limit.
pub const RATE_LIMITED: u32 = 1 << 8;
/// 503: a dependency is down.
pub const UNAVAILABLE: u32 = 1 << 9;

/// Every `/api/...` route: rate limited, and a dependency may be down.
pub const API: u32 = RATE_LIMITED | UNAVAILABLE;
/// Routes that need credentials.
pub const AUTH: u32 = UNAUTHORIZED;
/// Admin routes (and routes for a thing's owner).
pub const ADMIN: u32 = UNAUTHORIZED | FORBIDDEN;
/// Routes with query or header parameters the server validates.
pub const PARAMS: u32 = BAD_REQUEST | UNPROCESSABLE;
/// Routes taking a JSON (or multipart) body, capped per route (`middleware::guard`).
pub const BODY: u32 = BAD_REQUEST | PAYLOAD_TOO_LARGE | UNSUPPORTED_MEDIA_TYPE | UNPROCESSABLE;
/// Routes with an id in the path.
pub const BY_ID: u32 = BAD_REQUEST | NOT_FOUND;

const STATUSES: [(u32, u16, &str); 10] = [
    (
        BAD_REQUEST,
        400,
        "Malformed request: a parameter or the JSON body could not be parsed",
    ),
    (UNAUTHORIZED, 401, "Missing or invalid credentials"),
    (FORBIDDEN, 403, "Not allowed for this caller"),
    (NOT_FOUND, 404, "Not found"),
    (CONFLICT, 409, "Conflicts with the current state"),
    (PAYLOAD_TOO_LARGE, 413, "The body is too large"),
    (
        UNSUPPORTED_MEDIA_TYPE,
        415,
        "The body is not of the documented media type",
    ),
    (
        UNPROCESSABLE,
        422,
        "Validation failed (`details.field` names the field) or a business rule refused the request",
    ),
    (
        RATE_LIMITED,
        429,
        "Rate limit exceeded; retry after `Retry-After` seconds",
    ),
    (
        UNAVAILABLE,
        503,
        "A dependency is unavailable; retry shortly",
    ),
];

/// An [`ApiError`] from an operation that documents the error statuses in `S`.
#[derive(Debug)]
pub struct Errors<const S: u32>(pub ApiError);

pub type ApiResult<T, const S: u32> = Result<T, Errors<S>>;

impl<const S: u32> Errors<S> {
    fn check(err: ApiError) -> Self {
        let documented = STATUSES
            .iter()
            .any(|(flag, status, _)| S & flag != 0 && err.status.as_u16() == *status);
        if !documented && !err.status.is_server_error() {
            tracing::error!(status = %err.status, code = err.code.as_str(), "undocumented error status");
        }
        Self(err)
    }
}

impl<const S: u32> From<ApiError> for Errors<S> {
    fn from(err: ApiError) -> Self {
        Self::check(err)
    }
}

impl<const S: u32> From<domain::Error> for Errors<S> {
    fn from(err: domain::Error) -> Self {
        Self::check(err.into())
    }
}

impl<const S: u32> From<Errors<S>> for poem::Error {
    fn from(err: Errors<S>) -> Self {
        err.0.into()
    }
}

impl<const S: u32> ApiResponse for Errors<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: STATUSES
                .iter()
                .filter(|(flag, _, _)| S & flag != 0)
                .map(|(_, status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: <ErrorEnvelope as Type>::schema_ref(),
                    }],
                    headers: if *status == 429 {
                        vec![MetaHeader {
                            name: "Retry-After".into(),
                            description: Some("Seconds until the limit resets.".into()),
                            required: true,
                            deprecated: false,
                            schema: <u64 as Type>::schema_ref(),
                        }]
                    } else {
                        vec![]
                    },
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        <ErrorEnvelope as Type>::register(registry);
    }
}
