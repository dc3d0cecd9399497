//! `/api/admin/reports` and `/api/donations/statements`: CSV reports (and, for statements, a
//! PDF) built in the background. A request answers 202 with the report's id at once; polling it
//! shows the status and, once done, download links valid for 15 minutes.
//! `/api/donations/{id}/receipt`: a donation's PDF receipt, drawn on request.

use chrono::{DateTime, NaiveDate, Utc};
use domain::App;
use domain::reports::{ReportKind, ReportStatus, ReportView};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Binary;

use super::common::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::enums::{AdminReportKind, Nullable, OneOf};
use super::error::{ADMIN, API, AUTH, ApiResult, BODY, BY_ID};
use super::json::JsonBody;
use super::security::Auth;

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ReportRequest {
    /// Required: `donations_by_campaign` or `loan_book`. (Optional in the schema only so that
    /// non-admins get their 403 before any body validation.)
    #[serde(default)]
    pub kind: Nullable<OneOf<AdminReportKind>>,
    /// Required: first day of the period (UTC), inclusive.
    #[oai(nullable)]
    pub from: Option<NaiveDate>,
    /// Required: last day of the period (UTC), inclusive; at most 3660 days after `from`.
    #[oai(nullable)]
    pub to: Option<NaiveDate>,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct StatementRequest {
    /// Calendar year, from 2000 to the current year.
    #[oai(validator(minimum(value = "2000")))]
    pub year: i32,
}

// Not the domain Report: adds the presigned `downloadUrl`, renames the period, and shows
// `error` to admins only.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ReportDto {
    pub id: Uuid,
    pub kind: ReportKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub status: ReportStatus,
    /// Data rows in the file (header and total lines not counted) once done; null before.
    #[oai(nullable)]
    pub row_count: Option<i32>,
    /// A presigned GET URL for the CSV, valid for 15 minutes, once done; null before.
    #[oai(nullable)]
    pub download_url: Option<String>,
    /// Giving statements: a presigned GET URL for the PDF, valid for 15 minutes, once done;
    /// null before and for admin reports.
    #[oai(nullable)]
    pub pdf_url: Option<String>,
    /// Why the last attempt failed (admin reports only); null otherwise.
    #[oai(nullable)]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Null until done or failed.
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
}

impl ReportDto {
    fn from_view(v: ReportView, show_error: bool) -> Self {
        let r = v.report;
        Self {
            id: r.id,
            kind: r.kind,
            from: r.period_from,
            to: r.period_to,
            status: r.status,
            row_count: r.row_count,
            download_url: v.download_url,
            pdf_url: v.pdf_url,
            error: r.error.filter(|_| show_error),
            created_at: r.created_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Queued; poll the report for its status.
    #[oai(status = 202)]
    Accepted(Json<ReportDto>),
}

#[derive(ApiResponse)]
pub enum PdfDownload {
    /// The receipt (`application/pdf`), offered as a download named after its receipt number.
    #[oai(status = 200, content_type = "application/pdf")]
    Pdf(
        Binary<Vec<u8>>,
        /// `attachment; filename="CP-<year>-<12 hex digits>.pdf"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

pub struct ReportsApi;

#[OpenApi(prefix_path = "/api")]
impl ReportsApi {
    /// Admin: queue a CSV report over a period. `donations_by_campaign`: per campaign,
    /// donations made and refunds made in the period (counts and amounts). `loan_book`: every
    /// loan on the book during the period with its status and arrears as of the build.
    #[oai(
        path = "/admin/reports",
        method = "post",
        tag = "ApiTags::Reports",
        operation_id = "requestReport"
    )]
    #[tracing::instrument(skip_all)]
    async fn request(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<ReportRequest>,
    ) -> ApiResult<Accepted, { API | ADMIN | BODY }> {
        let principal = auth.admin()?;
        let b = body.0;
        let report = app
            .reports()
            .request(
                principal,
                b.kind.0.as_ref().map(OneOf::as_str),
                b.from,
                b.to,
            )
            .await?;
        Ok(Accepted::Accepted(Json(ReportDto::from_view(
            ReportView {
                report,
                download_url: None,
                pdf_url: None,
            },
            true,
        ))))
    }

    /// Admin: a report's status, and its download link once done.
    #[oai(
        path = "/admin/reports/:id",
        method = "get",
        tag = "ApiTags::Reports",
        operation_id = "getReport"
    )]
    #[tracing::instrument(skip_all, fields(report_id = %id.0))]
    async fn get(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ReportDto>, { API | ADMIN | BY_ID }> {
        let principal = auth.admin()?;
        let view = app.reports().get(principal, id.0).await?;
        Ok(Json(ReportDto::from_view(view, true)))
    }

    /// Queue the caller's giving statement for a year: every gift (date, campaign, amount)
    /// that was not refunded, and the year's total, as CSV and as PDF. (In January every donor
    /// with gifts in the year before gets theirs by email without asking.)
    #[oai(
        path = "/donations/statements",
        method = "post",
        tag = "ApiTags::Donations",
        operation_id = "requestGivingStatement"
    )]
    #[tracing::instrument(skip_all)]
    async fn request_statement(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<StatementRequest>,
    ) -> ApiResult<Accepted, { API | AUTH | BODY }> {
        let report = app
            .reports()
            .request_statement(auth.principal(), body.0.year)
            .await?;
        Ok(Accepted::Accepted(Json(ReportDto::from_view(
            ReportView {
                report,
                download_url: None,
                pdf_url: None,
            },
            false,
        ))))
    }

    /// A donation's receipt as PDF: the donor's name, the campaign, the amount with its
    /// currency, the date, the receipt number (`CP-<year made>-<last 12 hex digits of the
    /// donation id>`, stable) and the platform's name and address. A refunded donation's
    /// receipt says REFUNDED, with the refund date. Only the donor or an admin; anyone else
    /// gets 404, as for an unknown id.
    #[oai(
        path = "/donations/:id/receipt",
        method = "get",
        tag = "ApiTags::Donations",
        operation_id = "getDonationReceipt"
    )]
    #[tracing::instrument(skip_all, fields(donation_id = %id.0))]
    async fn receipt(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<PdfDownload, { API | AUTH | BY_ID }> {
        let file = app.reports().receipt(auth.principal(), id.0).await?;
        let disposition = format!("attachment; filename=\"{}\"", file.file_name);
        Ok(PdfDownload::Pdf(Binary(file.bytes), disposition))
    }

    /// One of the caller's giving statements; anyone else's is 404.
    #[oai(
        path = "/donations/statements/:id",
        method = "get",
        tag = "ApiTags::Donations",
        operation_id = "getGivingStatement"
    )]
    #[tracing::instrument(skip_all, fields(statement_id = %id.0))]
    async fn statement(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ReportDto>, { API | AUTH | BY_ID }> {
        let view = app.reports().statement(auth.principal(), id.0).await?;
        Ok(Json(ReportDto::from_view(view, false)))
    }
}
