//! SQL: `daily_analytics` (this context's own table) and the other contexts' published views.

pub(crate) mod analytics;
pub(crate) mod audit;
pub(crate) mod dashboard;
pub(crate) mod privacy;
