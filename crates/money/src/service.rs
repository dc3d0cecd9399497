//! Money rules. Each method that moves money runs in one database transaction: the idempotency
//! claim, the balance checks, the ledger lines, the balances and stats, and the outbox event
//! commit together or not at all.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use std::sync::Arc;
use std::time::Instant;

use super::group_commit::{Gift, GroupCommit};
use super::model::{
    self, Deposit, DepositStatus, Donation, DonationStatus, PublicDonation, Withdrawal,
};
use super::repo;
use accounts::{AccountService, Principal};
use audit_log::{Action, Change};
use campaigns::CampaignService;
use campaigns::cache;
use campaigns::repo as campaigns_repo;
use campaigns::{Campaign, CampaignStatus, FundingModel};
use ledger::{Account, Idempotent, LedgerLine, Posting, Started, wallets};
use outbox::{Event, Settlement};
use platform::Handles;
use platform::error::{Error, ErrorCode, Result};
use platform::infra::metrics::{DONATIONS, DONATIONS_AMOUNT, PAYMENTS_FAILED};

#[derive(Clone, Debug)]
pub struct MoneyService {
    pub(crate) infra: Handles,
    campaigns: CampaignService,
    /// For the verified-email rule on money out.
    pub(crate) accounts: AccountService,
    group_commit: Arc<GroupCommit>,
}

impl MoneyService {
    pub fn new(infra: Handles, campaigns: CampaignService) -> Self {
        Self {
            accounts: AccountService::new(infra.clone()),
            infra,
            campaigns,
            group_commit: Default::default(),
        }
    }

    /// The donation batcher, for its counters.
    pub fn group_commit(&self) -> &GroupCommit {
        &self.group_commit
    }
}

#[derive(Serialize)]
struct DonationRequest<'a> {
    campaign_id: Uuid,
    amount: i64,
    anonymous: bool,
    message: Option<&'a str>,
}

pub struct Donate {
    pub amount: i64,
    pub anonymous: bool,
    pub message: Option<String>,
}

/// What closing a campaign at its deadline did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    pub completed: u32,
    pub released: u32,
    pub refunded_campaigns: u32,
    pub refunded_donations: u32,
}

type HmacSha256 = Hmac<Sha256>;

/// Provider webhook timestamps older (or newer) than this are rejected as replays.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

#[derive(Deserialize)]
struct WebhookEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// Read by the event's type: a deposit's or a payout's fields.
    data: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DepositEventData {
    deposit_id: Uuid,
    amount: i64,
}

fn event_data<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T> {
    serde_json::from_value(data)
        .map_err(|e| Error::validation("data", format!("malformed event data: {e}")))
}

#[derive(Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The event changed a deposit or a payout.
    Applied,
    /// The event id was processed before; nothing changed.
    Duplicate,
}

