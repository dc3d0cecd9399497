//! Campaign rules: who may create, edit and move a campaign through its status flow, what a
//! reader may see, and images.

use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_log::{Action, Change};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use futures::future::{self, BoxFuture};
use futures::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::cache::{CacheStats, LIVE_PAGE_TTL, PageCache};
use super::live::LivePublisher;
use super::model::{
    self, Campaign, CampaignImage, CampaignStats, CampaignStatus, CampaignView, FundingModel,
    Moderation,
};
use super::repo::{self, Cursor, ListQuery, NewCampaign, Patch, Sort};
use accounts::{AccountService, Principal};
use outbox::Event;
use platform::Handles;
use platform::error::{Error, ErrorCode, Result};
use platform::infra::metrics::{CAMPAIGNS_CREATED, GaugeGuard, SSE_VIEWERS};

pub struct CreateCampaign {
    pub title: String,
    pub description: String,
    pub goal_amount: i64,
    pub currency: String,
    pub category: String,
    pub funding_model: String,
    pub deadline: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct UpdateCampaign {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub goal_amount: Option<i64>,
    pub deadline: Option<DateTime<Utc>>,
}

pub struct ListParams {
    pub status: Option<String>,
    /// Only featured campaigns.
    pub featured: bool,
    pub category: Option<String>,
    pub creator_id: Option<Uuid>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub page: i64,
    pub limit: i64,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListPage {
    pub items: Vec<(Campaign, CampaignStats)>,
    /// There is a next page.
    pub has_more: bool,
    /// Pass back as `cursor` for the next page (keyset paging; newest and ending_soon sorts).
    pub next_cursor: Option<String>,
}

/// The Redis pub/sub channel carrying a campaign's live totals.
pub fn events_channel(kv: &platform::infra::kv::Kv, campaign_id: Uuid) -> String {
    kv.key(format!("campaign:{campaign_id}:events"))
}

/// Images up to 5 MiB, of these types (checked by content, not by the declared type).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
const IMAGE_URL_TTL: Duration = Duration::from_secs(3600);

/// Work another context does on a moderation's transaction for the campaign moved, as of
/// `today`; returns how many of its rows it changed (recorded in the audit entry).
pub type ModerationStep =
    for<'c> fn(&'c mut PgConnection, Uuid, NaiveDate) -> BoxFuture<'c, Result<u64>>;

/// What other contexts do when an admin suspends or reinstates a campaign: money pauses the
/// campaign's recurring plans and resumes exactly those. The steps run on the moderation's own
/// transaction, so a plan is paused exactly when the suspension commits: the scheduler never
/// finds an active plan on a suspended campaign (which would end it for good), and a crash
/// cannot leave one half done, as an outbox round trip could for a while. Campaigns cannot
/// call money (money depends on campaigns), so the composition root hands the steps in.
#[derive(Clone, Copy, Debug)]
pub struct ModerationSteps {
    pub suspended: ModerationStep,
    pub reinstated: ModerationStep,
}

#[derive(Clone, Debug)]
pub struct CampaignService {
    pub(crate) infra: Handles,
    accounts: AccountService,
    moderation: ModerationSteps,
    cache_stats: Arc<CacheStats>,
    live: Arc<LivePublisher>,
}

impl CampaignService {
    pub fn new(infra: Handles, moderation: ModerationSteps) -> Self {
        Self {
            accounts: AccountService::new(infra.clone()),
            infra,
            moderation,
            cache_stats: Default::default(),
            live: Default::default(),
        }
    }

    /// Hits and misses of the campaign page cache since start.
    pub fn cache_stats(&self) -> &CacheStats {
        &self.cache_stats
    }

    /// Marks a campaign's totals as changed for its live viewers.
    pub fn totals_changed(&self, campaign_id: Uuid) {
        self.live.changed(&self.infra, campaign_id);
    }
}

fn encode_cursor(c: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        c.at.timestamp_micros(),
        c.id
    ))
}

fn decode_cursor(raw: &str) -> Result<Cursor> {
    let bad = || Error::validation("cursor", "cursor is not valid");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (micros, id) = text.split_once('|').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    Ok(Cursor {
        at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        id: Uuid::parse_str(id).map_err(|_| bad())?,
    })
}

