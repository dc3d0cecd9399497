//! Job payloads: typed, serde-encoded, each with a unique constant name that is also its queue
//! name. Producers (the outbox relay, admin retries, the scheduler) and consumers (the worker)
//! share these types, so both sides always agree on the queue and the encoding.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Event;
use super::cache;
use notifications::{DonorNotice, LenderNotice, LoanNotice, Notification};
use outbox::Settlement;

/// A job payload type. The queue is `{REDIS_KEY_PREFIX}jobs:{NAME}`.
pub trait JobKind:
    Serialize + DeserializeOwned + Clone + std::fmt::Debug + Send + Sync + Unpin + 'static
{
    const NAME: &'static str;
}

/// Rebuild one campaign's stats from its donations, correcting and reporting any drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecomputeCampaignStats {
    pub campaign_id: Uuid,
}

impl JobKind for RecomputeCampaignStats {
    const NAME: &'static str = "recompute_campaign_stats";
}

/// Retire cache entries a change made stale. Names are relative to the Redis key prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidateCache {
    /// Keys to delete.
    pub keys: Vec<String>,
    /// Generation counters to bump: caches whose keys embed a generation (the campaign pages)
    /// are retired all at once.
    pub generations: Vec<String>,
}

impl JobKind for InvalidateCache {
    const NAME: &'static str = "invalidate_cache";
}

/// Send emails, each at most once (`notifications::send_all`). The outbox relay puts the
/// emails of many events in one job: a job costs the worker more than the email it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SendNotificationWire")]
pub struct SendNotification {
    pub notifications: Vec<Notification>,
}

impl SendNotification {
    pub fn one(notification: Notification) -> Self {
        Self {
            notifications: vec![notification],
        }
    }
}

/// What a queued `send_notification` job may hold: several emails, or the one email of a job
/// queued (or dead-lettered) by an older version.
#[derive(Deserialize)]
#[serde(untagged)]
enum SendNotificationWire {
    Many { notifications: Vec<Notification> },
    One { notification: Notification },
}

impl From<SendNotificationWire> for SendNotification {
    fn from(wire: SendNotificationWire) -> Self {
        match wire {
            SendNotificationWire::Many { notifications } => Self { notifications },
            SendNotificationWire::One { notification } => Self::one(notification),
        }
    }
}

impl JobKind for SendNotification {
    const NAME: &'static str = "send_notification";
}

/// Score a submitted loan application (`loans::LoanService::score`); idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreLoan {
    pub loan_id: Uuid,
}

impl JobKind for ScoreLoan {
    const NAME: &'static str = "score_loan";
}

/// Build a requested CSV report and upload it (`crate::reports::generate`); idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateReport {
    pub report_id: Uuid,
}

impl JobKind for GenerateReport {
    const NAME: &'static str = "generate_report";
}

/// Turn one committed event into a delivery per subscribed webhook endpoint
/// (`webhooks::dispatch`); idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchWebhooks {
    /// The outbox row id: the event's stable id for receivers.
    pub event_id: i64,
    pub event: Event,
}

impl JobKind for DispatchWebhooks {
    const NAME: &'static str = "dispatch_webhooks";
}

/// POST one signed webhook delivery (`webhooks::deliver`); a failed attempt is logged
/// and retried with backoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub delivery_id: Uuid,
}

impl JobKind for DeliverWebhook {
    const NAME: &'static str = "deliver_webhook";
}

/// Email every donor of a campaign (`notifications::notify_donors`), in batches, one email
/// per donor; run again, it sends only what was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyDonors {
    pub campaign_id: Uuid,
    pub notice: DonorNotice,
}

impl JobKind for NotifyDonors {
    const NAME: &'static str = "notify_donors";
}

/// Email every lender of a loan (`notifications::notify_lenders`), in batches, one email per
/// lender; run again, it sends only what was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyLenders {
    pub loan_id: Uuid,
    pub notice: LenderNotice,
}

