//! Email notifications: which emails exist, what goes in them and who may opt out. Sending is a
//! worker job (`send_notification`); each notification is sent at most once per dedupe key
//! even though the job may be delivered more than once.

pub mod repo;
pub mod templates;

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &["notifications_sent"];

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, DurationRound, NaiveDate, NaiveTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use platform::config::Config;
use platform::error::Result;
use platform::infra::mail::Mailer;
use platform::signed;
use repo::{DonationFacts, Recipient};
use templates::{Email, money, render};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notification {
    /// To a new user.
    Welcome { user_id: Uuid },
    /// To the donor: the receipt for their gift.
    DonationReceipt { donation_id: Uuid },
    /// To a campaign creator: the gifts their campaigns received in the UTC hour starting at
    /// `hour`, in one email (one email per gift cost a job each and flooded popular creators).
    DonationsDigest {
        creator_id: Uuid,
        hour: DateTime<Utc>,
    },
    /// To the borrower: news about their loan.
    Loan { loan_id: Uuid, notice: LoanNotice },
    /// To the donor: their monthly gift was paused for lack of funds.
    RecurringPaused { plan_id: Uuid },
    /// To the account holder: the single-use link of account token `token_id`.
    PasswordReset { user_id: Uuid, token_id: Uuid },
    /// To the account holder's current address: the single-use link of account token
    /// `token_id` that confirms it.
    EmailVerification { user_id: Uuid, token_id: Uuid },
    /// To the donor: their gift went back to their wallet, and why.
    DonationRefunded { donation_id: Uuid },
    /// To the creator: the campaign reached its goal.
    GoalReached { campaign_id: Uuid },
    /// To one donor of an all-or-nothing campaign that met its goal: the money was released.
    CampaignReleased { campaign_id: Uuid, donor_id: Uuid },
    /// To whoever asked: their report or giving statement can be downloaded.
    ReportReady {
        report_id: Uuid,
        user_id: Uuid,
        report_kind: String,
    },
    /// To one lender of a loan: news about the money they lent.
    Lender {
        loan_id: Uuid,
        lender_id: Uuid,
        notice: LenderNotice,
    },
    /// To a lender: the repayments that reached their wallet on `day` (UTC), in one email.
    RepaymentDigest { lender_id: Uuid, day: NaiveDate },
    /// To one donor of a campaign: the update its creator posted.
    CampaignUpdate { update_id: Uuid, donor_id: Uuid },
    /// To the account holder: their payout was paid to the bank, or refused and returned.
    PayoutSettled { payout_id: Uuid, paid: bool },
    /// A kind this version no longer sends (`donation_received`, say), queued by an older one:
    /// handled as gone. Without it such a job fails to decode, which fails the worker's whole
    /// fetch of its queue, again after every restart.
    #[serde(other)]
    Retired,
}

/// What a [`notify_donors`] walk tells every donor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DonorNotice {
    /// The all-or-nothing campaign met its goal and its funds went to the creator.
    Released,
    /// The campaign's creator posted update `update_id`.
    Update { update_id: Uuid },
}

/// What a [`notify_lenders`] walk tells every lender of a loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum LenderNotice {
    /// Fully funded and disbursed: repayments start.
    Funded,
    /// The loan's oldest unpaid installment fell due on `due_on`.
    Late {
        due_on: NaiveDate,
    },
    Defaulted,
    WrittenOff,
}

/// What a loan email is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum LoanNotice {
    Approved,
    Rejected,
    Funded,
    /// The oldest unpaid installment fell due on `due_on`.
    Late {
        due_on: NaiveDate,
    },
    /// Installment `seq` falls due soon.
    Reminder {
        seq: i32,
    },
}

