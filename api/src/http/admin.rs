//! `/api/admin/dashboard`: the numbers admins watch.

use chrono::{DateTime, NaiveDate, Utc};
use domain::App;
use domain::ops::admin::dashboard::{Activity, Totals};
use poem::web::Data;
use poem_openapi::{Object, OpenApi};

use super::common::Json;

use super::ApiTags;
use super::error::{ADMIN, API, ApiResult};
use super::ops::QueueDto;
use super::security::Auth;

/// A period's activity and the rates computed from it.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ActivityDto {
    #[oai(flatten)]
    pub counts: Activity,
    /// Approved share of the period's loan decisions, in basis points (null without any).
    #[oai(nullable)]
    pub approval_rate_bp: Option<i64>,
    /// Defaulted share of the loans that ended in the period (repaid or defaulted), in basis
    /// points (null when none ended).
    #[oai(nullable)]
    pub default_rate_bp: Option<i64>,
}

impl From<Activity> for ActivityDto {
    fn from(counts: Activity) -> Self {
        Self {
            approval_rate_bp: counts.approval_rate_bp(),
            default_rate_bp: counts.default_rate_bp(),
            counts,
        }
    }
}

/// The background machinery, read on every view.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct PipelineDto {
    /// Age in seconds of the oldest outbox event not yet relayed (0 when none).
    pub outbox_lag_seconds: i64,
    /// Outbox events not yet relayed.
    pub outbox_unsent: i64,
    pub queues: Vec<QueueDto>,
    /// Jobs that failed their last attempt (see `/api/admin/jobs`).
    pub dead_letters: u64,
}

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
    /// When the totals, `last30DaysActivity` and `last30Days` were computed (they are cached
    /// for an hour).
    pub computed_at: DateTime<Utc>,
    pub totals: Totals,
    /// Since midnight UTC, live on every view.
    pub today: ActivityDto,
    /// The 30 UTC days up to and including today, as of `computedAt`.
    pub last_30_days_activity: ActivityDto,
    /// Live on every view.
    pub pipeline: PipelineDto,
    /// From the nightly analytics, newest first.
    pub last_30_days: Vec<DayDto>,
    pub cache: CacheDto,
}

pub struct AdminApi;

#[OpenApi(prefix_path = "/api/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// Platform totals, today's activity (live) and the last 30 days', the outbox lag, queue
    /// depths and dead letters (live), and cache hit rates.
    #[oai(path = "/dashboard", method = "get", operation_id = "getDashboard")]
    async fn dashboard(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<DashboardDto>, { API | ADMIN }> {
        let (d, live) = app.admin().dashboard(auth.principal()).await?;
        let (hits, misses) = app.campaigns().cache_stats().snapshot();
        Ok(Json(DashboardDto {
            computed_at: d.computed_at,
            totals: d.totals,
            today: live.today.into(),
            last_30_days_activity: d.last_30_days_activity.into(),
            pipeline: PipelineDto {
                outbox_lag_seconds: live.outbox_lag_seconds,
                outbox_unsent: live.outbox_unsent,
                queues: live.queues.into_iter().map(QueueDto::from).collect(),
                dead_letters: live.dead_letters,
            },
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
