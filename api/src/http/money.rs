//! Wallets, deposits, the payment provider webhook, donations, refunds and the audit.
//! Writes that move money take an `Idempotency-Key` header: a retry with the same key gets the
//! first result back (marked `Idempotent-Replayed: true`) and moves nothing.

use chrono::{DateTime, Utc};
use domain::App;
use domain::money::ledger::LedgerLine;
use domain::money::{Deposit, Donate, Donation, Idempotent, WebhookOutcome, Withdrawal};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::json::JsonBody;
use super::pagination::{PageParams, Paged};
use super::security::Auth;

#[derive(ApiResponse)]
pub enum Created<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// Done; `Idempotent-Replayed: true` when this is the stored result of an earlier call
    /// with the same key.
    #[oai(status = 201)]
    Created(Json<T>, #[oai(header = "Idempotent-Replayed")] bool),
}

pub fn created<T, D: ParseFromJSON + ToJSON + Send + Sync>(
    r: Idempotent<T>,
    map: impl FnOnce(T) -> D,
) -> Created<D> {
    Created::Created(Json(map(r.value)), r.replayed)
}

pub fn idempotency_key(raw: Option<String>) -> Result<String, ApiError> {
    Ok(domain::money::idempotency::parse_key(raw.as_deref())?)
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct LedgerLineDto {
    pub id: i64,
    /// Lines of one money movement share this id and sum to zero.
    pub txn_id: Uuid,
    pub account: String,
    /// Minor units; positive increases the account's balance.
    pub amount: i64,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

impl From<LedgerLine> for LedgerLineDto {
    fn from(l: LedgerLine) -> Self {
        Self {
            id: l.id,
            txn_id: l.txn_id,
            account: l.account,
            amount: l.amount,
            kind: l.kind,
            created_at: l.created_at,
        }
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct WithdrawalDto {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub amount: i64,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

impl From<Withdrawal> for WithdrawalDto {
    fn from(w: Withdrawal) -> Self {
        Self {
            id: w.id,
            campaign_id: w.campaign_id,
            amount: w.amount,
            kind: w.kind,
            created_at: w.created_at,
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
    pub amount: i64,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DepositDto {
    pub id: Uuid,
    pub amount: i64,
    pub provider: String,
    /// `pending`, `confirmed` or `failed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl From<Deposit> for DepositDto {
    fn from(d: Deposit) -> Self {
        Self {
            id: d.id,
            amount: d.amount,
            provider: d.provider,
            status: d.status,
            created_at: d.created_at,
            confirmed_at: d.confirmed_at,
        }
    }
}

#[derive(Object)]
pub struct WebhookAck {
    /// `applied` or `duplicate` (already processed; nothing changed).
    pub status: String,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct DonateRequest {
    /// Minor units, 100 to 10,000,000.
    pub amount: i64,
    /// Hide the donor's name on the campaign page.
    pub anonymous: Option<bool>,
    /// Up to 500 characters.
    pub message: Option<String>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DonationDto {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub donor_id: Uuid,
    pub amount: i64,
    pub anonymous: bool,
    pub message: Option<String>,
    /// `completed` or `refunded`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
}

impl From<Donation> for DonationDto {
    fn from(d: Donation) -> Self {
        Self {
            id: d.id,
            campaign_id: d.campaign_id,
            donor_id: d.donor_id,
            amount: d.amount,
            anonymous: d.anonymous,
            message: d.message,
            status: d.status,
            created_at: d.created_at,
            refunded_at: d.refunded_at,
        }
    }
}

#[derive(Object)]
pub struct DriftDto {
    pub kind: String,
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
    #[oai(path = "/wallet", method = "get", tag = "ApiTags::Wallet")]
    async fn wallet(&self, app: Data<&App>, auth: Auth) -> ApiResult<Json<WalletDto>> {
        Ok(Json(WalletDto {
            balance: app.money().wallet_balance(auth.principal()).await?,
            currency: app.config.currency.clone(),
        }))
    }

    /// The wallet's ledger lines, newest first.
    #[oai(path = "/wallet/transactions", method = "get", tag = "ApiTags::Wallet")]
    async fn transactions(
        &self,
        app: Data<&App>,
        auth: Auth,
        page: Query<Option<i64>>,
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<LedgerLineDto>>> {
        let p = PageParams::parse(page.0, limit.0)?;
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
    #[oai(path = "/wallet/deposits", method = "post", tag = "ApiTags::Wallet")]
    async fn deposit(
        &self,
        app: Data<&App>,
        auth: Auth,
        #[oai(name = "Idempotency-Key")] key: Header<Option<String>>,
        body: JsonBody<DepositRequest>,
    ) -> ApiResult<Created<DepositDto>> {
        let key = idempotency_key(key.0)?;
        let result = app
            .money()
            .deposit(auth.principal(), body.0.amount, &key)
            .await?;
        Ok(created(result, DepositDto::from))
    }

    /// Payment provider callback. `Payment-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
    /// "<t>.<body>">`; stale timestamps (> 5 min), bad signatures and replays change nothing.
    #[oai(path = "/payments/webhook", method = "post", tag = "ApiTags::Wallet")]
    async fn webhook(
        &self,
        app: Data<&App>,
        #[oai(name = "Payment-Signature")] signature: Header<Option<String>>,
        body: Binary<Vec<u8>>,
    ) -> ApiResult<Json<WebhookAck>> {
        let outcome = app
            .money()
            .payment_webhook(signature.0.as_deref(), &body.0, Utc::now())
            .await?;
        let status = match outcome {
            WebhookOutcome::Applied(_) => "applied",
            WebhookOutcome::Duplicate => "duplicate",
        };
        Ok(Json(WebhookAck {
            status: status.into(),
        }))
    }

    /// Donate from the wallet to an active campaign. Requires `Idempotency-Key`; the same key
    /// with a different body is refused (422).
    #[oai(
        path = "/donations/campaign/:campaign_id",
        method = "post",
        tag = "ApiTags::Donations"
    )]
    async fn donate(
        &self,
        app: Data<&App>,
        auth: Auth,
        campaign_id: Path<Uuid>,
        #[oai(name = "Idempotency-Key")] key: Header<Option<String>>,
        body: JsonBody<DonateRequest>,
    ) -> ApiResult<Created<DonationDto>> {
        let key = idempotency_key(key.0)?;
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
        Ok(created(result, DonationDto::from))
    }

    /// The caller's donations, newest first.
    #[oai(path = "/donations/me", method = "get", tag = "ApiTags::Donations")]
    async fn mine(
        &self,
        app: Data<&App>,
        auth: Auth,
        page: Query<Option<i64>>,
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<DonationDto>>> {
        let p = PageParams::parse(page.0, limit.0)?;
        let (items, total) = app
            .money()
            .my_donations(auth.principal(), p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(
            items.into_iter().map(Into::into).collect(),
            p,
            total,
        )))
    }

    /// Admin: refund a donation to the donor's wallet (once). Requires `Idempotency-Key`.
    #[oai(
        path = "/admin/donations/:id/refund",
        method = "post",
        tag = "ApiTags::Donations"
    )]
    async fn refund(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
        #[oai(name = "Idempotency-Key")] key: Header<Option<String>>,
    ) -> ApiResult<Created<DonationDto>> {
        auth.admin()?;
        let key = idempotency_key(key.0)?;
        let result = app.money().refund(auth.principal(), id.0, &key).await?;
        Ok(created(result, DonationDto::from))
    }

    /// Admin: check that balances and stats equal the ledger, and every ledger transaction
    /// balances.
    #[oai(path = "/admin/audit", method = "get", tag = "ApiTags::Donations")]
    async fn audit(&self, app: Data<&App>, auth: Auth) -> ApiResult<Json<AuditDto>> {
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
                    kind: d.kind,
                    subject: d.subject,
                    expected: d.expected,
                    actual: d.actual,
                })
                .collect(),
        }))
    }
}
