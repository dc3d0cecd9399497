//! Recurring donations: `/api/donations/recurring` for donors, and the campaign side's stop.

use chrono::Utc;
use domain::App;
use domain::money::recurring::RecurringPlan;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::common::Json;
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::enums::{OneOf, RecurringAction};
use super::error::{API, AUTH, ApiResult, BODY, BY_ID, CONFLICT, FORBIDDEN, NOT_FOUND};
use super::json::JsonBody;
use super::security::Auth;

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreateRecurring {
    pub campaign_id: Uuid,
    /// Minor units per month, 100 to 10,000,000.
    #[oai(validator(minimum(value = "100"), maximum(value = "10000000")))]
    pub amount: i64,
    /// 1 to 28, so every month has the day.
    #[oai(validator(minimum(value = "1"), maximum(value = "28")))]
    pub day_of_month: i32,
}

#[derive(Object)]
pub struct StoppedPlans {
    /// How many live plans were stopped.
    pub stopped: u64,
}

#[derive(ApiResponse)]
pub enum RecurringCreated {
    /// Created; the first charge is on `nextChargeOn`.
    #[oai(status = 201)]
    Created(Json<RecurringPlan>),
}

pub struct RecurringApi;

#[OpenApi(prefix_path = "/api", tag = "ApiTags::Donations")]
impl RecurringApi {
    /// Give to a campaign every month on `dayOfMonth` from the wallet. If the wallet is short,
    /// the charge is retried on the next two days, then the plan is paused and the donor told.
    #[oai(
        path = "/donations/recurring",
        method = "post",
        operation_id = "createRecurringDonation"
    )]
    async fn create(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<CreateRecurring>,
    ) -> ApiResult<RecurringCreated, { API | AUTH | BODY | NOT_FOUND | CONFLICT }> {
        let plan = app
            .recurring()
            .create(
                auth.principal(),
                body.campaign_id,
                body.amount,
                body.day_of_month,
                Utc::now().date_naive(),
            )
            .await?;
        Ok(RecurringCreated::Created(Json(plan)))
    }

    /// The caller's recurring donations.
    #[oai(
        path = "/donations/recurring",
        method = "get",
        operation_id = "listMyRecurringDonations"
    )]
    async fn mine(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<Vec<RecurringPlan>>, { API | AUTH }> {
        let plans = app.recurring().mine(auth.principal()).await?;
        Ok(Json(plans))
    }

    /// Pause, resume or cancel one of the caller's plans (`action`: pause | resume | cancel).
    #[oai(
        path = "/donations/recurring/:id/:action",
        method = "post",
        operation_id = "changeRecurringDonation"
    )]
    async fn change(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        action: Path<OneOf<RecurringAction>>,
    ) -> ApiResult<
        Json<RecurringPlan>,
        { API | AUTH | BY_ID | crate::http::error::UNPROCESSABLE | CONFLICT },
    > {
        let plan = app
            .recurring()
            .change(
                auth.principal(),
                id.0,
                action.0.as_str(),
                Utc::now().date_naive(),
            )
            .await?;
        Ok(Json(plan))
    }

    /// The campaign's creator or an admin stops all incoming recurring donations (no refunds).
    #[oai(
        path = "/campaigns/:id/recurring/stop",
        method = "post",
        tag = "ApiTags::Campaigns",
        operation_id = "stopCampaignRecurringDonations"
    )]
    async fn stop(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<StoppedPlans>, { API | AUTH | FORBIDDEN | BY_ID }> {
        let stopped = app
            .recurring()
            .stop_for_campaign(auth.principal(), id.0)
            .await?;
        Ok(Json(StoppedPlans { stopped }))
    }
}
