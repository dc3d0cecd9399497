//! The admin audit log, read back: entries filtered by actor, target, action and period,
//! newest first, a page at a time (keyset on the entry id).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::dashboard::AdminService;
use ::audit_log::{Action, Filter, Page};
use accounts::Principal;
use platform::{Error, Result};

/// The page size when none is asked for, and the largest one allowed.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// What the admin asked for, as it arrived.
#[derive(Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<Uuid>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

impl AuditQuery {
    fn into_filter(self) -> Result<Filter> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::validation("limit", "limit must be 1 to 100"));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to < from
        {
            return Err(Error::validation("to", "to must not be before from"));
        }
        // An empty text filter means no filter, as the parameter's absence does.
        let text = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        Ok(Filter {
            actor_id: self.actor,
            target_type: text(self.target_type),
            target_id: text(self.target_id),
            action: text(self.action)
                .as_deref()
                .map(Action::parse)
                .transpose()?,
            from: self.from,
            to: self.to,
            before: self.before,
            limit,
        })
    }
}

impl AdminService {
    /// Admin: one page of the audit log.
    pub async fn audit_log(&self, principal: &Principal, query: AuditQuery) -> Result<Page> {
        principal.require_admin()?;
        ::audit_log::list(&self.infra.db.read, &query.into_filter()?).await
    }
}
