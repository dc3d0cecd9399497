//! Authentication and rate limits: the `identify` middleware resolves the caller once per
//! request (bearer token or `X-API-Key`) and counts the request against the caller's limit; the
//! security schemes below then only read the result, and document which routes need
//! credentials.

use domain::App;
use domain::accounts::Principal;
use domain::accounts::rate_limit::{Caller, Quota, Verdict};
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

use super::error::ApiError;
use super::middleware::RequestId;

/// Credentials were sent but did not check out; the message says why (without detail).
#[derive(Clone)]
struct AuthFailure(&'static str);

/// `/api/…` routes that are not rate limited: the payment provider's webhook comes from a few
/// addresses, is authenticated by its signature, and throttling it would delay deposits.
const UNLIMITED: &[&str] = &["/api/payments/webhook"];

/// Resolves the caller from `Authorization: Bearer …` or `X-API-Key`, then, for `/api/…`
/// routes, counts the request against the caller's rate limit and reports the standing in
/// `RateLimit-*` headers (429 once over the limit).
pub async fn identify<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let Some(app) = req.data::<App>().cloned() else {
        return Err(poem::Error::from_string(
            "app missing",
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
        ));
    };
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").map(str::trim).map(str::to_string));
    let api_key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let path = req.uri().path();
    let limited = (path == "/api" || path.starts_with("/api/")) && !UNLIMITED.contains(&path);
    // A bearer's session check also counts its request, in one Redis round trip.
    let (resolved, counted) = match (bearer, api_key) {
        (Some(token), _) => {
            let (principal, verdict) = app.accounts().authenticate_bearer(&token, limited).await;
            (Some(principal), verdict)
        }
        (None, Some(key)) => (Some(app.accounts().authenticate_api_key(&key).await), None),
        (None, None) => (None, None),
    };
    let principal = match resolved {
        Some(Ok(principal)) => Some(principal),
        Some(Err(domain::Error::Unauthorized(why))) => {
            req.extensions_mut().insert(AuthFailure(why));
            None
        }
        Some(Err(other)) => return Err(ApiError::from(other).into()),
        None => None,
    };

    let verdict = match counted {
        _ if !limited => Verdict::Unlimited,
        Some(verdict) => verdict,
        None => {
            let ip = client_ip(&req, app.infra.config.trust_proxy);
            let caller = match &principal {
                Some(p) => Caller::User(p),
                // Callers with bad credentials count as anonymous, which also slows token
                // guessing.
                None => Caller::Anonymous { ip: &ip },
            };
            app.rate_limiter().hit(caller).await
        }
    };
    let quota = match verdict {
        Verdict::Counted(quota) => Some(quota),
        Verdict::Unlimited | Verdict::Unchecked => None,
    };
    if let Some(q) = quota.filter(|q| q.exceeded) {
        let error = ApiError::from(domain::Error::RateLimited {
            retry_after_secs: q.reset_secs,
        });
        return Ok(with_quota(error.into_response(), q));
    }

    if let Some(mut p) = principal {
        p.request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        req.extensions_mut().insert(p);
    }
    let resp = match next.call(req).await {
        Ok(resp) => resp.into_response(),
        // Shaped here rather than by the outer middleware so the headers survive errors too.
        Err(err) if quota.is_some() => ApiError::respond(err),
        Err(err) => return Err(err),
    };
    Ok(match quota {
        Some(q) => with_quota(resp, q),
        None => resp,
    })
}

/// The client's address: the TCP peer, or, behind our one trusted proxy, the last
/// `X-Forwarded-For` entry (the one that proxy appended; earlier entries are whatever the
/// client chose to send).
pub fn client_ip(req: &Request, trust_proxy: bool) -> String {
    let forwarded = trust_proxy
        .then(|| req.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    match forwarded {
        Some(ip) => ip.to_string(),
        None => req
            .remote_addr()
            .as_socket_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".to_string()),
    }
}

/// The client's `User-Agent`, kept with a new session so its owner can tell sessions apart.
pub fn device(req: &Request) -> String {
    req.headers()
        .get(poem::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown device")
        .to_string()
}

fn with_quota(mut resp: Response, q: Quota) -> Response {
    let headers = resp.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(q.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(q.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(q.reset_secs));
    resp
}

fn principal_of(req: &Request) -> poem::Result<Principal> {
    if let Some(p) = req.extensions().get::<Principal>() {
        return Ok(p.clone());
    }
    let why = req
        .extensions()
        .get::<AuthFailure>()
        .map(|f| f.0)
        .unwrap_or("authentication required");
    Err(ApiError::from(domain::Error::Unauthorized(why)).into())
}

async fn check_bearer(req: &Request, _: Bearer) -> poem::Result<Principal> {
    principal_of(req)
}

async fn check_api_key(req: &Request, _: ApiKey) -> poem::Result<Principal> {
    principal_of(req)
}

/// A JWT access token from `POST /api/auth/login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(Principal);

/// A key from `POST /api/api-keys`, acting as its owner.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "X-API-Key",
    key_in = "header",
    checker = "check_api_key"
)]
pub struct ApiKeyAuth(Principal);

/// Either credential.
#[derive(SecurityScheme)]
pub enum Auth {
    Bearer(BearerAuth),
    ApiKey(ApiKeyAuth),
}

impl Auth {
    pub fn principal(&self) -> &Principal {
        match self {
            Auth::Bearer(b) => &b.0,
            Auth::ApiKey(k) => &k.0,
        }
    }

    /// The principal, if it is an admin; 403 otherwise.
    pub fn admin(&self) -> Result<&Principal, ApiError> {
        let p = self.principal();
        p.require_admin()?;
        Ok(p)
    }
}

/// The caller on public routes, if they sent valid credentials (drafts are visible to their
/// creator, for example).
pub fn viewer(req: &Request) -> Option<&Principal> {
    req.extensions().get::<Principal>()
}
