//! Requesting, reading and building reports.

use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use uuid::Uuid;

use super::{Report, ReportKind, ReportStatus, build};
use crate::repo;
use accounts::Principal;
use outbox::Event;
use platform::Handles;
use platform::error::{Error, Result};

/// How long a download link works.
const DOWNLOAD_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest period an admin report may cover, in days (ten years).
const MAX_PERIOD_DAYS: i64 = 3660;
/// The earliest year a giving statement may be asked for.
const FIRST_YEAR: i32 = 2000;

/// A report and, once it is done, a time-limited link to its file.
#[derive(Debug, Clone)]
pub struct ReportView {
    pub report: Report,
    pub download_url: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ReportsService {
    infra: Handles,
}

impl ReportsService {
    pub fn new(infra: Handles) -> Self {
        Self { infra }
    }
}

impl ReportsService {
    /// Admin: queue a platform report over the inclusive UTC dates `from`..=`to`. Every field
    /// is optional in the body so that non-admins get their 403 before validation.
    #[tracing::instrument(skip_all, fields(admin_id = %principal.user_id))]
    pub async fn request(
        &self,
        principal: &Principal,
        kind: Option<&str>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Report> {
        principal.require_admin()?;
        let kind = ReportKind::parse_admin(
            kind.ok_or_else(|| Error::validation("kind", "kind is required"))?,
        )?;
        let from = from.ok_or_else(|| Error::validation("from", "from is required"))?;
        let to = to.ok_or_else(|| Error::validation("to", "to is required"))?;
        if to < from {
            return Err(Error::validation("to", "to must not be before from"));
        }
        if (to - from).num_days() > MAX_PERIOD_DAYS {
            return Err(Error::validation(
                "to",
                "the period may span at most ten years",
            ));
        }
        self.queue(kind, principal.user_id, from, to, Some(principal.actor()))
            .await
    }

    /// A donor's statement of their gifts in `year`.
    #[tracing::instrument(skip_all, fields(donor_id = %principal.user_id, year = year))]
    pub async fn request_statement(&self, principal: &Principal, year: i32) -> Result<Report> {
        let this_year = Utc::now().year();
        let first = NaiveDate::from_ymd_opt(year, 1, 1);
        let last = NaiveDate::from_ymd_opt(year, 12, 31);
        match (first, last) {
            (Some(first), Some(last)) if (FIRST_YEAR..=this_year).contains(&year) => {
                self.queue(
                    ReportKind::GivingStatement,
                    principal.user_id,
                    first,
                    last,
                    None,
                )
                .await
            }
            _ => Err(Error::validation(
                "year",
                format!("year must be between {FIRST_YEAR} and {this_year}"),
            )),
        }
    }

    /// Writes the row and its event in one transaction: the job exists exactly when the
    /// report does. An admin's request (`admin`) is recorded in the audit log there too.
    async fn queue(
        &self,
        kind: ReportKind,
        requested_by: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        admin: Option<audit_log::Actor<'_>>,
    ) -> Result<Report> {
        let mut tx = self.infra.db.write.begin().await?;
        let report = repo::insert(&mut tx, kind, requested_by, from, to).await?;
        outbox::record(
            &mut tx,
            &Event::ReportRequested {
                report_id: report.id,
            },
        )
        .await?;
        if let Some(actor) = admin {
            let change = audit_log::Change {
                action: audit_log::Action::ReportRequested,
                target_type: "report",
                target_id: report.id.to_string(),
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "kind": kind.as_str(),
                    "from": from,
                    "to": to,
                }),
                reason: None,
            };
            audit_log::record(&mut tx, actor, &change).await?;
        }
        tx.commit().await?;
        tracing::info!(report_id = %report.id, kind = kind.as_str(), "report_requested");
        Ok(report)
    }

    /// Admin: any report, with a download link once done.
    pub async fn get(&self, principal: &Principal, id: Uuid) -> Result<ReportView> {
        principal.require_admin()?;
        let report = find(&self.infra, id)
            .await?
            .ok_or(Error::NotFound("report"))?;
        self.view(report).await
    }

    /// The caller's own giving statement; anyone else's is not found.
    pub async fn statement(&self, principal: &Principal, id: Uuid) -> Result<ReportView> {
        let report = find(&self.infra, id)
            .await?
            .filter(|r| {
                r.kind == ReportKind::GivingStatement && r.requested_by == principal.user_id
            })
            .ok_or(Error::NotFound("statement"))?;
        self.view(report).await
    }

    async fn view(&self, report: Report) -> Result<ReportView> {
        let download_url = match (&report.status, &report.object_key) {
            (ReportStatus::Done, Some(key)) => {
                Some(self.infra.storage.presigned_get(key, DOWNLOAD_TTL).await?)
            }
            _ => None,
        };
        Ok(ReportView {
            report,
            download_url,
        })
    }
}

async fn find(infra: &Handles, id: Uuid) -> Result<Option<Report>> {
    repo::find(&infra.db.write, id).await
}

/// The `generate_report` job: builds the file, uploads it under a key fixed by the report id
/// and marks the report done. Idempotent: a done report is left alone, and a rerun after a
/// crash overwrites the same object.
#[tracing::instrument(skip_all, fields(report_id = %report_id))]
pub async fn generate(infra: &Handles, report_id: Uuid) -> Result<Option<Report>> {
    let claimed = repo::start(&infra.db.write, report_id).await?;
    let Some(report) = claimed else {
        // Done already, or never committed (cannot happen: the event commits with the row).
        tracing::debug!("report already done or missing");
        return Ok(None);
    };
    let csv = build::build(&infra.db.read, &report, Utc::now()).await?;
    let key = format!("reports/{}/{}.csv", report.kind.as_str(), report.id);
    infra.storage.ensure_bucket().await?;
    infra
        .storage
        .put(&key, "text/csv; charset=utf-8", csv.bytes)
        .await?;
    let rows = i32::try_from(csv.rows).unwrap_or(i32::MAX);
    // Done and announced together: the requester's email goes out exactly when it can be had.
    let mut tx = infra.db.write.begin().await?;
    let done = repo::finish(&mut tx, report.id, &key, rows).await?;
    let ready = Event::ReportReady {
        report_id: done.id,
        requested_by: done.requested_by,
        report_kind: done.kind.as_str().to_string(),
    };
    outbox::record(&mut tx, &ready).await?;
    tx.commit().await?;
    tracing::info!(rows, "report_done");
    Ok(Some(done))
}

/// Called when the job's last attempt failed: the report shows `failed` until an admin
/// retries the dead letter.
pub async fn mark_failed(infra: &Handles, report_id: Uuid, error: &str) -> Result<()> {
    repo::fail(&infra.db.write, report_id, error).await
}
