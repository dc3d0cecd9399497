//! Wallets, deposits, the payment provider webhook, donations, refunds and the audit.
//! Writes that move money take an `Idempotency-Key` header: a retry with the same key gets the
//! first result back (marked `Idempotent-Replayed: true`) and moves nothing.

use chrono::{DateTime, Utc};
use domain::App;
use domain::ledger::LedgerLine;
use domain::money::{Deposit, Donate, Donation, WebhookOutcome};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Binary;

use poem_openapi::{Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::common::{Created, Json, PageParams, Paged, ReasonRequest, created, idempotency_key};
use super::enums::{DriftKind, LedgerKind, WebhookAckStatus, from_db};
use super::error::{ADMIN, API, AUTH, ApiResult, BODY, BY_ID, CONFLICT, PARAMS, UNAUTHORIZED};
use super::json::JsonBody;
use super::params::{IdempotencyKey, PageLimit, PageNumber};
use super::public::NoAuth;
use super::security::Auth;

// The ledger's `kind` is free text (no CHECK constraint); the spec sends it as the closed
// `LedgerKind` set, with a logged fallback for anything outside it.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct LedgerLineDto {
    pub id: i64,
    /// Lines of one money movement share this id and sum to zero.
    pub txn_id: Uuid,
    pub account: String,
    /// Minor units; positive increases the account's balance.
    pub amount: i64,
    pub kind: LedgerKind,
    pub created_at: DateTime<Utc>,
}

impl From<LedgerLine> for LedgerLineDto {
    fn from(l: LedgerLine) -> Self {
        Self {
            id: l.id,
            txn_id: l.txn_id,
            account: l.account,
            amount: l.amount,
            kind: from_db(&l.kind, LedgerKind::parse, LedgerKind::Deposit),
            created_at: l.created_at,
        }
    }
}

#[derive(Object)]
pub struct WalletDto {
    /// Minor units.
    pub balance: i64,
    pub currency: String,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct DepositRequest {
    /// Minor units, 100 to 5,000,000.
    #[oai(validator(minimum(value = "100"), maximum(value = "5000000")))]
    pub amount: i64,
}

#[derive(Object)]
pub struct WebhookAck {
    pub status: WebhookAckStatus,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct DonateRequest {
    /// Minor units, 100 to 10,000,000.
    #[oai(validator(minimum(value = "100"), maximum(value = "10000000")))]
    pub amount: i64,
    /// Hide the donor's name on the campaign page.
    #[oai(nullable)]
    pub anonymous: Option<bool>,
    /// Up to 500 characters.
    #[oai(nullable, validator(max_length = 500))]
    pub message: Option<String>,
}

// Not the ops Drift: its kind is text in the domain, sent as the DriftKind set.
#[derive(Object)]
pub struct DriftDto {
    pub kind: DriftKind,
    pub subject: String,
    pub expected: i64,
    pub actual: i64,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct AuditDto {
    pub ok: bool,
    pub checked_at: DateTime<Utc>,
    pub ledger_lines: i64,
    pub drift: Vec<DriftDto>,
}

pub struct MoneyApi;

#[OpenApi(prefix_path = "/api")]
impl MoneyApi {
    /// The caller's wallet balance.
    #[oai(
        path = "/wallet",
        method = "get",
        tag = "ApiTags::Wallet",
        operation_id = "getWallet"
    )]
    async fn wallet(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<WalletDto>, { API | AUTH }> {
        Ok(Json(WalletDto {
            balance: app.money().wallet_balance(auth.principal()).await?,
            currency: app.infra.config.currency.clone(),
        }))
    }

    /// The wallet's ledger lines, newest first.
    #[oai(
        path = "/wallet/transactions",
        method = "get",
        tag = "ApiTags::Wallet",
        operation_id = "listWalletTransactions"
    )]
    async fn transactions(
        &self,
        app: Data<&App>,
        auth: Auth,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<LedgerLineDto>>, { API | AUTH | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (lines, total) = app
            .money()
            .wallet_transactions(auth.principal(), p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(
            lines.into_iter().map(Into::into).collect(),
            p,
            total,
        )))
    }