impl JobKind for NotifyLenders {
    const NAME: &'static str = "notify_lenders";
}

/// Email every lender repaid on `day` (UTC) one summary of that day's repayments
/// (`notifications::send_repayment_digests`); run again, it sends only what was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRepaymentDigests {
    pub day: chrono::NaiveDate,
}

impl JobKind for SendRepaymentDigests {
    const NAME: &'static str = "send_repayment_digests";
}

/// Email every creator whose campaigns were given to in the UTC hour starting at `hour` one
/// summary of that hour's gifts (`notifications::send_donation_digests`); run again, it sends
/// only what was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendDonationDigests {
    pub hour: chrono::DateTime<chrono::Utc>,
}

impl JobKind for SendDonationDigests {
    const NAME: &'static str = "send_donation_digests";
}

/// Any job, for code that handles every kind alike: the relay and the dead-letter list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Job {
    RecomputeCampaignStats(RecomputeCampaignStats),
    InvalidateCache(InvalidateCache),
    SendNotification(SendNotification),
    ScoreLoan(ScoreLoan),
    GenerateReport(GenerateReport),
    DispatchWebhooks(DispatchWebhooks),
    DeliverWebhook(DeliverWebhook),
    NotifyDonors(NotifyDonors),
    NotifyLenders(NotifyLenders),
    SendRepaymentDigests(SendRepaymentDigests),
    SendDonationDigests(SendDonationDigests),
}