impl Notification {
    /// The template name, also recorded with each sent email.
    pub fn template(&self) -> &'static str {
        match self {
            Notification::Welcome { .. } => "welcome",
            Notification::DonationReceipt { .. } => "donation_receipt",
            Notification::DonationsDigest { .. } => "donations_digest",
            Notification::Loan { notice, .. } => match notice {
                LoanNotice::Approved => "loan_approved",
                LoanNotice::Rejected => "loan_rejected",
                LoanNotice::Funded => "loan_funded",
                LoanNotice::Late { .. } => "loan_late",
                LoanNotice::Reminder { .. } => "loan_reminder",
            },
            Notification::RecurringPaused { .. } => "recurring_paused",
            Notification::PasswordReset { .. } => "password_reset",
            Notification::EmailVerification { .. } => "email_verification",
            Notification::DonationRefunded { .. } => "donation_refunded",
            Notification::GoalReached { .. } => "goal_reached",
            Notification::CampaignReleased { .. } => "campaign_released",
            Notification::ReportReady { .. } => "report_ready",
            Notification::Lender { notice, .. } => match notice {
                LenderNotice::Funded => "lender_funded",
                LenderNotice::Late { .. } => "lender_late",
                LenderNotice::Defaulted => "lender_defaulted",
                LenderNotice::WrittenOff => "lender_written_off",
            },
            Notification::RepaymentDigest { .. } => "repayment_digest",
            Notification::CampaignUpdate { .. } => "campaign_update",
            Notification::PayoutSettled { paid: true, .. } => "payout_paid",
            Notification::PayoutSettled { paid: false, .. } => "payout_failed",
            Notification::Retired => "retired",
        }
    }

    /// One email per key, ever.
    pub fn dedupe_key(&self) -> String {
        match self {
            Notification::Welcome { user_id } => format!("welcome:{user_id}"),
            Notification::DonationReceipt { donation_id } => {
                format!("donation_receipt:{donation_id}")
            }
            Notification::DonationsDigest { creator_id, hour } => format!(
                "donations_digest:{creator_id}:{}",
                hour_start(*hour).to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            Notification::Loan { loan_id, notice } => match notice {
                LoanNotice::Late { due_on } => format!("loan_late:{loan_id}:{due_on}"),
                LoanNotice::Reminder { seq } => format!("loan_reminder:{loan_id}:{seq}"),
                _ => format!("{}:{loan_id}", self.template()),
            },
            // A plan can be paused again after a resume; one email per pause would need the
            // pause's date, so the plan's id plus the day the job runs is close enough.
            Notification::RecurringPaused { plan_id } => format!(
                "recurring_paused:{plan_id}:{}",
                chrono::Utc::now().date_naive()
            ),
            Notification::PasswordReset { token_id, .. } => format!("password_reset:{token_id}"),
            Notification::EmailVerification { token_id, .. } => {
                format!("email_verification:{token_id}")
            }
            Notification::DonationRefunded { donation_id } => {
                format!("donation_refunded:{donation_id}")
            }
            Notification::GoalReached { campaign_id } => format!("goal_reached:{campaign_id}"),
            Notification::CampaignReleased {
                campaign_id,
                donor_id,
            } => format!("campaign_released:{campaign_id}:{donor_id}"),
            Notification::ReportReady { report_id, .. } => format!("report_ready:{report_id}"),
            // A loan can fall late again after catching up: one email per missed due date.
            Notification::Lender {
                loan_id,
                lender_id,
                notice: LenderNotice::Late { due_on },
            } => format!("lender_late:{loan_id}:{lender_id}:{due_on}"),
            Notification::Lender {
                loan_id, lender_id, ..
            } => format!("{}:{loan_id}:{lender_id}", self.template()),
            Notification::RepaymentDigest { lender_id, day } => {
                format!("repayment_digest:{lender_id}:{day}")
            }
            Notification::CampaignUpdate {
                update_id,
                donor_id,
            } => format!("campaign_update:{update_id}:{donor_id}"),
            Notification::PayoutSettled { payout_id, .. } => format!("payout_settled:{payout_id}"),
            Notification::Retired => "retired".to_string(),
        }
    }

    /// Essential mail (receipts) is sent even to users who turned notifications off.
    pub fn essential(&self) -> bool {
        // Receipts, anything about money owed or no longer taken, and account security.
        matches!(
            self,
            Notification::DonationReceipt { .. }
                | Notification::RecurringPaused { .. }
                | Notification::Loan { .. }
                | Notification::PasswordReset { .. }
                | Notification::EmailVerification { .. }
                | Notification::DonationRefunded { .. }
                | Notification::CampaignReleased { .. }
                | Notification::ReportReady { .. }
                | Notification::Lender { .. }
                | Notification::RepaymentDigest { .. }
                | Notification::PayoutSettled { .. }
        )
    }
}

/// What `send` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// The user turned off non-essential mail.
    OptedOut,
    /// Handled by an earlier delivery of the same job.
    AlreadyHandled,
    /// The user or donation no longer exists (or the user is deactivated): nothing to send.
    Gone,
}

/// Notifications claimed and sent in one transaction at most: it stays open while their emails
/// are handed to the transport.
const SEND_CHUNK: usize = 100;

/// Sends `notification` unless it was already handled ([`send_all`] of one).
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    config: &Config,
    notification: &Notification,
) -> Result<Outcome> {
    let outcomes = send_all(pool, mailer, config, std::slice::from_ref(notification)).await?;
    // One notification in, one outcome out.
    Ok(outcomes.into_iter().next().unwrap_or(Outcome::Gone))
}

/// Sends each of `notifications` that was not already handled; their outcomes, in order.
///
/// A chunk at a time: the emails are composed (receipts with one query for the chunk), then
/// their dedupe rows are claimed with one statement, in a transaction that commits only after
/// the emails were handed to the transport. When a send fails, the claims of that email and of
/// the unsent ones after it are withdrawn and the rest committed before the error is returned,
/// so a retry sends only what was not sent. A concurrent duplicate waits on the rows and then
/// sees them taken.
#[tracing::instrument(skip_all, fields(count = notifications.len()))]
pub async fn send_all(
    pool: &PgPool,
    mailer: &Mailer,
    config: &Config,
    notifications: &[Notification],
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::with_capacity(notifications.len());
    for chunk in notifications.chunks(SEND_CHUNK) {
        outcomes.extend(send_chunk(pool, mailer, config, chunk).await?);
    }
    Ok(outcomes)
}

