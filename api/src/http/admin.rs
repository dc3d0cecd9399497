//! `/api/admin/dashboard`: the numbers admins watch.

use chrono::{DateTime, NaiveDate, Utc};
use domain::App;
use domain::ops::admin::dashboard::Totals;
use poem::web::Data;
use poem_openapi::{Object, OpenApi};

use super::common::Json;

use super::ApiTags;
use super::error::{ADMIN, API, ApiResult};
use super::security::Auth;

// Not the ops Day: adds the computed `approvalRateBp`.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DayDto {
    pub day: NaiveDate,
    pub donations_count: i32,
    pub donations_amount: i64,
    pub donors_count: i32,
    pub new_campaigns: i32,
    pub new_users: i32,
    pub loans_approved: i32,
    pub loans_rejected: i32,
    pub loans_repaid: i32,
    /// Approved share of the day's loan decisions, in basis points (null without decisions).
    #[oai(nullable)]
    pub approval_rate_bp: Option<i64>,
}

#[derive(Object)]
pub struct CacheDto {
    /// Page-cache hits and misses counted by the api instance that answered.
    pub hits: u64,
    pub misses: u64,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DashboardDto {
    /// When the totals were computed (they are cached for an hour).
    pub computed_at: DateTime<Utc>,
    pub totals: Totals,
    /// From the nightly analytics, newest first.
    pub last_30_days: Vec<DayDto>,
    pub cache: CacheDto,
}

pub struct AdminApi;

#[OpenApi(prefix_path = "/api/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// Platform totals, the last 30 days and cache hit rates.
    #[oai(path = "/dashboard", method = "get", operation_id = "getDashboard")]
    async fn dashboard(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<DashboardDto>, { API | ADMIN }> {
        let d = app.admin().dashboard(auth.principal()).await?;
        let (hits, misses) = app.campaigns().cache_stats().snapshot();
        Ok(Json(DashboardDto {
            computed_at: d.computed_at,
            totals: d.totals,
            last_30_days: d
                .last_30_days
                .into_iter()
                .map(|x| DayDto {
                    day: x.day,
                    donations_count: x.donations_count,
                    donations_amount: x.donations_amount,
                    donors_count: x.donors_count,
                    new_campaigns: x.new_campaigns,
                    new_users: x.new_users,
                    loans_approved: x.loans_approved,
                    loans_rejected: x.loans_rejected,
                    loans_repaid: x.loans_repaid,
                    approval_rate_bp: domain::analytics::approval_rate_bp(
                        x.loans_approved,
                        x.loans_rejected,
                    ),
                })
                .collect(),
            cache: CacheDto { hits, misses },
        }))
    }
}