impl Job {
    /// The kind's constant name (and queue).
    pub fn name(&self) -> &'static str {
        match self {
            Job::RecomputeCampaignStats(_) => RecomputeCampaignStats::NAME,
            Job::InvalidateCache(_) => InvalidateCache::NAME,
            Job::SendNotification(_) => SendNotification::NAME,
            Job::ScoreLoan(_) => ScoreLoan::NAME,
            Job::GenerateReport(_) => GenerateReport::NAME,
            Job::DispatchWebhooks(_) => DispatchWebhooks::NAME,
            Job::DeliverWebhook(_) => DeliverWebhook::NAME,
            Job::NotifyDonors(_) => NotifyDonors::NAME,
            Job::NotifyLenders(_) => NotifyLenders::NAME,
            Job::SendRepaymentDigests(_) => SendRepaymentDigests::NAME,
            Job::SendDonationDigests(_) => SendDonationDigests::NAME,
        }
    }

    /// The jobs for outbox row `id`: those of [`Job::for_event`], plus the webhook fan-out
    /// when some endpoint subscribes to the event's kind (`subscribed`).
    pub fn for_outbox(id: i64, event: &Event, subscribed: bool) -> Vec<Job> {
        let mut jobs = Self::for_event(event);
        if subscribed && webhooks::EVENT_KINDS.contains(&event.kind()) {
            jobs.push(Job::DispatchWebhooks(DispatchWebhooks {
                event_id: id,
                event: event.clone(),
            }));
        }
        jobs
    }

    /// The jobs a committed event calls for. Donations retire their campaign's cached detail
    /// page themselves before answering (see `campaigns::cache`), so they need no cache job;
    /// stats are kept exact by the donation transaction itself and only re-checked here after a
    /// refund rewrote them.
    pub fn for_event(event: &Event) -> Vec<Job> {
        match *event {
            Event::UserRegistered { user_id } => {
                vec![notify(Notification::Welcome { user_id })]
            }
            Event::DepositConfirmed { .. } => Vec::new(),
            Event::PayoutSettled {
                payout_id, paid, ..
            } => vec![notify(Notification::PayoutSettled { payout_id, paid })],
            // Creators hear of gifts in an hourly digest (`SendDonationDigests`, queued by the
            // scheduler): one job per gift, not two.
            Event::DonationCreated { donation_id, .. } => {
                vec![notify(Notification::DonationReceipt { donation_id })]
            }
            Event::DonationRefunded {
                donation_id,
                campaign_id,
                ..
            } => vec![
                Job::RecomputeCampaignStats(RecomputeCampaignStats { campaign_id }),
                notify(Notification::DonationRefunded { donation_id }),
            ],
            Event::CampaignChanged { .. } => vec![retire_campaign_pages()],
            Event::CampaignGoalReached { campaign_id } => vec![
                retire_campaign_pages(),
                notify(Notification::GoalReached { campaign_id }),
            ],
            // Refunded donors hear from each refund's own email.
            Event::CampaignSettled {
                campaign_id,
                outcome: Settlement::Released,
            } => vec![Job::NotifyDonors(NotifyDonors {
                campaign_id,
                notice: DonorNotice::Released,
            })],
            Event::CampaignSettled {
                outcome: Settlement::Refunded,
                ..
            } => Vec::new(),
            // One job walks every donor, however many there are.
            Event::CampaignUpdatePosted {
                campaign_id,
                update_id,
            } => vec![Job::NotifyDonors(NotifyDonors {
                campaign_id,
                notice: DonorNotice::Update { update_id },
            })],
            Event::ReportReady {
                report_id,
                requested_by,
                ref report_kind,
            } => vec![notify(Notification::ReportReady {
                report_id,
                user_id: requested_by,
                report_kind: report_kind.clone(),
            })],
            Event::LoanSubmitted { loan_id } => vec![Job::ScoreLoan(ScoreLoan { loan_id })],
            Event::LoanApproved { loan_id } => vec![notify(Notification::Loan {
                loan_id,
                notice: LoanNotice::Approved,
            })],
            Event::LoanRejected { loan_id } => vec![notify(Notification::Loan {
                loan_id,
                notice: LoanNotice::Rejected,
            })],
            Event::LoanFunded { loan_id } => vec![
                notify(Notification::Loan {
                    loan_id,
                    notice: LoanNotice::Funded,
                }),
                notify_lenders(loan_id, LenderNotice::Funded),
            ],
            Event::LoanLate { loan_id, due_at } => {
                let due_on = due_at.date_naive();
                vec![
                    notify(Notification::Loan {
                        loan_id,
                        notice: LoanNotice::Late { due_on },
                    }),
                    notify_lenders(loan_id, LenderNotice::Late { due_on }),
                ]
            }
            Event::LoanDefaulted { loan_id } => {
                vec![notify_lenders(loan_id, LenderNotice::Defaulted)]
            }
            Event::LoanWrittenOff { loan_id } => {
                vec![notify_lenders(loan_id, LenderNotice::WrittenOff)]
            }
            // Borrowers see repayments in their wallet; lenders get a daily digest of theirs
            // (`SendRepaymentDigests`, queued by the scheduler).
            Event::LoanRepaymentReceived { .. } => Vec::new(),
            Event::RecurringDonationPaused { plan_id, .. } => {
                vec![notify(Notification::RecurringPaused { plan_id })]
            }
            Event::ReportRequested { report_id } => {
                vec![Job::GenerateReport(GenerateReport { report_id })]
            }
            Event::PasswordResetRequested { user_id, token_id } => {
                vec![notify(Notification::PasswordReset { user_id, token_id })]
            }
            Event::EmailVerificationRequested { user_id, token_id } => {
                vec![notify(Notification::EmailVerification {
                    user_id,
                    token_id,
                })]
            }
            Event::WebhookReplayRequested { delivery_id } => {
                vec![Job::DeliverWebhook(DeliverWebhook { delivery_id })]
            }
        }
    }
}

fn notify(notification: Notification) -> Job {
    Job::SendNotification(SendNotification::one(notification))
}

fn notify_lenders(loan_id: Uuid, notice: LenderNotice) -> Job {
    Job::NotifyLenders(NotifyLenders { loan_id, notice })
}

