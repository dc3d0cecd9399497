//! `/api/users/me` and the admin's `/api/admin/users`.

use domain::App;
use domain::accounts::service::{ProfileUpdate, UserChange};
use domain::accounts::{Role, Tier, User};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi};

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
    /// 1 to 100 characters (trimmed).
    #[oai(nullable, validator(min_length = 1, max_length = 100))]
    pub first_name: Option<String>,
    /// 1 to 100 characters (trimmed).
    #[oai(nullable, validator(min_length = 1, max_length = 100))]
    pub last_name: Option<String>,
    /// Turn non-essential mail (receipts, "you got a donation") on or off.
    #[oai(nullable)]
    pub email_notifications: Option<bool>,
    /// Required with `newPassword`.
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

pub struct UsersApi;

#[OpenApi(tag = "ApiTags::Users")]
impl UsersApi {
    /// The caller's own account.
    #[oai(path = "/api/users/me", method = "get", operation_id = "getMe")]
    async fn me(&self, app: Data<&App>, auth: Auth) -> ApiResult<Json<User>, { API | AUTH }> {
        Ok(Json(app.accounts().me(auth.principal()).await?))
    }

    /// Change names, mail preferences, or the password (with the current one). A password
    /// change ends all sessions.
    #[oai(path = "/api/users/me", method = "patch", operation_id = "updateMe")]
    async fn update_me(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<UpdateMeRequest>,
    ) -> ApiResult<Json<User>, { API | AUTH | BODY }> {
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
        Ok(Json(user))
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