    /// Add money to the wallet. The sandbox provider confirms at once; a real provider
    /// confirms through the webhook. Requires `Idempotency-Key`.
    #[oai(
        path = "/wallet/deposits",
        method = "post",
        tag = "ApiTags::Wallet",
        operation_id = "createDeposit"
    )]
    async fn deposit(
        &self,
        app: Data<&App>,
        auth: Auth,
        #[oai(name = "Idempotency-Key")] key: Header<IdempotencyKey>,
        body: JsonBody<DepositRequest>,
    ) -> ApiResult<Created<Deposit>, { API | AUTH | BODY | CONFLICT }> {
        let key = idempotency_key(key.0.0)?;
        let result = app
            .money()
            .deposit(auth.principal(), body.0.amount, &key)
            .await?;
        Ok(created(result, std::convert::identity))
    }

    /// Payment provider callback. `Payment-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
    /// "<t>.<body>">`; stale timestamps (> 5 min), bad signatures and replays change nothing.
    #[oai(
        path = "/payments/webhook",
        method = "post",
        tag = "ApiTags::Wallet",
        operation_id = "receivePaymentWebhook"
    )]
    async fn webhook(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        #[oai(name = "Payment-Signature")] signature: Header<Option<String>>,
        body: Binary<Vec<u8>>,
    ) -> ApiResult<
        Json<WebhookAck>,
        { UNAUTHORIZED | BODY | CONFLICT | crate::http::error::UNAVAILABLE },
    > {
        let outcome = app
            .money()
            .payment_webhook(signature.0.as_deref(), &body.0, Utc::now())
            .await?;
        let status = match outcome {
            WebhookOutcome::Applied => WebhookAckStatus::Applied,
            WebhookOutcome::Duplicate => WebhookAckStatus::Duplicate,
        };
        Ok(Json(WebhookAck { status }))
    }

    /// Donate from the wallet to an active campaign. Requires `Idempotency-Key`; the same key
    /// with a different body is refused (422).
    #[oai(
        path = "/donations/campaign/:campaign_id",
        method = "post",
        tag = "ApiTags::Donations",
        operation_id = "donate"
    )]
    async fn donate(
        &self,
        app: Data<&App>,
        auth: Auth,
        campaign_id: Path<Uuid>,
        #[oai(name = "Idempotency-Key")] key: Header<IdempotencyKey>,
        body: JsonBody<DonateRequest>,
    ) -> ApiResult<Created<Donation>, { API | AUTH | BY_ID | BODY | CONFLICT }> {
        let key = idempotency_key(key.0.0)?;
        let b = body.0;
        let input = Donate {
            amount: b.amount,
            anonymous: b.anonymous.unwrap_or(false),
            message: b.message,
        };
        let result = app
            .money()
            .donate(auth.principal(), campaign_id.0, input, &key)
            .await?;
        Ok(created(result, std::convert::identity))
    }

    /// The caller's donations, newest first.
    #[oai(
        path = "/donations/me",
        method = "get",
        tag = "ApiTags::Donations",
        operation_id = "listMyDonations"
    )]
    async fn mine(
        &self,
        app: Data<&App>,
        auth: Auth,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<Donation>>, { API | AUTH | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (items, total) = app
            .money()
            .my_donations(auth.principal(), p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(items, p, total)))
    }

    /// Admin: refund a donation to the donor's wallet (once), with a reason for the audit log.
    /// Requires `Idempotency-Key`.
    #[oai(
        path = "/admin/donations/:id/refund",
        method = "post",
        tag = "ApiTags::Donations",
        operation_id = "refundDonation"
    )]
    async fn refund(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        #[oai(name = "Idempotency-Key")] key: Header<IdempotencyKey>,
        body: JsonBody<ReasonRequest>,
    ) -> ApiResult<Created<Donation>, { API | ADMIN | BY_ID | BODY | CONFLICT }> {
        auth.admin()?;
        let key = idempotency_key(key.0.0)?;
        let result = app
            .money()
            .refund(auth.principal(), id.0, &key, body.0.reason.as_deref())
            .await?;
        Ok(created(result, std::convert::identity))
    }

    /// Admin: check that balances and stats equal the ledger, and every ledger transaction
    /// balances.
    #[oai(
        path = "/admin/audit",
        method = "get",
        tag = "ApiTags::Donations",
        operation_id = "runAudit"
    )]
    async fn audit(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<AuditDto>, { API | ADMIN }> {
        auth.admin()?;
        let r = app.audit().await?;
        Ok(Json(AuditDto {
            ok: r.ok,
            checked_at: r.checked_at,
            ledger_lines: r.ledger_lines,
            drift: r
                .drift
                .into_iter()
                .map(|d| DriftDto {
                    kind: from_db(&d.kind, DriftKind::parse, DriftKind::UnbalancedTransaction),
                    subject: d.subject,
                    expected: d.expected,
                    actual: d.actual,
                })
                .collect(),
        }))
    }
}
