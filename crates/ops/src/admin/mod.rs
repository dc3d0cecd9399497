//! Admin views across contexts: the dashboard.

pub mod dashboard;
