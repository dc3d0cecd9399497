//! Email notifications: which emails exist, what goes in them and who may opt out. Sending is a
//! worker job (`send_notification`); each notification is sent at most once per dedupe key
//! even though the job may be delivered more than once.

pub mod repo;
pub mod templates;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;
use crate::infra::mail::Mailer;
use repo::{DonationFacts, Recipient};
use templates::{Email, money, render};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notification {
    /// To a new user.
    Welcome { user_id: Uuid },
    /// To the donor: the receipt for their gift.
    DonationReceipt { donation_id: Uuid },
    /// To the campaign's creator: someone gave.
    DonationReceived { donation_id: Uuid },
}

impl Notification {
    /// The template name, also recorded with each sent email.
    pub fn template(&self) -> &'static str {
        match self {
            Notification::Welcome { .. } => "welcome",
            Notification::DonationReceipt { .. } => "donation_receipt",
            Notification::DonationReceived { .. } => "donation_received",
        }
    }

    /// One email per key, ever.
    pub fn dedupe_key(&self) -> String {
        match self {
            Notification::Welcome { user_id } => format!("welcome:{user_id}"),
            Notification::DonationReceipt { donation_id }
            | Notification::DonationReceived { donation_id } => {
                format!("{}:{donation_id}", self.template())
            }
        }
    }

    /// Essential mail (receipts) is sent even to users who turned notifications off.
    pub fn essential(&self) -> bool {
        matches!(self, Notification::DonationReceipt { .. })
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

/// Sends `notification` unless it was already handled.
///
/// The dedupe row is inserted in a transaction that commits only after the mail was handed to
/// the transport: a failed send rolls it back so a retry sends again, and a concurrent
/// duplicate waits on the row and then sees it taken.
#[tracing::instrument(skip_all, fields(template = notification.template()))]
pub async fn send(
    pool: &PgPool,
    mailer: &Mailer,
    public_url: &str,
    notification: &Notification,
) -> Result<Outcome> {
    let mut conn = pool.acquire().await?;
    let Some((to, email)) = compose(&mut conn, public_url, notification).await? else {
        return Ok(Outcome::Gone);
    };
    drop(conn);
    let opted_out = !notification.essential() && !to.email_notifications;
    let mut tx = pool.begin().await?;
    let outcome = if opted_out { "skipped" } else { "sent" };
    let key = notification.dedupe_key();
    if !repo::claim(&mut tx, &key, to.user_id, notification.template(), outcome).await? {
        return Ok(Outcome::AlreadyHandled);
    }
    if !opted_out {
        mailer.send(&to.email, &email.subject, email.body).await?;
    }
    tx.commit().await?;
    Ok(if opted_out {
        Outcome::OptedOut
    } else {
        Outcome::Sent
    })
}

async fn compose(
    conn: &mut sqlx::PgConnection,
    public_url: &str,
    notification: &Notification,
) -> Result<Option<(Recipient, Email)>> {
    let base = public_url.trim_end_matches('/');
    match *notification {
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
            let Some(d) = repo::donation(conn, donation_id).await? else {
                return Ok(None);
            };
            let Some(to) = repo::user(conn, d.donor_id).await? else {
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
                    ("campaign_url", &campaign_url(base, &d)),
                ],
            )?;
            Ok(Some((to, email)))
        }
        Notification::DonationReceived { donation_id } => {
            let Some(d) = repo::donation(conn, donation_id).await? else {
                return Ok(None);
            };
            let Some(to) = repo::user(conn, d.creator_id).await? else {
                return Ok(None);
            };
            let donor = if d.anonymous {
                "An anonymous donor".to_string()
            } else {
                format!("{} {}", d.donor_first_name, d.donor_last_name)
            };
            let email = render(
                templates::DONATION_RECEIVED,
                &[
                    ("first_name", &to.first_name),
                    ("donor_name", &donor),
                    ("campaign_title", &d.campaign_title),
                    ("amount", &money(d.amount, &d.currency)),
                    ("raised", &money(d.raised_amount, &d.currency)),
                    ("goal", &money(d.goal_amount, &d.currency)),
                    ("campaign_url", &campaign_url(base, &d)),
                ],
            )?;
            Ok(Some((to, email)))
        }
    }
}

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
        assert!(!Notification::DonationReceived { donation_id: id }.essential());
        assert!(!Notification::Welcome { user_id: id }.essential());
    }

    #[test]
    fn donor_and_creator_mails_for_one_donation_have_different_keys() {
        let id = Uuid::new_v4();
        assert_ne!(
            Notification::DonationReceipt { donation_id: id }.dedupe_key(),
            Notification::DonationReceived { donation_id: id }.dedupe_key()
        );
    }
}
