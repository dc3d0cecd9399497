//! Loan rules: applying, scoring, the admin decision, lending, disbursement, repayment and the
//! scheduler's duties. Every status change locks the loan row and records who, when and why;
//! every money movement is double-entry and commits together with its idempotency key.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{
    self, LenderTotal, Loan, LoanDetail, LoanDocument, LoanScore, LoanShare, LoanStatus, Repayment,
    ScheduledInstallment, Sweep,
};
use super::repo::{self, NewLoan, NewRepayment};
use super::{schedule, scoring};
use accounts::{AccountService, Principal};
use audit_log::{Action, Change};
use ledger::{Account, Idempotent, Posting, Started, wallets};
use outbox::Event;
use platform::Handles;
use platform::config::LoanPolicy;
use platform::error::{Error, ErrorCode, Result};
use platform::infra::metrics::{LOAN_DECISIONS, LOAN_REPAYMENTS};

/// Documents up to 10 MiB: PDF, PNG or JPEG, recognised by their content.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;
const DOCUMENT_URL_TTL: StdDuration = StdDuration::from_secs(3600);
/// How long a loan may wait in `scoring` before its scoring is queued again.
pub const STALE_SCORING: chrono::Duration = chrono::Duration::minutes(10);

pub struct Apply {
    pub amount: i64,
    pub term_months: i32,
    pub purpose: String,
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct LoanService {
    pub(crate) infra: Handles,
    accounts: AccountService,
}

impl LoanService {
    pub fn new(infra: Handles) -> Self {
        Self {
            accounts: AccountService::new(infra.clone()),
            infra,
        }
    }
}

/// Records an admin's decision on a loan in the audit log, on the decision's transaction.
async fn record_decision(
    conn: &mut PgConnection,
    principal: &Principal,
    action: Action,
    loan_id: Uuid,
    before: serde_json::Value,
    after: serde_json::Value,
    reason: Option<&str>,
) -> Result<()> {
    let change = Change {
        action,
        target_type: "loan",
        target_id: loan_id.to_string(),
        before,
        after,
        reason,
    };
    audit_log::record(conn, principal.actor(), &change).await
}

fn invalid_transition(message: &'static str) -> Error {
    Error::conflict(ErrorCode::InvalidTransition, message)
}

/// Recognises PDF, PNG and JPEG by their magic bytes.
fn sniff_document(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else {
        None
    }
}

impl LoanService {
    /// Scores a loan waiting in `scoring` and moves it to `pending_review`. Idempotent: a loan
    /// that was already scored keeps its score, which is returned unchanged (the worker's
    /// `score_loan` job may run more than once); `None` when the loan left `scoring` unscored (an
    /// admin rejected it first), so the job has nothing left to do.
    #[tracing::instrument(skip_all, fields(loan_id = %loan_id))]
    pub async fn score(&self, loan_id: Uuid) -> Result<Option<LoanScore>> {
        let threshold = self.infra.config.loans.score_threshold;
        let mut tx = self.infra.db.write.begin().await?;
        let loan = repo::lock(&mut tx, loan_id)
            .await?
            .ok_or(Error::NotFound("loan"))?;
        if loan.status != LoanStatus::Scoring {
            drop(tx);
            return self.score_of(loan_id).await;
        }
        let now = Utc::now();
        let history = repo::history(&mut *tx, loan.id, loan.borrower_id, loan.amount, now).await?;
        let scored = scoring::score(&history);
        repo::insert_score(&mut tx, loan.id, scored.score, &scored.factors).await?;
        let recommended = scored.score >= threshold;
        let reason = format!(
            "scored {}/1000{}",
            scored.score,
            if recommended { ", recommended" } else { "" }
        );
        repo::transition(
            &mut tx,
            loan.id,
            Some(LoanStatus::Scoring),
            LoanStatus::PendingReview,
            None,
            &reason,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(score = scored.score, recommended, "loan_scored");
        Ok(Some(LoanScore {
            score: scored.score,
            factors: scored.factors,
            recommended,
            created_at: now,
        }))
    }

    fn policy(&self) -> &LoanPolicy {
        &self.infra.config.loans
    }

    /// Submits an application. It waits in `scoring` until the `score_loan` job has run (the
    /// outbox event is written in the same transaction).
    #[tracing::instrument(skip_all, fields(borrower_id = %principal.user_id))]
    pub async fn apply(&self, principal: &Principal, input: Apply) -> Result<LoanDetail> {
        let policy = self.policy();
        let amount = model::parse_amount(policy, input.amount)?;
        let term_months = model::parse_term(policy, input.term_months)?;
        let purpose = model::parse_purpose(&input.purpose)?;
        let description = model::parse_description(&input.description)?;
        let id = Uuid::now_v7();
        let mut tx = self.infra.db.write.begin().await?;
        repo::insert(
            &mut tx,
            NewLoan {
                id,
                borrower_id: principal.user_id,
                amount,
                term_months,
                annual_rate_bp: policy.annual_rate_bp,
                purpose: &purpose,
                description: &description,
            },
        )
        .await
        .map_err(|e| {
            e.on_constraint("loans_one_open_application", || {
                Error::conflict(
                    ErrorCode::OpenApplicationExists,
                    "you already have an open loan application",
                )
            })
        })?;
        let borrower = Some(principal.user_id);
        repo::transition(
            &mut tx,
            id,
            None,
            LoanStatus::Submitted,
            borrower,
            "submitted by the borrower",
        )
        .await?;
        repo::transition(
            &mut tx,
            id,
            Some(LoanStatus::Submitted),
            LoanStatus::Scoring,
            None,
            "queued for scoring",
        )
        .await?;
        outbox::record(&mut tx, &Event::LoanSubmitted { loan_id: id }).await?;
        tx.commit().await?;
        tracing::info!(loan_id = %id, amount, term_months, "loan_submitted");
        self.detail(Some(principal), id, true).await
    }

    /// The loan as `viewer` may see it: everything for its borrower and admins, the public
    /// part of approved loans for everyone else.
    pub async fn get(&self, viewer: Option<&Principal>, id: Uuid) -> Result<LoanDetail> {
        self.detail(viewer, id, false).await
    }

    async fn detail(
        &self,
        viewer: Option<&Principal>,
        id: Uuid,
        primary: bool,
    ) -> Result<LoanDetail> {
        // Right after a write, read the primary: a replica may not have the loan yet.
        let db = if primary {
            &self.infra.db.write
        } else {
            &self.infra.db.read
        };
        let loan = repo::find(db, id).await?.ok_or(Error::NotFound("loan"))?;
        let full = viewer.is_some_and(|p| p.user_id == loan.borrower_id || p.is_admin());
        if !full && !loan.status.is_public() {
            return Err(Error::NotFound("loan"));
        }
        let lenders = repo::lender_totals(db, id).await?;
        if !full {
            return Ok(LoanDetail {
                loan,
                score: None,
                transitions: Vec::new(),
                documents: Vec::new(),
                lenders,
                full,
            });
        }
        let (transitions, documents) =
            tokio::try_join!(repo::transitions(db, id), repo::documents(db, id))?;
        let mut signed = Vec::with_capacity(documents.len());
        for doc in documents {
            let url = self
                .infra
                .storage
                .presigned_get(&doc.object_key, DOCUMENT_URL_TTL)
                .await?;
            signed.push((doc, url));
        }
        Ok(LoanDetail {
            score: self.score_of(id).await?,
            loan,
            transitions,
            documents: signed,
            lenders,
            full,
        })
    }

    async fn score_of(&self, id: Uuid) -> Result<Option<LoanScore>> {
        let threshold = self.policy().score_threshold;
        Ok(repo::scores_for(&self.infra.db.write, &[id])
            .await?
            .pop()
            .map(|(_, score, factors, created_at)| LoanScore {
                score,
                factors,
                recommended: score >= threshold,
                created_at,
            }))
    }

    /// Public listing: approved loans in `status` (default `fundraising`), newest first.
    pub async fn list(
        &self,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Loan>, i64)> {
        let status = status
            .map(LoanStatus::parse)
            .transpose()?
            .unwrap_or(LoanStatus::Fundraising);
        if !status.is_public() {
            return Err(Error::validation(
                "status",
                "only approved loans are listed publicly",
            ));
        }
        repo::list_by_status(&self.infra.db.read, status, limit, offset).await
    }

    /// The caller's own loans (as borrower), newest first.
    pub async fn mine(
        &self,
        principal: &Principal,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Loan>, i64)> {
        // The primary: borrowers look for the loan they just applied for.
        repo::list_by_borrower(&self.infra.db.write, principal.user_id, limit, offset).await
    }

    /// Admin queue: loans in `status` (default `pending_review`) with their scores.
    pub async fn admin_list(
        &self,
        principal: &Principal,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<(Loan, Option<LoanScore>)>, i64)> {
        principal.require_admin()?;
        let status = status
            .map(LoanStatus::parse)
            .transpose()?
            .unwrap_or(LoanStatus::PendingReview);
        let db = &self.infra.db.read;
        let (loans, total) = repo::list_by_status(db, status, limit, offset).await?;
        let ids: Vec<Uuid> = loans.iter().map(|l| l.id).collect();
        let mut scores = repo::scores_for(db, &ids).await?;
        let threshold = self.policy().score_threshold;
        let items = loans
            .into_iter()
            .map(|loan| {
                let score = scores
                    .iter()
                    .position(|s| s.0 == loan.id)
                    .map(|i| scores.swap_remove(i))
                    .map(|(_, score, factors, created_at)| LoanScore {
                        score,
                        factors,
                        recommended: score >= threshold,
                        created_at,
                    });
                (loan, score)
            })
            .collect();
        Ok((items, total))
    }

    /// Loads and locks a loan for an admin decision. Admins do not decide on their own
    /// applications.
    async fn lock_for_admin(
        conn: &mut PgConnection,
        principal: &Principal,
        id: Uuid,
    ) -> Result<Loan> {
        principal.require_admin()?;
        let loan = repo::lock(conn, id).await?.ok_or(Error::NotFound("loan"))?;
        if loan.borrower_id == principal.user_id {
            return Err(Error::Forbidden("admins cannot decide on their own loan"));
        }
        Ok(loan)
    }

    /// pending_review → fundraising, admins only. The fundraising deadline starts now.
    #[tracing::instrument(skip_all, fields(admin = %principal.user_id, loan_id = %id))]
    pub async fn approve(&self, principal: &Principal, id: Uuid) -> Result<LoanDetail> {
        principal.require_admin()?;
        let mut tx = self.infra.db.write.begin().await?;
        let loan = Self::lock_for_admin(&mut tx, principal, id).await?;
        if loan.status != LoanStatus::PendingReview {
            return Err(invalid_transition(
                "only a loan pending review can be approved",
            ));
        }
        let now = Utc::now();
        let deadline = now + Duration::days(self.policy().fundraising_days);
        repo::set_approved(&mut tx, id, now, deadline).await?;
        repo::transition(
            &mut tx,
            id,
            Some(loan.status),
            LoanStatus::Fundraising,
            Some(principal.user_id),
            "approved",
        )
        .await?;
        outbox::record(&mut tx, &Event::LoanApproved { loan_id: id }).await?;
        record_decision(
            &mut tx,
            principal,
            Action::LoanApproved,
            id,
            json!({"status": loan.status}),
            json!({"status": LoanStatus::Fundraising}),
            None,
        )
        .await?;
        tx.commit().await?;
        metrics::counter!(LOAN_DECISIONS, "decision" => "approved").increment(1);
        tracing::info!(event = "loan_approved", loan_id = %id, amount = loan.amount, "loan approved");
        self.detail(Some(principal), id, true).await
    }

    /// scoring | pending_review → rejected, admins only, with a reason.
    #[tracing::instrument(skip_all, fields(admin = %principal.user_id, loan_id = %id))]
    pub async fn reject(
        &self,
        principal: &Principal,
        id: Uuid,
        reason: Option<&str>,
    ) -> Result<LoanDetail> {
        principal.require_admin()?;
        let reason = model::parse_reason(reason)?;
        let mut tx = self.infra.db.write.begin().await?;
        let loan = Self::lock_for_admin(&mut tx, principal, id).await?;
        if !matches!(loan.status, LoanStatus::Scoring | LoanStatus::PendingReview) {
            return Err(invalid_transition(
                "only an application under review can be rejected",
            ));
        }
        repo::transition(
            &mut tx,
            id,
            Some(loan.status),
            LoanStatus::Rejected,
            Some(principal.user_id),
            &reason,
        )
        .await?;
        repo::set_closed(&mut tx, id, Utc::now()).await?;
        outbox::record(&mut tx, &Event::LoanRejected { loan_id: id }).await?;
        record_decision(
            &mut tx,
            principal,
            Action::LoanRejected,
            id,
            json!({"status": loan.status}),
            json!({"status": LoanStatus::Rejected}),
            Some(reason.as_str()),
        )
        .await?;
        tx.commit().await?;
        metrics::counter!(LOAN_DECISIONS, "decision" => "rejected").increment(1);
        tracing::info!(event = "loan_rejected", loan_id = %id, amount = loan.amount, "loan rejected");
        self.detail(Some(principal), id, true).await
    }

    /// defaulted → written_off, admins only, with a reason for the audit log. No money moves:
    /// every repayment was already passed on to the lenders, and what the borrower still owes
    /// is what the lenders lose.
    #[tracing::instrument(skip_all, fields(admin = %principal.user_id, loan_id = %id))]
    pub async fn write_off(
        &self,
        principal: &Principal,
        id: Uuid,
        reason: Option<&str>,
    ) -> Result<LoanDetail> {
        principal.require_admin()?;
        let audit_reason = Action::LoanWrittenOff.reason(reason)?;
        let mut tx = self.infra.db.write.begin().await?;
        let loan = Self::lock_for_admin(&mut tx, principal, id).await?;
        if loan.status != LoanStatus::Defaulted {
            return Err(invalid_transition(
                "only a defaulted loan can be written off",
            ));
        }
        let reason = format!("written off with {} outstanding", loan.outstanding());
        repo::transition(
            &mut tx,
            id,
            Some(loan.status),
            LoanStatus::WrittenOff,
            Some(principal.user_id),
            &reason,
        )
        .await?;
        repo::set_closed(&mut tx, id, Utc::now()).await?;
        outbox::record(&mut tx, &Event::LoanWrittenOff { loan_id: id }).await?;
        record_decision(
            &mut tx,
            principal,
            Action::LoanWrittenOff,
            id,
            json!({"status": loan.status, "outstanding": loan.outstanding()}),
            json!({"status": LoanStatus::WrittenOff}),
            audit_reason,
        )
        .await?;
        tx.commit().await?;
        tracing::info!("loan_written_off");
        self.detail(Some(principal), id, true).await
    }

    /// Stores a supporting document for an application under review (borrower only).
    #[tracing::instrument(skip_all, fields(loan_id = %id, bytes = bytes.len()))]
    pub async fn add_document(
        &self,
        principal: &Principal,
        id: Uuid,
        bytes: Vec<u8>,
    ) -> Result<(LoanDocument, String)> {
        let loan = repo::find(&self.infra.db.write, id)
            .await?
            .ok_or(Error::NotFound("loan"))?;
        if loan.borrower_id != principal.user_id {
            return Err(Error::Forbidden(
                "only the borrower may add documents to their application",
            ));
        }
        if !matches!(
            loan.status,
            LoanStatus::Submitted | LoanStatus::Scoring | LoanStatus::PendingReview
        ) {
            return Err(Error::conflict(
                ErrorCode::ApplicationDecided,
                "documents can only be added while the application is under review",
            ));
        }
        if bytes.is_empty() {
            return Err(Error::validation("file", "the file is empty"));
        }
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(Error::validation(
                "file",
                "documents must be at most 10 MiB",
            ));
        }
        let (content_type, ext) = sniff_document(&bytes)
            .ok_or_else(|| Error::validation("file", "documents must be PDF, PNG or JPEG"))?;
        let doc_id = Uuid::now_v7();
        let doc = LoanDocument {
            id: doc_id,
            object_key: format!("loans/{id}/documents/{doc_id}.{ext}"),
            content_type: content_type.to_string(),
            // At most MAX_DOCUMENT_BYTES, far below i32::MAX.
            size_bytes: bytes.len() as i32,
            created_at: Utc::now(),
        };
        self.infra
            .storage
            .put(&doc.object_key, content_type, bytes)
            .await?;
        repo::insert_document(&self.infra.db.write, id, &doc).await?;
        let url = self
            .infra
            .storage
            .presigned_get(&doc.object_key, DOCUMENT_URL_TTL)
            .await?;
        Ok((doc, url))
    }

