//! `/api/auth/*`: registration, login, token refresh (with rotation), logout, password reset
//! and email verification.

use domain::App;
use domain::accounts::{AuthSuccess, Registration, TokenPair, User};
use poem::Request;
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::common::Json;
use serde::Deserialize;

use super::ApiTags;
use super::error::{API, AUTH, ApiResult, BODY, CONFLICT, UNAUTHORIZED, UNPROCESSABLE};
use super::json::JsonBody;
use super::public::NoAuth;
use super::security::Auth;
use super::security::{client_ip, device};

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

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequest {
    /// The account's email; the answer is the same whether or not it has one.
    #[oai(validator(max_length = 254))]
    pub email: String,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetConfirmation {
    /// The `token` from the emailed link.
    #[oai(validator(max_length = 200))]
    pub token: String,
    /// The new password, 10 to 200 characters.
    #[oai(validator(min_length = 10, max_length = 200))]
    pub password: String,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct EmailVerification {
    /// The `token` from the emailed link.
    #[oai(validator(max_length = 200))]
    pub token: String,
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
pub enum ResetRequested {
    /// Taken: if the email has an active account, a link is on its way.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum PasswordReset {
    /// The password is set and every session of the account has ended.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum EmailVerified {
    /// The account's email address is verified.
    #[oai(status = 204)]
    NoContent,
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
    /// of case. A link to verify the address is mailed (valid 7 days); creating campaigns,
    /// lending and payouts wait for it (`user.emailVerified`).
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        req: &Request,
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
                device: device(req),
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
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> ApiResult<Json<AuthResponse>, { API | BODY | UNAUTHORIZED }> {
        let auth = app
            .accounts()
            .login(&body.email, &body.password, &device(req))
            .await?;
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

    /// Ask for a password reset link. Always 202, whether or not the email has an account; an
    /// account gets at most 3 links an hour, each valid one hour and usable once. 429 after 10
    /// requests an hour from one address.
    #[oai(
        path = "/password-reset",
        method = "post",
        operation_id = "requestPasswordReset"
    )]
    async fn request_password_reset(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        req: &Request,
        body: JsonBody<PasswordResetRequest>,
    ) -> ApiResult<ResetRequested, { API | BODY }> {
        let ip = client_ip(req, app.infra.config.trust_proxy);
        app.accounts()
            .request_password_reset(&body.email, &ip)
            .await?;
        Ok(ResetRequested::Accepted)
    }

    /// Set a new password with the token of a reset link. Every session of the account ends.
    /// 422 `invalid_token` when the link is forged, expired or already used.
    #[oai(
        path = "/password-reset/confirm",
        method = "post",
        operation_id = "confirmPasswordReset"
    )]
    async fn confirm_password_reset(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        req: &Request,
        body: JsonBody<PasswordResetConfirmation>,
    ) -> ApiResult<PasswordReset, { API | BODY }> {
        let ip = client_ip(req, app.infra.config.trust_proxy);
        app.accounts()
            .reset_password(&body.token, &body.password, &ip)
            .await?;
        Ok(PasswordReset::NoContent)
    }

    /// Verify the account's email address with the token of an emailed link. The link works
    /// once, and links sent to an address the account no longer has stop working. 422
    /// `invalid_token` when the link is forged, expired or already used; 429 after 10
    /// attempts an hour from one address.
    #[oai(path = "/verify-email", method = "post", operation_id = "verifyEmail")]
    async fn verify_email(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        req: &Request,
        body: JsonBody<EmailVerification>,
    ) -> ApiResult<EmailVerified, { API | BODY }> {
        let ip = client_ip(req, app.infra.config.trust_proxy);
        app.accounts().verify_email(&body.token, &ip).await?;
        Ok(EmailVerified::NoContent)
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
