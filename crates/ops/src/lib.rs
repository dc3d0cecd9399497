//! Operations: the views and safety nets that read across contexts rather than owning one —
//! the admin dashboard, the nightly analytics roll-up and database backups.

pub mod admin;
pub mod analytics;
pub mod backup;