    /// The repayment schedule (empty until disbursement), visible to whoever may see the loan.
    pub async fn schedule(
        &self,
        viewer: Option<&Principal>,
        id: Uuid,
    ) -> Result<(Loan, Vec<ScheduledInstallment>)> {
        let detail = self.get(viewer, id).await?;
        let installments = repo::installments(&self.infra.db.read, id).await?;
        Ok((detail.loan, installments))
    }

    /// Validates a payment's amount and claims its idempotency key (lending and repaying share
    /// the request shape, each under its own scope).
    async fn start_payment<T: serde::de::DeserializeOwned>(
        &self,
        principal: &Principal,
        id: Uuid,
        amount: i64,
        key: &str,
        scope: &str,
    ) -> Result<Started<T>> {
        if amount <= 0 {
            return Err(Error::validation("amount", "amount must be positive"));
        }
        #[derive(Serialize)]
        struct Request {
            loan_id: Uuid,
            amount: i64,
        }
        let request = Request {
            loan_id: id,
            amount,
        };
        ledger::begin(
            &self.infra.db.write,
            principal.user_id,
            key,
            scope,
            &request,
        )
        .await
    }

    /// A lender funds a share of a fundraising loan from their wallet into the loan's escrow.
    /// The loan row is locked first, so concurrent lenders apply one at a time and can never
    /// fund more than the amount: a share larger than what remains is refused (409). The
    /// share that completes the funding also disburses the loan and fixes its schedule, in the
    /// same transaction. Lenders need a verified email (403 `email_not_verified`).
    #[tracing::instrument(skip_all, fields(lender_id = %principal.user_id, loan_id = %id, amount))]
    pub async fn lend(
        &self,
        principal: &Principal,
        id: Uuid,
        amount: i64,
        key: &str,
    ) -> Result<Idempotent<LoanShare>> {
        self.accounts
            .require_verified_email(principal.user_id)
            .await?;
        let mut work = match self
            .start_payment(principal, id, amount, key, "loan_share")
            .await?
        {
            Started::Replayed(r) => return Ok(r),
            Started::Fresh(w) => w,
        };
        let tx = &mut work.tx;
        let now = Utc::now();
        let loan = lock_fundable(tx, principal, id, amount, self.policy().min_share, now).await?;
        let completes = amount == loan.remaining();
        if completes {
            wallets::lock(tx, vec![principal.user_id, loan.borrower_id]).await?;
        }
        if !wallets::debit(tx, principal.user_id, amount).await? {
            return Err(Error::rule(
                ErrorCode::InsufficientFunds,
                "your wallet balance is too low for this share",
            ));
        }
        let txn = Posting::transfer(
            "loan_share",
            Account::Wallet(principal.user_id),
            Account::Loan(id),
            amount,
        )?
        .write(tx)
        .await?;
        let share_id = Uuid::now_v7();
        let created_at =
            repo::insert_share(tx, share_id, id, principal.user_id, amount, txn).await?;
        repo::add_funded(tx, id, amount).await?;
        let status = if completes {
            disburse(tx, &loan, now).await?;
            LoanStatus::Active
        } else {
            LoanStatus::Fundraising
        };
        let share = LoanShare {
            id: share_id,
            loan_id: id,
            lender_id: principal.user_id,
            amount,
            created_at,
            loan_status: status,
            loan_funded_amount: loan.funded_amount + amount,
        };
        let done = work.finish(share).await?;
        tracing::info!(share_id = %share_id, funded = completes, "loan_share_taken");
        Ok(done)
    }

