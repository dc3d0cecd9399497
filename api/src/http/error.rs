//! The api's one error type and the JSON error shape every error response uses:
//! `{"error": {"code": "...", "message": "...", "details": ...}}`.
//!
//! Domain errors map to statuses here; internal causes are logged with the request id and
//! replaced by a generic message.

use std::borrow::Cow;

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object};
use serde_json::{Value, json};

/// The body of every error response.
#[derive(Object, Debug)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Object, Debug)]
pub struct ErrorBody {
    /// Stable snake_case code to switch on, e.g. `validation_failed`, `insufficient_funds`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Extra structured information, e.g. `{"field": "email"}`.
    pub details: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Shapes any error poem or poem-openapi produced (unknown route, unparsable body, missing
    /// header, ...) like our own, keeping its status.
    pub fn from_poem(err: &poem::Error) -> Self {
        let status = err.status();
        let code = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
            s if s.is_server_error() => "internal_error",
            _ => "error",
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

impl From<domain::Error> for ApiError {
    fn from(err: domain::Error) -> Self {
        use domain::Error as E;
        match err {
            E::Validation { field, message } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
            .with_details(json!({ "field": field })),
            E::Rule { code, message } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            E::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            E::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            E::Unauthorized(message) => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
            }
            E::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            E::RateLimited { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many requests",
                )
            },
            E::Unavailable(what) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                format!("{what} is unavailable, try again shortly"),
            ),
            other @ (E::Database(_) | E::Redis(_) | E::Internal(_)) => {
                tracing::error!(error = %other, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
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
            "error": { "code": self.code, "message": self.message, "details": self.details }
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

const DOCUMENTED: [(u16, &str); 8] = [
    (400, "Malformed request"),
    (401, "Missing or invalid credentials"),
    (403, "Not allowed for this caller"),
    (404, "Not found"),
    (409, "Conflicts with the current state"),
    (
        422,
        "Validation failed or a business rule refused the request",
    ),
    (429, "Rate limit exceeded"),
    (503, "A dependency is unavailable"),
];

/// Documents every error status with the shared envelope, so the spec (and the generated web
/// client) know the error shape.
impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: <ErrorEnvelope as poem_openapi::types::Type>::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        <ErrorEnvelope as poem_openapi::types::Type>::register(registry);
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
