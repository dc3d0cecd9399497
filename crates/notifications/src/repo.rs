//! What each email needs, read in one query each from the views the accounts, campaigns, money
//! and loans contexts publish (`read.*`), plus this context's own dedupe table.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use platform::error::Result;

/// Who an email goes to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub email_notifications: bool,
    /// The current address was confirmed through an emailed link.
    pub email_verified: bool,
}

pub async fn user(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<Recipient>> {
    Ok(sqlx::query_as(
        "select id as user_id, email, first_name, email_notifications,
                email_verified_at is not null as email_verified
         from read.users where id = $1 and is_active",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

/// Whether account link `token_id` can still be used (unspent and unexpired).
pub async fn link_open(conn: &mut PgConnection, token_id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from read.account_tokens
                        where id = $1 and used_at is null and expires_at > now())",
    )
    .bind(token_id)
    .fetch_one(conn)
    .await?)
}

/// A donation with its campaign, for the donor's receipt and refund emails.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DonationFacts {
    pub donation_id: Uuid,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
    pub campaign_id: Uuid,
    pub campaign_title: String,
    pub currency: String,
    pub donor_id: Uuid,
    pub campaign_status: String,
    /// How an all-or-nothing campaign ended (`released` or `refunded`), once it has.
    pub settlement: Option<String>,
}

pub async fn donation(conn: &mut PgConnection, donation_id: Uuid) -> Result<Option<DonationFacts>> {
    Ok(sqlx::query_as(
        "select d.id as donation_id, d.amount, d.created_at, d.donor_id,
                c.id as campaign_id, c.title as campaign_title, c.currency,
                c.status as campaign_status, c.settlement
         from read.donations d
         join read.campaigns c on c.id = d.campaign_id
         where d.id = $1",
    )
    .bind(donation_id)
    .fetch_optional(conn)
    .await?)
}

/// A receipt's donation and its donor, read together.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReceiptFacts {
    #[sqlx(flatten)]
    pub donation: DonationFacts,
    #[sqlx(flatten)]
    pub donor: Recipient,
}

/// The receipts' facts for `donation_ids`, in one query: a batch of receipts would otherwise
/// cost two queries each. Donations whose donor is gone or deactivated are left out.
pub async fn receipts(conn: &mut PgConnection, donation_ids: &[Uuid]) -> Result<Vec<ReceiptFacts>> {
    Ok(sqlx::query_as(
        "select d.id as donation_id, d.amount, d.created_at, d.donor_id,
                c.id as campaign_id, c.title as campaign_title, c.currency,
                c.status as campaign_status, c.settlement,
                u.id as user_id, u.email, u.first_name, u.email_notifications,
                u.email_verified_at is not null as email_verified
         from read.donations d
         join read.campaigns c on c.id = d.campaign_id
         join read.users u on u.id = d.donor_id and u.is_active
         where d.id = any($1)",
    )
    .bind(donation_ids)
    .fetch_all(conn)
    .await?)
}

/// What a payout email says.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayoutFacts {
    pub user_id: Uuid,
    pub amount: i64,
    pub fee: i64,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `Bank name ••1234`, or null once the account holder deleted their account.
    pub bank: Option<String>,
}

pub async fn payout(conn: &mut PgConnection, payout_id: Uuid) -> Result<Option<PayoutFacts>> {
    Ok(sqlx::query_as(
        "select p.user_id, p.amount, p.fee, p.failure_reason, p.created_at,
                a.bank_name || ' ending ' || a.last4 as bank
         from read.payouts p left join read.payout_accounts a on a.id = p.payout_account_id
         where p.id = $1",
    )
    .bind(payout_id)
    .fetch_optional(conn)
    .await?)
}

/// One email's dedupe row, to claim.
#[derive(Debug, Clone)]
pub struct Claim {
    pub dedupe_key: String,
    pub user_id: Uuid,
    pub template: &'static str,
    /// `sent`, or `skipped` for a user who turned off non-essential mail.
    pub outcome: &'static str,
}

/// Claims every key of `claims` inside the caller's transaction, in one statement, and returns
/// the keys it claimed: a key claimed (and committed) before is not among them, its email was
/// already handled. A concurrent claim of the same key waits for the other transaction.
pub async fn claim_all(conn: &mut PgConnection, claims: &[Claim]) -> Result<Vec<String>> {
    let keys: Vec<&str> = claims.iter().map(|c| c.dedupe_key.as_str()).collect();
    let users: Vec<Uuid> = claims.iter().map(|c| c.user_id).collect();
    let templates: Vec<&str> = claims.iter().map(|c| c.template).collect();
    let outcomes: Vec<&str> = claims.iter().map(|c| c.outcome).collect();
    Ok(sqlx::query_scalar(
        "insert into notifications_sent (dedupe_key, user_id, template, outcome)
         select * from unnest($1::text[], $2::uuid[], $3::text[], $4::text[])
         on conflict (dedupe_key) do nothing
         returning dedupe_key",
    )
    .bind(&keys)
    .bind(&users)
    .bind(&templates)
    .bind(&outcomes)
    .fetch_all(conn)
    .await?)
}

