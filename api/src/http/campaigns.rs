//! `/api/campaigns`: create, edit, publish, cancel, list and search, images, public donation
//! and ledger pages, live totals (server-sent events) and withdrawals.

use chrono::{DateTime, Utc};
use domain::App;
use domain::campaigns::service::{CreateCampaign, ListParams, UpdateCampaign};
use domain::campaigns::{
    Campaign, CampaignStats, CampaignStatus, CampaignView, FundingModel, Moderation,
};
use domain::money::{PublicDonation, Withdrawal};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::EventStream;

use super::common::Json;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::common::{Created, created, idempotency_key};
use super::common::{PageParams, Paged};
use super::enums::{CampaignSort, Category, Nullable, OneOf, Settlement, from_db};
use super::error::{API, AUTH, ApiResult, BODY, BY_ID, CONFLICT, FORBIDDEN, PARAMS};
use super::json::JsonBody;
use super::money::LedgerLineDto;
use super::params::{IdempotencyKey, PageLimit, PageNumber};
use super::public::{MaybeAuth, NoAuth};
use super::security::{Auth, viewer};

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreateCampaignRequest {
    /// 5 to 120 characters (trimmed).
    #[oai(validator(min_length = 5, max_length = 120))]
    pub title: String,
    /// 20 to 10,000 characters (trimmed).
    #[oai(validator(min_length = 20, max_length = 10000))]
    pub description: String,
    /// Minor units (cents), 1,000 to 100,000,000.
    #[oai(validator(minimum(value = "1000"), maximum(value = "100000000")))]
    pub goal_amount: i64,
    /// Must be the platform currency (ISO 4217, e.g. `USD`).
    #[oai(validator(min_length = 3, max_length = 3))]
    pub currency: String,
    pub category: OneOf<Category>,
    /// `all_or_nothing` needs a deadline.
    pub funding_model: OneOf<FundingModel>,
    /// At least an hour and at most 366 days ahead.
    #[oai(nullable)]
    pub deadline: Option<DateTime<Utc>>,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UpdateCampaignRequest {
    /// 5 to 120 characters (trimmed).
    #[oai(nullable, validator(min_length = 5, max_length = 120))]
    pub title: Option<String>,
    /// 20 to 10,000 characters (trimmed).
    #[oai(nullable, validator(min_length = 20, max_length = 10000))]
    pub description: Option<String>,
    #[serde(default)]
    pub category: Nullable<OneOf<Category>>,
    /// Draft only. Minor units, 1,000 to 100,000,000.
    #[oai(
        nullable,
        validator(minimum(value = "1000"), maximum(value = "100000000"))
    )]
    pub goal_amount: Option<i64>,
    /// Draft only.
    #[oai(nullable)]
    pub deadline: Option<DateTime<Utc>>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ImageDto {
    pub id: Uuid,
    pub content_type: String,
    /// Presigned GET URL, valid for an hour.
    pub url: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CampaignDto {
    pub id: Uuid,
    pub creator_id: Uuid,
    pub creator_name: String,
    pub title: String,
    pub description: String,
    pub goal_amount: i64,
    pub currency: String,
    pub category: Category,
    pub funding_model: FundingModel,
    pub status: CampaignStatus,
    /// Null for keep_it_all campaigns without one.
    #[oai(nullable)]
    pub deadline: Option<DateTime<Utc>>,
    /// For closed all_or_nothing campaigns: `released` or `refunded`; null otherwise.
    pub settlement: Nullable<Settlement>,
    /// Null while a draft.
    #[oai(nullable)]
    pub published_at: Option<DateTime<Utc>>,
    /// Picked by an admin: listed under `featured=true` and first under `sort=featured`.
    pub featured: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[oai(flatten)]
    pub stats: CampaignStats,
    pub progress_percentage: f64,
    pub images: Vec<ImageDto>,
}

impl CampaignDto {
    fn new(c: Campaign, s: CampaignStats, images: Vec<ImageDto>) -> Self {
        Self {
            progress_percentage: s.progress_percentage(c.goal_amount),
            id: c.id,
            creator_id: c.creator_id,
            creator_name: c.creator_name,
            title: c.title,
            description: c.description,
            goal_amount: c.goal_amount,
            currency: c.currency,
            category: from_db(&c.category, Category::parse, Category::Other),
            funding_model: c.funding_model,
            status: c.status,
            deadline: c.deadline,
            settlement: Nullable(
                c.settlement
                    .as_deref()
                    .map(|s| from_db(s, Settlement::parse, Settlement::Refunded)),
            ),
            published_at: c.published_at,
            featured: c.featured_at.is_some(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            stats: s,
            images,
        }
    }
}

impl From<CampaignView> for CampaignDto {
    fn from(v: CampaignView) -> Self {
        let images = v
            .images
            .into_iter()
            .map(|(i, url)| ImageDto {
                id: i.id,
                content_type: i.content_type,
                url,
            })
            .collect();
        Self::new(v.campaign, v.stats, images)
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CampaignPage {
    pub items: Vec<CampaignDto>,
    pub page: i64,
    pub limit: i64,
    /// True when another page follows (fetched as limit + 1 rows; there is no count of the
    /// whole filtered set).
    pub has_more: bool,
    /// Keyset cursor for the next page (newest and ending_soon sorts); null on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct WithdrawRequest {
    /// Minor units, at least 1.
    #[oai(validator(minimum(value = "1")))]
    pub amount: i64,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CancelResult {
    pub campaign: CampaignDto,
    /// Donations refunded (all_or_nothing campaigns refund every standing donation).
    pub refunded_donations: u32,
}

/// An admin's moderation of a campaign and why.
#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ModerationRequest {
    /// Why (at most 1,000 characters), kept in the audit log. Required to suspend; optional
    /// otherwise.
    #[oai(nullable, validator(max_length = 1000))]
    pub reason: Option<String>,
}

#[derive(Multipart)]
pub struct ImageUpload {
    /// PNG, JPEG, GIF or WebP, at most 5 MiB.
    pub file: Upload,
}

/// One server-sent event as OpenAPI 3.0 describes an event stream's `schema`: the event's
/// fields, `data` holding a `LiveStats` object as JSON text.
fn sse_event_schema() -> MetaSchema {
    let text = |description: &'static str| {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(description),
            ..MetaSchema::new("string")
        }))
    };
    MetaSchema {
        description: Some("One event; `data` is a LiveStats object as JSON."),
        required: vec!["data"],
        properties: vec![
            ("event", text("Always `message`.")),
            (
                "data",
                text(
                    "`{\"raisedAmount\", \"totalDonors\", \"donationsCount\"}` (LiveStats) as JSON.",
                ),
            ),
            ("id", text("Unused.")),
            (
                "retry",
                MetaSchemaRef::Inline(Box::new(MetaSchema::new("integer"))),
            ),
        ],
        ..MetaSchema::new("object")
    }
}