async fn send_chunk(
    pool: &PgPool,
    mailer: &Mailer,
    config: &Config,
    notifications: &[Notification],
) -> Result<Vec<Outcome>> {
    let mut conn = pool.acquire().await?;
    let receipt_ids: Vec<Uuid> = notifications
        .iter()
        .filter_map(|n| match n {
            Notification::DonationReceipt { donation_id } => Some(*donation_id),
            _ => None,
        })
        .collect();
    let receipts: HashMap<Uuid, repo::ReceiptFacts> = if receipt_ids.is_empty() {
        HashMap::new()
    } else {
        repo::receipts(&mut conn, &receipt_ids)
            .await?
            .into_iter()
            .map(|r| (r.donation.donation_id, r))
            .collect()
    };
    let mut emails = Vec::with_capacity(notifications.len());
    for notification in notifications {
        emails.push(compose(&mut conn, config, notification, &receipts).await?);
    }
    drop(conn);

    // Once per notification: a key may hold the day it was computed.
    let keys: Vec<String> = notifications.iter().map(Notification::dedupe_key).collect();
    let claims: Vec<repo::Claim> = notifications
        .iter()
        .zip(&keys)
        .zip(&emails)
        .filter_map(|((n, key), email)| {
            let (to, _) = email.as_ref()?;
            Some(repo::Claim {
                dedupe_key: key.clone(),
                user_id: to.user_id,
                template: n.template(),
                outcome: if opted_out(n, to) { "skipped" } else { "sent" },
            })
        })
        .collect();
    let mut tx = pool.begin().await?;
    // A key taken out as its email is handled, so a notification listed twice is sent once.
    let mut claimed: HashSet<String> = repo::claim_all(&mut tx, &claims)
        .await?
        .into_iter()
        .collect();
    let mut outcomes = Vec::with_capacity(notifications.len());
    for ((notification, key), email) in notifications.iter().zip(keys).zip(emails) {
        let Some((to, email)) = email else {
            outcomes.push(Outcome::Gone);
            continue;
        };
        if !claimed.remove(&key) {
            outcomes.push(Outcome::AlreadyHandled);
            continue;
        }
        if opted_out(notification, &to) {
            outcomes.push(Outcome::OptedOut);
            continue;
        }
        if let Err(e) = mailer.send(&to.email, &email.subject, email.body).await {
            // This email and the claimed ones after it were not sent: their claims go back.
            claimed.insert(key);
            let unsent: Vec<String> = claimed.into_iter().collect();
            repo::withdraw(&mut tx, &unsent).await?;
            tx.commit().await?;
            return Err(e);
        }
        outcomes.push(Outcome::Sent);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Non-essential mail to a user who turned it off is skipped (and recorded as such).
fn opted_out(notification: &Notification, to: &Recipient) -> bool {
    !notification.essential() && !to.email_notifications
}

/// The email of `notification` and who it goes to, or `None` when there is no one to send it
/// to. Receipts are looked up in `receipts`, read beforehand for the whole chunk.
async fn compose(
    conn: &mut sqlx::PgConnection,
    config: &Config,
    notification: &Notification,
    receipts: &HashMap<Uuid, repo::ReceiptFacts>,
) -> Result<Option<(Recipient, Email)>> {
    let base = config.public_url.trim_end_matches('/');
    let currency = config.currency.as_str();
    match *notification {
        Notification::Retired => Ok(None),
        Notification::Welcome { user_id } => {
            let Some(to) = repo::user(conn, user_id).await? else {
                return Ok(None);
            };
            let email = render(
                templates::WELCOME,
                &[("first_name", &to.first_name), ("public_url", base)],
            )?;
            Ok(Some((to, email)))
        }
        Notification::DonationReceipt { donation_id } => {
            let Some(repo::ReceiptFacts {
                donation: d,
                donor: to,
            }) = receipts.get(&donation_id).cloned()
            else {
                return Ok(None);
            };
            let email = render(
                templates::DONATION_RECEIPT,
                &[
                    ("first_name", &to.first_name),
                    ("campaign_title", &d.campaign_title),
                    ("amount", &money(d.amount, &d.currency)),
                    ("date", &d.created_at.format("%Y-%m-%d %H:%M").to_string()),
                    ("donation_id", &d.donation_id.to_string()),
                    // The web app's page: it fetches the PDF with the reader's sign-in (the
                    // API route needs a bearer token a link from an email cannot carry).
                    (
                        "receipt_url",
                        &format!("{base}/my/donations/{}/receipt", d.donation_id),
                    ),
                    ("campaign_url", &campaign_url(base, &d)),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::Loan { loan_id, notice } => {
            let Some(loan) = repo::loan(conn, loan_id).await? else {
                return Ok(None);
            };
            let Some(to) = repo::user(conn, loan.borrower_id).await? else {
                return Ok(None);
            };
            let amount = money(loan.amount, currency);
            let loan_url = format!("{base}/loans/{loan_id}");
            let common = [
                ("first_name", to.first_name.as_str()),
                ("purpose", loan.purpose.as_str()),
                ("amount", amount.as_str()),
                ("loan_url", loan_url.as_str()),
            ];
            let email = match notice {
                LoanNotice::Approved => render(templates::LOAN_APPROVED, &common)?,
                LoanNotice::Rejected => {
                    let reason = loan.last_reason.unwrap_or_else(|| "not given".into());
                    render(
                        templates::LOAN_REJECTED,
                        &[&common[..], &[("reason", &reason)]].concat(),
                    )?
                }
                LoanNotice::Funded => {
                    let total = money(loan.total_due.unwrap_or(loan.amount), currency);
                    let first_due = loan
                        .first_due
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_default();
                    let term = loan.term_months.to_string();
                    render(
                        templates::LOAN_FUNDED,
                        &[
                            &common[..],
                            &[
                                ("total_due", &total),
                                ("term_months", &term),
                                ("first_due", &first_due),
                            ],
                        ]
                        .concat(),
                    )?
                }
                LoanNotice::Late { due_on } => {
                    let due_on = due_on.to_string();
                    render(
                        templates::LOAN_LATE,
                        &[&common[..], &[("due_on", &due_on)]].concat(),
                    )?
                }
                LoanNotice::Reminder { seq } => {
                    let Some(installment) = repo::installment(conn, loan_id, seq).await? else {
                        return Ok(None);
                    };
                    let due = money(installment.amount - installment.paid_amount, currency);
                    let due_on = installment.due_at.format("%Y-%m-%d").to_string();
                    let seq = seq.to_string();
                    render(
                        templates::LOAN_REMINDER,
                        &[
                            ("first_name", to.first_name.as_str()),
                            ("purpose", loan.purpose.as_str()),
                            ("amount", due.as_str()),
                            ("loan_url", loan_url.as_str()),
                            ("due_on", due_on.as_str()),
                            ("seq", seq.as_str()),
                        ],
                    )?
                }
            };
            Ok(Some((to, email)))
        }
        Notification::RecurringPaused { plan_id } => {
            let Some(plan) = repo::recurring_plan(conn, plan_id).await? else {
                return Ok(None);
            };
            let Some(to) = repo::user(conn, plan.donor_id).await? else {
                return Ok(None);
            };
            let email = render(
                templates::RECURRING_PAUSED,
                &[
                    ("first_name", &to.first_name),
                    ("campaign_title", &plan.campaign_title),
                    ("amount", &money(plan.amount, currency)),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::PasswordReset { user_id, token_id } => {
            let Some(to) = repo::user(conn, user_id).await? else {
                return Ok(None);
            };
            let secret = config.jwt_secret.expose().as_bytes();
            let token = signed::sign(secret, PASSWORD_RESET_PURPOSE, token_id);
            let email = render(
                templates::PASSWORD_RESET,
                &[
                    ("first_name", &to.first_name),
                    ("reset_url", &format!("{base}/reset-password?token={token}")),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::EmailVerification { user_id, token_id } => {
            // Spent meanwhile (the address was verified or changed): the mail would carry a
            // dead link, to an address it was not meant for.
            if !repo::link_open(conn, token_id).await? {
                return Ok(None);
            }
            let Some(to) = repo::user(conn, user_id)
                .await?
                .filter(|to| !to.email_verified)
            else {
                return Ok(None);
            };
            let secret = config.jwt_secret.expose().as_bytes();
            let token = signed::sign(secret, EMAIL_VERIFICATION_PURPOSE, token_id);
            let email = render(
                templates::EMAIL_VERIFICATION,
                &[
                    ("first_name", &to.first_name),
                    ("email", &to.email),
                    ("verify_url", &format!("{base}/verify-email?token={token}")),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::PayoutSettled { payout_id, paid } => {
            let Some(p) = repo::payout(conn, payout_id).await? else {
                return Ok(None);
            };
            let Some(to) = repo::user(conn, p.user_id).await? else {
                return Ok(None);
            };
            let bank = p.bank.as_deref().unwrap_or("your bank account");
            let amount = money(p.amount, currency);
            let date = p.created_at.format("%Y-%m-%d").to_string();
            let payouts_url = format!("{base}/wallet");
            let email = if paid {
                render(
                    templates::PAYOUT_PAID,
                    &[
                        ("first_name", &to.first_name),
                        ("amount", &amount),
                        ("bank", bank),
                        ("date", &date),
                        ("fee", &money(p.fee, currency)),
                        ("net", &money(p.amount - p.fee, currency)),
                        ("payouts_url", &payouts_url),
                    ],
                )?
            } else {
                render(
                    templates::PAYOUT_FAILED,
                    &[
                        ("first_name", &to.first_name),
                        ("amount", &amount),
                        ("bank", bank),
                        ("date", &date),
                        (
                            "reason",
                            p.failure_reason.as_deref().unwrap_or("no reason given"),
                        ),
                        ("payouts_url", &payouts_url),
                    ],
                )?
            };
            Ok(Some((to, email)))
        }
        Notification::DonationRefunded { donation_id } => {
            let Some(d) = repo::donation(conn, donation_id).await? else {
                return Ok(None);
            };
            let Some(to) = repo::user(conn, d.donor_id).await? else {
                return Ok(None);
            };
            let why = match (d.campaign_status.as_str(), d.settlement.as_deref()) {
                ("cancelled", Some("refunded")) => {
                    "the campaign did not go ahead (it was cancelled, or did not reach its goal \
                     by its deadline), so every gift to it was returned."
                }
                _ => "Commonpot refunded it.",
            };
            let email = render(
                templates::DONATION_REFUNDED,
                &[
                    ("first_name", &to.first_name),
                    ("campaign_title", &d.campaign_title),
                    ("amount", &money(d.amount, &d.currency)),
                    ("date", &d.created_at.format("%Y-%m-%d").to_string()),
                    ("why", why),
                    ("campaign_url", &campaign_url(base, &d)),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::GoalReached { campaign_id } => {
            let Some(c) = repo::campaign(conn, campaign_id).await? else {
                return Ok(None);
            };
            let Some(to) = repo::user(conn, c.creator_id).await? else {
                return Ok(None);
            };
            let next = if c.funding_model == "all_or_nothing" {
                "What is raised is released to you when the campaign closes at its deadline."
            } else {
                "Donations keep coming in until the campaign closes."
            };
            let email = render(
                templates::GOAL_REACHED,
                &[
                    ("first_name", &to.first_name),
                    ("campaign_title", &c.title),
                    ("goal", &money(c.goal_amount, &c.currency)),
                    ("raised", &money(c.raised_amount, &c.currency)),
                    ("next", next),
                    ("campaign_url", &format!("{base}/campaigns/{campaign_id}")),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::CampaignReleased {
            campaign_id,
            donor_id,
        } => {
            let Some(c) = repo::campaign(conn, campaign_id).await? else {
                return Ok(None);
            };
            let Some(to) = repo::user(conn, donor_id).await? else {
                return Ok(None);
            };
            let given = repo::donor_total(conn, campaign_id, donor_id).await?;
            let email = render(
                templates::CAMPAIGN_RELEASED,
                &[
                    ("first_name", &to.first_name),
                    ("campaign_title", &c.title),
                    ("goal", &money(c.goal_amount, &c.currency)),
                    ("raised", &money(c.raised_amount, &c.currency)),
                    ("amount", &money(given, &c.currency)),
                    ("campaign_url", &format!("{base}/campaigns/{campaign_id}")),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::ReportReady {
            user_id,
            ref report_kind,
            ..
        } => {
            let Some(to) = repo::user(conn, user_id).await? else {
                return Ok(None);
            };
            // Donors find their statements with their donations; admins their reports.
            let (name, page) = match report_kind.as_str() {
                "giving_statement" => ("giving statement", "my/donations"),
                "loan_book" => ("loan book report", "admin/reports"),
                _ => ("donations report", "admin/reports"),
            };
            let email = render(
                templates::REPORT_READY,
                &[
                    ("first_name", &to.first_name),
                    ("report_name", name),
                    ("report_url", &format!("{base}/{page}")),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::Lender {
            loan_id,
            lender_id,
            notice,
        } => compose_lender(conn, config, loan_id, lender_id, notice).await,
        Notification::RepaymentDigest { lender_id, day } => {
            compose_digest(conn, config, lender_id, day).await
        }
        Notification::DonationsDigest { creator_id, hour } => {
            compose_donations_digest(conn, config, creator_id, hour).await
        }
        Notification::CampaignUpdate {
            update_id,
            donor_id,
        } => compose_update(conn, config, update_id, donor_id).await,
    }
}

/// A donor's copy of a campaign update; `None` when the update is gone, the campaign is hidden
/// again (suspended) or the donor holds no standing gift to it any more.
async fn compose_update(
    conn: &mut sqlx::PgConnection,
    config: &Config,
    update_id: Uuid,
    donor_id: Uuid,
) -> Result<Option<(Recipient, Email)>> {
    let Some(u) = repo::campaign_update(conn, update_id).await? else {
        return Ok(None);
    };
    if u.campaign_status == "suspended"
        || repo::donor_total(conn, u.campaign_id, donor_id).await? == 0
    {
        return Ok(None);
    }
    let Some(to) = repo::user(conn, donor_id).await? else {
        return Ok(None);
    };
    let base = config.public_url.trim_end_matches('/');
    let email = render(
        templates::CAMPAIGN_UPDATE,
        &[
            ("first_name", &to.first_name),
            ("campaign_title", &u.campaign_title),
            ("title", &u.title),
            ("body", &u.body),
            (
                "campaign_url",
                &format!("{base}/campaigns/{}", u.campaign_id),
            ),
            ("settings_url", &format!("{base}/account/settings")),
        ],
    )?;
    Ok(Some((to, email)))
}

/// A lender's email about a loan they fund; `None` when they hold no standing share in it.
async fn compose_lender(
    conn: &mut sqlx::PgConnection,
    config: &Config,
    loan_id: Uuid,
    lender_id: Uuid,
    notice: LenderNotice,
) -> Result<Option<(Recipient, Email)>> {
    let currency = config.currency.as_str();
    let Some(loan) = repo::loan(conn, loan_id).await? else {
        return Ok(None);
    };
    let position = repo::lender_position(conn, loan_id, lender_id).await?;
    if position.lent == 0 {
        return Ok(None);
    }
    let Some(to) = repo::user(conn, lender_id).await? else {
        return Ok(None);
    };
    let base = config.public_url.trim_end_matches('/');
    let (lent, repaid) = (
        money(position.lent, currency),
        money(position.repaid, currency),
    );
    let (loan_url, portfolio_url) = (format!("{base}/loans/{loan_id}"), portfolio_url(base));
    let common = [
        ("first_name", to.first_name.as_str()),
        ("purpose", loan.purpose.as_str()),
        ("lent", lent.as_str()),
        ("repaid", repaid.as_str()),
        ("loan_url", loan_url.as_str()),
        ("portfolio_url", portfolio_url.as_str()),
    ];
    let email = match notice {
        LenderNotice::Funded => {
            let first_due = loan
                .first_due
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let term = loan.term_months.to_string();
            let extra = [("term_months", term.as_str()), ("first_due", &first_due)];
            render(templates::LENDER_FUNDED, &[&common[..], &extra].concat())?
        }
        LenderNotice::Late { due_on } => {
            let due_on = due_on.to_string();
            render(
                templates::LENDER_LATE,
                &[&common[..], &[("due_on", due_on.as_str())]].concat(),
            )?
        }
        LenderNotice::Defaulted => render(templates::LENDER_DEFAULTED, &common)?,
        LenderNotice::WrittenOff => render(templates::LENDER_WRITTEN_OFF, &common)?,
    };
    Ok(Some((to, email)))
}

/// A lender's summary of the repayments that reached them on `day`; `None` when none did.
async fn compose_digest(
    conn: &mut sqlx::PgConnection,
    config: &Config,
    lender_id: Uuid,
    day: NaiveDate,
) -> Result<Option<(Recipient, Email)>> {
    let currency = config.currency.as_str();
    let (from, to_time) = day_bounds(day);
    let received = repo::repayments_received_between(conn, lender_id, from, to_time).await?;
    if received.is_empty() {
        return Ok(None);
    }
    let Some(to) = repo::user(conn, lender_id).await? else {
        return Ok(None);
    };
    let lines = received
        .iter()
        .map(|r| {
            format!(
                "- {} from \"{}\" at {} UTC",
                money(r.amount, currency),
                r.purpose,
                r.created_at.format("%H:%M")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let total = money(received.iter().map(|r| r.amount).sum(), currency);
    let base = config.public_url.trim_end_matches('/');
    let email = render(
        templates::REPAYMENT_DIGEST,
        &[
            ("first_name", &to.first_name),
            ("day", &day.to_string()),
            ("lines", &lines),
            ("total", &total),
            ("portfolio_url", &portfolio_url(base)),
        ],
    )?;
    Ok(Some((to, email)))
}

/// A creator's summary of the gifts their campaigns received in the hour from `hour`, one line
/// per campaign and no donor named (anonymous gifts stay anonymous); `None` when there were
/// none (refunded meanwhile, say).
async fn compose_donations_digest(
    conn: &mut sqlx::PgConnection,
    config: &Config,
    creator_id: Uuid,
    hour: DateTime<Utc>,
) -> Result<Option<(Recipient, Email)>> {
    let (from, to_time) = hour_bounds(hour);
    let campaigns = repo::gifts_to_creator_between(conn, creator_id, from, to_time).await?;
    if campaigns.is_empty() {
        return Ok(None);
    }
    let Some(to) = repo::user(conn, creator_id).await? else {
        return Ok(None);
    };
    let base = config.public_url.trim_end_matches('/');
    let lines = campaigns
        .iter()
        .map(|c| {
            format!(
                "- \"{}\": {}, {}; raised so far {} of its {} goal\n  {base}/campaigns/{}",
                c.title,
                counted(c.donations, "gift"),
                money(c.amount, &c.currency),
                money(c.raised_amount, &c.currency),
                money(c.goal_amount, &c.currency),
                c.campaign_id
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Summed per currency: campaigns need not all raise in the same one.
    let mut totals = std::collections::BTreeMap::<&str, i64>::new();
    for c in &campaigns {
        *totals.entry(c.currency.as_str()).or_default() += c.amount;
    }
    let total = totals
        .iter()
        .map(|(currency, amount)| money(*amount, currency))
        .collect::<Vec<_>>()
        .join(" and ");
    let email = render(
        templates::DONATIONS_DIGEST,
        &[
            ("first_name", &to.first_name),
            (
                "donations",
                &counted(campaigns.iter().map(|c| c.donations).sum(), "donation"),
            ),
            ("total", &total),
            ("from", &from.format("%H:00").to_string()),
            // The day's last hour ends at 24:00, not at 00:00 of the day it names.
            ("to", &format!("{:02}:00", from.hour() + 1)),
            ("day", &from.format("%Y-%m-%d").to_string()),
            ("lines", &lines),
        ],
    )?;
    Ok(Some((to, email)))
}

/// `1 gift`, `2 gifts`.
fn counted(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The web page listing everything a user has lent.
fn portfolio_url(base: &str) -> String {
    format!("{base}/my/lending")
}

/// `[day 00:00, next day 00:00)` in UTC.
fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = day.and_time(NaiveTime::MIN).and_utc();
    (from, from + chrono::Duration::days(1))
}

/// The start of the UTC hour `at` falls in.
pub fn hour_start(at: DateTime<Utc>) -> DateTime<Utc> {
    // Fails only for instants at the very edge of chrono's range.
    at.duration_trunc(chrono::Duration::hours(1)).unwrap_or(at)
}

/// `[start of at's hour, an hour later)`.
fn hour_bounds(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = hour_start(at);
    (from, from + chrono::Duration::hours(1))
}

/// Lenders a [`notify_lenders`] or [`send_repayment_digests`] walk reads at a time.
const LENDER_PAGE: i64 = 500;

/// Emails every lender with a standing share in `loan_id` about `notice`, one email each,
/// walking the lenders a page at a time. Each email is deduplicated on its own, so running the
/// walk again (a retried job) sends only what the last run did not. Returns how many were sent.
#[tracing::instrument(skip_all, fields(loan_id = %loan_id))]
pub async fn notify_lenders(
    pool: &PgPool,
    mailer: &Mailer,
    config: &Config,
    loan_id: Uuid,
    notice: LenderNotice,
) -> Result<usize> {
    let sent = send_each(
        pool,
        mailer,
        config,
        |after| async move {
            let mut conn = pool.acquire().await?;
            repo::lenders_after(&mut conn, loan_id, after, LENDER_PAGE).await
        },
        |lender_id| Notification::Lender {
            loan_id,
            lender_id,
            notice,
        },
    )
    .await?;
    tracing::info!(sent, "lenders_notified");
    Ok(sent)
}

/// Emails every lender who received part of a repayment on `day` (UTC) one summary of that
/// day's repayments, walking them a page at a time. Deduplicated per lender and day, so a
/// second run sends only what the first did not. Returns how many were sent.
#[tracing::instrument(skip_all, fields(%day))]
pub async fn send_repayment_digests(
    pool: &PgPool,
    mailer: &Mailer,
    config: &Config,
    day: NaiveDate,
) -> Result<usize> {
    let (from, to) = day_bounds(day);
    let sent = send_each(
        pool,
        mailer,
        config,
        |after| async move {
            let mut conn = pool.acquire().await?;
            repo::lenders_repaid_between(&mut conn, from, to, after, LENDER_PAGE).await
        },
        |lender_id| Notification::RepaymentDigest { lender_id, day },
    )
    .await?;
    tracing::info!(sent, "repayment_digests_sent");
    Ok(sent)
}

/// Sends `notification(id)` to each id `read_page(after)` reads (on a connection it holds only
/// for that read), a page at a time (ids ascending, each page after the last id of the one
/// before; each page through [`send_all`]), every email deduplicated on its own, so running a
/// walk again sends only what the last run did not. Returns how many were sent.
async fn send_each<Page>(
    pool: &PgPool,
    mailer: &Mailer,
    config: &Config,
    read_page: impl Fn(Option<Uuid>) -> Page,
    notification: impl Fn(Uuid) -> Notification,
) -> Result<usize>
where
    Page: std::future::Future<Output = Result<Vec<Uuid>>>,
{
    let mut after = None;
    let mut sent = 0;
    loop {
        let ids = read_page(after).await?;
        let Some(&last) = ids.last() else {
            break;
        };
        after = Some(last);
        let page: Vec<Notification> = ids.iter().map(|&id| notification(id)).collect();
        let outcomes = send_all(pool, mailer, config, &page).await?;
        sent += outcomes.iter().filter(|o| **o == Outcome::Sent).count();
    }
    Ok(sent)
}

/// Creators a [`send_donation_digests`] walk reads at a time.
const CREATOR_PAGE: i64 = 500;

/// Emails every creator whose campaigns received completed gifts in the UTC hour starting at
/// `hour` (any instant in it will do) one summary of that hour's gifts, walking them a page at
/// a time. Deduplicated per creator and hour, so a second run sends only what the first did
/// not. Returns how many were sent.
#[tracing::instrument(skip_all, fields(%hour))]
pub async fn send_donation_digests(
    pool: &PgPool,
    mailer: &Mailer,
    config: &Config,
    hour: DateTime<Utc>,
) -> Result<usize> {
    let (from, to) = hour_bounds(hour);
    let sent = send_each(
        pool,
        mailer,
        config,
        |after| async move {
            let mut conn = pool.acquire().await?;
            repo::creators_given_to_between(&mut conn, from, to, after, CREATOR_PAGE).await
        },
        |creator_id| Notification::DonationsDigest {
            creator_id,
            hour: from,
        },
    )
    .await?;
    tracing::info!(sent, "donation_digests_sent");
    Ok(sent)
}

/// Donors a [`notify_donors`] walk reads at a time.
const DONOR_PAGE: i64 = 500;

/// Emails every donor with a standing gift to `campaign_id` about `notice`, one email each,
/// walking the donors a page at a time. Each email is deduplicated on its own, so running the
/// walk again (a retried job) sends only what the last run did not. Returns how many were sent.
#[tracing::instrument(skip_all, fields(campaign_id = %campaign_id))]
pub async fn notify_donors(
    pool: &PgPool,
    mailer: &Mailer,
    config: &Config,
    campaign_id: Uuid,
    notice: DonorNotice,
) -> Result<usize> {
    let sent = send_each(
        pool,
        mailer,
        config,
        |after| async move {
            let mut conn = pool.acquire().await?;
            let page = repo::donors_after(&mut conn, campaign_id, after, DONOR_PAGE).await?;
            Ok(page.into_iter().map(|d| d.donor_id).collect())
        },
        |donor_id| match notice {
            DonorNotice::Released => Notification::CampaignReleased {
                campaign_id,
                donor_id,
            },
            DonorNotice::Update { update_id } => Notification::CampaignUpdate {
                update_id,
                donor_id,
            },
        },
    )
    .await?;
    tracing::info!(sent, "donors_notified");
    Ok(sent)
}

/// What password reset links are signed for (`platform::signed`); the accounts context opens
/// them with the same purpose.
pub const PASSWORD_RESET_PURPOSE: &str = "password_reset";

/// What email verification links are signed for; the accounts context opens them with the
/// same purpose.
pub const EMAIL_VERIFICATION_PURPOSE: &str = "verify_email";

/// Days before an installment falls due that its reminder goes out.
pub const REMINDER_DAYS: i64 = 3;

fn campaign_url(base: &str, d: &DonationFacts) -> String {
    format!("{base}/campaigns/{}", d.campaign_id)
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn receipts_are_essential_and_the_rest_is_not() {
        let id = Uuid::nil();
        assert!(Notification::DonationReceipt { donation_id: id }.essential());
        assert!(
            !Notification::DonationsDigest {
                creator_id: id,
                hour: Utc::now()
            }
            .essential()
        );
        assert!(!Notification::Welcome { user_id: id }.essential());
    }

    #[test]
    fn lender_mails_are_essential_and_keyed_per_lender_notice_and_due_date() {
        let (loan_id, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).expect("date");
        let late = |lender_id, d| Notification::Lender {
            loan_id,
            lender_id,
            notice: LenderNotice::Late { due_on: day(d) },
        };
        assert!(late(a, 1).essential());
        assert!(
            Notification::RepaymentDigest {
                lender_id: a,
                day: day(1)
            }
            .essential()
        );
        assert_ne!(late(a, 1).dedupe_key(), late(b, 1).dedupe_key());
        assert_ne!(late(a, 1).dedupe_key(), late(a, 2).dedupe_key());
        let funded = Notification::Lender {
            loan_id,
            lender_id: a,
            notice: LenderNotice::Funded,
        };
        assert_eq!(funded.dedupe_key(), format!("lender_funded:{loan_id}:{a}"));
        let digest = |d| Notification::RepaymentDigest {
            lender_id: a,
            day: day(d),
        };
        assert_ne!(digest(1).dedupe_key(), digest(2).dedupe_key());
    }

    #[test]
    fn update_mails_are_optional_and_keyed_per_update_and_donor() {
        let (update, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mail = |update_id, donor_id| Notification::CampaignUpdate {
            update_id,
            donor_id,
        };
        assert!(!mail(update, a).essential());
        assert_eq!(
            mail(update, a).dedupe_key(),
            format!("campaign_update:{update}:{a}")
        );
        assert_ne!(mail(update, a).dedupe_key(), mail(update, b).dedupe_key());
        assert_ne!(
            mail(update, a).dedupe_key(),
            mail(Uuid::new_v4(), a).dedupe_key()
        );
    }

    #[test]
    fn donation_digests_are_keyed_per_creator_and_hour() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let at = |h, m| {
            NaiveDate::from_ymd_opt(2026, 3, 1)
                .and_then(|d| d.and_hms_opt(h, m, 7))
                .expect("time")
                .and_utc()
        };
        let digest = |creator_id, hour| Notification::DonationsDigest { creator_id, hour };
        assert_eq!(
            digest(a, at(14, 0)).dedupe_key(),
            format!("donations_digest:{a}:2026-03-01T14:00:00Z")
        );
        assert_eq!(
            hour_start(at(14, 59)),
            at(14, 0) - chrono::Duration::seconds(7)
        );
        // Any instant of the hour names the same digest.
        assert_eq!(
            digest(a, at(14, 0)).dedupe_key(),
            digest(a, at(14, 59)).dedupe_key()
        );
        assert_ne!(
            digest(a, at(14, 0)).dedupe_key(),
            digest(a, at(15, 0)).dedupe_key()
        );
        assert_ne!(
            digest(a, at(14, 0)).dedupe_key(),
            digest(b, at(14, 0)).dedupe_key()
        );
    }

    #[test]
    fn kinds_an_older_version_queued_decode_as_retired_and_send_nothing() {
        let old = serde_json::json!({"type": "donation_received", "donation_id": Uuid::nil()});
        let decoded: Notification = serde_json::from_value(old).expect("decodes");
        assert_eq!(decoded, Notification::Retired);
        assert!(!decoded.essential());
    }

    #[test]
    fn counts_are_spelled_in_the_singular_or_plural() {
        assert_eq!(counted(1, "gift"), "1 gift");
        assert_eq!(counted(3, "donation"), "3 donations");
    }
}
