//! `/api/wallet/payout-accounts` and `/api/wallet/payouts`: money out of the platform. A payout
//! leaves the wallet at once and is confirmed paid or failed by the payment provider's signed
//! webhook (`payout.paid` / `payout.failed` at `/api/payments/webhook`).

use domain::App;
use domain::money::payouts::PayoutRequest;
use domain::money::payouts::provider::BankDetails;
use domain::money::{Payout, PayoutAccount};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::common::{Created, Json, PageParams, Paged, created, idempotency_key};
use super::error::{API, AUTH, ApiResult, BODY, BY_ID, CONFLICT, FORBIDDEN, PARAMS, UNAVAILABLE};
use super::json::JsonBody;
use super::params::{IdempotencyKey, PageLimit, PageNumber};
use super::security::Auth;

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct AddPayoutAccountRequest {
    /// 4 to 17 digits. Passed to the payment provider and never stored: Commonpot keeps the
    /// provider's token, the bank's name and the last four digits.
    #[oai(validator(max_length = 17))]
    pub account_number: String,
    /// A 9-digit ABA routing number.
    #[oai(validator(max_length = 9))]
    pub routing_number: String,
}

#[derive(Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreatePayoutRequest {
    /// One of the caller's payout accounts.
    pub payout_account_id: Uuid,
    /// Minor units taken from the wallet, at least the configured minimum (default 1,000);
    /// the provider's fee comes out of what reaches the bank.
    pub amount: i64,
}

#[derive(ApiResponse)]
pub enum AccountAdded {
    /// Added (or the same bank account, already added, returned).
    #[oai(status = 201)]
    Created(Json<PayoutAccount>),
}

#[derive(ApiResponse)]
pub enum AccountRemoved {
    /// Removed; payouts already sent to it are unchanged.
    #[oai(status = 204)]
    NoContent,
}

pub struct PayoutsApi;

#[OpenApi(prefix_path = "/api/wallet", tag = "ApiTags::Wallet")]
impl PayoutsApi {
    /// The caller's bank accounts for payouts.
    #[oai(
        path = "/payout-accounts",
        method = "get",
        operation_id = "listPayoutAccounts"
    )]
    async fn accounts(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<Vec<PayoutAccount>>, { API | AUTH }> {
        Ok(Json(app.money().payout_accounts(auth.principal()).await?))
    }

    /// Add a bank account through the payment provider. Needs a verified email (403
    /// `email_not_verified`). The sandbox bank refuses payouts to accounts ending in `0002`.
    #[oai(
        path = "/payout-accounts",
        method = "post",
        operation_id = "addPayoutAccount"
    )]
    async fn add_account(
        &self,
        app: Data<&App>,
        auth: Auth,
        body: JsonBody<AddPayoutAccountRequest>,
    ) -> ApiResult<AccountAdded, { API | AUTH | FORBIDDEN | BODY | UNAVAILABLE }> {
        let details = BankDetails {
            account_number: body.account_number.trim(),
            routing_number: body.routing_number.trim(),
        };
        let account = app
            .money()
            .add_payout_account(auth.principal(), details)
            .await?;
        Ok(AccountAdded::Created(Json(account)))
    }

    /// Remove one of the caller's bank accounts.
    #[oai(
        path = "/payout-accounts/:id",
        method = "delete",
        operation_id = "removePayoutAccount"
    )]
    async fn remove_account(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<AccountRemoved, { API | AUTH | BY_ID }> {
        app.money()
            .remove_payout_account(auth.principal(), id.0)
            .await?;
        Ok(AccountRemoved::NoContent)
    }

    /// Pay money out of the wallet to a bank account. The amount leaves the wallet at once;
    /// the payment provider confirms it paid or failed (then it comes back). Requires
    /// `Idempotency-Key` and a verified email; at most the daily limit (default 10,000.00) in
    /// any 24 hours (422 `payout_limit_exceeded`).
    #[oai(path = "/payouts", method = "post", operation_id = "createPayout")]
    async fn create(
        &self,
        app: Data<&App>,
        auth: Auth,
        #[oai(name = "Idempotency-Key")] key: Header<IdempotencyKey>,
        body: JsonBody<CreatePayoutRequest>,
    ) -> ApiResult<Created<Payout>, { API | AUTH | FORBIDDEN | BY_ID | BODY | CONFLICT }> {
        let key = idempotency_key(key.0.0)?;
        let request = PayoutRequest {
            payout_account_id: body.payout_account_id,
            amount: body.amount,
        };
        let result = app
            .money()
            .request_payout(auth.principal(), request, &key)
            .await?;
        Ok(created(result, std::convert::identity))
    }

    /// The caller's payouts, newest first.
    #[oai(path = "/payouts", method = "get", operation_id = "listPayouts")]
    async fn list(
        &self,
        app: Data<&App>,
        auth: Auth,
        page: Query<PageNumber>,
        limit: Query<PageLimit>,
    ) -> ApiResult<Json<Paged<Payout>>, { API | AUTH | PARAMS }> {
        let p = PageParams::parse(page.0.0, limit.0.0)?;
        let (items, total) = app
            .money()
            .payouts(auth.principal(), p.limit, p.offset())
            .await?;
        Ok(Json(Paged::new(items, p, total)))
    }
}