    /// The borrower repays from their wallet. The money pays the oldest installments first and
    /// is passed on at once to the lenders, pro rata to their shares (largest remainder, so the
    /// parts sum exactly), all in one transaction.
    #[tracing::instrument(skip_all, fields(borrower_id = %principal.user_id, loan_id = %id, amount))]
    pub async fn repay(
        &self,
        principal: &Principal,
        id: Uuid,
        amount: i64,
        key: &str,
    ) -> Result<Idempotent<Repayment>> {
        let mut work = match self
            .start_payment(principal, id, amount, key, "loan_repayment")
            .await?
        {
            Started::Replayed(r) => return Ok(r),
            Started::Fresh(w) => w,
        };
        let tx = &mut work.tx;
        let loan = lock_repayable(tx, principal, id, amount).await?;
        let lenders = repo::lender_totals(&mut **tx, id).await?;
        let weights: Vec<(Uuid, i64)> = lenders.iter().map(|l| (l.lender_id, l.amount)).collect();
        let parts = schedule::pro_rata(amount, &weights)?;
        let txns = pass_on_repayment(tx, principal.user_id, id, amount, &parts).await?;
        let repayment = record_repayment(tx, &loan, principal.user_id, amount, parts, txns).await?;
        let (repayment_id, status) = (repayment.id, repayment.loan_status);
        let done = work.finish(repayment).await?;
        metrics::counter!(LOAN_REPAYMENTS).increment(1);
        tracing::info!(
            event = "loan_repaid",
            loan_id = %id,
            repayment_id = %repayment_id,
            amount,
            status = status.as_str(),
            "loan repayment"
        );
        Ok(done)
    }