/// Gives back claims of the caller's transaction whose emails were not sent, so that the
/// transaction can still commit the ones that were.
pub async fn withdraw(conn: &mut PgConnection, dedupe_keys: &[String]) -> Result<()> {
    sqlx::query("delete from notifications_sent where dedupe_key = any($1)")
        .bind(dedupe_keys)
        .execute(conn)
        .await?;
    Ok(())
}

/// A loan with what its emails mention.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoanFacts {
    pub borrower_id: Uuid,
    pub purpose: String,
    pub amount: i64,
    pub term_months: i32,
    pub total_due: Option<i64>,
    pub first_due: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the latest status change happened (e.g. the rejection reason).
    pub last_reason: Option<String>,
}

pub async fn loan(conn: &mut PgConnection, loan_id: Uuid) -> Result<Option<LoanFacts>> {
    Ok(sqlx::query_as(
        "select l.borrower_id, l.purpose, l.amount, l.term_months, l.total_due,
                (select min(due_at) from read.loan_installments i where i.loan_id = l.id) as first_due,
                (select reason from read.loan_transitions t where t.loan_id = l.id order by id desc limit 1)
                    as last_reason
         from read.loans l where l.id = $1",
    )
    .bind(loan_id)
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InstallmentFacts {
    pub amount: i64,
    pub paid_amount: i64,
    pub due_at: chrono::DateTime<chrono::Utc>,
}

pub async fn installment(
    conn: &mut PgConnection,
    loan_id: Uuid,
    seq: i32,
) -> Result<Option<InstallmentFacts>> {
    Ok(sqlx::query_as(
        "select amount, paid_amount, due_at from read.loan_installments where loan_id = $1 and seq = $2",
    )
    .bind(loan_id)
    .bind(seq)
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanFacts {
    pub donor_id: Uuid,
    pub amount: i64,
    pub campaign_title: String,
}

pub async fn recurring_plan(conn: &mut PgConnection, plan_id: Uuid) -> Result<Option<PlanFacts>> {
    Ok(sqlx::query_as(
        "select r.donor_id, r.amount, c.title as campaign_title
         from read.recurring_donations r join read.campaigns c on c.id = r.campaign_id where r.id = $1",
    )
    .bind(plan_id)
    .fetch_optional(conn)
    .await?)
}

/// A campaign with its totals, for the emails about it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CampaignFacts {
    pub campaign_id: Uuid,
    pub title: String,
    pub currency: String,
    pub goal_amount: i64,
    pub raised_amount: i64,
    pub creator_id: Uuid,
    pub funding_model: String,
}

pub async fn campaign(conn: &mut PgConnection, campaign_id: Uuid) -> Result<Option<CampaignFacts>> {
    Ok(sqlx::query_as(
        "select c.id as campaign_id, c.title, c.currency, c.goal_amount, c.creator_id,
                c.funding_model,
                coalesce((select t.raised_amount from read.campaign_totals t
                          where t.campaign_id = c.id), 0)::bigint as raised_amount
         from read.campaigns c where c.id = $1",
    )
    .bind(campaign_id)
    .fetch_optional(conn)
    .await?)
}

/// A donor's standing gifts to a campaign, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DonorTotal {
    pub donor_id: Uuid,
    pub amount: i64,
}

/// The campaign's donors with standing (unrefunded) gifts after `after` in id order, at most
/// `limit`: one page of a walk over every donor.
pub async fn donors_after(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DonorTotal>> {
    Ok(sqlx::query_as(
        "select donor_id, sum(amount)::bigint as amount from read.donations
         where campaign_id = $1 and status = 'completed'
           and ($2::uuid is null or donor_id > $2)
         group by donor_id order by donor_id limit $3",
    )
    .bind(campaign_id)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A campaign update with its campaign's title and status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UpdateFacts {
    pub campaign_id: Uuid,
    pub campaign_title: String,
    pub campaign_status: String,
    pub title: String,
    pub body: String,
}

pub async fn campaign_update(
    conn: &mut PgConnection,
    update_id: Uuid,
) -> Result<Option<UpdateFacts>> {
    Ok(sqlx::query_as(
        "select u.campaign_id, c.title as campaign_title, c.status as campaign_status,
                u.title, u.body
         from read.campaign_updates u join read.campaigns c on c.id = u.campaign_id
         where u.id = $1",
    )
    .bind(update_id)
    .fetch_optional(conn)
    .await?)
}

/// What one donor gave the campaign and was not refunded.
pub async fn donor_total(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    donor_id: Uuid,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select coalesce(sum(amount), 0)::bigint from read.donations
         where campaign_id = $1 and donor_id = $2 and status = 'completed'",
    )
    .bind(campaign_id)
    .bind(donor_id)
    .fetch_one(conn)
    .await?)
}

/// What one lender put into a loan (standing shares) and has had back from it so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LenderPosition {
    pub lent: i64,
    pub repaid: i64,
}

pub async fn lender_position(
    conn: &mut PgConnection,
    loan_id: Uuid,
    lender_id: Uuid,
) -> Result<LenderPosition> {
    Ok(sqlx::query_as(
        "select
            (select coalesce(sum(amount), 0)::bigint from read.loan_shares
             where loan_id = $1 and lender_id = $2 and refunded_at is null) as lent,
            (select coalesce(sum(d.amount), 0)::bigint from read.loan_distributions d
             join read.loan_repayments r on r.id = d.repayment_id
             where r.loan_id = $1 and d.lender_id = $2) as repaid",
    )
    .bind(loan_id)
    .bind(lender_id)
    .fetch_one(conn)
    .await?)
}

/// The loan's lenders with standing shares after `after` in id order, at most `limit`: one
/// page of a walk over every lender.
pub async fn lenders_after(
    conn: &mut PgConnection,
    loan_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select distinct lender_id from read.loan_shares
         where loan_id = $1 and refunded_at is null and ($2::uuid is null or lender_id > $2)
         order by lender_id limit $3",
    )
    .bind(loan_id)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Lenders who received part of a repayment made in `[from, to)`, after `after` in id order,
/// at most `limit`.
pub async fn lenders_repaid_between(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select distinct d.lender_id from read.loan_distributions d
         join read.loan_repayments r on r.id = d.repayment_id
         where r.created_at >= $1 and r.created_at < $2 and ($3::uuid is null or d.lender_id > $3)
         order by d.lender_id limit $4",
    )
    .bind(from)
    .bind(to)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// One lender's part of one repayment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReceivedRepayment {
    pub purpose: String,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
}

