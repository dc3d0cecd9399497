//! `/api/auth/*`: registration, login, token refresh (with rotation) and logout.

use domain::App;
use domain::accounts::{AuthSuccess, Registration, TokenPair, User};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::common::Json;
use serde::Deserialize;

use super::ApiTags;
use super::error::{API, AUTH, ApiResult, BODY, CONFLICT, UNAUTHORIZED, UNPROCESSABLE};
use super::json::JsonBody;
use super::public::NoAuth;
use super::security::Auth;

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    /// At most 254 characters.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// 10 to 200 characters.
    #[oai(validator(min_length = 10, max_length = 200))]
    pub password: String,
    /// 1 to 100 characters (trimmed).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub first_name: String,
    /// 1 to 100 characters (trimmed).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub last_name: String,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct TokensDto {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct AuthResponse {
    pub user: User,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

impl From<TokenPair> for TokensDto {
    fn from(t: TokenPair) -> Self {
        Self {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_in: t.expires_in,
        }
    }
}

impl From<AuthSuccess> for AuthResponse {
    fn from(a: AuthSuccess) -> Self {
        Self {
            user: a.user,
            access_token: a.tokens.access_token,
            refresh_token: a.tokens.refresh_token,
            expires_in: a.tokens.expires_in,
        }
    }
}

#[derive(ApiResponse)]
pub enum Registered {
    /// Account created and signed in.
    #[oai(status = 201)]
    Created(Json<AuthResponse>),
}

#[derive(ApiResponse)]
pub enum LoggedOut {
    /// The session's tokens no longer work.
    #[oai(status = 204)]
    NoContent,
}

pub struct AuthApi;

#[OpenApi(prefix_path = "/api/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Create an account. Passwords need at least 10 characters; emails are unique regardless
    /// of case.
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        body: JsonBody<RegisterRequest>,
    ) -> ApiResult<Registered, { API | BODY | CONFLICT }> {
        let body = body.0;
        let auth = app
            .accounts()
            .register(Registration {
                email: body.email,
                password: body.password,
                first_name: body.first_name,
                last_name: body.last_name,
            })
            .await?;
        Ok(Registered::Created(Json(auth.into())))
    }

    /// Sign in. Unknown email and wrong password give the same 401.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        body: JsonBody<LoginRequest>,
    ) -> ApiResult<Json<AuthResponse>, { API | BODY | UNAUTHORIZED }> {
        let auth = app.accounts().login(&body.email, &body.password).await?;
        Ok(Json(auth.into()))
    }

    /// Exchange a refresh token for a new pair. Each refresh token works once; presenting a
    /// used one ends the whole session.
    #[oai(path = "/refresh", method = "post", operation_id = "refreshTokens")]
    async fn refresh(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        body: JsonBody<RefreshRequest>,
    ) -> ApiResult<Json<TokensDto>, { API | BODY | UNAUTHORIZED }> {
        let pair = app.accounts().refresh(&body.refresh_token).await?;
        Ok(Json(pair.into()))
    }

    /// End the current session at once, on every api instance.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<LoggedOut, { API | AUTH | UNPROCESSABLE }> {
        app.accounts().logout(auth.principal()).await?;
        Ok(LoggedOut::NoContent)
    }
}