/// The campaign's live totals as server-sent events.
pub struct LiveEvents(EventStream<futures::stream::BoxStream<'static, CampaignStats>>);

impl ApiResponse for LiveEvents {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "A `text/event-stream` that stays open: each event's `data` is one \
                    `LiveStats` JSON object (the current totals first, then one per change); a \
                    comment line is sent every 15 seconds to keep the connection alive.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "text/event-stream",
                    schema: MetaSchemaRef::Inline(Box::new(sse_event_schema())),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        <CampaignStats as poem_openapi::types::Type>::register(registry);
    }
}

impl poem::IntoResponse for LiveEvents {
    fn into_response(self) -> poem::Response {
        self.0.into_response()
    }
}

#[derive(ApiResponse)]
pub enum CampaignCreated {
    /// Created as a draft.
    #[oai(status = 201)]
    Created(Json<CampaignDto>),
}

#[derive(ApiResponse)]
pub enum ImageCreated {
    /// Stored.
    #[oai(status = 201)]
    Created(Json<ImageDto>),
}

pub struct CampaignsApi;

#[OpenApi(prefix_path = "/api", tag = "ApiTags::Campaigns")]
impl CampaignsApi {
    /// Start a campaign (as a draft; publish it to take donations). 403 `email_not_verified`
    /// until the caller's email is verified.
    #[oai(path = "/campaigns", method = "post", operation_id = "createCampaign")]
    async fn create(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<CreateCampaignRequest>,
    ) -> ApiResult<CampaignCreated, { API | AUTH | BODY | FORBIDDEN }> {
        let b = body.0;
        let view = app
            .campaigns()
            .create(
                auth.principal(),
                CreateCampaign {
                    title: b.title,
                    description: b.description,
                    goal_amount: b.goal_amount,
                    currency: b.currency,
                    category: b.category.into_inner(),
                    funding_model: b.funding_model.into_inner(),
                    deadline: b.deadline,
                },
            )
            .await?;
        Ok(CampaignCreated::Created(Json(view.into())))
    }

