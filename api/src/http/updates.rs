//! `/api/campaigns/{id}/updates`: news a campaign's creator posts for its donors, emailed to
//! them by the worker, and the public list of it.

use domain::App;
use domain::campaigns::{CampaignUpdate, PostUpdate};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::common::{Json, PageParams, Paged};
use super::error::{API, AUTH, ApiResult, BODY, BY_ID, CONFLICT, FORBIDDEN, PARAMS};
use super::json::JsonBody;
use super::params::{PageLimit, PageNumber};
use super::public::MaybeAuth;
use super::security::{Auth, viewer};

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PostUpdateRequest {
    /// 1 to 120 characters (trimmed), one line.
    #[oai(validator(min_length = 1, max_length = 120))]
    pub title: String,
    /// Plain text, 1 to 10,000 characters (trimmed); line breaks are kept.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub body: String,
}

#[derive(ApiResponse)]
pub enum UpdatePosted {
    /// Posted; the donors are emailed shortly.
    #[oai(status = 201)]
    Created(Json<CampaignUpdate>),
}

pub struct UpdatesApi;

#[OpenApi(prefix_path = "/api", tag = "ApiTags::Campaigns")]
impl UpdatesApi {
    /// Post an update on a campaign (its creator or an admin). The update is public at once,
    /// and every donor with a standing (unrefunded) gift to the campaign is emailed it once,
    /// unless they turned email notifications off. Active, completed and cancelled campaigns
    /// take updates; a draft answers 409 `campaign_not_published` and a suspended campaign 409
    /// `campaign_suspended`. A campaign may post at most 10 updates in any 24 hours: the 11th
    /// answers 409 `too_many_updates`. A title or body that is empty once trimmed, or too long,
    /// answers 422 `validation_failed` naming the field in `details.field`.
    #[oai(
        path = "/campaigns/:id/updates",
        method = "post",
        operation_id = "postCampaignUpdate"
    )]
    async fn post(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<PostUpdateRequest>,
    ) -> ApiResult<UpdatePosted, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        let b = body.0;
        let update = app
            .campaigns()
            .post_update(
                auth.principal(),
                id.0,
                PostUpdate {
                    title: b.title,
                    body: b.body,
                },
            )
            .await?;
        Ok(UpdatePosted::Created(Json(update)))
    }

    /// The campaign's updates, newest first. Those of a hidden (draft or suspended) campaign
    /// answer 404 to anyone but its creator and admins.
    #[oai(
        path = "/campaigns/:id/updates",
        method = "get",
        operation_id = "listCampaignUpdates"
    )]
    async fn list(
        &self,
        _auth: MaybeAuth,
        app: Data<&App>,
        req: &Request,
        id: Path<Uuid>,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<CampaignUpdate>>, { API | BY_ID | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (items, total) = app
            .campaigns()
            .updates(viewer(req), id.0, p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(items, p, total)))
    }
}
