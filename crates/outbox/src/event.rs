//! Domain events: what happened, recorded in the outbox with the change that caused it. Their
//! `kind()` names are also the event kinds that outgoing webhooks subscribe to.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    UserRegistered {
        user_id: Uuid,
    },
    DepositConfirmed {
        deposit_id: Uuid,
        user_id: Uuid,
        amount: i64,
    },
    /// The payment provider paid a payout to the bank (`paid`), or the bank refused it and
    /// the amount went back to the wallet.
    PayoutSettled {
        payout_id: Uuid,
        user_id: Uuid,
        paid: bool,
    },
    DonationCreated {
        donation_id: Uuid,
        campaign_id: Uuid,
        donor_id: Uuid,
        amount: i64,
    },
    DonationRefunded {
        donation_id: Uuid,
        campaign_id: Uuid,
        donor_id: Uuid,
        amount: i64,
    },
    CampaignChanged {
        campaign_id: Uuid,
    },
    CampaignGoalReached {
        campaign_id: Uuid,
    },
    /// A loan application was submitted and waits in `scoring` for `score_loan`.
    LoanSubmitted {
        loan_id: Uuid,
    },
    LoanApproved {
        loan_id: Uuid,
    },
    LoanRejected {
        loan_id: Uuid,
    },
    /// Fully funded and disbursed to the borrower; the schedule is fixed.
    LoanFunded {
        loan_id: Uuid,
    },
    LoanRepaymentReceived {
        loan_id: Uuid,
        repayment_id: Uuid,
        amount: i64,
    },
    /// An installment is past due.
    LoanLate {
        loan_id: Uuid,
        /// When the oldest unpaid installment fell due.
        due_at: chrono::DateTime<chrono::Utc>,
    },
    LoanDefaulted {
        loan_id: Uuid,
    },
    /// An admin wrote off a defaulted loan: what it still owed is lost to its lenders.
    LoanWrittenOff {
        loan_id: Uuid,
    },
    /// A CSV report (or a donor's giving statement) was requested; the worker builds it.
    ReportRequested {
        report_id: Uuid,
    },
    /// A webhook delivery is to be sent again (its owner asked for a replay).
    WebhookReplayRequested {
        delivery_id: Uuid,
    },
    /// A recurring donation could not be charged three days running and was paused.
    RecurringDonationPaused {
        plan_id: Uuid,
        donor_id: Uuid,
        campaign_id: Uuid,
    },
    /// An all-or-nothing campaign closed at its deadline: its funds were released to the
    /// creator (goal met) or every standing donation was refunded.
    CampaignSettled {
        campaign_id: Uuid,
        outcome: Settlement,
    },
    /// A requested report (or giving statement) was built and can be downloaded.
    ReportReady {
        report_id: Uuid,
        requested_by: Uuid,
        /// The report kind, e.g. `giving_statement`.
        report_kind: String,
    },
    /// Someone asked for a password reset link for this account; the link is signed from
    /// `token_id` when the email is composed, so neither the outbox nor the queue holds it.
    PasswordResetRequested {
        user_id: Uuid,
        token_id: Uuid,
    },
    /// A link confirming the account's current email address was issued (at registration,
    /// after an email change or on request); signed from `token_id` like a reset link.
    EmailVerificationRequested {
        user_id: Uuid,
        token_id: Uuid,
    },
    /// The campaign's creator (or an admin) posted an update for its donors.
    CampaignUpdatePosted {
        campaign_id: Uuid,
        update_id: Uuid,
    },
}

/// How an all-or-nothing campaign ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    Released,
    Refunded,
}

impl Event {
    /// Every `kind()` this build knows. The relay only takes outbox rows of these kinds, so rows
    /// written by a newer api wait for a worker that understands them instead of blocking.
    pub const KINDS: &[&str] = &[
        "user.registered",
        "deposit.confirmed",
        "payout.settled",
        "donation.created",
        "donation.refunded",
        "campaign.changed",
        "campaign.goal_reached",
        "loan.submitted",
        "loan.approved",
        "loan.rejected",
        "loan.funded",
        "loan.repayment_received",
        "loan.late",
        "loan.defaulted",
        "report.requested",
        "webhook.replay_requested",
        "recurring_donation.paused",
        "campaign.settled",
        "report.ready",
        "user.password_reset_requested",
        "loan.written_off",
        "campaign.update_posted",
        "user.email_verification_requested",
    ];

