//! Reports: CSV files built in the background and handed out through presigned URLs. Admins
//! request platform reports (donations by campaign, the loan book) for a period; donors request
//! their yearly giving statement (CSV and PDF), and in January the scheduler requests last
//! year's for every donor. The request row and its outbox event commit together; the worker's
//! `generate_report` job builds the files, uploads them and marks the row done. A donation's
//! PDF receipt is drawn on request (`pdf`).

pub mod build;
pub mod pdf;
mod repo;
pub mod service;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

pub use service::{PdfFile, ReportView, ReportsService, generate, mark_failed};

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &["reports"];

/// `giving_statement` is a donor's own; admins request the other two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Per campaign over the period: donations (by the day made) and refunds (by the day
    /// refunded), counts and amounts.
    DonationsByCampaign,
    /// Every loan on the book during the period, with its status and arrears as of the build.
    LoanBook,
    /// One donor's gifts in a calendar year and the year's total.
    GivingStatement,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DonationsByCampaign => "donations_by_campaign",
            Self::LoanBook => "loan_book",
            Self::GivingStatement => "giving_statement",
        }
    }

    /// The kinds an admin may request at `POST /api/admin/reports` (statements are the
    /// donor's own).
    pub fn parse_admin(raw: &str) -> platform::Result<Self> {
        match raw {
            "donations_by_campaign" => Ok(Self::DonationsByCampaign),
            "loan_book" => Ok(Self::LoanBook),
            _ => Err(platform::Error::validation(
                "kind",
                "kind must be donations_by_campaign or loan_book",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Queued,
    Running,
    Done,
    /// The last attempt failed; an admin may retry the dead-lettered job.
    Failed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Report {
    pub id: Uuid,
    pub kind: ReportKind,
    pub requested_by: Uuid,
    /// Inclusive UTC dates.
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub status: ReportStatus,
    pub object_key: Option<String>,
    /// Giving statements: the PDF beside the CSV once done.
    pub pdf_key: Option<String>,
    pub row_count: Option<i32>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}
