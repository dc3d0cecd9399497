//! Loan types and the parsing of user input into them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::scoring::Factor;
use platform::config::LoanPolicy;
use platform::error::{Error, Result};

/// A loan's life: submitted → scoring → pending_review → fundraising (approved) |
/// rejected; fundraising → funded → active (disbursed) | expired; active ⇄ late →
/// defaulted → written_off; active | late → repaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum LoanStatus {
    Submitted,
    Scoring,
    PendingReview,
    Fundraising,
    Rejected,
    Expired,
    Funded,
    Active,
    Late,
    Repaid,
    Defaulted,
    WrittenOff,
}

impl LoanStatus {
    pub const ALL: [LoanStatus; 12] = [
        Self::Submitted,
        Self::Scoring,
        Self::PendingReview,
        Self::Fundraising,
        Self::Rejected,
        Self::Expired,
        Self::Funded,
        Self::Active,
        Self::Late,
        Self::Repaid,
        Self::Defaulted,
        Self::WrittenOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Scoring => "scoring",
            Self::PendingReview => "pending_review",
            Self::Fundraising => "fundraising",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Funded => "funded",
            Self::Active => "active",
            Self::Late => "late",
            Self::Repaid => "repaid",
            Self::Defaulted => "defaulted",
            Self::WrittenOff => "written_off",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                Error::validation(
                    "status",
                    format!(
                        "status must be one of {}",
                        Self::ALL.map(Self::as_str).join(", ")
                    ),
                )
            })
    }

    /// Approved loans are public; applications and rejections stay between the borrower and
    /// the admins.
    pub fn is_public(self) -> bool {
        !matches!(
            self,
            Self::Submitted | Self::Scoring | Self::PendingReview | Self::Rejected
        )
    }

    /// The borrower owes installments.
    pub fn is_repaying(self) -> bool {
        matches!(self, Self::Active | Self::Late)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename_all = "camelCase")
)]
pub struct Loan {
    pub id: Uuid,
    pub borrower_id: Uuid,
    /// First name and last initial.
    pub borrower_name: String,
    pub amount: i64,
    pub term_months: i32,
    /// Annual interest in basis points (500 = 5%) on the declining balance.
    pub annual_rate_bp: i32,
    pub purpose: String,
    pub description: String,
    pub status: LoanStatus,
    pub funded_amount: i64,
    /// What the borrower owes in all (principal + interest), once disbursed; null before.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub total_due: Option<i64>,
    pub repaid_amount: i64,
    /// Null until approved.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub fundraising_deadline: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub approved_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub disbursed_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Loan {
    /// What lenders may still fund.
    pub fn remaining(&self) -> i64 {
        self.amount - self.funded_amount
    }

    /// What the borrower still owes (zero before disbursement).
    pub fn outstanding(&self) -> i64 {
        self.total_due.map_or(0, |due| due - self.repaid_amount)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "ScoreDto", rename_all = "camelCase")
)]
pub struct LoanScore {
    /// 0 to 1000.
    pub score: i32,
    /// At or above the configured threshold. Approval stays a human decision.
    pub recommended: bool,
    /// Every point, explained.
    pub factors: Vec<Factor>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Transition {
    pub from_status: Option<LoanStatus>,
    pub to_status: LoanStatus,
    /// `None` for the system (scoring, funding, the scheduler).
    pub actor_id: Option<Uuid>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct LoanDocument {
    pub id: Uuid,
    pub object_key: String,
    pub content_type: String,
    pub size_bytes: i32,
    pub created_at: DateTime<Utc>,
}

/// A lender's total in one loan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "LenderDto", rename_all = "camelCase")
)]
pub struct LenderTotal {
    pub lender_id: Uuid,
    /// Minor units.
    pub amount: i64,
}

/// A loan as its borrower and admins see it: everything, with its record.
#[derive(Debug, Clone)]
pub struct LoanDetail {
    pub loan: Loan,
    pub score: Option<LoanScore>,
    pub transitions: Vec<Transition>,
    pub documents: Vec<(LoanDocument, String)>,
    pub lenders: Vec<LenderTotal>,
    /// The caller sees the private parts (borrower or admin).
    pub full: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename_all = "camelCase")
)]
pub struct ScheduledInstallment {
    pub seq: i32,
    pub due_at: DateTime<Utc>,
    pub principal: i64,
    pub interest: i64,
    /// principal + interest.
    pub amount: i64,
    pub paid_amount: i64,
    /// Null until fully paid.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub paid_at: Option<DateTime<Utc>>,
}

