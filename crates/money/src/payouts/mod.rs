//! Money out: bank accounts held by the payment provider, and payouts from the wallet.
//!
//! A payout takes its amount from the wallet at once into `payouts:pending`; the provider's
//! signed webhook later says `payout.paid` (the amount leaves for the bank, less the provider's
//! fee, which goes to `fees:processing`) or `payout.failed` (the amount goes back to the
//! wallet). The audit checks that `payouts:pending` holds exactly the open payouts.

pub mod provider;
pub mod repo;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Payout, PayoutAccount, PayoutStatus};
use super::service::MoneyService;
use accounts::Principal;
use ledger::{Account, Idempotent, Posting, Started, wallets};
use outbox::Event;
use platform::error::{Error, ErrorCode, Result};
use provider::BankDetails;

/// How long the sandbox provider takes to settle a payout.
pub const SANDBOX_SETTLE_AFTER: Duration = Duration::seconds(30);

/// A payout request as the idempotency key remembers it.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutRequest {
    pub payout_account_id: Uuid,
    pub amount: i64,
}

/// `payout.paid` / `payout.failed` event data.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PayoutEventData {
    payout_id: Uuid,
    amount: i64,
    /// Why the bank refused it (`payout.failed`).
    #[serde(default)]
    reason: Option<String>,
}