fn webhook_mac(secret: &str, timestamp: i64, body: &[u8]) -> Result<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).map_err(Error::internal)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// Checks a provider webhook's `t=…,v1=…` signature over the timestamp and body, and that the
/// timestamp is within [`WEBHOOK_TOLERANCE_SECS`] of `now` (older ones are replays).
fn verify_payment_webhook(
    secret: &str,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<()> {
    let invalid = || Error::Unauthorized("invalid webhook signature");
    let header = signature.ok_or_else(invalid)?;
    let mut timestamp = None;
    let mut provided = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => provided = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (timestamp, provided) = timestamp.zip(provided).ok_or_else(invalid)?;
    if (now.timestamp() - timestamp).abs() > WEBHOOK_TOLERANCE_SECS {
        return Err(Error::Unauthorized(
            "webhook timestamp outside the tolerance window",
        ));
    }
    webhook_mac(secret, timestamp, body)?
        .verify_slice(&provided)
        .map_err(|_| invalid())
}

/// Signs a webhook body the way the payment provider does (`t=…,v1=…`), for the provider
/// integration's tests and local tools.
pub fn sign_payment_webhook(secret: &str, timestamp: i64, body: &[u8]) -> Result<String> {
    let mac = webhook_mac(secret, timestamp, body)?;
    Ok(format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

impl MoneyService {
    // A caller's own wallet and donations read the primary: they look right after the
    // caller's deposit or donation, which a lagging replica would not show yet. Public views
    // (a campaign's ledger and donations) tolerate the lag and read the replica.

    /// The payment provider deposits and payouts go through, as recorded on their rows.
    pub(crate) fn provider_name(&self) -> &'static str {
        if self.infra.config.payments_sandbox {
            "sandbox"
        } else {
            "external"
        }
    }

    pub async fn wallet_balance(&self, principal: &Principal) -> Result<i64> {
        wallets::balance(&self.infra.db.write, principal.user_id).await
    }

    pub async fn wallet_transactions(
        &self,
        principal: &Principal,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<LedgerLine>, i64)> {
        let db = &self.infra.db.write;
        self.account_lines(db, Account::Wallet(principal.user_id), limit, offset)
            .await
    }

    async fn account_lines(
        &self,
        db: &PgPool,
        account: Account,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<LedgerLine>, i64)> {
        let lines = ledger::lines_of(db, account, limit, offset).await?;
        Ok((lines, ledger::count_of(db, account).await?))
    }

    /// The public ledger of a campaign's account (of a hidden campaign: for its creator and
    /// admins only).
    pub async fn campaign_ledger(
        &self,
        viewer: Option<&Principal>,
        campaign_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<LedgerLine>, i64)> {
        self.campaigns.visible(viewer, campaign_id).await?;
        let db = &self.infra.db.read;
        self.account_lines(db, Account::Campaign(campaign_id), limit, offset)
            .await
    }

    /// The campaign's donations (of a hidden campaign: for its creator and admins only).
    pub async fn campaign_donations(
        &self,
        viewer: Option<&Principal>,
        campaign_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<PublicDonation>, i64)> {
        self.campaigns.visible(viewer, campaign_id).await?;
        // The total is the campaign's donation count as its stats keep it (one per completed
        // donation: a gift adds one in its transaction, a refund takes it back in its own), so
        // a popular campaign's page does not count its donations rows.
        let (items, stats) = tokio::try_join!(
            repo::public_donations(&self.infra.db.read, campaign_id, limit, offset),
            self.campaigns.stats(campaign_id),
        )?;
        Ok((items, stats.donations_count))
    }

    pub async fn my_donations(
        &self,
        principal: &Principal,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Donation>, i64)> {
        repo::donations_of(&self.infra.db.write, principal.user_id, limit, offset).await
    }

    /// Starts a deposit with the payment provider. The sandbox provider confirms at once; a
    /// real one confirms later through the signed webhook.
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id, amount))]
    pub async fn deposit(
        &self,
        principal: &Principal,
        amount: i64,
        key: &str,
    ) -> Result<Idempotent<Deposit>> {
        let amount = model::parse_amount("amount", amount, model::MIN_DEPOSIT, model::MAX_DEPOSIT)?;
        let fee = self.infra.config.payouts.deposit_fee(amount);
        if fee >= amount {
            return Err(Error::validation(
                "amount",
                format!("amount must exceed the payment provider's fee of {fee}"),
            ));
        }
        let mut work = match ledger::begin(
            &self.infra.db.write,
            principal.user_id,
            key,
            "deposit",
            &amount,
        )
        .await?
        {
            Started::Replayed(r) => return Ok(r),
            Started::Fresh(w) => w,
        };
        let mut deposit = repo::insert_deposit(
            &mut work.tx,
            Uuid::now_v7(),
            principal.user_id,
            amount,
            fee,
            self.provider_name(),
        )
        .await?;
        if self.infra.config.payments_sandbox {
            deposit = confirm_deposit(&mut work.tx, &deposit).await?;
        }
        work.finish(deposit).await
    }

    /// Applies a payment provider event after checking its signature and timestamp. Bad
    /// signatures, stale timestamps and replays change nothing.
    #[tracing::instrument(skip_all)]
    pub async fn payment_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        let secret = self.infra.config.payments_webhook_secret.expose();
        verify_payment_webhook(secret, signature, body, now)?;
        let event: WebhookEvent = serde_json::from_slice(body)
            .map_err(|e| Error::validation("body", format!("malformed event: {e}")))?;
        let mut tx = self.infra.db.write.begin().await?;
        if !repo::record_payment_event(&mut tx, &event.id).await? {
            return Ok(WebhookOutcome::Duplicate);
        }
        match event.kind.as_str() {
            "deposit.succeeded" | "deposit.failed" => {
                let data: DepositEventData = event_data(event.data)?;
                let failed = event.kind == "deposit.failed";
                let deposit = settle_deposit(&mut tx, data, failed).await?;
                tx.commit().await?;
                if failed {
                    metrics::counter!(PAYMENTS_FAILED).increment(1);
                    tracing::info!(
                        event = "payment_failed",
                        deposit_id = %deposit.id,
                        user_id = %deposit.user_id,
                        amount = deposit.amount,
                        provider_event_id = %event.id,
                        "payment failed"
                    );
                }
            }
            "payout.paid" | "payout.failed" => {
                let data = event_data(event.data)?;
                let failed = event.kind == "payout.failed";
                super::payouts::settle(&mut tx, data, failed).await?;
                tx.commit().await?;
            }
            _ => {
                return Err(Error::validation(
                    "type",
                    "type must be deposit.succeeded, deposit.failed, payout.paid or payout.failed",
                ));
            }
        }
        Ok(WebhookOutcome::Applied)
    }

    /// Gives `amount` from the donor's wallet to an active campaign. The donation is written
    /// by the group commit (see [`super::group_commit`]); this returns once it is durable.
    #[tracing::instrument(skip_all, fields(donor_id = %principal.user_id, campaign_id = %campaign_id))]
    pub async fn donate(
        &self,
        principal: &Principal,
        campaign_id: Uuid,
        input: Donate,
        key: &str,
    ) -> Result<Idempotent<Donation>> {
        let amount = model::parse_amount(
            "amount",
            input.amount,
            model::MIN_DONATION,
            model::MAX_DONATION,
        )?;
        let message = input
            .message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        if message.is_some_and(|m| m.chars().count() > 500) {
            return Err(Error::validation(
                "message",
                "message must be at most 500 characters",
            ));
        }
        let request = DonationRequest {
            campaign_id,
            amount,
            anonymous: input.anonymous,
            message,
        };
        let gift = Gift {
            user_id: principal.user_id,
            key: key.to_string(),
            fingerprint: ledger::idempotency::fingerprint("donation", &request)?,
            campaign_id,
            amount,
            anonymous: input.anonymous,
            message: message.map(str::to_string),
        };
        let started = Instant::now();
        let done = self
            .group_commit
            .submit(&self.infra.db.write, &self.infra.kv, gift)
            .await?;
        // The batch already retired the cached page before answering.
        if !done.replayed {
            self.campaigns.totals_changed(campaign_id);
            metrics::counter!(DONATIONS).increment(1);
            metrics::counter!(DONATIONS_AMOUNT).increment(amount.unsigned_abs());
            tracing::info!(
                event = "donation_created",
                donation_id = %done.value.id,
                campaign_id = %campaign_id,
                donor_id = %principal.user_id,
                amount,
                duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                "donation created"
            );
        }
        Ok(done)
    }

    /// After a committed change of a campaign's totals: retires its cached detail page and
    /// tells live viewers (server-sent events).
    async fn stats_changed(&self, campaign_id: Uuid) {
        cache::stats_changed(&self.infra.kv, &[campaign_id]).await;
        self.campaigns.totals_changed(campaign_id);
    }

    /// Admin refund: reverses the gift's ledger lines, restores the wallet and fixes the
    /// stats. Once only, with a reason for the audit log.
    #[tracing::instrument(skip_all, fields(admin = %principal.user_id, donation_id = %donation_id))]
    pub async fn refund(
        &self,
        principal: &Principal,
        donation_id: Uuid,
        key: &str,
        reason: Option<&str>,
    ) -> Result<Idempotent<Donation>> {
        principal.require_admin()?;
        let reason = Action::DonationRefunded.reason(reason)?;
        // The key stands for the refund of this donation; the reason is not part of it, so a
        // retry that retypes the reason replays the first answer.
        let mut work = match ledger::begin(
            &self.infra.db.write,
            principal.user_id,
            key,
            "refund",
            &donation_id,
        )
        .await?
        {
            Started::Replayed(r) => return Ok(r),
            Started::Fresh(w) => w,
        };
        let (donation, shard) = repo::lock_donation(&mut work.tx, donation_id)
            .await?
            .ok_or(Error::NotFound("donation"))?;
        if donation.status != DonationStatus::Completed {
            return Err(Error::conflict(
                ErrorCode::AlreadyRefunded,
                "this donation was already refunded",
            ));
        }
        campaigns_repo::lock(&mut work.tx, donation.campaign_id).await?;
        let held =
            ledger::balance_of(&mut *work.tx, Account::Campaign(donation.campaign_id)).await?;
        if held < donation.amount {
            return Err(Error::conflict(
                ErrorCode::CampaignFundsPaidOut,
                "the campaign has paid out these funds; it cannot refund this donation",
            ));
        }
        let refunded = refund_in_tx(&mut work.tx, &donation, shard).await?;
        audit_log::record(
            &mut work.tx,
            principal.actor(),
            &Change {
                action: Action::DonationRefunded,
                target_type: "donation",
                target_id: donation_id.to_string(),
                before: json!({"status": donation.status, "amount": donation.amount}),
                after: json!({"status": refunded.status, "amount": refunded.amount}),
                reason,
            },
        )
        .await?;
        let done = work.finish(refunded).await?;
        self.stats_changed(done.value.campaign_id).await;
        Ok(done)
    }

    /// Creator of a keep_it_all campaign moves raised funds to their wallet.
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id, campaign_id = %campaign_id, amount))]
    pub async fn withdraw(
        &self,
        principal: &Principal,
        campaign_id: Uuid,
        amount: i64,
        key: &str,
    ) -> Result<Idempotent<Withdrawal>> {
        if amount <= 0 {
            return Err(Error::validation("amount", "amount must be positive"));
        }
        let request = (campaign_id, amount);
        let mut work = match ledger::begin(
            &self.infra.db.write,
            principal.user_id,
            key,
            "withdrawal",
            &request,
        )
        .await?
        {
            Started::Replayed(r) => return Ok(r),
            Started::Fresh(w) => w,
        };
        let campaign = campaigns_repo::lock(&mut work.tx, campaign_id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        if campaign.creator_id != principal.user_id {
            return Err(Error::Forbidden(
                "only the campaign's creator may withdraw its funds",
            ));
        }
        if campaign.funding_model != FundingModel::KeepItAll {
            return Err(Error::conflict(
                ErrorCode::FundsHeld,
                "all_or_nothing funds are released automatically at the deadline if the goal is met",
            ));
        }
        if campaign.status == CampaignStatus::Suspended {
            return Err(Error::conflict(
                ErrorCode::CampaignSuspended,
                "a suspended campaign's funds are frozen",
            ));
        }
        let held = ledger::balance_of(&mut *work.tx, Account::Campaign(campaign_id)).await?;
        if amount > held {
            return Err(Error::rule(
                ErrorCode::InsufficientFunds,
                format!("the campaign holds {held}"),
            ));
        }
        let withdrawal = pay_out(&mut work.tx, "withdrawal", &campaign, amount).await?;
        work.finish(withdrawal).await
    }

    /// Cancels a campaign (creator or admin). All-or-nothing campaigns refund every standing
    /// donation; keep-it-all campaigns stop taking donations and keep what was given.
    #[tracing::instrument(skip_all, fields(by = %principal.user_id, campaign_id = %campaign_id))]
    pub async fn cancel_campaign(&self, principal: &Principal, campaign_id: Uuid) -> Result<u32> {
        let mut tx = self.infra.db.write.begin().await?;
        let campaign = campaigns_repo::lock(&mut tx, campaign_id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        if campaign.creator_id != principal.user_id && !principal.is_admin() {
            return Err(Error::Forbidden(
                "only the campaign's creator or an admin may do this",
            ));
        }
        if matches!(
            campaign.status,
            CampaignStatus::Completed | CampaignStatus::Cancelled
        ) {
            return Err(Error::conflict(
                ErrorCode::InvalidTransition,
                "the campaign is already closed",
            ));
        }
        campaigns_repo::lock_exclusive(&mut tx, campaign_id).await?;
        let (settlement, refunded) = if campaign.funding_model == FundingModel::AllOrNothing {
            (Some("refunded"), refund_all(&mut tx, campaign_id).await?)
        } else {
            (None, 0)
        };
        campaigns_repo::set_status(&mut tx, campaign_id, CampaignStatus::Cancelled, settlement)
            .await?;
        super::recurring::end_for_campaign(&mut tx, campaign_id).await?;
        outbox::record(&mut tx, &Event::CampaignChanged { campaign_id }).await?;
        tx.commit().await?;
        self.campaigns.invalidate_pages().await;
        self.stats_changed(campaign_id).await;
        Ok(refunded)
    }

    /// Records the goal of every campaign given to since `since` whose committed total meets
    /// it and was not recorded: what a donation batch's own check after commit could miss if
    /// its process died between the commit and that check. Returns the campaigns recorded.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_goals(&self, since: DateTime<Utc>) -> Result<Vec<Uuid>> {
        let given = repo::campaigns_given_to_since(&self.infra.db.write, since).await?;
        if given.is_empty() {
            return Ok(Vec::new());
        }
        let marked = super::group_commit::record_goals_met(&self.infra.db.write, &given).await?;
        if !marked.is_empty() {
            self.campaigns.invalidate_pages().await;
        }
        Ok(marked)
    }

    /// Closes every active campaign whose deadline has passed: keep-it-all ones complete;
    /// all-or-nothing ones release funds to the creator if the goal was met, and refund every
    /// donor otherwise. Safe to run repeatedly and concurrently (each campaign is re-checked
    /// under its lock).
    #[tracing::instrument(skip_all)]
    pub async fn close_due_campaigns(&self, now: DateTime<Utc>) -> Result<Closing> {
        let mut summary = Closing::default();
        for id in campaigns_repo::due_for_closing(&self.infra.db.write, now).await? {
            let mut tx = self.infra.db.write.begin().await?;
            campaigns_repo::lock_exclusive(&mut tx, id).await?;
            let Some(campaign) = campaigns_repo::lock(&mut tx, id).await? else {
                continue;
            };
            if campaign.status != CampaignStatus::Active
                || campaign.deadline.is_none_or(|d| d > now)
            {
                continue;
            }
            close(&mut tx, &campaign, &mut summary).await?;
            outbox::record(&mut tx, &Event::CampaignChanged { campaign_id: id }).await?;
            tx.commit().await?;
            tracing::info!(campaign_id = %id, "campaign_closed");
        }
        if summary != Closing::default() {
            self.campaigns.invalidate_pages().await;
        }
        Ok(summary)
    }
}

