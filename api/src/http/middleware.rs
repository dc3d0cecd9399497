//! Cross-cutting request handling: request ids, access logs, the error shape, request limits,
//! CORS and security headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use domain::infra::metrics::{HTTP_DURATION, HTTP_REQUESTS};
use domain::infra::telemetry;
use futures::StreamExt;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::middleware::Cors;
use poem::{Body, Endpoint, IntoResponse, PathPattern, Request, Response};
use poem_openapi::OperationId;
use serde_json::json;
use tracing::Instrument;

use super::error::{ApiError, ErrorCode};
use super::text;

pub const REQUEST_ID: &str = "x-request-id";

/// The request's id, for handlers and the audit log (see `observe`).
#[derive(Clone)]
pub struct RequestId(pub String);

/// Accepts a caller's `X-Request-Id` (if short and printable) or makes one, puts it on the
/// tracing span, the Sentry scope and the response, logs status and latency, counts the request
/// in the metrics by route template, and turns every error into the JSON error shape.
pub async fn observe<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = method_label(req.method());
    let started = Instant::now();
    let tags = [("request_id", request_id.as_str())];
    let work = async {
        let mut resp = match next.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => ApiError::respond(err),
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert(REQUEST_ID, value);
        }
        let status = resp.status().as_u16();
        let elapsed = started.elapsed();
        let labels = [
            ("route", route_label(&resp)),
            ("method", method.to_string()),
            ("status", status.to_string()),
        ];
        metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
        metrics::histogram!(HTTP_DURATION, &labels).record(elapsed);
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request completed");
        }
        Ok(resp)
    };
    telemetry::with_sentry_tags(&tags, work.instrument(span)).await
}

/// The route a response answered, as a bounded label: the operation id of a spec route, the
/// path template of the few others (`/metrics`, `/openapi.json`, `/docs`), or `unmatched` —
/// never the raw path, whose ids would make a series per campaign.
fn route_label(resp: &Response) -> String {
    if let Some(op) = resp.data::<OperationId>() {
        return op.0.to_string();
    }
    match resp.data::<PathPattern>() {
        // The spec service is nested at `/`: its catch-all pattern is what unknown paths match.
        Some(PathPattern(pattern)) if !matches!(&**pattern, "" | "/") => pattern.to_string(),
        _ => "unmatched".to_string(),
    }
}

/// The request method as a label; methods no route uses share one.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The largest request body a route reads. Uploads get their file limit plus room for the
/// multipart framing; everything else is small JSON (or the payment provider's webhook).
fn body_limit(path: &str) -> usize {
    const JSON_LIMIT: usize = 64 * 1024;
    const FRAMING: usize = 64 * 1024;
    let mut parts = path.trim_start_matches('/').split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("api"), Some("campaigns"), Some(_), Some("images"), None) => {
            domain::campaigns::MAX_IMAGE_BYTES + FRAMING
        }
        (Some("api"), Some("loans"), Some(_), Some("documents"), None) => {
            domain::loans::MAX_DOCUMENT_BYTES + FRAMING
        }
        _ => JSON_LIMIT,
    }
}