impl MoneyService {
    /// Hands the bank details to the provider and keeps its token, the bank's name and the
    /// last four digits. Adding the same account again returns the one already kept.
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id))]
    pub async fn add_payout_account(
        &self,
        principal: &Principal,
        details: BankDetails<'_>,
    ) -> Result<PayoutAccount> {
        provider::validate(&details)?;
        self.accounts
            .require_verified_email(principal.user_id)
            .await?;
        if !self.infra.config.payments_sandbox {
            // Only the sandbox is wired up; a live provider tokenizes in its own client.
            return Err(Error::Unavailable(
                "the payment provider's bank account service",
            ));
        }
        let key = self
            .infra
            .config
            .payments_webhook_secret
            .expose()
            .as_bytes();
        let t = provider::sandbox_tokenize(key, &details)?;
        let mut conn = self.infra.db.write.acquire().await?;
        let account = repo::insert_account(
            &mut conn,
            Uuid::now_v7(),
            principal.user_id,
            &t.token,
            &t.bank_name,
            &t.last4,
        )
        .await?;
        tracing::info!(event = "payout_account_added", user_id = %principal.user_id, payout_account_id = %account.id, "payout account added");
        Ok(account)
    }

    pub async fn payout_accounts(&self, principal: &Principal) -> Result<Vec<PayoutAccount>> {
        repo::accounts_of(&self.infra.db.write, principal.user_id).await
    }

    pub async fn remove_payout_account(&self, principal: &Principal, id: Uuid) -> Result<()> {
        if repo::remove_account(&self.infra.db.write, principal.user_id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("payout account"))
        }
    }

    pub async fn payouts(
        &self,
        principal: &Principal,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Payout>, i64)> {
        repo::payouts_of(&self.infra.db.write, principal.user_id, limit, offset).await
    }

    /// Takes `amount` from the wallet towards one of the caller's bank accounts. At least the
    /// configured minimum, at most the daily limit over any 24 hours (failed payouts do not
    /// count), never more than the wallet holds.
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id, amount = request.amount))]
    pub async fn request_payout(
        &self,
        principal: &Principal,
        request: PayoutRequest,
        key: &str,
    ) -> Result<Idempotent<Payout>> {
        let policy = &self.infra.config.payouts;
        let user_id = principal.user_id;
        let amount = super::model::parse_amount(
            "amount",
            request.amount,
            policy.min_amount,
            policy.daily_limit,
        )?;
        self.accounts.require_verified_email(user_id).await?;
        let mut work =
            match ledger::begin(&self.infra.db.write, user_id, key, "payout", &request).await? {
                Started::Replayed(r) => return Ok(r),
                Started::Fresh(w) => w,
            };
        // The wallet's row lock orders this user's payouts, so two at once cannot both fit
        // under the daily limit.
        wallets::lock(&mut work.tx, vec![user_id]).await?;
        let account = repo::live_account(&mut work.tx, user_id, request.payout_account_id)
            .await?
            .ok_or(Error::NotFound("payout account"))?;
        let today =
            repo::paid_out_since(&mut work.tx, user_id, Utc::now() - Duration::days(1)).await?;
        if today + amount > policy.daily_limit {
            return Err(Error::rule(
                ErrorCode::PayoutLimitExceeded,
                format!(
                    "you can pay out {} more in the next 24 hours (limit {})",
                    (policy.daily_limit - today).max(0),
                    policy.daily_limit
                ),
            ));
        }
        if !wallets::debit(&mut work.tx, user_id, amount).await? {
            return Err(Error::rule(
                ErrorCode::InsufficientFunds,
                "the wallet does not hold that much",
            ));
        }
        let txn = Posting::transfer(
            "payout",
            Account::Wallet(user_id),
            Account::PayoutsPending,
            amount,
        )?
        .write(&mut work.tx)
        .await?;
        let payout = repo::insert_payout(
            &mut work.tx,
            repo::NewPayout {
                id: Uuid::now_v7(),
                user_id,
                account_id: account.id,
                amount,
                fee: policy.payout_fee,
                provider: self.provider_name(),
                ledger_txn: txn,
            },
        )
        .await?;
        let done = work.finish(payout).await?;
        tracing::info!(event = "payout_requested", user_id = %user_id, payout_id = %done.value.id, amount, "payout requested");
        Ok(done)
    }

    /// The sandbox provider's side: settles every sandbox payout older than
    /// [`SANDBOX_SETTLE_AFTER`], as its webhook would (paid, or failed for accounts ending in
    /// `0002`). Returns how many it settled.
    #[tracing::instrument(skip_all)]
    pub async fn settle_sandbox_payouts(&self, now: DateTime<Utc>) -> Result<u32> {
        let due = repo::open_sandbox_payouts(&self.infra.db.write, now - SANDBOX_SETTLE_AFTER, 500)
            .await?;
        let mut settled = 0;
        for (payout_id, amount, last4) in due {
            let failed = last4.as_deref() == Some(provider::SANDBOX_FAILING_LAST4);
            let data = PayoutEventData {
                payout_id,
                amount,
                reason: failed.then(|| provider::SANDBOX_FAILURE.to_string()),
            };
            let mut tx = self.infra.db.write.begin().await?;
            match settle(&mut tx, data, failed).await {
                Ok(_) => {
                    tx.commit().await?;
                    settled += 1;
                }
                // Settled meanwhile by another run: nothing to do.
                Err(Error::Conflict {
                    code: ErrorCode::PayoutSettled,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(settled)
    }
}

/// Applies the provider's verdict on a pending payout, in the caller's transaction: paid sends
/// the amount out (less the fee, which the provider keeps); failed returns it to the wallet.
pub(crate) async fn settle(
    conn: &mut PgConnection,
    data: PayoutEventData,
    failed: bool,
) -> Result<Payout> {
    let payout = repo::lock_payout(conn, data.payout_id)
        .await?
        .ok_or(Error::NotFound("payout"))?;
    if payout.amount != data.amount {
        return Err(Error::rule(
            ErrorCode::AmountMismatch,
            "event amount differs from the payout",
        ));
    }
    if payout.status != PayoutStatus::Pending {
        return Err(Error::conflict(
            ErrorCode::PayoutSettled,
            "the payout is already settled",
        ));
    }
    let settled = if failed {
        Posting::transfer(
            "payout_returned",
            Account::PayoutsPending,
            Account::Wallet(payout.user_id),
            payout.amount,
        )?
        .write(conn)
        .await?;
        wallets::credit(conn, payout.user_id, payout.amount).await?;
        let reason = data
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| r.chars().take(200).collect::<String>())
            .unwrap_or_else(|| "refused by the bank".into());
        repo::settle_payout(conn, payout.id, PayoutStatus::Failed, Some(&reason)).await?
    } else {
        Posting::new(
            "payout_paid",
            vec![
                (Account::PayoutsPending, -payout.amount),
                (Account::ExternalPayments, payout.amount - payout.fee),
                (Account::FeesProcessing, payout.fee),
            ],
        )?
        .write(conn)
        .await?;
        repo::settle_payout(conn, payout.id, PayoutStatus::Paid, None).await?
    };
    outbox::record(
        conn,
        &Event::PayoutSettled {
            payout_id: settled.id,
            user_id: settled.user_id,
            paid: !failed,
        },
    )
    .await?;
    Ok(settled)
}
