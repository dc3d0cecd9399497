//! `/api/loans` and `/api/admin/loans`: applications, documents, the public list, lending,
//! the schedule, repayments and the admin decisions. Lending and repaying move money, so they
//! take an `Idempotency-Key` header like every money write.

use chrono::{DateTime, Utc};
use domain::App;
use domain::loans::{
    Apply, LenderTotal, Loan, LoanDetail, LoanDocument, LoanScore, LoanShare, LoanStatus, Position,
    Repayment, ScheduledInstallment, Totals, Transition,
};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};

use super::common::Json;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::common::{Created, created, idempotency_key};
use super::common::{PageParams, Paged, ReasonRequest};
use super::enums::{InstallmentStatus, Nullable, OneOf};
use super::error::{ADMIN, API, AUTH, ApiResult, BODY, BY_ID, CONFLICT, FORBIDDEN, PARAMS};
use super::json::JsonBody;
use super::params::{IdempotencyKey, PageLimit, PageNumber};
use super::public::{MaybeAuth, NoAuth};
use super::security::{Auth, viewer};

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreateLoanRequest {
    /// Minor units, within the configured limits (default 10,000 to 1,000,000).
    #[oai(validator(minimum(value = "1")))]
    pub amount: i64,
    /// Within the configured limits (default 3 to 36).
    #[oai(validator(minimum(value = "1")))]
    pub term_months: i32,
    /// 3 to 120 characters (trimmed).
    #[oai(validator(min_length = 3, max_length = 120))]
    pub purpose: String,
    /// 20 to 5000 characters (trimmed).
    #[oai(validator(min_length = 20, max_length = 5000))]
    pub description: String,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct AmountRequest {
    /// Minor units, at least 1.
    #[oai(validator(minimum(value = "1")))]
    pub amount: i64,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct RejectRequest {
    /// Required: 3 to 500 characters, shown to the borrower. (Optional in the schema so that
    /// non-admins get their 403 before any body validation.)
    #[oai(nullable, validator(min_length = 3, max_length = 500))]
    pub reason: Option<String>,
}

/// The public part of a loan.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct LoanDto {
    #[oai(flatten)]
    pub loan: Loan,
    // Derived from the loan, not stored with it.
    pub remaining_amount: i64,
}

impl From<Loan> for LoanDto {
    fn from(loan: Loan) -> Self {
        Self {
            remaining_amount: loan.remaining(),
            loan,
        }
    }
}

// Kept apart from the domain's `Transition` only to document `fromStatus` as
// `Nullable<LoanStatus>` (an api-side wrapper that gives a nullable reference its type).
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct TransitionDto {
    /// Null for the first record (the application).
    pub from_status: Nullable<LoanStatus>,
    pub to_status: LoanStatus,
    /// Null when the system made the change (scoring, funding, the scheduler).
    #[oai(nullable)]
    pub actor_id: Option<Uuid>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl From<Transition> for TransitionDto {
    fn from(t: Transition) -> Self {
        Self {
            from_status: Nullable(t.from_status),
            to_status: t.to_status,
            actor_id: t.actor_id,
            reason: t.reason,
            created_at: t.created_at,
        }
    }
}

// Viewers get a link instead of the document's internal object key.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DocumentDto {
    pub id: Uuid,
    pub content_type: String,
    pub size_bytes: i32,
    /// Presigned GET URL, valid for an hour.
    pub url: String,
    pub created_at: DateTime<Utc>,
}

impl DocumentDto {
    fn new(doc: LoanDocument, url: String) -> Self {
        Self {
            id: doc.id,
            content_type: doc.content_type,
            size_bytes: doc.size_bytes,
            url,
            created_at: doc.created_at,
        }
    }
}

/// A loan with what the caller may see of its record: the borrower and admins get the score,
/// every status change, the documents and the lenders; everyone else gets null there.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct LoanDetailDto {
    #[oai(flatten)]
    pub loan: LoanDto,
    pub lenders_count: i64,
    /// Null until scored, and for callers other than the borrower and admins.
    pub score: Nullable<LoanScore>,
    #[oai(nullable)]
    pub transitions: Option<Vec<TransitionDto>>,
    #[oai(nullable)]
    pub documents: Option<Vec<DocumentDto>>,
    #[oai(nullable)]
    pub lenders: Option<Vec<LenderTotal>>,
}

