//! What an entry says, and how the log is filtered.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use platform::{Error, Result};

platform::codes! {
    /// Every admin action the log records.
    pub enum Action {
        UserUpdated = "user.updated",
        CampaignSuspended = "campaign.suspended",
        CampaignReinstated = "campaign.reinstated",
        CampaignFeatured = "campaign.featured",
        CampaignUnfeatured = "campaign.unfeatured",
        RecurringStopped = "recurring.stopped",
        DonationRefunded = "donation.refunded",
        LoanApproved = "loan.approved",
        LoanRejected = "loan.rejected",
        LoanWrittenOff = "loan.written_off",
        DeadLetterRetried = "dead_letter.retried",
        ReportRequested = "report.requested",
    }
}

impl Action {
    /// Actions that take something away from someone must say why.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Self::CampaignSuspended
                | Self::DonationRefunded
                | Self::LoanRejected
                | Self::LoanWrittenOff
        )
    }

    /// The reason given for this action, trimmed: refused when the action needs one and it is
    /// missing or blank, or when it is too long. Services call it before any work so a refusal
    /// costs nothing; [`crate::record`] checks again.
    pub fn reason(self, raw: Option<&str>) -> Result<Option<&str>> {
        let reason = raw.map(str::trim).filter(|r| !r.is_empty());
        match reason {
            None if self.needs_reason() => Err(Error::validation(
                "reason",
                format!("a reason is required for {}", self.as_str()),
            )),
            Some(r) if r.chars().count() > MAX_REASON_CHARS => Err(Error::validation(
                "reason",
                "reason must be at most 1000 characters",
            )),
            _ => Ok(reason),
        }
    }

    pub fn parse(value: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == value)
            .ok_or_else(|| Error::validation("action", "unknown audit action"))
    }
}

/// Who acted: the admin, and the request that carried the action (its `X-Request-Id`).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user_id: Uuid,
    pub request_id: Option<&'a str>,
}

/// One action on one thing: its state before and after, and the admin's reason.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub action: Action,
    /// `user`, `campaign`, `donation`, `loan`, `dead_letter`, `report`.
    pub target_type: &'static str,
    pub target_id: String,
    pub before: Value,
    pub after: Value,
    pub reason: Option<&'a str>,
}

/// The longest reason kept; longer ones are refused rather than cut.
pub const MAX_REASON_CHARS: usize = 1000;

impl Change<'_> {
    /// The reason, trimmed, checked against the action's needs.
    pub(crate) fn checked_reason(&self) -> Result<Option<&str>> {
        self.action.reason(self.reason)
    }
}

/// A recorded entry, newest first in listings.
#[derive(Debug, Clone)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename_all = "camelCase")
)]
pub struct AuditEntry {
    /// Increasing with each entry; the keyset cursor.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Uuid,
    /// The admin's email (from the users read model; `null` once the account is erased).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub actor_email: Option<String>,
    pub action: Action,
    pub target_type: String,
    pub target_id: String,
    pub before: Value,
    pub after: Value,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub request_id: Option<String>,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub reason: Option<String>,
}

/// Which entries to list. Every field narrows; `before` is the keyset cursor (an entry id).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor_id: Option<Uuid>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<Action>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// One page of entries and the cursor for the next (`null` on the last page).
#[derive(Debug, Clone)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "AuditPage", rename_all = "camelCase")
)]
pub struct Page {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next page.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub next_before: Option<i64>,
}
