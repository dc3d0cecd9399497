//! Cross-cutting request handling: request ids, access logs and the error shape.

use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use super::error::ApiError;

pub const REQUEST_ID: &str = "x-request-id";

/// Accepts a caller's `X-Request-Id` (if short and printable) or makes one, puts it on the
/// tracing span and the response, logs status and latency, and turns every error into the JSON
/// error shape.
pub async fn observe<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
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
    let started = Instant::now();
    async move {
        let mut resp = match next.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => shape(err),
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert(REQUEST_ID, value);
        }
        let status = resp.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request completed");
        }
        Ok(resp)
    }
    .instrument(span)
    .await
}

fn shape(err: poem::Error) -> Response {
    if err.is::<ApiError>() {
        err.into_response()
    } else {
        ApiError::from_poem(&err).into_response()
    }
}
