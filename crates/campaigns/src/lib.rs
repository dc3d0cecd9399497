//! Campaigns: creation and editing, the status flow, listing and search, images, live stats
//! and their cache.

pub mod cache;
pub mod live;
pub mod model;
pub mod repo;
pub mod service;

pub use model::{Campaign, CampaignStats, CampaignStatus, CampaignView, FundingModel};
pub use service::{CampaignService, MAX_IMAGE_BYTES};
