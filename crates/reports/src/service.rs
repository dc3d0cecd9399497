//! Requesting, reading and building reports.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use uuid::Uuid;

use super::{Report, ReportKind, ReportStatus, build, pdf};
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

/// The platform's name on receipts and statements.
const PLATFORM_NAME: &str = "Commonpot";
/// Donors whose January statements are queued in one transaction.
const YEARLY_PAGE: i64 = 500;

/// A report and, once it is done, time-limited links to its files (the PDF: statements only).
#[derive(Debug, Clone)]
pub struct ReportView {
    pub report: Report,
    pub download_url: Option<String>,
    pub pdf_url: Option<String>,
}

/// A PDF to hand out and the file name to save it under.
#[derive(Debug, Clone)]
pub struct PdfFile {
    pub bytes: Vec<u8>,
    pub file_name: String,
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
        let done = report.status == ReportStatus::Done;
        let mut urls = [None, None];
        for (url, key) in urls.iter_mut().zip([&report.object_key, &report.pdf_key]) {
            if let (true, Some(key)) = (done, key) {
                *url = Some(self.infra.storage.presigned_get(key, DOWNLOAD_TTL).await?);
            }
        }
        let [download_url, pdf_url] = urls;
        Ok(ReportView {
            report,
            download_url,
            pdf_url,
        })
    }

    /// A donation's receipt as PDF, for its donor or an admin; anyone else gets not found, so
    /// donation ids cannot be probed. Refunded gifts' receipts say so, with the date.
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id, donation_id = %id))]
    pub async fn receipt(&self, principal: &Principal, id: Uuid) -> Result<PdfFile> {
        let (_donor, donor_name, campaign_title, currency, amount, made_at, refunded_at) =
            repo::receipt(&self.infra.db.write, id)
                .await?
                .filter(|r| r.0 == principal.user_id || principal.is_admin())
                .ok_or(Error::NotFound("donation"))?;
        let receipt = pdf::Receipt {
            donation_id: id,
            donor_name,
            campaign_title,
            amount,
            currency,
            made_at,
            refunded_at,
        };
        Ok(PdfFile {
            file_name: format!("{}.pdf", pdf::receipt_number(id, made_at)),
            bytes: pdf::receipt(&issuer(&self.infra), &receipt),
        })
    }

    /// January: queues last year's giving statement of every donor with a standing gift in it
    /// who has none yet (neither from an earlier run nor asked for since the year ended), a
    /// page of donors per transaction with their events; the worker builds them and
    /// `report.ready` emails each donor. Running it again for the same year queues nothing
    /// twice. Returns how many were queued.
    #[tracing::instrument(skip_all, fields(now = %now))]
    pub async fn queue_yearly_statements(&self, now: DateTime<Utc>) -> Result<usize> {
        let year = now.year() - 1;
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            return Err(Error::internal("year out of range"));
        };
        let (from, to) = build::bounds(first, last)?;
        let mut after = Uuid::nil();
        let mut queued = 0;
        loop {
            let donors =
                repo::donors_between(&self.infra.db.read, from, to, after, YEARLY_PAGE).await?;
            let Some(&next) = donors.last() else { break };
            after = next;
            let mut tx = self.infra.db.write.begin().await?;
            let created = repo::insert_yearly(&mut tx, &donors, first, last, to).await?;
            for report in &created {
                let event = Event::ReportRequested {
                    report_id: report.id,
                };
                outbox::record(&mut tx, &event).await?;
            }
            tx.commit().await?;
            queued += created.len();
        }
        tracing::info!(year, queued, "yearly statements queued");
        Ok(queued)
    }
}

fn issuer(infra: &Handles) -> pdf::Issuer {
    pdf::Issuer {
        name: PLATFORM_NAME.to_string(),
        address: infra.config.platform_address.clone(),
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
    let pdf_key = match report.kind {
        ReportKind::GivingStatement => Some(statement_pdf(infra, &report).await?),
        ReportKind::DonationsByCampaign | ReportKind::LoanBook => None,
    };
    let rows = i32::try_from(csv.rows).unwrap_or(i32::MAX);
    // Done and announced together: the requester's email goes out exactly when it can be had.
    let mut tx = infra.db.write.begin().await?;
    let done = repo::finish(&mut tx, report.id, &key, pdf_key.as_deref(), rows).await?;
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

/// Draws a giving statement's PDF from the same gifts as its CSV and uploads it beside it.
async fn statement_pdf(infra: &Handles, report: &Report) -> Result<String> {
    let (from, to) = build::bounds(report.period_from, report.period_to)?;
    let gifts = repo::gifts_of(&infra.db.read, report.requested_by, from, to).await?;
    let donor_name = repo::full_name(&infra.db.read, report.requested_by)
        .await?
        .unwrap_or_default();
    let statement = pdf::Statement {
        donor_name,
        year: report.period_from.year(),
        currency: gifts
            .last()
            .map_or_else(|| infra.config.currency.clone(), |g| g.3.clone()),
        gifts: gifts
            .into_iter()
            .map(
                |(donation_id, made_at, campaign_title, currency, amount)| pdf::Gift {
                    donation_id,
                    made_at,
                    campaign_title,
                    amount,
                    currency,
                },
            )
            .collect(),
        issued_on: Utc::now().date_naive(),
    };
    let key = format!("reports/{}/{}.pdf", report.kind.as_str(), report.id);
    let bytes = pdf::statement(&issuer(infra), &statement);
    infra.storage.put(&key, "application/pdf", bytes).await?;
    Ok(key)
}

/// Called when the job's last attempt failed: the report shows `failed` until an admin
/// retries the dead letter.
pub async fn mark_failed(infra: &Handles, report_id: Uuid, error: &str) -> Result<()> {
    repo::fail(&infra.db.write, report_id, error).await
}