impl From<LoanDetail> for LoanDetailDto {
    fn from(d: LoanDetail) -> Self {
        let full = d.full;
        Self {
            loan: d.loan.into(),
            lenders_count: d.lenders.len() as i64,
            score: Nullable(d.score),
            transitions: full.then(|| d.transitions.into_iter().map(Into::into).collect()),
            documents: full.then(|| {
                d.documents
                    .into_iter()
                    .map(|(doc, url)| DocumentDto::new(doc, url))
                    .collect()
            }),
            lenders: full.then_some(d.lenders),
        }
    }
}

/// An entry of the admin review queue.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct AdminLoanDto {
    #[oai(flatten)]
    pub loan: LoanDto,
    /// Null while the loan waits to be scored.
    pub score: Nullable<LoanScore>,
    /// The score is at or above the configured threshold.
    pub recommended: bool,
}

// An installment's status depends on the time of asking, so it is not stored with it.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct InstallmentDto {
    #[oai(flatten)]
    pub installment: ScheduledInstallment,
    pub status: InstallmentStatus,
}

impl InstallmentDto {
    fn new(installment: ScheduledInstallment, now: DateTime<Utc>) -> Self {
        let status = if installment.paid_amount >= installment.amount {
            InstallmentStatus::Paid
        } else if installment.due_at <= now {
            InstallmentStatus::Overdue
        } else {
            InstallmentStatus::Upcoming
        };
        Self {
            installment,
            status,
        }
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ScheduleDto {
    pub loan_id: Uuid,
    pub status: LoanStatus,
    /// Null until the loan is disbursed; then the installments sum exactly to it.
    #[oai(nullable)]
    pub total_due: Option<i64>,
    pub repaid_amount: i64,
    pub outstanding: i64,
    pub installments: Vec<InstallmentDto>,
}

/// A page of the caller's lending portfolio with the totals of all of it.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct PortfolioDto {
    /// Sums over every position, not only this page.
    pub totals: Totals,
    /// One position per loan, most recently funded first.
    pub items: Vec<Position>,
    pub page: i64,
    pub limit: i64,
    /// Positions in all.
    pub total: i64,
}

#[derive(Multipart)]
pub struct DocumentUpload {
    /// PDF, PNG or JPEG, at most 10 MiB.
    pub file: Upload,
}

#[derive(ApiResponse)]
pub enum LoanCreated {
    /// Submitted; it will be scored.
    #[oai(status = 201)]
    Created(Json<LoanDetailDto>),
}

#[derive(ApiResponse)]
pub enum DocumentCreated {
    /// Stored.
    #[oai(status = 201)]
    Created(Json<DocumentDto>),
}

pub struct LoansApi;

#[OpenApi(prefix_path = "/api", tag = "ApiTags::Loans")]
impl LoansApi {
    /// Apply for a loan. The application waits in `scoring` until it has been scored, then in
    /// `pending_review` for an admin. One open application per borrower (409).
    #[oai(path = "/loans", method = "post", operation_id = "applyForLoan")]
    async fn apply(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<CreateLoanRequest>,
    ) -> ApiResult<LoanCreated, { API | AUTH | BODY | CONFLICT }> {
        let b = body.0;
        let detail = app
            .loans()
            .apply(
                auth.principal(),
                Apply {
                    amount: b.amount,
                    term_months: b.term_months,
                    purpose: b.purpose,
                    description: b.description,
                },
            )
            .await?;
        Ok(LoanCreated::Created(Json(detail.into())))
    }

