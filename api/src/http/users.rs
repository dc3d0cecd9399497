//! `/api/users/me` and the admin's `/api/admin/users`.

use chrono::{DateTime, Utc};
use domain::App;
use domain::accounts::User;
use domain::accounts::service::{ProfileUpdate, UserChange};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi, payload::Json};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::error::ApiResult;
use super::json::JsonBody;
use super::pagination::{PageParams, Paged};
use super::security::Auth;

#[derive(Object, Clone)]
#[oai(rename_all = "camelCase")]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// `user` or `admin`.
    pub role: String,
    /// `standard` or `premium`.
    pub tier: String,
    pub is_active: bool,
    pub email_notifications: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            role: u.role.as_str().into(),
            tier: u.tier.as_str().into(),
            is_active: u.is_active,
            email_notifications: u.email_notifications,
            created_at: u.created_at,
        }
    }
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UpdateMeRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Turn non-essential mail (receipts, "you got a donation") on or off.
    pub email_notifications: Option<bool>,
    /// Required with `newPassword`.
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct AdminUserUpdate {
    pub is_active: Option<bool>,
    /// `user` or `admin`.
    pub role: Option<String>,
    /// `standard` or `premium`.
    pub tier: Option<String>,
}

pub struct UsersApi;

#[OpenApi(tag = "ApiTags::Users")]
impl UsersApi {
    /// The caller's own account.
    #[oai(path = "/api/users/me", method = "get")]
    async fn me(&self, app: Data<&App>, auth: Auth) -> ApiResult<Json<UserDto>> {
        Ok(Json(app.accounts().me(auth.principal()).await?.into()))
    }

    /// Change names, mail preferences, or the password (with the current one). A password
    /// change ends all sessions.
    #[oai(path = "/api/users/me", method = "patch")]
    async fn update_me(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<UpdateMeRequest>,
    ) -> ApiResult<Json<UserDto>> {
        let b = body.0;
        let user = app
            .accounts()
            .update_me(
                auth.principal(),
                ProfileUpdate {
                    first_name: b.first_name,
                    last_name: b.last_name,
                    email_notifications: b.email_notifications,
                    current_password: b.current_password,
                    new_password: b.new_password,
                },
            )
            .await?;
        Ok(Json(user.into()))
    }

    /// Admin: list users, newest first; `q` matches email or name.
    #[oai(path = "/api/admin/users", method = "get")]
    async fn list(
        &self,
        app: Data<&App>,
        auth: Auth,
        q: Query<Option<String>>,
        page: Query<Option<i64>>,
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<UserDto>>> {
        let params = PageParams::parse(page.0, limit.0)?;
        let (users, total) = app
            .accounts()
            .admin_list_users(auth.principal(), q.0.as_deref(), params.page, params.limit)
            .await?;
        Ok(Json(Paged::new(
            users.into_iter().map(Into::into).collect(),
            params,
            total,
        )))
    }

    /// Admin: activate/deactivate, change role or tier. Takes effect at once.
    #[oai(path = "/api/admin/users/:id", method = "patch")]
    async fn update(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<AdminUserUpdate>,
    ) -> ApiResult<Json<UserDto>> {
        let b = body.0;
        let user = app
            .accounts()
            .admin_update_user(
                auth.principal(),
                id.0,
                UserChange {
                    is_active: b.is_active,
                    role: b.role,
                    tier: b.tier,
                },
            )
            .await?;
        Ok(Json(user.into()))
    }
}
