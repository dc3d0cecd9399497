//! Authentication: the `identify` middleware resolves the caller once per request (bearer token
//! or `X-API-Key`) and applies rate limits; the security schemes below then only read the
//! result, and document which routes need credentials.

use domain::App;
use domain::accounts::Principal;
use poem::{Endpoint, Request, Response};
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

use super::error::ApiError;

/// Credentials were sent but did not check out; the message says why (without detail).
#[derive(Clone)]
struct AuthFailure(&'static str);

/// Resolves the caller from `Authorization: Bearer …` or `X-API-Key`, then counts the request
/// against the caller's rate limit.
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
    let resolved = match (bearer, api_key) {
        (Some(token), _) => Some(app.accounts().authenticate_bearer(&token).await),
        (None, Some(key)) => Some(app.accounts().authenticate_api_key(&key).await),
        (None, None) => None,
    };
    match resolved {
        Some(Ok(principal)) => {
            req.extensions_mut().insert(principal);
        }
        Some(Err(domain::Error::Unauthorized(why))) => {
            req.extensions_mut().insert(AuthFailure(why));
        }
        Some(Err(other)) => return Err(ApiError::from(other).into()),
        None => {}
    }
    next.call(req).await.map(poem::IntoResponse::into_response)
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
