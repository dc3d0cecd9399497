//! `/api/admin/audit-log`: who did what to which thing, newest first, filtered and paged by
//! a keyset cursor (`before`, from the previous page's `nextBefore`).

use chrono::{DateTime, Utc};
use domain::App;
use domain::admin::audit_log::AuditQuery;
use domain::audit_log::{Action, Page};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;
use uuid::Uuid;

use super::ApiTags;
use super::common::Json;
use super::enums::OneOf;
use super::error::{ADMIN, API, ApiResult, PARAMS};
use super::params::AuditLimit;
use super::security::Auth;

pub struct AuditLogApi;

#[OpenApi(prefix_path = "/api/admin", tag = "ApiTags::Admin")]
impl AuditLogApi {
    /// Admin: the audit log of admin actions, newest first. Filters: `actor` (the admin's
    /// id), `target_type` and `target_id`, `action`, and the period `from` (inclusive) to `to`
    /// (exclusive), RFC 3339. Pass the page's `nextBefore` as `before` for the next page.
    #[oai(path = "/audit-log", method = "get", operation_id = "listAuditLog")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        app: Data<&App>,
        auth: Auth,
        actor: Query<Option<Uuid>>,
        target_type: Query<Option<String>>,
        target_id: Query<Option<String>>,
        action: Query<Option<OneOf<Action>>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        before: Query<Option<i64>>,
        limit: Query<AuditLimit>,
    ) -> ApiResult<Json<Page>, { API | ADMIN | PARAMS }> {
        let query = AuditQuery {
            actor: actor.0,
            target_type: target_type.0,
            target_id: target_id.0,
            action: action.0.map(OneOf::into_inner),
            from: from.0,
            to: to.0,
            before: before.0,
            limit: limit.0.0,
        };
        Ok(Json(app.admin().audit_log(auth.principal(), query).await?))
    }
}
