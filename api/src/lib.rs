//! The Commonpot HTTP API: the only place that speaks HTTP.

pub mod http;
pub mod startup;
