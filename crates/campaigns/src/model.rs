//! Campaign types and the parsing of user input into them.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use accounts::Principal;
use platform::error::{Error, Result};

/// `draft` → `active` → `completed` | `cancelled`; admins may suspend and reinstate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Active,
    Completed,
    Cancelled,
    Suspended,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Suspended => "suspended",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "draft" => Self::Draft,
            "active" => Self::Active,
            "completed" => Self::Completed,
            "cancelled" => Self::Cancelled,
            "suspended" => Self::Suspended,
            _ => {
                return Err(Error::validation(
                    "status",
                    "status must be one of draft, active, completed, cancelled, suspended",
                ));
            }
        })
    }
    /// Whether anyone but the creator and admins may see it: drafts are not out yet, and a
    /// suspended campaign is hidden until an admin reinstates it.
    pub fn is_public(self) -> bool {
        !matches!(self, Self::Draft | Self::Suspended)
    }
}

/// `keep_it_all`: the creator withdraws whatever is raised. `all_or_nothing`: funds are
/// held until the deadline, released if the goal is met, refunded otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum FundingModel {
    /// The creator withdraws whatever is raised.
    KeepItAll,
    /// Funds are held until the deadline: released if the goal is met, refunded otherwise.
    AllOrNothing,
}

impl FundingModel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeepItAll => "keep_it_all",
            Self::AllOrNothing => "all_or_nothing",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "keep_it_all" => Ok(Self::KeepItAll),
            "all_or_nothing" => Ok(Self::AllOrNothing),
            _ => Err(Error::validation(
                "fundingModel",
                "fundingModel must be keep_it_all or all_or_nothing",
            )),
        }
    }
}

pub const CATEGORIES: &[&str] = &[
    "animals",
    "community",
    "creative",
    "education",
    "emergency",
    "environment",
    "health",
    "sports",
    "technology",
    "other",
];

/// Goals between 10.00 and 1,000,000.00.
pub const MIN_GOAL: i64 = 1_000;
pub const MAX_GOAL: i64 = 100_000_000;
/// Deadlines at most a year out.
pub const MAX_DURATION_DAYS: i64 = 366;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Campaign {
    pub id: Uuid,
    pub creator_id: Uuid,
    pub creator_name: String,
    pub title: String,
    pub description: String,
    pub goal_amount: i64,
    pub currency: String,
    pub category: String,
    pub funding_model: FundingModel,
    pub status: CampaignStatus,
    pub deadline: Option<DateTime<Utc>>,
    pub settlement: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// When an admin featured it; `None` when not featured.
    pub featured_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Campaign {
    /// Public campaigns are seen by anyone; the others only by their creator and admins.
    pub fn visible_to(&self, viewer: Option<&Principal>) -> bool {
        self.status.is_public()
            || viewer.is_some_and(|p| p.user_id == self.creator_id || p.is_admin())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "LiveStats", rename_all = "camelCase")
)]
pub struct CampaignStats {
    pub raised_amount: i64,
    pub total_donors: i64,
    pub donations_count: i64,
}

impl CampaignStats {
    /// Progress towards the goal in percent, two decimals (not money: a display ratio).
    pub fn progress_percentage(&self, goal: i64) -> f64 {
        if goal <= 0 {
            return 0.0;
        }
        let basis_points = (self.raised_amount as i128 * 10_000) / goal as i128;
        basis_points as f64 / 100.0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignImage {
    pub id: Uuid,
    pub object_key: String,
    pub content_type: String,
}

/// A campaign with its live stats and images, as the detail page shows it.
#[derive(Debug, Clone)]
pub struct CampaignView {
    pub campaign: Campaign,
    pub stats: CampaignStats,
    pub images: Vec<(CampaignImage, String)>,
}

pub fn parse_title(raw: &str) -> Result<String> {
    let t = raw.trim();
    let n = t.chars().count();
    if !(5..=120).contains(&n) {
        return Err(Error::validation(
            "title",
            "title must be 5 to 120 characters",
        ));
    }
    Ok(t.to_string())
}

pub fn parse_description(raw: &str) -> Result<String> {
    let d = raw.trim();
    let n = d.chars().count();
    if !(20..=10_000).contains(&n) {
        return Err(Error::validation(
            "description",
            "description must be 20 to 10000 characters",
        ));
    }
    Ok(d.to_string())
}

pub fn parse_goal(amount: i64) -> Result<i64> {
    if !(MIN_GOAL..=MAX_GOAL).contains(&amount) {
        return Err(Error::validation(
            "goalAmount",
            format!("goalAmount must be between {MIN_GOAL} and {MAX_GOAL} minor units"),
        ));
    }
    Ok(amount)
}

pub fn parse_category(raw: &str) -> Result<String> {
    let c = raw.trim().to_lowercase();
    if !CATEGORIES.contains(&c.as_str()) {
        return Err(Error::validation(
            "category",
            format!("category must be one of {}", CATEGORIES.join(", ")),
        ));
    }
    Ok(c)
}

pub fn parse_deadline(deadline: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if deadline <= now + Duration::hours(1) {
        return Err(Error::validation(
            "deadline",
            "deadline must be at least an hour in the future",
        ));
    }
    if deadline > now + Duration::days(MAX_DURATION_DAYS) {
        return Err(Error::validation(
            "deadline",
            "deadline must be within a year",
        ));
    }
    Ok(deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_exact_to_the_basis_point() {
        let s = CampaignStats {
            raised_amount: 3_333,
            ..Default::default()
        };
        assert_eq!(s.progress_percentage(10_000), 33.33);
        assert_eq!(s.progress_percentage(0), 0.0);
    }

    #[test]
    fn goals_outside_the_limits_are_rejected() {
        assert!(parse_goal(MIN_GOAL - 1).is_err());
        assert!(parse_goal(MAX_GOAL + 1).is_err());
        assert_eq!(parse_goal(MIN_GOAL).ok(), Some(MIN_GOAL));
    }

    #[test]
    fn deadlines_must_be_in_the_near_future() {
        let now = Utc::now();
        assert!(parse_deadline(now, now).is_err());
        assert!(parse_deadline(now + Duration::days(400), now).is_err());
        assert!(parse_deadline(now + Duration::days(30), now).is_ok());
    }

    #[test]
    fn unknown_categories_are_rejected_and_known_ones_normalised() {
        assert!(parse_category("gambling").is_err());
        assert_eq!(parse_category(" Health ").ok().as_deref(), Some("health"));
    }
}

/// What an admin can do to a campaign from the moderation tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    Suspend,
    Reinstate,
    Feature,
    Unfeature,
}