    /// List campaigns (drafts and suspended campaigns excluded; `status=draft` lists the
    /// caller's own drafts, `status=suspended` the caller's own suspended campaigns, or every
    /// one for an admin). Filters: status, category, creator, `featured=true`; full-text `q`;
    /// sort `newest` (default), `most_raised`, `ending_soon`, `featured`. Page with
    /// `page`/`limit`, or follow `nextCursor` for deep paging; `hasMore` tells whether another
    /// page follows (the filtered set is not counted).
    #[oai(path = "/campaigns", method = "get", operation_id = "listCampaigns")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        _auth: MaybeAuth,
        app: Data<&App>,
        req: &Request,
        status: Query<Option<OneOf<CampaignStatus>>>,
        category: Query<Option<OneOf<Category>>>,
        creator: Query<Option<Uuid>>,
        /// `true`: only featured campaigns.
        featured: Query<Option<bool>>,
        q: Query<Option<String>>,
        sort: Query<Option<OneOf<CampaignSort>>>,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<CampaignPage>, { API | PARAMS }> {
        let params = PageParams::parse(page.0.0, limit.0.0)?;
        let result = app
            .campaigns()
            .list(
                viewer(req),
                ListParams {
                    status: status.0.map(OneOf::into_inner),
                    featured: featured.0.unwrap_or(false),
                    category: category.0.map(OneOf::into_inner),
                    creator_id: creator.0,
                    q: q.0,
                    sort: sort.0.map(OneOf::into_inner),
                    page: params.page,
                    limit: params.limit,
                    cursor: cursor.0,
                },
            )
            .await?;
        Ok(Json(CampaignPage {
            items: result
                .items
                .into_iter()
                .map(|(c, s)| CampaignDto::new(c, s, Vec::new()))
                .collect(),
            page: params.page,
            limit: params.limit,
            has_more: result.has_more,
            next_cursor: result.next_cursor,
        }))
    }

    /// One campaign with its creator's name, live stats and images. Drafts and suspended
    /// campaigns answer 404 to anyone but their creator and admins.
    #[oai(path = "/campaigns/:id", method = "get", operation_id = "getCampaign")]
    async fn get(
        &self,
        _auth: MaybeAuth,
        app: Data<&App>,
        req: &Request,
        id: Path<Uuid>,
    ) -> ApiResult<Json<CampaignDto>, { API | BY_ID }> {
        Ok(Json(app.campaigns().get(viewer(req), id.0).await?.into()))
    }