/// Closes a campaign at its deadline, in the caller's transaction: keep-it-all completes;
/// all-or-nothing releases what it holds to the creator when the goal was reached, and
/// otherwise refunds every standing donation and is cancelled.
async fn close(conn: &mut PgConnection, campaign: &Campaign, summary: &mut Closing) -> Result<()> {
    let id = campaign.id;
    super::recurring::end_for_campaign(conn, id).await?;
    if campaign.funding_model == FundingModel::KeepItAll {
        campaigns_repo::set_status(conn, id, CampaignStatus::Completed, None).await?;
        summary.completed += 1;
        return Ok(());
    }
    let raised = campaigns_repo::stats_for(&mut *conn, &[id])
        .await?
        .get(&id)
        .map(|s| s.raised_amount)
        .unwrap_or(0);
    if raised >= campaign.goal_amount {
        let held = ledger::balance_of(&mut *conn, Account::Campaign(id)).await?;
        if held > 0 {
            pay_out(conn, "release", campaign, held).await?;
        }
        campaigns_repo::set_status(conn, id, CampaignStatus::Completed, Some("released")).await?;
        summary.released += 1;
    } else {
        summary.refunded_donations += refund_all(conn, id).await?;
        campaigns_repo::set_status(conn, id, CampaignStatus::Cancelled, Some("refunded")).await?;
        summary.refunded_campaigns += 1;
    }
    let outcome = if raised >= campaign.goal_amount {
        Settlement::Released
    } else {
        Settlement::Refunded
    };
    outbox::record(
        conn,
        &Event::CampaignSettled {
            campaign_id: id,
            outcome,
        },
    )
    .await?;
    Ok(())
}