    /// Daily: moves loans with an installment past due at `now` to `late` (with a `loan.late`
    /// event for the reminder), loans with one unpaid more than `LOAN_DEFAULT_DAYS` past due to
    /// `defaulted`, and late loans that have caught up back to `active`. Safe to run repeatedly
    /// and concurrently: each loan is re-checked under its lock.
    #[tracing::instrument(skip_all, fields(%now))]
    pub async fn review_arrears(&self, now: DateTime<Utc>) -> Result<Sweep> {
        let default_after = Duration::days(self.policy().default_days);
        let mut sweep = Sweep::default();
        for id in repo::due_for_review(&self.infra.db.write, now).await? {
            let mut tx = self.infra.db.write.begin().await?;
            let Some(loan) = repo::lock(&mut tx, id).await? else {
                continue;
            };
            if !loan.status.is_repaying() {
                continue;
            }
            review(&mut tx, &loan, now, default_after, &mut sweep).await?;
            tx.commit().await?;
        }
        Ok(sweep)
    }

    /// Daily: fundraising loans past their deadline at `now` expire and every lender gets
    /// their shares back. Safe to run repeatedly and concurrently.
    #[tracing::instrument(skip_all, fields(%now))]
    pub async fn expire_fundraising(&self, now: DateTime<Utc>) -> Result<Sweep> {
        let mut sweep = Sweep::default();
        for id in repo::due_for_expiry(&self.infra.db.write, now).await? {
            let mut tx = self.infra.db.write.begin().await?;
            let Some(loan) = repo::lock(&mut tx, id).await? else {
                continue;
            };
            if loan.status != LoanStatus::Fundraising
                || loan.fundraising_deadline.is_none_or(|d| d > now)
            {
                continue;
            }
            let lenders = repo::lender_totals(&mut *tx, id).await?;
            let refunded: i64 = lenders.iter().map(|l| l.amount).sum();
            if refunded > 0 {
                wallets::lock(&mut tx, lenders.iter().map(|l| l.lender_id).collect()).await?;
                let mut lines = vec![(Account::Loan(id), -refunded)];
                lines.extend(
                    lenders
                        .iter()
                        .map(|l| (Account::Wallet(l.lender_id), l.amount)),
                );
                Posting::new("loan_refund", lines)?.write(&mut tx).await?;
                for l in &lenders {
                    wallets::credit(&mut tx, l.lender_id, l.amount).await?;
                }
                sweep.refunded_shares += repo::mark_shares_refunded(&mut tx, id).await? as u32;
            }
            let reason = format!(
                "fundraising deadline passed with {} of {} raised; lenders refunded",
                loan.funded_amount, loan.amount
            );
            repo::transition(
                &mut tx,
                id,
                Some(LoanStatus::Fundraising),
                LoanStatus::Expired,
                None,
                &reason,
            )
            .await?;
            repo::set_closed(&mut tx, id, now).await?;
            tx.commit().await?;
            sweep.expired += 1;
            tracing::info!(loan_id = %id, refunded, "loan_expired");
        }
        Ok(sweep)
    }