    /// Add a supporting document (multipart field `file`) while the application is under
    /// review. Borrower only.
    #[oai(
        path = "/loans/:id/documents",
        method = "post",
        operation_id = "addLoanDocument"
    )]
    async fn add_document(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        upload: DocumentUpload,
    ) -> ApiResult<DocumentCreated, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        let bytes = super::upload::read(upload.file, domain::loans::MAX_DOCUMENT_BYTES).await?;
        let (doc, url) = app
            .loans()
            .add_document(auth.principal(), id.0, bytes)
            .await?;
        Ok(DocumentCreated::Created(Json(DocumentDto::new(doc, url))))
    }

    /// Approved loans, newest first: `status` defaults to `fundraising` (the loans lenders can
    /// fund); any status after approval may be asked for.
    #[oai(path = "/loans", method = "get", operation_id = "listLoans")]
    async fn list(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        status: Query<Option<OneOf<LoanStatus>>>,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<LoanDto>>, { API | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (loans, total) = app
            .loans()
            .list(status.0.as_ref().map(OneOf::as_str), p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(
            loans.into_iter().map(Into::into).collect(),
            p,
            total,
        )))
    }

    /// The caller's own loans (as borrower), newest first.
    #[oai(path = "/loans/me", method = "get", operation_id = "listMyLoans")]
    async fn mine(
        &self,
        app: Data<&App>,
        auth: Auth,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<LoanDto>>, { API | AUTH | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (loans, total) = app
            .loans()
            .mine(auth.principal(), p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(
            loans.into_iter().map(Into::into).collect(),
            p,
            total,
        )))
    }

    /// The caller's lending portfolio: one position per loan they funded (however many shares
    /// they took in it), most recently funded first, with what they lent, what repayments have
    /// passed on to them, what is still owed to them and the next repayment they can expect,
    /// plus totals over every position.
    ///
    /// `status` is the lender's view of the loan: `fundraising` (the share waits in escrow),
    /// `repaying`, `late`, `defaulted`, `written_off`, `repaid`, or `refunded` (the loan did not
    /// raise its amount in time and the share went back to the wallet). `outstanding` is the
    /// lender's part of what the loan still owes (principal and interest), split exactly as
    /// repayments are: pro rata to the standing shares, largest remainder first, so the
    /// lenders' parts sum to the loan's balance to the minor unit. It is the share itself while
    /// fundraising and zero once repaid, written off or refunded. `nextAmount` is the lender's
    /// part of the oldest unpaid installment, due at `nextDueAt`, while the loan is repaying or
    /// late.
    #[oai(
        path = "/lending/portfolio",
        method = "get",
        operation_id = "getLendingPortfolio"
    )]
    async fn portfolio(
        &self,
        app: Data<&App>,
        auth: Auth,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<PortfolioDto>, { API | AUTH | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let portfolio = app
            .loans()
            .portfolio(auth.principal(), p.limit, p.offset())
            .await?;
        Ok(Json(PortfolioDto {
            totals: portfolio.totals,
            items: portfolio.positions,
            page: p.page,
            limit: p.limit,
            total: portfolio.count,
        }))
    }

    /// One loan. Its borrower and admins see everything (score, status history, documents,
    /// lenders); others see approved loans' public part.
    #[oai(path = "/loans/:id", method = "get", operation_id = "getLoan")]
    async fn get(
        &self,
        _auth: MaybeAuth,
        app: Data<&App>,
        req: &Request,
        id: Path<Uuid>,
    ) -> ApiResult<Json<LoanDetailDto>, { API | BY_ID }> {
        Ok(Json(app.loans().get(viewer(req), id.0).await?.into()))
    }

    /// Fund a share of a fundraising loan from the wallet. At least the minimum share (unless
    /// it is exactly what remains), never more than what remains (409). The share that
    /// completes the funding disburses the loan. Requires `Idempotency-Key`. 403
    /// `email_not_verified` until the lender's email is verified.
    #[oai(path = "/loans/:id/lend", method = "post", operation_id = "lendToLoan")]
    async fn lend(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        #[oai(name = "Idempotency-Key")] key: Header<IdempotencyKey>,
        body: JsonBody<AmountRequest>,
    ) -> ApiResult<Created<LoanShare>, { API | AUTH | BY_ID | BODY | CONFLICT | FORBIDDEN }> {
        let key = idempotency_key(key.0.0)?;
        let result = app
            .loans()
            .lend(auth.principal(), id.0, body.0.amount, &key)
            .await?;
        Ok(created(result, std::convert::identity))
    }

    /// The repayment schedule (empty until disbursement), for whoever may see the loan.
    #[oai(
        path = "/loans/:id/schedule",
        method = "get",
        operation_id = "getLoanSchedule"
    )]
    async fn schedule(
        &self,
        _auth: MaybeAuth,
        app: Data<&App>,
        req: &Request,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ScheduleDto>, { API | BY_ID }> {
        let (loan, installments) = app.loans().schedule(viewer(req), id.0).await?;
        let now = Utc::now();
        Ok(Json(ScheduleDto {
            loan_id: loan.id,
            status: loan.status,
            total_due: loan.total_due,
            repaid_amount: loan.repaid_amount,
            outstanding: loan.outstanding(),
            installments: installments
                .into_iter()
                .map(|i| InstallmentDto::new(i, now))
                .collect(),
        }))
    }

    /// Repay from the wallet (borrower only): pays the oldest installments first and passes the
    /// money on to the lenders pro rata at once. Requires `Idempotency-Key`.
    #[oai(
        path = "/loans/:id/repayments",
        method = "post",
        operation_id = "repayLoan"
    )]
    async fn repay(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        #[oai(name = "Idempotency-Key")] key: Header<IdempotencyKey>,
        body: JsonBody<AmountRequest>,
    ) -> ApiResult<Created<Repayment>, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        let key = idempotency_key(key.0.0)?;
        let result = app
            .loans()
            .repay(auth.principal(), id.0, body.0.amount, &key)
            .await?;
        Ok(created(result, std::convert::identity))
    }

    /// Admin: loans in `status` (default `pending_review`) with their scores; `recommended`
    /// marks scores at or above the threshold.
    #[oai(
        path = "/admin/loans",
        method = "get",
        operation_id = "listLoansForReview"
    )]
    async fn admin_list(
        &self,
        app: Data<&App>,
        auth: Auth,
        status: Query<Option<OneOf<LoanStatus>>>,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<AdminLoanDto>>, { API | ADMIN | PARAMS }> {
        let principal = auth.admin()?;
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (items, total) = app
            .loans()
            .admin_list(
                principal,
                status.0.as_ref().map(OneOf::as_str),
                p.limit,
                p.offset(),
            )
            .await?;
        let items = items
            .into_iter()
            .map(|(loan, score)| AdminLoanDto {
                loan: loan.into(),
                recommended: score.as_ref().is_some_and(|s| s.recommended),
                score: Nullable(score),
            })
            .collect();
        Ok(Json(Paged::new(items, p, total)))
    }

    /// Admin: approve an application pending review; it starts raising money.
    #[oai(
        path = "/admin/loans/:id/approve",
        method = "post",
        operation_id = "approveLoan"
    )]
    async fn approve(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<LoanDetailDto>, { API | ADMIN | BY_ID | CONFLICT }> {
        let principal = auth.admin()?;
        Ok(Json(app.loans().approve(principal, id.0).await?.into()))
    }

    /// Admin: reject an application under review, with a reason.
    #[oai(
        path = "/admin/loans/:id/reject",
        method = "post",
        operation_id = "rejectLoan"
    )]
    async fn reject(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<RejectRequest>,
    ) -> ApiResult<Json<LoanDetailDto>, { API | ADMIN | BY_ID | BODY | CONFLICT }> {
        let principal = auth.admin()?;
        Ok(Json(
            app.loans()
                .reject(principal, id.0, body.0.reason.as_deref())
                .await?
                .into(),
        ))
    }

    /// Admin: write off a defaulted loan, with a reason for the audit log. No money moves;
    /// what is still owed is lost.
    #[oai(
        path = "/admin/loans/:id/write-off",
        method = "post",
        operation_id = "writeOffLoan"
    )]
    async fn write_off(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        body: JsonBody<ReasonRequest>,
    ) -> ApiResult<Json<LoanDetailDto>, { API | ADMIN | BY_ID | BODY | CONFLICT }> {
        let principal = auth.admin()?;
        Ok(Json(
            app.loans()
                .write_off(principal, id.0, body.0.reason.as_deref())
                .await?
                .into(),
        ))
    }
}