/// Recognises PNG, JPEG, GIF and WebP by their magic bytes.
fn sniff_image(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(("image/gif", "gif"))
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

impl CampaignService {
    fn cache(&self) -> PageCache<'_> {
        PageCache {
            kv: &self.infra.kv,
            stats: &self.cache_stats,
        }
    }

    /// Loads for a change by `principal`: only the creator or an admin may change a campaign.
    pub(crate) fn ensure_owner(principal: &Principal, campaign: &Campaign) -> Result<()> {
        if campaign.creator_id == principal.user_id || principal.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only the campaign's creator or an admin may do this",
            ))
        }
    }

    #[tracing::instrument(skip_all, fields(creator_id = %principal.user_id))]
    pub async fn create(
        &self,
        principal: &Principal,
        input: CreateCampaign,
    ) -> Result<CampaignView> {
        let started = Instant::now();
        let now = Utc::now();
        let title = model::parse_title(&input.title)?;
        let description = model::parse_description(&input.description)?;
        let goal = model::parse_goal(input.goal_amount)?;
        let category = model::parse_category(&input.category)?;
        let funding_model = FundingModel::parse(&input.funding_model)?;
        let currency = input.currency.trim().to_uppercase();
        if currency != self.infra.config.currency {
            return Err(Error::validation(
                "currency",
                format!("currency must be {}", self.infra.config.currency),
            ));
        }
        let deadline = input
            .deadline
            .map(|d| model::parse_deadline(d, now))
            .transpose()?;
        if funding_model == FundingModel::AllOrNothing && deadline.is_none() {
            return Err(Error::validation(
                "deadline",
                "all_or_nothing campaigns need a deadline",
            ));
        }
        // After the input checks, so a form's field errors show before this one.
        self.accounts
            .require_verified_email(principal.user_id)
            .await?;
        let id = Uuid::now_v7();
        let mut tx = self.infra.db.write.begin().await?;
        repo::insert(
            &mut tx,
            NewCampaign {
                id,
                creator_id: principal.user_id,
                title: &title,
                description: &description,
                goal_amount: goal,
                currency: &currency,
                category: &category,
                funding_model,
                deadline,
            },
        )
        .await?;
        tx.commit().await?;
        metrics::counter!(CAMPAIGNS_CREATED).increment(1);
        tracing::info!(
            event = "campaign_created",
            campaign_id = %id,
            goal_amount = goal,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "campaign created"
        );
        self.view(id).await
    }

    /// The campaign with live stats; drafts and suspended campaigns only for their creator
    /// and admins (anyone else gets 404, as if it did not exist).
    pub async fn get(&self, viewer: Option<&Principal>, id: Uuid) -> Result<CampaignView> {
        let cache = self.cache();
        let (cached, key) = cache
            .lookup_live::<(Campaign, Vec<CampaignImage>, CampaignStats)>(
                id,
                &format!("detail:{id}"),
            )
            .await;
        let (campaign, images, stats) = match cached {
            Some(hit) => hit,
            None => {
                let mut db = &self.infra.db.read;
                let mut found = repo::find(db, id).await?;
                // Its creator and admins read the primary: they may have just created or
                // edited it, which a lagging replica would not show yet.
                let own = |c: &Campaign| {
                    viewer.is_some_and(|p| p.user_id == c.creator_id || p.is_admin())
                };
                if viewer.is_some() && found.as_ref().is_none_or(own) {
                    db = &self.infra.db.write;
                    found = repo::find(db, id).await?;
                }
                let c = found.ok_or(Error::NotFound("campaign"))?;
                // Totals from the primary: a replica's lag would be cached under the new
                // stats generation.
                let ids = [id];
                let (images, mut stats) = tokio::try_join!(
                    repo::images(db, id),
                    repo::stats_for(&self.infra.db.write, &ids)
                )?;
                let stats = stats.remove(&id).unwrap_or_default();
                let page = (c, images, stats);
                if let (Some(k), true) = (&key, page.0.status.is_public()) {
                    cache.put_for(k, &page, LIVE_PAGE_TTL).await;
                }
                page
            }
        };
        if !campaign.visible_to(viewer) {
            return Err(Error::NotFound("campaign"));
        }
        self.assemble(campaign, stats, images).await
    }

    /// The campaign if `viewer` may see it (see [`Self::get`]), for its sub-pages (donations,
    /// ledger) that other contexts serve.
    pub async fn visible(&self, viewer: Option<&Principal>, id: Uuid) -> Result<Campaign> {
        repo::find(&self.infra.db.read, id)
            .await?
            .filter(|c| c.visible_to(viewer))
            .ok_or(Error::NotFound("campaign"))
    }

    async fn view(&self, id: Uuid) -> Result<CampaignView> {
        let campaign = repo::find(&self.infra.db.write, id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        self.with_stats_and_images(campaign).await
    }

    async fn with_stats_and_images(&self, campaign: Campaign) -> Result<CampaignView> {
        let db = &self.infra.db.read;
        let ids = [campaign.id];
        let (stats, images) =
            tokio::try_join!(repo::stats_for(db, &ids), repo::images(db, campaign.id))?;
        let stats = stats.get(&campaign.id).copied().unwrap_or_default();
        self.assemble(campaign, stats, images).await
    }

    /// Signs the image URLs (a local computation, no request to the storage server).
    async fn assemble(
        &self,
        campaign: Campaign,
        stats: CampaignStats,
        images: Vec<CampaignImage>,
    ) -> Result<CampaignView> {
        let mut signed = Vec::with_capacity(images.len());
        for image in images {
            let url = self
                .infra
                .storage
                .presigned_get(&image.object_key, IMAGE_URL_TTL)
                .await?;
            signed.push((image, url));
        }
        Ok(CampaignView {
            stats,
            campaign,
            images: signed,
        })
    }

    /// Live stats of one campaign.
    pub async fn stats(&self, id: Uuid) -> Result<CampaignStats> {
        Ok(repo::stats_for(&self.infra.db.read, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default())
    }

    pub async fn list(&self, viewer: Option<&Principal>, p: ListParams) -> Result<ListPage> {
        let sort = match p.sort.as_deref() {
            None | Some("newest") => Sort::Newest,
            Some("most_raised") => Sort::MostRaised,
            Some("ending_soon") => Sort::EndingSoon,
            Some("featured") => Sort::Featured,
            Some(_) => {
                return Err(Error::validation(
                    "sort",
                    "sort must be newest, most_raised, ending_soon or featured",
                ));
            }
        };
        let cursor = p.cursor.as_deref().map(decode_cursor).transpose()?;
        if cursor.is_some() && matches!(sort, Sort::MostRaised | Sort::Featured) {
            return Err(Error::validation(
                "cursor",
                "cursor paging is available for the newest and ending_soon sorts",
            ));
        }
        let status = p.status.as_deref().map(CampaignStatus::parse).transpose()?;
        let category = p
            .category
            .as_deref()
            .map(model::parse_category)
            .transpose()?;
        let q = p.q.map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
        if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(Error::validation("q", "q must be at most 200 characters"));
        }
        let query = ListQuery {
            status,
            category,
            creator_id: p.creator_id,
            q,
            sort,
            limit: p.limit,
            offset: (p.page - 1) * p.limit,
            cursor,
            featured: p.featured,
            viewer: viewer.map(|v| v.user_id),
            viewer_is_admin: viewer.is_some_and(Principal::is_admin),
        };
        // Drafts and suspended campaigns are listed per viewer; only public listings are shared
        // through the cache.
        let cacheable = status.is_none_or(CampaignStatus::is_public);
        let cache = self.cache();
        // A page cached in the earlier `(campaigns, total)` shape fails to decode as
        // `(campaigns, has_more)` (a JSON number is not a bool): the lookup counts it a miss and
        // the fresh page overwrites it.
        let (cached, key): (Option<(Vec<Campaign>, bool)>, _) = if cacheable {
            let name = format!(
                "list:{:?}:{:?}:{:?}:{:?}:{:?}:{}:{}:{}:{:?}",
                query.status,
                query.category,
                query.creator_id,
                query.q,
                sort,
                query.featured,
                query.limit,
                query.offset,
                p.cursor
            );
            cache.lookup(&name).await
        } else {
            (None, None)
        };
        // The cache holds the page without its totals, which are read fresh for every reader:
        // with the page on a miss (one statement), on their own on a hit.
        let (items, has_more) = match cached {
            Some((campaigns, has_more)) => {
                let ids: Vec<Uuid> = campaigns.iter().map(|c| c.id).collect();
                let stats = repo::stats_for(&self.infra.db.read, &ids).await?;
                let items = campaigns
                    .into_iter()
                    .map(|c| {
                        let s = stats.get(&c.id).copied().unwrap_or_default();
                        (c, s)
                    })
                    .collect();
                (items, has_more)
            }
            None => {
                let (items, has_more) = repo::list(&self.infra.db.read, &query).await?;
                if let Some(k) = &key {
                    let campaigns: Vec<&Campaign> = items.iter().map(|(c, _)| c).collect();
                    cache.put(k, &(campaigns, has_more)).await;
                }
                (items, has_more)
            }
        };
        let next_cursor = match (sort, items.last().map(|(c, _)| c)) {
            (Sort::MostRaised | Sort::Featured, _) | (_, None) => None,
            _ if !has_more => None,
            (Sort::Newest, Some(last)) => Some(encode_cursor(&Cursor {
                at: last.created_at,
                id: last.id,
            })),
            (Sort::EndingSoon, Some(last)) => last
                .deadline
                .map(|at| encode_cursor(&Cursor { at, id: last.id })),
        };
        Ok(ListPage {
            items,
            has_more,
            next_cursor,
        })
    }

    /// Edits by the creator or an admin. Money terms (goal, deadline) change only in draft.
    #[tracing::instrument(skip_all, fields(campaign_id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: Uuid,
        input: UpdateCampaign,
    ) -> Result<CampaignView> {
        let mut tx = self.infra.db.write.begin().await?;
        let campaign = repo::lock(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        Self::ensure_owner(principal, &campaign)?;
        if matches!(
            campaign.status,
            CampaignStatus::Completed | CampaignStatus::Cancelled
        ) {
            return Err(Error::conflict(
                ErrorCode::CampaignClosed,
                "a closed campaign cannot be edited",
            ));
        }
        let terms_change = input.goal_amount.is_some() || input.deadline.is_some();
        if terms_change && campaign.status != CampaignStatus::Draft {
            return Err(Error::conflict(
                ErrorCode::CampaignPublished,
                "goal and deadline can only change while the campaign is a draft",
            ));
        }
        let patch = Patch {
            title: input.title.as_deref().map(model::parse_title).transpose()?,
            description: input
                .description
                .as_deref()
                .map(model::parse_description)
                .transpose()?,
            category: input
                .category
                .as_deref()
                .map(model::parse_category)
                .transpose()?,
            goal_amount: input.goal_amount.map(model::parse_goal).transpose()?,
            deadline: input
                .deadline
                .map(|d| model::parse_deadline(d, Utc::now()))
                .transpose()?,
        };
        repo::update(&mut tx, id, patch).await?;
        outbox::record(&mut tx, &Event::CampaignChanged { campaign_id: id }).await?;
        tx.commit().await?;
        self.cache().invalidate().await;
        self.view(id).await
    }

    /// draft → active, by the creator or an admin.
    pub async fn publish(&self, principal: &Principal, id: Uuid) -> Result<CampaignView> {
        self.transition(principal, id, CampaignStatus::Active, |c| {
            if c.status != CampaignStatus::Draft {
                return Err(Error::conflict(
                    ErrorCode::InvalidTransition,
                    "only a draft can be published",
                ));
            }
            if c.deadline.is_some_and(|d| d <= Utc::now()) {
                return Err(Error::conflict(
                    ErrorCode::DeadlinePassed,
                    "the deadline has already passed",
                ));
            }
            Ok(())
        })
        .await
    }

    /// An admin's moderation of a campaign (admins only), recorded in the audit log with the
    /// reason (required to suspend).
    pub async fn moderate(
        &self,
        principal: &Principal,
        id: Uuid,
        moderation: Moderation,
        reason: Option<&str>,
    ) -> Result<CampaignView> {
        use CampaignStatus::{Active, Suspended};
        let (transition, step, action, refusal) = match moderation {
            // The campaign disappears from the public (lists, search, its pages), donations
            // and withdrawals stop, and its recurring plans pause.
            Moderation::Suspend => (
                (Active, Suspended),
                self.moderation.suspended,
                Action::CampaignSuspended,
                "only an active campaign can be suspended",
            ),
            // The plans the suspension paused resume.
            Moderation::Reinstate => (
                (Suspended, Active),
                self.moderation.reinstated,
                Action::CampaignReinstated,
                "only a suspended campaign can be reinstated",
            ),
            Moderation::Feature => return self.set_featured(principal, id, true, reason).await,
            Moderation::Unfeature => return self.set_featured(principal, id, false, reason).await,
        };
        self.change_status(principal, id, transition, step, action, reason, refusal)
            .await
    }

    /// An admin's move of a campaign `from` → `to` (any other status is refused), with the
    /// other contexts' `step` and the audit entry on the same transaction.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip_all, fields(campaign_id = %id, action = action.as_str()))]
    async fn change_status(
        &self,
        principal: &Principal,
        id: Uuid,
        (from, to): (CampaignStatus, CampaignStatus),
        step: ModerationStep,
        action: Action,
        reason: Option<&str>,
        refusal: &'static str,
    ) -> Result<CampaignView> {
        principal.require_admin()?;
        let mut tx = self.infra.db.write.begin().await?;
        let campaign = repo::lock(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        if campaign.status != from {
            return Err(Error::conflict(ErrorCode::InvalidTransition, refusal));
        }
        // Plans before the exclusive lock: a charge in flight holds its plan while its donation
        // waits for the campaign's key-share lock, so taking the exclusive lock first would
        // wait on a charge that waits on us.
        let plans = step(&mut tx, id, Utc::now().date_naive()).await?;
        if to != CampaignStatus::Active {
            // Wait for in-flight donations so none lands after the change.
            repo::lock_exclusive(&mut tx, id).await?;
        }
        repo::set_status(&mut tx, id, to, None).await?;
        let change = Change {
            action,
            target_type: "campaign",
            target_id: id.to_string(),
            before: json!({ "status": from.as_str() }),
            after: json!({ "status": to.as_str(), "recurringPlans": plans }),
            reason,
        };
        audit_log::record(&mut tx, principal.actor(), &change).await?;
        outbox::record(&mut tx, &Event::CampaignChanged { campaign_id: id }).await?;
        tx.commit().await?;
        tracing::info!(
            from = from.as_str(),
            to = to.as_str(),
            recurring_plans = plans,
            "campaign_moderated"
        );
        self.cache().invalidate().await;
        self.view(id).await
    }

    /// Featuring shows an active campaign under `featured=true` and first under
    /// `sort=featured` (featuring it again keeps its first moment); unfeaturing works whatever
    /// the campaign's status.
    #[tracing::instrument(skip_all, fields(campaign_id = %id, featured))]
    async fn set_featured(
        &self,
        principal: &Principal,
        id: Uuid,
        featured: bool,
        reason: Option<&str>,
    ) -> Result<CampaignView> {
        principal.require_admin()?;
        let mut tx = self.infra.db.write.begin().await?;
        let campaign = repo::lock(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        if featured && campaign.status != CampaignStatus::Active {
            return Err(Error::conflict(
                ErrorCode::InvalidTransition,
                "only an active campaign can be featured",
            ));
        }
        repo::set_featured(&mut tx, id, featured).await?;
        let change = Change {
            action: if featured {
                Action::CampaignFeatured
            } else {
                Action::CampaignUnfeatured
            },
            target_type: "campaign",
            target_id: id.to_string(),
            before: json!({ "featured": campaign.featured_at.is_some() }),
            after: json!({ "featured": featured }),
            reason,
        };
        audit_log::record(&mut tx, principal.actor(), &change).await?;
        outbox::record(&mut tx, &Event::CampaignChanged { campaign_id: id }).await?;
        tx.commit().await?;
        self.cache().invalidate().await;
        self.view(id).await
    }

    async fn transition(
        &self,
        principal: &Principal,
        id: Uuid,
        to: CampaignStatus,
        allowed: impl FnOnce(&Campaign) -> Result<()>,
    ) -> Result<CampaignView> {
        let mut tx = self.infra.db.write.begin().await?;
        let campaign = repo::lock(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        Self::ensure_owner(principal, &campaign)?;
        allowed(&campaign)?;
        // Only publishing comes through here: a move to active waits for no donation.
        repo::set_status(&mut tx, id, to, None).await?;
        outbox::record(&mut tx, &Event::CampaignChanged { campaign_id: id }).await?;
        tx.commit().await?;
        tracing::info!(campaign_id = %id, from = campaign.status.as_str(), to = to.as_str(), "campaign_status_changed");
        self.cache().invalidate().await;
        self.view(id).await
    }

    /// The campaign's totals now, then every change as it happens (through Redis pub/sub, so
    /// donations taken by any api instance arrive).
    pub async fn live_stats(&self, id: Uuid) -> Result<BoxStream<'static, CampaignStats>> {
        self.get(None, id).await?;
        let mut pubsub = self
            .infra
            .kv
            .client()
            .get_async_pubsub()
            .await
            .map_err(|_| Error::Unavailable("live updates"))?;
        pubsub
            .subscribe(events_channel(&self.infra.kv, id))
            .await
            .map_err(|_| Error::Unavailable("live updates"))?;
        // Subscribed before reading the snapshot, so no change falls between the two.
        let initial = self.stats(id).await?;
        let updates = pubsub.into_on_message().filter_map(|msg| {
            future::ready(
                msg.get_payload::<String>()
                    .ok()
                    .and_then(|s| serde_json::from_str::<CampaignStats>(&s).ok()),
            )
        });
        // Counted as a viewer for as long as the stream lives (the client stays connected).
        let viewer = GaugeGuard::new(metrics::gauge!(SSE_VIEWERS));
        Ok(stream::once(future::ready(initial))
            .chain(updates)
            .map(move |stats| {
                let _counted = &viewer;
                stats
            })
            .boxed())
    }

    /// Invalidates cached pages after a change made elsewhere (e.g. a settlement).
    pub async fn invalidate_pages(&self) {
        self.cache().invalidate().await;
    }

    /// Stores an image in object storage; the type is sniffed from the bytes.
    #[tracing::instrument(skip_all, fields(campaign_id = %id, bytes = bytes.len()))]
    pub async fn add_image(
        &self,
        principal: &Principal,
        id: Uuid,
        bytes: Vec<u8>,
    ) -> Result<(CampaignImage, String)> {
        // The primary: the creator may add images right after creating the campaign.
        let campaign = repo::find(&self.infra.db.write, id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        Self::ensure_owner(principal, &campaign)?;
        if bytes.is_empty() {
            return Err(Error::validation("file", "the file is empty"));
        }
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(Error::validation("file", "images must be at most 5 MiB"));
        }
        let (content_type, ext) = sniff_image(&bytes)
            .ok_or_else(|| Error::validation("file", "images must be PNG, JPEG, GIF or WebP"))?;
        let image = CampaignImage {
            id: Uuid::now_v7(),
            object_key: String::new(),
            content_type: content_type.to_string(),
        };
        let image = CampaignImage {
            object_key: format!("campaigns/{id}/images/{}.{ext}", image.id),
            ..image
        };
        let size = bytes.len() as i32;
        self.infra
            .storage
            .put(&image.object_key, content_type, bytes)
            .await?;
        repo::insert_image(&self.infra.db.write, id, &image, size).await?;
        self.cache().invalidate().await;
        let url = self
            .infra
            .storage
            .presigned_get(&image.object_key, IMAGE_URL_TTL)
            .await?;
        Ok((image, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_a_validation_error() {
        let c = Cursor {
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("ts"),
            id: Uuid::now_v7(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)).ok(), Some(c));
        assert!(matches!(
            decode_cursor("???"),
            Err(Error::Validation {
                field: "cursor",
                ..
            })
        ));
    }

    #[test]
    fn a_list_page_cached_with_a_total_is_a_miss_not_a_has_more() {
        // The cache decodes with serde_json and counts a failure as a miss; a page cached in
        // the earlier `(campaigns, total)` shape must fail, not read as `has_more`.
        for old in ["[[], 0]", "[[], 1]", "[[], 1000000]"] {
            assert!(
                serde_json::from_str::<(Vec<Campaign>, bool)>(old).is_err(),
                "{old}"
            );
        }
        let json = serde_json::to_string(&(Vec::<Campaign>::new(), true)).expect("encode");
        let (items, has_more) =
            serde_json::from_str::<(Vec<Campaign>, bool)>(&json).expect("decode");
        assert!(items.is_empty() && has_more);
    }

    #[test]
    fn images_are_recognised_by_content() {
        assert_eq!(
            sniff_image(b"\x89PNG\r\n\x1a\nrest").map(|t| t.0),
            Some("image/png")
        );
        assert_eq!(
            sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]).map(|t| t.0),
            Some("image/jpeg")
        );
        assert_eq!(sniff_image(b"<svg></svg>"), None);
    }
}
