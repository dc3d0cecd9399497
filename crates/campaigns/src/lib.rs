//! Campaigns: creation and editing, the status flow, listing and search, images, live stats
//! and their cache.

pub mod cache;
pub mod live;
pub mod model;
pub mod repo;
pub mod service;
pub mod updates;

pub use model::{Campaign, CampaignStats, CampaignStatus, CampaignView, FundingModel, Moderation};
pub use service::{CampaignService, MAX_IMAGE_BYTES};
pub use updates::{CampaignUpdate, PostUpdate};

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &[
    "campaigns",
    "campaign_images",
    "campaign_stats_shards",
    "campaign_donors",
    "campaign_updates",
];