/// Refuses what no route should see, before any route reads it: bodies over the route's limit
/// (413: by `Content-Length` at once, or as soon as a streamed body passes it, so nothing
/// larger is ever buffered), more than one `Idempotency-Key` (400: which one was meant?), and
/// query values with control or invisible characters (422).
pub async fn guard<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let limit = body_limit(req.uri().path());
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
        .with_details(json!({ "limit": limit }))
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large().into());
    }
    let keys = req.headers().get_all("idempotency-key");
    let unclear = if keys.iter().count() > 1 {
        Some("send exactly one Idempotency-Key header")
    } else if keys.iter().any(|k| k.to_str().is_err()) {
        Some("the Idempotency-Key header must be printable ASCII")
    } else {
        None
    };
    if let Some(why) = unclear {
        return Err(ApiError::bad_request(ErrorCode::BadRequest, why)
            .with_details(json!({ "field": "Idempotency-Key" }))
            .into());
    }
    if let Some((field, why)) = req
        .params::<Vec<(String, String)>>()
        .ok()
        .and_then(|pairs| text::first_bad_query(&pairs))
    {
        return Err(ApiError::validation(&field, format!("{field}: {why}")).into());
    }

    // Set when the streamed body passes the limit, so the answer is 413 whatever error the
    // reader of the body made of it.
    let tripped = Arc::new(AtomicBool::new(false));
    let flag = tripped.clone();
    let mut seen = 0usize;
    let body = req.take_body().into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > limit {
            flag.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("request body over the limit"));
        }
        Ok(chunk)
    });
    req.set_body(Body::from_bytes_stream(body));
    let result = next.call(req).await.map(IntoResponse::into_response);
    if tripped.load(Ordering::Relaxed) {
        return Err(too_large().into());
    }
    result
}

/// Browsers send `Origin` on same-origin POSTs too; the web app served by this api is not a
/// cross-origin caller, so its requests skip the CORS check (which refuses unlisted origins).
pub async fn same_origin_is_not_cors<E: Endpoint>(
    next: E,
    mut req: Request,
) -> poem::Result<Response> {
    let host = req.headers().get(header::HOST).cloned();
    let same = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .and_then(|o| o.split_once("://").map(|(_, authority)| authority))
        .zip(host.as_ref().and_then(|h| h.to_str().ok()))
        .is_some_and(|(origin_host, host)| origin_host.eq_ignore_ascii_case(host));
    if same {
        req.headers_mut().remove(header::ORIGIN);
    }
    next.call(req).await.map(IntoResponse::into_response)
}

/// Cross-origin callers allowed by `CORS_ORIGINS`, with the headers they may send and read.
pub fn cors(origins: &[String]) -> Cors {
    Cors::new()
        .allow_origins(origins.iter().map(String::as_str))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            "authorization",
            "content-type",
            "idempotency-key",
            "x-api-key",
            "x-request-id",
        ])
        .expose_headers([
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "retry-after",
            "x-request-id",
            "idempotent-replayed",
            "location",
        ])
        .max_age(600)
}

/// Content security policies: the web app loads only its own scripts and images from itself
/// and the object store; the docs page (Swagger UI) needs its inline script and styles; API
/// answers are data, never documents.
#[derive(Clone)]
pub struct SecurityHeaders {
    app_csp: HeaderValue,
    hsts: bool,
}

const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

impl SecurityHeaders {
    /// `storage_origin`: where presigned image URLs point; `https`: whether users reach us
    /// over TLS (then browsers are told to keep doing so).
    pub fn new(storage_origin: Option<&str>, https: bool) -> Self {
        let img = storage_origin.map(|o| format!(" {o}")).unwrap_or_default();
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:{img}; connect-src 'self'; font-src 'self'; \
             frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'"
        );
        Self {
            app_csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static(API_CSP)),
            hsts: https,
        }
    }

    fn apply(&self, path: &str, resp: &mut Response) {
        let api = path == "/api" || path.starts_with("/api/") || path == "/openapi.json";
        let csp = if api {
            HeaderValue::from_static(API_CSP)
        } else if path == "/docs" || path.starts_with("/docs/") {
            HeaderValue::from_static(DOCS_CSP)
        } else {
            self.app_csp.clone()
        };
        let headers = resp.headers_mut();
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        headers.insert("content-security-policy", csp);
        // Answers may carry tokens, keys, secrets or someone's balance: no cache keeps them.
        if api && !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if self.hsts {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
}

impl<E: Endpoint> poem::Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecurityHeadersEndpoint {
            inner,
            headers: self.clone(),
        }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    headers: SecurityHeaders,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let path = req.uri().path().to_string();
        let mut resp = match self.inner.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => ApiError::respond(err),
        };
        self.headers.apply(&path, &mut resp);
        Ok(resp)
    }
}