/// Applies a provider's verdict on a pending deposit.
async fn settle_deposit(
    conn: &mut PgConnection,
    data: DepositEventData,
    failed: bool,
) -> Result<Deposit> {
    let deposit = repo::lock_deposit(conn, data.deposit_id)
        .await?
        .ok_or(Error::NotFound("deposit"))?;
    if deposit.amount != data.amount {
        return Err(Error::rule(
            ErrorCode::AmountMismatch,
            "event amount differs from the deposit",
        ));
    }
    if deposit.status != DepositStatus::Pending {
        return Err(Error::conflict(
            ErrorCode::DepositSettled,
            "the deposit is already settled",
        ));
    }
    if failed {
        repo::set_deposit_status(conn, deposit.id, DepositStatus::Failed, None).await
    } else {
        confirm_deposit(conn, &deposit).await
    }
}

/// Credits a confirmed deposit: the full amount in, then the provider's fee out as its own
/// line, so the wallet's history shows both.
async fn confirm_deposit(conn: &mut PgConnection, deposit: &Deposit) -> Result<Deposit> {
    let wallet = Account::Wallet(deposit.user_id);
    let mut postings = vec![Posting::transfer(
        "deposit",
        Account::ExternalPayments,
        wallet,
        deposit.amount,
    )?];
    if deposit.fee > 0 {
        postings.push(Posting::transfer(
            "processing_fee",
            wallet,
            Account::FeesProcessing,
            deposit.fee,
        )?);
    }
    let txn = ledger::write_many(conn, postings)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("a written deposit has no transaction id"))?;
    wallets::credit(conn, deposit.user_id, deposit.amount - deposit.fee).await?;
    outbox::record(
        conn,
        &Event::DepositConfirmed {
            deposit_id: deposit.id,
            user_id: deposit.user_id,
            amount: deposit.amount,
        },
    )
    .await?;
    repo::set_deposit_status(conn, deposit.id, DepositStatus::Confirmed, Some(txn)).await
}

