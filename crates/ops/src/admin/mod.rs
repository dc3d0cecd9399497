//! Admin views across contexts: the dashboard and the audit log.

pub mod audit_log;
pub mod dashboard;