    /// Queues scoring again for loans that have waited in `scoring` longer than
    /// [`STALE_SCORING`] as of `now` (their `score_loan` job was lost: a flushed queue, a
    /// dead-lettered job). Scoring is idempotent, so a job that was merely slow does no harm.
    /// Returns the loans queued again.
    #[tracing::instrument(skip_all)]
    pub async fn requeue_stale_scoring(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>> {
        let mut tx = self.infra.db.write.begin().await?;
        let stale = repo::touch_stale_scoring(&mut tx, now - STALE_SCORING, now).await?;
        let events: Vec<Event> = stale
            .iter()
            .map(|&loan_id| Event::LoanSubmitted { loan_id })
            .collect();
        outbox::record_many(&mut tx, &events).await?;
        tx.commit().await?;
        if !stale.is_empty() {
            tracing::warn!(loans = stale.len(), "stale loan scoring queued again");
        }
        Ok(stale)
    }

    /// Both daily duties, for the scheduler's one loan task.
    pub async fn daily(&self, now: DateTime<Utc>) -> Result<Sweep> {
        let arrears = self.review_arrears(now).await?;
        let expiry = self.expire_fundraising(now).await?;
        Ok(Sweep {
            expired: expiry.expired,
            refunded_shares: expiry.refunded_shares,
            ..arrears
        })
    }
}

/// Fully funded: records `funded`, pays the escrow out to the borrower, fixes the schedule and
/// makes the loan `active`, in the caller's transaction.
async fn disburse(conn: &mut PgConnection, loan: &Loan, now: DateTime<Utc>) -> Result<()> {
    repo::transition(
        conn,
        loan.id,
        Some(LoanStatus::Fundraising),
        LoanStatus::Funded,
        None,
        "fully funded",
    )
    .await?;
    Posting::transfer(
        "loan_disbursement",
        Account::Loan(loan.id),
        Account::Wallet(loan.borrower_id),
        loan.amount,
    )?
    .write(conn)
    .await?;
    wallets::credit(conn, loan.borrower_id, loan.amount).await?;
    let installments = schedule::build(loan.amount, loan.annual_rate_bp, loan.term_months)?;
    let total_due: i64 = installments.iter().map(schedule::Installment::amount).sum();
    let rows = installments
        .into_iter()
        .map(|i| Ok((i, schedule::due_at(now, i.seq)?)))
        .collect::<Result<Vec<_>>>()?;
    repo::insert_installments(conn, loan.id, &rows).await?;
    repo::set_disbursed(conn, loan.id, now, total_due).await?;
    repo::transition(
        conn,
        loan.id,
        Some(LoanStatus::Funded),
        LoanStatus::Active,
        None,
        "disbursed to the borrower's wallet",
    )
    .await?;
    outbox::record(conn, &Event::LoanFunded { loan_id: loan.id }).await?;
    tracing::info!(loan_id = %loan.id, total_due, "loan_disbursed");
    Ok(())
}

/// One repaying loan's arrears at `now`: late when an installment is past due (with the
/// `loan.late` event), defaulted when one is unpaid more than `default_after`, back to active
/// once nothing is overdue.
async fn review(
    tx: &mut PgConnection,
    loan: &Loan,
    now: DateTime<Utc>,
    default_after: Duration,
    sweep: &mut Sweep,
) -> Result<()> {
    let id = loan.id;
    let overdue = repo::oldest_overdue(&mut *tx, id, now).await?;
    match (loan.status, overdue) {
        (LoanStatus::Late, None) => {
            repo::transition(
                tx,
                id,
                Some(LoanStatus::Late),
                LoanStatus::Active,
                None,
                "arrears cleared",
            )
            .await?;
            sweep.cured += 1;
        }
        (status, Some(due)) => {
            if status == LoanStatus::Active {
                let reason = format!("installment due {} unpaid", due.date_naive());
                repo::transition(tx, id, Some(status), LoanStatus::Late, None, &reason).await?;
                outbox::record(
                    tx,
                    &Event::LoanLate {
                        loan_id: id,
                        due_at: due,
                    },
                )
                .await?;
                sweep.late += 1;
            }
            if now - due > default_after {
                let reason = format!(
                    "installment due {} unpaid for more than {} days",
                    due.date_naive(),
                    default_after.num_days()
                );
                repo::transition(
                    tx,
                    id,
                    Some(LoanStatus::Late),
                    LoanStatus::Defaulted,
                    None,
                    &reason,
                )
                .await?;
                outbox::record(tx, &Event::LoanDefaulted { loan_id: id }).await?;
                sweep.defaulted += 1;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Locks the loan for a share of `amount` by `principal` and checks it may be taken: not the
/// borrower's own, still raising money, no more than remains and at least the minimum share
/// (unless it is exactly what remains).
async fn lock_fundable(
    tx: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    amount: i64,
    min_share: i64,
    now: DateTime<Utc>,
) -> Result<Loan> {
    let loan = repo::lock(tx, id).await?.ok_or(Error::NotFound("loan"))?;
    if loan.borrower_id == principal.user_id {
        return Err(Error::rule(
            ErrorCode::OwnLoan,
            "borrowers cannot lend to their own loan",
        ));
    }
    if loan.status != LoanStatus::Fundraising || loan.fundraising_deadline.is_some_and(|d| d <= now)
    {
        return Err(Error::conflict(
            ErrorCode::LoanNotFundraising,
            "this loan is not raising money",
        ));
    }
    let remaining = loan.remaining();
    if amount > remaining {
        return Err(Error::conflict(
            ErrorCode::ExceedsRemaining,
            format!("only {remaining} remains to be funded"),
        ));
    }
    if amount < min_share && amount != remaining {
        return Err(Error::validation(
            "amount",
            format!("amount must be at least {min_share}, or exactly the {remaining} that remains"),
        ));
    }
    Ok(loan)
}

/// Locks the loan for a repayment of `amount` by `principal` and checks it may be made.
async fn lock_repayable(
    tx: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    amount: i64,
) -> Result<Loan> {
    let loan = repo::lock(tx, id).await?.ok_or(Error::NotFound("loan"))?;
    if loan.borrower_id != principal.user_id {
        return Err(Error::Forbidden("only the borrower repays their loan"));
    }
    if !loan.status.is_repaying() {
        return Err(Error::conflict(
            ErrorCode::LoanNotRepayable,
            "this loan is not being repaid",
        ));
    }
    let outstanding = loan.outstanding();
    if amount > outstanding {
        return Err(Error::validation(
            "amount",
            format!("amount must not exceed the {outstanding} still owed"),
        ));
    }
    Ok(loan)
}

/// The money of a repayment: the borrower's wallet pays the loan's escrow, which passes it on
/// to the lenders (`parts`) at once. Returns the two ledger transactions (in, out).
async fn pass_on_repayment(
    tx: &mut PgConnection,
    borrower: Uuid,
    loan_id: Uuid,
    amount: i64,
    parts: &[(Uuid, i64)],
) -> Result<(Uuid, Uuid)> {
    let mut involved: Vec<Uuid> = parts.iter().map(|p| p.0).collect();
    involved.push(borrower);
    wallets::lock(tx, involved).await?;
    if !wallets::debit(tx, borrower, amount).await? {
        return Err(Error::rule(
            ErrorCode::InsufficientFunds,
            "your wallet balance is too low for this repayment",
        ));
    }
    let paid_in = Posting::transfer(
        "loan_repayment",
        Account::Wallet(borrower),
        Account::Loan(loan_id),
        amount,
    )?
    .write(tx)
    .await?;
    let mut lines = vec![(Account::Loan(loan_id), -amount)];
    lines.extend(parts.iter().map(|(l, a)| (Account::Wallet(*l), *a)));
    let passed_on = Posting::new("loan_distribution", lines)?.write(tx).await?;
    for (lender, part) in parts {
        wallets::credit(tx, *lender, *part).await?;
    }
    Ok((paid_in, passed_on))
}

/// The loan's side of a repayment: installments paid oldest first, totals, the repayment row,
/// `repaid` when nothing is left, and the event.
async fn record_repayment(
    tx: &mut PgConnection,
    loan: &Loan,
    borrower: Uuid,
    amount: i64,
    parts: Vec<(Uuid, i64)>,
    (ledger_txn, distribution_txn): (Uuid, Uuid),
) -> Result<Repayment> {
    let (id, outstanding, now) = (loan.id, loan.outstanding(), Utc::now());
    repo::pay_installments(tx, id, amount, now).await?;
    repo::add_repaid(tx, id, amount).await?;
    let repayment_id = Uuid::now_v7();
    let new = NewRepayment {
        id: repayment_id,
        loan_id: id,
        borrower_id: borrower,
        amount,
        ledger_txn,
        distribution_txn,
    };
    let created_at = repo::insert_repayment(tx, &new, &parts).await?;
    let mut status = loan.status;
    if amount == outstanding {
        status = LoanStatus::Repaid;
        repo::transition(
            tx,
            id,
            Some(loan.status),
            status,
            Some(borrower),
            "repaid in full",
        )
        .await?;
        repo::set_closed(tx, id, now).await?;
    }
    let event = Event::LoanRepaymentReceived {
        loan_id: id,
        repayment_id,
        amount,
    };
    outbox::record(tx, &event).await?;
    Ok(Repayment {
        id: repayment_id,
        loan_id: id,
        amount,
        distributions: parts
            .into_iter()
            .map(|(lender_id, amount)| LenderTotal { lender_id, amount })
            .collect(),
        created_at,
        loan_status: status,
        outstanding: outstanding - amount,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_recognised_by_content() {
        assert_eq!(
            sniff_document(b"%PDF-1.7\n...").map(|t| t.0),
            Some("application/pdf")
        );
        assert_eq!(
            sniff_document(&[0xFF, 0xD8, 0xFF, 0xE0]).map(|t| t.0),
            Some("image/jpeg")
        );
        assert_eq!(sniff_document(b"MZ\x90\x00"), None);
    }
}