async fn refund_in_tx(
    conn: &mut PgConnection,
    donation: &Donation,
    shard: i16,
) -> Result<Donation> {
    Posting::transfer(
        "refund",
        Account::Campaign(donation.campaign_id),
        Account::Wallet(donation.donor_id),
        donation.amount,
    )?
    .write(conn)
    .await?;
    wallets::credit(conn, donation.donor_id, donation.amount).await?;
    campaigns_repo::remove_gift(
        conn,
        donation.campaign_id,
        donation.donor_id,
        shard,
        donation.amount,
    )
    .await?;
    let refunded = repo::mark_refunded(conn, donation.id).await?;
    outbox::record(
        conn,
        &Event::DonationRefunded {
            donation_id: donation.id,
            campaign_id: donation.campaign_id,
            donor_id: donation.donor_id,
            amount: donation.amount,
        },
    )
    .await?;
    Ok(refunded)
}

async fn refund_all(conn: &mut PgConnection, campaign_id: Uuid) -> Result<u32> {
    let standing = repo::lock_standing_donations(conn, campaign_id).await?;
    let n = standing.len() as u32;
    for (donation, shard) in standing {
        refund_in_tx(conn, &donation, shard).await?;
    }
    Ok(n)
}

pub(crate) async fn pay_out(
    conn: &mut PgConnection,
    kind: &'static str,
    campaign: &Campaign,
    amount: i64,
) -> Result<Withdrawal> {
    let txn = Posting::transfer(
        kind,
        Account::Campaign(campaign.id),
        Account::Wallet(campaign.creator_id),
        amount,
    )?
    .write(conn)
    .await?;
    wallets::credit(conn, campaign.creator_id, amount).await?;
    repo::insert_withdrawal(conn, kind, campaign.id, campaign.creator_id, amount, txn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_cover_timestamp_and_body() {
        let sign = |secret, t, body| sign_payment_webhook(secret, t, body).expect("signs");
        let a = sign("s", 100, b"{}");
        assert_ne!(a, sign("s", 101, b"{}"));
        assert_ne!(a, sign("s", 100, b"{ }"));
        assert_ne!(a, sign("t", 100, b"{}"));
        assert!(a.starts_with("t=100,v1="));
    }
}