fn retire_campaign_pages() -> Job {
    Job::InvalidateCache(InvalidateCache {
        keys: Vec::new(),
        generations: vec![cache::CAMPAIGN_PAGES_GENERATION.to_string()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_donation_mails_only_its_receipt_and_retires_no_cache() {
        let donation_id = Uuid::new_v4();
        let jobs = Job::for_event(&Event::DonationCreated {
            donation_id,
            campaign_id: Uuid::new_v4(),
            donor_id: Uuid::new_v4(),
            amount: 500,
        });
        assert_eq!(
            jobs,
            [notify(Notification::DonationReceipt { donation_id })]
        );
    }

    #[test]
    fn an_update_queues_one_walk_over_the_donors() {
        let (campaign_id, update_id) = (Uuid::new_v4(), Uuid::new_v4());
        let jobs = Job::for_event(&Event::CampaignUpdatePosted {
            campaign_id,
            update_id,
        });
        assert_eq!(
            jobs,
            [Job::NotifyDonors(NotifyDonors {
                campaign_id,
                notice: DonorNotice::Update { update_id },
            })]
        );
    }

    #[test]
    fn a_campaign_change_retires_the_campaign_pages() {
        let jobs = Job::for_event(&Event::CampaignChanged {
            campaign_id: Uuid::new_v4(),
        });
        assert_eq!(jobs, [retire_campaign_pages()]);
    }

    #[test]
    fn subscribed_events_also_fan_out_to_webhooks_and_others_do_not() {
        let donation = Event::DonationCreated {
            donation_id: Uuid::nil(),
            campaign_id: Uuid::nil(),
            donor_id: Uuid::nil(),
            amount: 1,
        };
        assert_eq!(Job::for_outbox(6, &donation, false).len(), 1);
        let jobs = Job::for_outbox(7, &donation, true);
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            jobs.last(),
            Some(&Job::DispatchWebhooks(DispatchWebhooks {
                event_id: 7,
                event: donation,
            }))
        );
        let report_id = Uuid::new_v4();
        assert_eq!(
            Job::for_outbox(8, &Event::ReportRequested { report_id }, true),
            [Job::GenerateReport(GenerateReport { report_id })]
        );
        let user = Event::UserRegistered {
            user_id: Uuid::nil(),
        };
        assert!(
            Job::for_outbox(9, &user, true)
                .iter()
                .all(|j| j.name() != DispatchWebhooks::NAME)
        );
    }

    #[test]
    fn jobs_round_trip_through_json_with_their_kind_name() {
        let job = Job::RecomputeCampaignStats(RecomputeCampaignStats {
            campaign_id: Uuid::nil(),
        });
        let json = serde_json::to_value(&job).expect("encodes");
        assert_eq!(json["kind"], "recompute_campaign_stats");
        let back: Job = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, job);
        let digests = Job::SendDonationDigests(SendDonationDigests {
            hour: chrono::DateTime::UNIX_EPOCH,
        });
        let json = serde_json::to_value(&digests).expect("encodes");
        assert_eq!(json["kind"], "send_donation_digests");
        assert_eq!(
            serde_json::from_value::<Job>(json).expect("decodes"),
            digests
        );
    }

    #[test]
    fn a_mail_job_carries_many_emails_and_still_reads_the_one_email_of_an_older_version() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let many = Job::SendNotification(SendNotification {
            notifications: vec![
                Notification::DonationReceipt { donation_id: a },
                Notification::Welcome { user_id: b },
            ],
        });
        let json = serde_json::to_value(&many).expect("encodes");
        assert_eq!(json["kind"], "send_notification");
        assert_eq!(serde_json::from_value::<Job>(json).expect("decodes"), many);
        let older = serde_json::json!({
            "kind": "send_notification",
            "payload": {"notification": {"type": "welcome", "user_id": b}},
        });
        assert_eq!(
            serde_json::from_value::<Job>(older).expect("decodes"),
            notify(Notification::Welcome { user_id: b })
        );
    }
}
