//! `/api/users/me` and the admin's `/api/admin/users`.

use chrono::{DateTime, Utc};
use domain::App;
use domain::accounts::service::{ProfileUpdate, UserChange};
use domain::accounts::{Role, Tier, User};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::common::Json;
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::common::{PageParams, Paged};
use super::enums::{Nullable, OneOf};
use super::error::{ADMIN, API, AUTH, ApiResult, BODY, BY_ID, CONFLICT, PARAMS};
use super::json::JsonBody;
use super::params::{PageLimit, PageNumber};
use super::security::Auth;

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UpdateMeRequest {
    /// A new address, at most 254 characters; requires `currentPassword`. It stays unverified
    /// until the link mailed to it is followed.
    #[oai(nullable, validator(max_length = 254))]
    pub email: Option<String>,
    /// 1 to 100 characters (trimmed).
    #[oai(nullable, validator(min_length = 1, max_length = 100))]
    pub first_name: Option<String>,
    /// 1 to 100 characters (trimmed).
    #[oai(nullable, validator(min_length = 1, max_length = 100))]
    pub last_name: Option<String>,
    /// Turn non-essential mail (receipts, "you got a donation") on or off.
    #[oai(nullable)]
    pub email_notifications: Option<bool>,
    /// Required with `email` and `newPassword`.
    #[oai(nullable)]
    pub current_password: Option<String>,
    /// 10 to 200 characters.
    #[oai(nullable, validator(min_length = 10, max_length = 200))]
    pub new_password: Option<String>,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct AdminUserUpdate {
    #[oai(nullable)]
    pub is_active: Option<bool>,
    #[serde(default)]
    pub role: Nullable<OneOf<Role>>,
    #[serde(default)]
    pub tier: Nullable<OneOf<Tier>>,
}

/// One signed-in session of the caller.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SessionDto {
    pub id: String,
    /// The browser or app that signed in (its `User-Agent`).
    pub device: String,
    pub created_at: DateTime<Utc>,
    /// The sign-in or the latest token refresh (an active client refreshes every 15 minutes).
    pub last_used_at: DateTime<Utc>,
    /// This is the session making the request.
    pub current: bool,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SessionsEnded {
    /// How many sessions ended.
    pub ended: u32,
}

#[derive(ApiResponse)]
pub enum SessionEnded {
    /// The session's tokens no longer work.
    #[oai(status = 204)]
    NoContent,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct DeleteAccountRequest {
    /// The account's current password.
    #[oai(validator(max_length = 200))]
    pub password: String,
}

#[derive(ApiResponse)]
pub enum VerificationSent {
    /// A new link is on its way to the account's address.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum AccountDeleted {
    /// The account is deleted: its personal data erased and every session ended.
    #[oai(status = 204)]
    NoContent,
}

pub struct UsersApi;

#[OpenApi(tag = "ApiTags::Users")]
impl UsersApi {
    /// The caller's own account.
    #[oai(path = "/api/users/me", method = "get", operation_id = "getMe")]
    async fn me(&self, app: Data<&App>, auth: Auth) -> ApiResult<Json<User>, { API | AUTH }> {
        Ok(Json(app.accounts().me(auth.principal()).await?))
    }

    /// Change names, mail preferences, or the email or password (with the current password).
    /// A password change ends all sessions. A new email is unverified until the link mailed
    /// to it is followed; links sent to the old one stop working (409 `email_taken` when
    /// another account has it, 429 beyond 3 verification links an hour).
    #[oai(path = "/api/users/me", method = "patch", operation_id = "updateMe")]
    async fn update_me(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<UpdateMeRequest>,
    ) -> ApiResult<Json<User>, { API | AUTH | BODY | CONFLICT }> {
        let b = body.0;
        let user = app
            .accounts()
            .update_me(
                auth.principal(),
                ProfileUpdate {
                    email: b.email,
                    first_name: b.first_name,
                    last_name: b.last_name,
                    email_notifications: b.email_notifications,
                    current_password: b.current_password,
                    new_password: b.new_password,
                },
            )
            .await?;
        Ok(Json(user))
    }

    /// Mail a new link to verify the caller's email address (valid 7 days). 409
    /// `already_verified` when it is; 429 (with `Retry-After`) beyond 3 links an hour,
    /// counting the one sent at registration or after an email change.
    #[oai(
        path = "/api/users/me/verification-email",
        method = "post",
        operation_id = "resendVerificationEmail"
    )]
    async fn resend_verification(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<VerificationSent, { API | AUTH | CONFLICT }> {
        app.accounts()
            .resend_verification(auth.principal().user_id)
            .await?;
        Ok(VerificationSent::Accepted)
    }

    /// The caller's signed-in sessions, newest first.
    #[oai(
        path = "/api/users/me/sessions",
        method = "get",
        operation_id = "listMySessions"
    )]
    async fn sessions(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<Vec<SessionDto>>, { API | AUTH }> {
        let principal = auth.principal();
        let current = principal.session_id.as_deref();
        let sessions = app.accounts().sessions_of(principal).await?;
        Ok(Json(
            sessions
                .into_iter()
                .map(|s| SessionDto {
                    current: Some(s.id.as_str()) == current,
                    id: s.id,
                    device: s.device,
                    created_at: s.created_at,
                    last_used_at: s.last_used_at,
                })
                .collect(),
        ))
    }

    /// End one of the caller's sessions (the current one included) at once.
    #[oai(
        path = "/api/users/me/sessions/:id",
        method = "delete",
        operation_id = "endMySession"
    )]
    async fn end_session(
        &self,
        app: Data<&App>,
        auth: Auth,
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<SessionEnded, { API | AUTH | BY_ID }> {
        app.accounts().end_session(auth.principal(), &id.0).await?;
        Ok(SessionEnded::NoContent)
    }

    /// End every session of the caller except the one making the request (every one, for an
    /// API key).
    #[oai(
        path = "/api/users/me/sessions",
        method = "delete",
        operation_id = "endOtherSessions"
    )]
    async fn end_other_sessions(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<SessionsEnded>, { API | AUTH }> {
        let ended = app.accounts().end_other_sessions(auth.principal()).await?;
        Ok(Json(SessionsEnded {
            ended: u32::try_from(ended).unwrap_or(u32::MAX),
        }))
    }

    /// Everything Commonpot holds about the caller, as one JSON document: profile, wallet and
    /// its ledger lines, deposits, donations, recurring donations, campaigns, withdrawals,
    /// loans and repayments, loan shares and repayments received, API keys and webhook
    /// endpoints (without their secrets), and live sessions.
    #[oai(
        path = "/api/users/me/export",
        method = "get",
        operation_id = "exportMyData"
    )]
    async fn export(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<serde_json::Value>, { API | AUTH }> {
        let data = domain::privacy::export(&app, auth.principal()).await?;
        Ok(Json(serde_json::Value::Object(data)))
    }

    /// Delete the caller's account, with their password. Personal data (names, email, donation
    /// messages, loan documents, campaign images, API keys, webhooks, sessions) is erased; the
    /// ledger, donations and loans stay, under an anonymised user. Refused with 409
    /// `account_not_settled` while money is in the wallet, a loan they borrowed or lent is
    /// still being raised or repaid, or a campaign of theirs is active or suspended.
    #[oai(
        path = "/api/users/me/delete",
        method = "post",
        operation_id = "deleteMyAccount"
    )]
    async fn delete_account(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<DeleteAccountRequest>,
    ) -> ApiResult<AccountDeleted, { API | AUTH | BODY | CONFLICT }> {
        domain::privacy::delete_account(&app, auth.principal(), &body.password).await?;
        Ok(AccountDeleted::NoContent)
    }

    /// Admin: list users, newest first; `q` matches email or name.
    #[oai(path = "/api/admin/users", method = "get", operation_id = "listUsers")]
    async fn list(
        &self,
        app: Data<&App>,
        auth: Auth,
        q: Query<Option<String>>,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<User>>, { API | ADMIN | PARAMS }> {
        let params = PageParams::parse(page.0.0, limit.0.0)?;
        let (users, total) = app
            .accounts()
            .admin_list_users(auth.principal(), q.0.as_deref(), params.page, params.limit)
            .await?;
        Ok(Json(Paged::new(users, params, total)))
    }

    /// Admin: activate/deactivate, change role or tier. Takes effect at once.
    #[oai(
        path = "/api/admin/users/:id",
        method = "patch",
        operation_id = "updateUser"
    )]
    async fn update(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<AdminUserUpdate>,
    ) -> ApiResult<Json<User>, { API | ADMIN | BY_ID | BODY | CONFLICT }> {
        let b = body.0;
        let user = app
            .accounts()
            .admin_update_user(
                auth.principal(),
                id.0,
                UserChange {
                    is_active: b.is_active,
                    role: b.role.0.map(OneOf::into_inner),
                    tier: b.tier.0.map(OneOf::into_inner),
                },
            )
            .await?;
        Ok(Json(user))
    }
}
