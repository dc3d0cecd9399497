//! Campaign updates: news a campaign's creator (or an admin) posts for its donors. Whoever may
//! see the campaign reads them, newest first. Each update is recorded with its
//! `campaign.update_posted` event in one transaction; the worker then emails it once to every
//! donor with a standing gift who takes non-essential mail (one job walks them all).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use uuid::Uuid;

use super::model::CampaignStatus;
use super::service::CampaignService;
use accounts::Principal;
use outbox::Event;
use platform::error::{Error, ErrorCode, Result};

mod repo;

/// Updates one campaign may post in any 24 hours, so its donors are not flooded with mail.
pub const MAX_UPDATES_PER_DAY: i64 = 10;
/// Longest title, in characters (trimmed).
pub const MAX_TITLE_CHARS: usize = 120;
/// Longest body, in characters (trimmed).
pub const MAX_BODY_CHARS: usize = 10_000;

/// An update as posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "CampaignUpdateDto", rename_all = "camelCase")
)]
pub struct CampaignUpdate {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub title: String,
    /// Plain text; line breaks are kept.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// What the creator writes.
pub struct PostUpdate {
    pub title: String,
    pub body: String,
}

/// 1 to `max` characters once trimmed.
fn parse_text(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let text = raw.trim();
    if !(1..=max).contains(&text.chars().count()) {
        return Err(Error::validation(
            field,
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    Ok(text.to_string())
}

impl CampaignService {
    /// Posts an update on an active, completed or cancelled campaign (a draft has no donors to
    /// tell and a suspended one is hidden: 409), by its creator or an admin, at most
    /// [`MAX_UPDATES_PER_DAY`] per campaign in any 24 hours (409 `too_many_updates`).
    #[tracing::instrument(skip_all, fields(campaign_id = %campaign_id))]
    pub async fn post_update(
        &self,
        principal: &Principal,
        campaign_id: Uuid,
        input: PostUpdate,
    ) -> Result<CampaignUpdate> {
        let mut tx = self.infra.db.write.begin().await?;
        // The campaign's row lock (shared with donations) makes concurrent posts count in turn.
        let campaign = super::repo::lock(&mut tx, campaign_id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        Self::ensure_owner(principal, &campaign)?;
        match campaign.status {
            CampaignStatus::Draft => {
                return Err(Error::conflict(
                    ErrorCode::CampaignNotPublished,
                    "publish the campaign before posting updates",
                ));
            }
            CampaignStatus::Suspended => {
                return Err(Error::conflict(
                    ErrorCode::CampaignSuspended,
                    "a suspended campaign cannot post updates",
                ));
            }
            CampaignStatus::Active | CampaignStatus::Completed | CampaignStatus::Cancelled => {}
        }
        let title = parse_text("title", &input.title, MAX_TITLE_CHARS)?;
        let body = parse_text("body", &input.body, MAX_BODY_CHARS)?;
        let recent = repo::count_last_day(&mut tx, campaign_id).await?;
        if recent >= MAX_UPDATES_PER_DAY {
            return Err(Error::conflict(
                ErrorCode::TooManyUpdates,
                format!(
                    "a campaign may post at most {MAX_UPDATES_PER_DAY} updates in 24 hours; \
                     try again later"
                ),
            ));
        }
        let id = Uuid::now_v7();
        let created_at =
            repo::insert(&mut tx, id, campaign_id, principal.user_id, &title, &body).await?;
        let update = CampaignUpdate {
            id,
            campaign_id,
            title,
            body,
            created_at,
        };
        let event = Event::CampaignUpdatePosted {
            campaign_id,
            update_id: update.id,
        };
        outbox::record(&mut tx, &event).await?;
        tx.commit().await?;
        tracing::info!(update_id = %update.id, "campaign_update_posted");
        Ok(update)
    }

    /// A page of the campaign's updates, newest first, with their total; a hidden (draft or
    /// suspended) campaign's only for its creator and admins (404 otherwise).
    pub async fn updates(
        &self,
        viewer: Option<&Principal>,
        campaign_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<CampaignUpdate>, i64)> {
        let campaign = self.visible(viewer, campaign_id).await?;
        // Its creator and admins read the primary: they may have just posted.
        let own = viewer.is_some_and(|p| p.user_id == campaign.creator_id || p.is_admin());
        let db = if own {
            &self.infra.db.write
        } else {
            &self.infra.db.read
        };
        repo::page(db, campaign_id, limit, offset).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_must_fit_its_limits() {
        assert_eq!(
            parse_text("title", "  News  ", 120).ok().as_deref(),
            Some("News")
        );
        assert!(matches!(
            parse_text("body", "   ", 10),
            Err(Error::Validation { field: "body", .. })
        ));
        assert!(parse_text("title", &"é".repeat(120), 120).is_ok());
        assert!(parse_text("title", &"é".repeat(121), 120).is_err());
    }
}