/// The result of taking a share (also what an idempotent replay returns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "LoanShareDto", rename_all = "camelCase")
)]
pub struct LoanShare {
    pub id: Uuid,
    pub loan_id: Uuid,
    pub lender_id: Uuid,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
    /// The loan's status right after this share: `active` when it completed the funding and
    /// the loan was disbursed.
    pub loan_status: LoanStatus,
    pub loan_funded_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "RepaymentDto", rename_all = "camelCase")
)]
pub struct Repayment {
    pub id: Uuid,
    pub loan_id: Uuid,
    pub amount: i64,
    /// What each lender received; sums exactly to `amount`.
    pub distributions: Vec<LenderTotal>,
    pub created_at: DateTime<Utc>,
    /// `repaid` when this was the last repayment.
    pub loan_status: LoanStatus,
    pub outstanding: i64,
}

/// What a scheduler pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub late: u32,
    pub cured: u32,
    pub defaulted: u32,
    pub expired: u32,
    pub refunded_shares: u32,
}

pub fn parse_amount(policy: &LoanPolicy, amount: i64) -> Result<i64> {
    if !(policy.min_amount..=policy.max_amount).contains(&amount) {
        return Err(Error::validation(
            "amount",
            format!(
                "amount must be between {} and {} minor units",
                policy.min_amount, policy.max_amount
            ),
        ));
    }
    Ok(amount)
}

pub fn parse_term(policy: &LoanPolicy, months: i32) -> Result<i32> {
    if !(policy.min_term_months..=policy.max_term_months).contains(&months) {
        return Err(Error::validation(
            "termMonths",
            format!(
                "termMonths must be between {} and {}",
                policy.min_term_months, policy.max_term_months
            ),
        ));
    }
    Ok(months)
}

fn parse_text(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String> {
    let t = raw.trim();
    if !(min..=max).contains(&t.chars().count()) {
        return Err(Error::validation(
            field,
            format!("{field} must be {min} to {max} characters"),
        ));
    }
    Ok(t.to_string())
}

pub fn parse_purpose(raw: &str) -> Result<String> {
    parse_text("purpose", raw, 3, 120)
}

pub fn parse_description(raw: &str) -> Result<String> {
    parse_text("description", raw, 20, 5_000)
}

pub fn parse_reason(raw: Option<&str>) -> Result<String> {
    parse_text("reason", raw.unwrap_or_default(), 3, 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_ones_name_the_field() {
        for s in LoanStatus::ALL {
            assert_eq!(LoanStatus::parse(s.as_str()).ok(), Some(s));
        }
        assert!(matches!(
            LoanStatus::parse("approved"),
            Err(Error::Validation {
                field: "status",
                ..
            })
        ));
    }

    #[test]
    fn applications_and_rejections_are_private() {
        assert!(!LoanStatus::PendingReview.is_public());
        assert!(!LoanStatus::Rejected.is_public());
        assert!(LoanStatus::Fundraising.is_public());
        assert!(LoanStatus::Repaid.is_public());
    }

    #[test]
    fn amounts_and_terms_outside_the_policy_are_refused() {
        let p = LoanPolicy::default();
        assert!(parse_amount(&p, p.min_amount - 1).is_err());
        assert!(parse_amount(&p, p.max_amount + 1).is_err());
        assert!(parse_amount(&p, p.min_amount).is_ok());
        assert!(parse_term(&p, p.max_term_months + 1).is_err());
        assert!(parse_term(&p, 0).is_err());
    }

    #[test]
    fn a_rejection_needs_a_reason() {
        assert!(parse_reason(None).is_err());
        assert!(parse_reason(Some("  ")).is_err());
        assert_eq!(
            parse_reason(Some(" too risky ")).ok().as_deref(),
            Some("too risky")
        );
    }
}
