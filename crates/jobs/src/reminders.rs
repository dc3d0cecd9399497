//! Installment reminders: the scheduler's daily producer of `send_notification` jobs.

use chrono::{DateTime, Utc};

use super::kinds::{Job, SendNotification};
use super::queue::Queues;
use notifications::{LoanNotice, Notification, REMINDER_DAYS};
use platform::error::Result;

/// Queues a reminder for every unpaid installment of a repaying loan that falls due within
/// [`REMINDER_DAYS`] of `now`. Safe to run daily and twice: each reminder has its own dedupe key.
#[tracing::instrument(skip_all)]
pub async fn queue_loan_reminders(
    db: &sqlx::PgPool,
    queues: &Queues,
    now: DateTime<Utc>,
) -> Result<usize> {
    let due = loans::repo::installments_due_within(db, now, REMINDER_DAYS as i32).await?;
    let jobs = due
        .iter()
        .map(|&(loan_id, seq)| {
            let notification = Notification::Loan {
                loan_id,
                notice: LoanNotice::Reminder { seq },
            };
            let key = notification.dedupe_key();
            (
                Job::SendNotification(SendNotification::one(notification)),
                Some(key),
            )
        })
        .collect();
    queues.push_all(jobs).await?;
    Ok(due.len())
}