    /// Edit (creator or admin). Goal and deadline change only while a draft.
    #[oai(
        path = "/campaigns/:id",
        method = "patch",
        operation_id = "updateCampaign"
    )]
    async fn update(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<UpdateCampaignRequest>,
    ) -> ApiResult<Json<CampaignDto>, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        let b = body.0;
        let view = app
            .campaigns()
            .update(
                auth.principal(),
                id.0,
                UpdateCampaign {
                    title: b.title,
                    description: b.description,
                    category: b.category.0.map(OneOf::into_inner),
                    goal_amount: b.goal_amount,
                    deadline: b.deadline,
                },
            )
            .await?;
        Ok(Json(view.into()))
    }

    /// draft → active.
    #[oai(
        path = "/campaigns/:id/publish",
        method = "post",
        operation_id = "publishCampaign"
    )]
    async fn publish(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<CampaignDto>, { API | AUTH | FORBIDDEN | BY_ID | CONFLICT }> {
        Ok(Json(
            app.campaigns()
                .publish(auth.principal(), id.0)
                .await?
                .into(),
        ))
    }

    /// Cancel (creator or admin). All-or-nothing campaigns refund every donor.
    #[oai(
        path = "/campaigns/:id/cancel",
        method = "post",
        operation_id = "cancelCampaign"
    )]
    async fn cancel(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<CancelResult>, { API | AUTH | FORBIDDEN | BY_ID | CONFLICT }> {
        let refunded = app.money().cancel_campaign(auth.principal(), id.0).await?;
        let view = app.campaigns().get(Some(auth.principal()), id.0).await?;
        Ok(Json(CancelResult {
            campaign: view.into(),
            refunded_donations: refunded,
        }))
    }

    /// Add an image (multipart field `file`), stored in object storage.
    #[oai(
        path = "/campaigns/:id/images",
        method = "post",
        operation_id = "addCampaignImage"
    )]
    async fn add_image(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        upload: ImageUpload,
    ) -> ApiResult<ImageCreated, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        let bytes = super::upload::read(upload.file, domain::campaigns::MAX_IMAGE_BYTES).await?;
        let (image, url) = app
            .campaigns()
            .add_image(auth.principal(), id.0, bytes)
            .await?;
        Ok(ImageCreated::Created(Json(ImageDto {
            id: image.id,
            content_type: image.content_type,
            url,
        })))
    }

    /// Donations to the campaign, newest first; anonymous donors are not named. Those of a
    /// hidden (draft or suspended) campaign answer 404 to anyone but its creator and admins.
    #[oai(
        path = "/campaigns/:id/donations",
        method = "get",
        operation_id = "listCampaignDonations"
    )]
    async fn donations(
        &self,
        _auth: MaybeAuth,
        app: Data<&App>,
        req: &Request,
        id: Path<Uuid>,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<PublicDonation>>, { API | BY_ID | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (items, total) = app
            .money()
            .campaign_donations(viewer(req), id.0, p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(items, p, total)))
    }

    /// The campaign account's ledger lines, newest first: every cent in and out. Those of a
    /// hidden (draft or suspended) campaign answer 404 to anyone but its creator and admins.
    #[oai(
        path = "/campaigns/:id/ledger",
        method = "get",
        operation_id = "listCampaignLedger"
    )]
    async fn ledger(
        &self,
        _auth: MaybeAuth,
        app: Data<&App>,
        req: &Request,
        id: Path<Uuid>,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<LedgerLineDto>>, { API | BY_ID | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (lines, total) = app
            .money()
            .campaign_ledger(viewer(req), id.0, p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(
            lines.into_iter().map(Into::into).collect(),
            p,
            total,
        )))
    }

    /// Server-sent events with the campaign's totals: the current ones first, then each change.
    /// Public campaigns only (a draft or suspended one answers 404).
    #[oai(
        path = "/campaigns/:id/events",
        method = "get",
        operation_id = "streamCampaignEvents"
    )]
    async fn events(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        id: Path<Uuid>,
    ) -> ApiResult<LiveEvents, { API | BY_ID }> {
        let stream = app.campaigns().live_stats(id.0).await?;
        Ok(LiveEvents(
            EventStream::new(stream).keep_alive(std::time::Duration::from_secs(15)),
        ))
    }

    /// Creator of a keep_it_all campaign moves raised funds to their wallet. Requires an
    /// `Idempotency-Key` header.
    #[oai(
        path = "/campaigns/:id/withdrawals",
        method = "post",
        operation_id = "withdrawCampaignFunds"
    )]
    async fn withdraw(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        #[oai(name = "Idempotency-Key")] key: Header<IdempotencyKey>,
        body: JsonBody<WithdrawRequest>,
    ) -> ApiResult<Created<Withdrawal>, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        let key = idempotency_key(key.0.0)?;
        let result = app
            .money()
            .withdraw(auth.principal(), id.0, body.0.amount, &key)
            .await?;
        Ok(created(result, std::convert::identity))
    }

    /// Admin: suspend an active campaign, with a `reason`. It disappears from the public
    /// (lists, search, its pages answer 404) while its creator and admins still see it;
    /// donations and withdrawals stop; its recurring donations pause until it is reinstated.
    /// Recorded in the audit log.
    #[oai(
        path = "/admin/campaigns/:id/suspend",
        method = "post",
        operation_id = "suspendCampaign"
    )]
    async fn suspend(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<ModerationRequest>,
    ) -> ApiResult<Json<CampaignDto>, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        Ok(Json(
            moderate(&app, &auth, id.0, Moderation::Suspend, body.0).await?,
        ))
    }

    /// Admin: reinstate a suspended campaign; the recurring donations its suspension paused
    /// resume from their next date. Recorded in the audit log.
    #[oai(
        path = "/admin/campaigns/:id/reinstate",
        method = "post",
        operation_id = "reinstateCampaign"
    )]
    async fn reinstate(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<ModerationRequest>,
    ) -> ApiResult<Json<CampaignDto>, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        Ok(Json(
            moderate(&app, &auth, id.0, Moderation::Reinstate, body.0).await?,
        ))
    }

    /// Admin: feature an active campaign (409 otherwise). Recorded in the audit log.
    #[oai(
        path = "/admin/campaigns/:id/feature",
        method = "post",
        operation_id = "featureCampaign"
    )]
    async fn feature(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<ModerationRequest>,
    ) -> ApiResult<Json<CampaignDto>, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        Ok(Json(
            moderate(&app, &auth, id.0, Moderation::Feature, body.0).await?,
        ))
    }

    /// Admin: stop featuring a campaign. Recorded in the audit log.
    #[oai(
        path = "/admin/campaigns/:id/unfeature",
        method = "post",
        operation_id = "unfeatureCampaign"
    )]
    async fn unfeature(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<ModerationRequest>,
    ) -> ApiResult<Json<CampaignDto>, { API | AUTH | FORBIDDEN | BY_ID | BODY }> {
        Ok(Json(
            moderate(&app, &auth, id.0, Moderation::Unfeature, body.0).await?,
        ))
    }
}

/// The four moderation routes differ only in what they ask of the service.
async fn moderate(
    app: &App,
    auth: &Auth,
    id: Uuid,
    moderation: Moderation,
    body: ModerationRequest,
) -> domain::Result<CampaignDto> {
    let reason = body.reason.as_deref();
    let view = app
        .campaigns()
        .moderate(auth.principal(), id, moderation, reason)
        .await?;
    Ok(view.into())
}