    /// Stable dotted name, e.g. `donation.created`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::UserRegistered { .. } => "user.registered",
            Event::DepositConfirmed { .. } => "deposit.confirmed",
            Event::PayoutSettled { .. } => "payout.settled",
            Event::DonationCreated { .. } => "donation.created",
            Event::DonationRefunded { .. } => "donation.refunded",
            Event::CampaignChanged { .. } => "campaign.changed",
            Event::CampaignGoalReached { .. } => "campaign.goal_reached",
            Event::LoanSubmitted { .. } => "loan.submitted",
            Event::LoanApproved { .. } => "loan.approved",
            Event::LoanRejected { .. } => "loan.rejected",
            Event::LoanFunded { .. } => "loan.funded",
            Event::LoanRepaymentReceived { .. } => "loan.repayment_received",
            Event::LoanLate { .. } => "loan.late",
            Event::LoanDefaulted { .. } => "loan.defaulted",
            Event::ReportRequested { .. } => "report.requested",
            Event::WebhookReplayRequested { .. } => "webhook.replay_requested",
            Event::RecurringDonationPaused { .. } => "recurring_donation.paused",
            Event::CampaignSettled { .. } => "campaign.settled",
            Event::ReportReady { .. } => "report.ready",
            Event::PasswordResetRequested { .. } => "user.password_reset_requested",
            Event::LoanWrittenOff { .. } => "loan.written_off",
            Event::CampaignUpdatePosted { .. } => "campaign.update_posted",
            Event::EmailVerificationRequested { .. } => "user.email_verification_requested",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_is_listed_in_kinds() {
        let id = Uuid::nil();
        let all = [
            Event::UserRegistered { user_id: id },
            Event::DepositConfirmed {
                deposit_id: id,
                user_id: id,
                amount: 1,
            },
            Event::PayoutSettled {
                payout_id: id,
                user_id: id,
                paid: true,
            },
            Event::DonationCreated {
                donation_id: id,
                campaign_id: id,
                donor_id: id,
                amount: 1,
            },
            Event::DonationRefunded {
                donation_id: id,
                campaign_id: id,
                donor_id: id,
                amount: 1,
            },
            Event::CampaignChanged { campaign_id: id },
            Event::CampaignGoalReached { campaign_id: id },
            Event::LoanSubmitted { loan_id: id },
            Event::LoanApproved { loan_id: id },
            Event::LoanRejected { loan_id: id },
            Event::LoanFunded { loan_id: id },
            Event::LoanRepaymentReceived {
                loan_id: id,
                repayment_id: id,
                amount: 1,
            },
            Event::LoanLate {
                loan_id: id,
                due_at: chrono::Utc::now(),
            },
            Event::LoanDefaulted { loan_id: id },
            Event::ReportRequested { report_id: id },
            Event::WebhookReplayRequested { delivery_id: id },
            Event::RecurringDonationPaused {
                plan_id: id,
                donor_id: id,
                campaign_id: id,
            },
            Event::CampaignSettled {
                campaign_id: id,
                outcome: Settlement::Released,
            },
            Event::ReportReady {
                report_id: id,
                requested_by: id,
                report_kind: "loan_book".into(),
            },
            Event::PasswordResetRequested {
                user_id: id,
                token_id: id,
            },
            Event::LoanWrittenOff { loan_id: id },
            Event::CampaignUpdatePosted {
                campaign_id: id,
                update_id: id,
            },
            Event::EmailVerificationRequested {
                user_id: id,
                token_id: id,
            },
        ];
        let kinds: Vec<_> = all.iter().map(Event::kind).collect();
        assert_eq!(kinds, Event::KINDS);
    }
}