/// The lender's parts of the repayments made in `[from, to)`, oldest first.
pub async fn repayments_received_between(
    conn: &mut PgConnection,
    lender_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ReceivedRepayment>> {
    Ok(sqlx::query_as(
        "select l.purpose, d.amount, r.created_at from read.loan_distributions d
         join read.loan_repayments r on r.id = d.repayment_id
         join read.loans l on l.id = r.loan_id
         where d.lender_id = $1 and r.created_at >= $2 and r.created_at < $3
         order by r.created_at, r.id",
    )
    .bind(lender_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?)
}

/// Creators of campaigns that received completed gifts made in `[from, to)`, after `after` in
/// id order, at most `limit`. The range reads `idx_donation_created`.
pub async fn creators_given_to_between(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select distinct c.creator_id from read.donations d
         join read.campaigns c on c.id = d.campaign_id
         where d.created_at >= $1 and d.created_at < $2 and d.status = 'completed'
           and ($3::uuid is null or c.creator_id > $3)
         order by c.creator_id limit $4",
    )
    .bind(from)
    .bind(to)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// What one campaign received in a digest's hour, with its totals now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CampaignGifts {
    pub campaign_id: Uuid,
    pub title: String,
    pub currency: String,
    pub goal_amount: i64,
    /// Raised so far, the hour's gifts and any since included.
    pub raised_amount: i64,
    /// Completed gifts made in the hour, and their sum.
    pub donations: i64,
    pub amount: i64,
}

/// The creator's campaigns that received completed gifts made in `[from, to)`, largest sum
/// first. Reads the creator's campaigns (`idx_campaign_creator`), then each one's gifts in the
/// range (`idx_donation_campaign_created`).
pub async fn gifts_to_creator_between(
    conn: &mut PgConnection,
    creator_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CampaignGifts>> {
    Ok(sqlx::query_as(
        "select c.id as campaign_id, c.title, c.currency, c.goal_amount,
                coalesce((select t.raised_amount from read.campaign_totals t
                          where t.campaign_id = c.id), 0)::bigint as raised_amount,
                count(*)::bigint as donations, sum(d.amount)::bigint as amount
         from read.campaigns c
         join read.donations d on d.campaign_id = c.id
         where c.creator_id = $1 and d.created_at >= $2 and d.created_at < $3
           and d.status = 'completed'
         group by c.id, c.title, c.currency, c.goal_amount
         order by sum(d.amount) desc, c.id",
    )
    .bind(creator_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?)
}

/// Deletes the dedupe records of notifications handled before `before`: no job that old is
/// delivered again.
pub async fn prune(pool: &sqlx::PgPool, before: DateTime<Utc>) -> Result<u64> {
    platform::infra::db::prune(
        pool,
        "delete from notifications_sent where ctid in
           (select ctid from notifications_sent where created_at < $1 limit $2)",
        before,
    )
    .await
}
