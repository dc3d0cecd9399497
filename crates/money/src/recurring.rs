//! Monthly recurring donations. The donor creates, pauses, resumes or cancels a plan; the
//! campaign's creator or an admin can stop incoming plans (no refunds); plans end by themselves
//! when the campaign stops taking donations. The scheduler charges due plans daily: each charge
//! is an ordinary donation under the key `recurring:{plan}:{period}`, so a period is charged
//! once even if the scheduler runs twice. Insufficient funds are retried on the next two days,
//! then the plan is paused and the donor told. While an admin has the campaign suspended its
//! active plans are paused (`campaign_suspended`) and nothing is charged; reinstatement resumes
//! exactly those from the next occurrence of their day (a missed month is not made up).

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::model::{self, MAX_DONATION, MIN_DONATION};
use super::service::{Donate, MoneyService};
use accounts::{Principal, Role, Tier};
use campaigns::service::ModerationSteps;
use campaigns::{CampaignStatus, repo as campaigns_repo};
use outbox::Event;
use platform::Handles;
use platform::error::{Error, ErrorCode, Result};

mod repo;

/// Charge attempts per period before the plan is paused.
pub const MAX_ATTEMPTS: i16 = 3;

/// The `status_reason` of a plan paused because its campaign is suspended: only these resume
/// when it is reinstated (a donor's own pause stays).
pub const PAUSED_BY_SUSPENSION: &str = "campaign_suspended";

/// What a campaign's suspension and reinstatement do to its plans, run by the campaigns
/// context on the moderation's transaction (wired in the composition root).
pub const MODERATION: ModerationSteps = ModerationSteps {
    suspended: pause_for_suspension,
    reinstated: resume_after_suspension,
};

type Step<'c> = Pin<Box<dyn Future<Output = Result<u64>> + Send + 'c>>;

fn pause_for_suspension(conn: &mut PgConnection, campaign_id: Uuid, _today: NaiveDate) -> Step<'_> {
    Box::pin(repo::pause_for_campaign(
        conn,
        campaign_id,
        PAUSED_BY_SUSPENSION,
    ))
}

fn resume_after_suspension(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    today: NaiveDate,
) -> Step<'_> {
    Box::pin(async move {
        let paused = repo::lock_paused(&mut *conn, campaign_id, PAUSED_BY_SUSPENSION).await?;
        let (ids, next): (Vec<Uuid>, Vec<NaiveDate>) = paused
            .into_iter()
            .map(|(id, day)| (id, next_occurrence(today, day as u32)))
            .unzip();
        repo::resume(conn, &ids, &next).await
    })
}

/// `active`, `paused`, `cancelled`, `stopped` (by the campaign) or `ended` (campaign
/// closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RecurringStatus {
    Active,
    Paused,
    Cancelled,
    /// By the campaign's creator or an admin.
    Stopped,
    /// The campaign stopped taking donations.
    Ended,
}

impl RecurringStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
            Self::Stopped => "stopped",
            Self::Ended => "ended",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "RecurringDto", rename_all = "camelCase")
)]
pub struct RecurringPlan {
    pub id: Uuid,
    /// Not sent: plans are only ever shown to their donor.
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub donor_id: Uuid,
    pub campaign_id: Uuid,
    pub amount: i64,
    pub day_of_month: i16,
    pub status: RecurringStatus,
    /// Why it is not active, e.g. `insufficient_funds`, `by_donor`, `campaign_suspended`
    /// (resumes by itself when the campaign is reinstated); null while active.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub status_reason: Option<String>,
    pub next_charge_on: NaiveDate,
    /// The scheduler's retry count for this period; internal, not sent.
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub failed_attempts: i16,
    /// `YYYY-MM`; null before the first charge.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub last_charged_period: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a charging run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChargeRun {
    pub charged: u32,
    pub retry_later: u32,
    pub paused: u32,
    pub ended: u32,
}

/// The first date on or after `from` that falls on `day` (1..=28, valid in every month).
pub fn next_occurrence(from: NaiveDate, day: u32) -> NaiveDate {
    let this_month = from.with_day(day).unwrap_or(from);
    if this_month >= from {
        this_month
    } else {
        this_month
            .checked_add_months(Months::new(1))
            .unwrap_or(this_month)
    }
}

fn period_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// Monthly gifts: the donor's plans and the scheduler's charge run.
#[derive(Clone, Debug)]
pub struct RecurringService {
    infra: Handles,
    money: MoneyService,
}

impl RecurringService {
    pub fn new(infra: Handles, money: MoneyService) -> Self {
        Self { infra, money }
    }
    /// Starts a monthly gift to an active campaign, first charged on the next `day_of_month`.
    #[tracing::instrument(skip_all, fields(donor_id = %principal.user_id, campaign_id = %campaign_id))]
    pub async fn create(
        &self,
        principal: &Principal,
        campaign_id: Uuid,
        amount: i64,
        day_of_month: i32,
        today: NaiveDate,
    ) -> Result<RecurringPlan> {
        let amount = model::parse_amount("amount", amount, MIN_DONATION, MAX_DONATION)?;
        let day = u32::try_from(day_of_month)
            .ok()
            .filter(|d| (1..=28).contains(d))
            .ok_or_else(|| {
                Error::validation("dayOfMonth", "dayOfMonth must be between 1 and 28")
            })?;
        // The primary: whether the campaign still takes money must not lag.
        let campaign = campaigns_repo::find(&self.infra.db.write, campaign_id)
            .await?
            .filter(|c| c.status.is_public())
            .ok_or(Error::NotFound("campaign"))?;
        if campaign.status != CampaignStatus::Active {
            return Err(Error::conflict(
                ErrorCode::CampaignNotAccepting,
                "this campaign is not accepting donations",
            ));
        }
        repo::insert(
            &self.infra.db.write,
            principal.user_id,
            campaign_id,
            amount,
            day as i16,
            next_occurrence(today, day),
        )
        .await
        .map_err(|e| {
            e.on_constraint("recurring_one_live_plan", || {
                Error::conflict(
                    ErrorCode::AlreadySubscribed,
                    "you already have a recurring donation to this campaign",
                )
            })
        })
    }

    pub async fn mine(&self, principal: &Principal) -> Result<Vec<RecurringPlan>> {
        repo::of_donor(&self.infra.db.write, principal.user_id).await
    }

    /// The donor's own change: `pause`, `resume` or `cancel`.
    #[tracing::instrument(skip_all, fields(plan_id = %id, action))]
    pub async fn change(
        &self,
        principal: &Principal,
        id: Uuid,
        action: &str,
        today: NaiveDate,
    ) -> Result<RecurringPlan> {
        let plan = repo::find(&self.infra.db.write, id)
            .await?
            .filter(|p| p.donor_id == principal.user_id)
            .ok_or(Error::NotFound("recurring donation"))?;
        let invalid = || {
            Error::conflict(
                ErrorCode::InvalidTransition,
                format!(
                    "a {} recurring donation cannot be {action}d",
                    plan.status.as_str()
                ),
            )
        };
        use RecurringStatus::{Active, Cancelled, Paused};
        let by_suspension = plan.status_reason.as_deref() == Some(PAUSED_BY_SUSPENSION);
        match (action, plan.status) {
            ("resume", Paused) if by_suspension => Err(Error::conflict(
                ErrorCode::CampaignSuspended,
                "the campaign is suspended; the plan resumes when it is reinstated",
            )),
            ("pause", Active) => {
                repo::set_status(&self.infra.db.write, id, Paused, Some("by_donor"), None).await
            }
            ("resume", Paused) => {
                let next = next_occurrence(today, plan.day_of_month as u32);
                repo::set_status(&self.infra.db.write, id, Active, None, Some(next)).await
            }
            ("cancel", Active | Paused) => {
                repo::set_status(&self.infra.db.write, id, Cancelled, Some("by_donor"), None).await
            }
            ("pause" | "resume" | "cancel", _) => Err(invalid()),
            _ => Err(Error::validation(
                "action",
                "action must be pause, resume or cancel",
            )),
        }
    }

    /// The campaign's creator or an admin stops every live plan for the campaign (gifts
    /// already made stay).
    #[tracing::instrument(skip_all, fields(campaign_id = %campaign_id))]
    pub async fn stop_for_campaign(&self, principal: &Principal, campaign_id: Uuid) -> Result<u64> {
        let campaign = campaigns_repo::find(&self.infra.db.write, campaign_id)
            .await?
            .ok_or(Error::NotFound("campaign"))?;
        if campaign.creator_id != principal.user_id && !principal.is_admin() {
            return Err(Error::Forbidden(
                "only the campaign's creator or an admin may do this",
            ));
        }
        let mut tx = self.infra.db.write.begin().await?;
        let stopped = repo::stop_for_campaign(&mut *tx, campaign_id).await?;
        // Only an admin acting on someone else's campaign uses admin powers; a creator
        // stopping their own plans is not an admin action.
        if campaign.creator_id != principal.user_id {
            audit_log::record(
                &mut tx,
                principal.actor(),
                &audit_log::Change {
                    action: audit_log::Action::RecurringStopped,
                    target_type: "campaign",
                    target_id: campaign_id.to_string(),
                    before: serde_json::json!({"live_plans": stopped}),
                    after: serde_json::json!({"live_plans": 0}),
                    reason: None,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(stopped)
    }

    /// Charges every plan due on or before `now`'s date. Each plan is locked while it is
    /// handled (two schedulers never handle one plan at once), and the charge itself is
    /// idempotent per period.
    #[tracing::instrument(skip_all)]
    pub async fn charge_due(&self, now: DateTime<Utc>) -> Result<ChargeRun> {
        let today = now.date_naive();
        let due = repo::due(&self.infra.db.write, today).await?;
        let mut run = ChargeRun::default();
        for id in due {
            let mut tx = self.infra.db.write.begin().await?;
            let Some(plan) = repo::lock_due(&mut tx, id, today).await? else {
                continue;
            };
            let charged = self.charge(&plan).await;
            record_outcome(&mut tx, &plan, charged, today, &mut run).await?;
            tx.commit().await?;
        }
        if run != ChargeRun::default() {
            tracing::info!(?run, "recurring donations charged");
        }
        Ok(run)
    }

    /// One month's gift of `plan`, under a key fixed by the plan and the month, so a rerun of
    /// the same day's charge gives the same donation.
    async fn charge(&self, plan: &RecurringPlan) -> Result<()> {
        let donor = Principal {
            user_id: plan.donor_id,
            role: Role::User,
            tier: Tier::Standard,
            session_id: None,
            request_id: None,
        };
        let gift = Donate {
            amount: plan.amount,
            anonymous: false,
            message: None,
        };
        let key = format!("recurring:{}:{}", plan.id, period_of(plan.next_charge_on));
        self.money
            .donate(&donor, plan.campaign_id, gift, &key)
            .await
            .map(drop)
    }
}

/// What a charge attempt means for its plan, in the plan's locked transaction: charged (next
/// month scheduled), short of funds (retried tomorrow, paused after [`MAX_ATTEMPTS`]) or the
/// campaign gone (ended). Any other error aborts the run.
async fn record_outcome(
    tx: &mut PgConnection,
    plan: &RecurringPlan,
    charged: Result<()>,
    today: NaiveDate,
    run: &mut ChargeRun,
) -> Result<()> {
    match charged {
        Ok(()) => {
            let next = next_occurrence(
                plan.next_charge_on
                    .checked_add_months(Months::new(1))
                    .unwrap_or(today),
                plan.day_of_month as u32,
            );
            repo::record_charge(tx, plan.id, next, &period_of(plan.next_charge_on)).await?;
            run.charged += 1;
        }
        Err(Error::Rule {
            code: ErrorCode::InsufficientFunds,
            ..
        }) if plan.failed_attempts + 1 >= MAX_ATTEMPTS => {
            let paused = RecurringStatus::Paused;
            repo::set_status(&mut *tx, plan.id, paused, Some("insufficient_funds"), None).await?;
            let event = Event::RecurringDonationPaused {
                plan_id: plan.id,
                donor_id: plan.donor_id,
                campaign_id: plan.campaign_id,
            };
            outbox::record(tx, &event).await?;
            run.paused += 1;
        }
        Err(Error::Rule {
            code: ErrorCode::InsufficientFunds,
            ..
        }) => {
            let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
            repo::record_failed_attempt(tx, plan.id, plan.failed_attempts + 1, tomorrow).await?;
            run.retry_later += 1;
        }
        // A suspension pauses its plans in its own transaction, so a live plan meets a suspended
        // campaign only if the donor resumed it meanwhile: it waits for the reinstatement too.
        Err(Error::Conflict {
            code: ErrorCode::CampaignNotAccepting,
            ..
        }) if campaigns_repo::find(&mut *tx, plan.campaign_id)
            .await?
            .is_some_and(|c| c.status == CampaignStatus::Suspended) =>
        {
            let paused = RecurringStatus::Paused;
            repo::set_status(&mut *tx, plan.id, paused, Some(PAUSED_BY_SUSPENSION), None).await?;
            run.paused += 1;
        }
        Err(Error::Conflict {
            code: ErrorCode::CampaignNotAccepting,
            ..
        })
        | Err(Error::NotFound(_)) => {
            let ended = RecurringStatus::Ended;
            repo::set_status(&mut *tx, plan.id, ended, Some("campaign_closed"), None).await?;
            run.ended += 1;
        }
        Err(other) => return Err(other),
    }
    Ok(())
}

/// Ends every live plan of a campaign that closed (cancelled, or at its deadline), in the
/// closing transaction: a plan paused by a suspension or an empty wallet would otherwise wait
/// for good, since a paused plan is never charged and so never finds the campaign closed.
pub async fn end_for_campaign(conn: &mut PgConnection, campaign_id: Uuid) -> Result<u64> {
    repo::end_for_campaign(conn, campaign_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn the_next_charge_is_this_month_when_the_day_is_still_ahead() {
        assert_eq!(next_occurrence(d(2026, 11, 10), 15), d(2026, 11, 15));
        assert_eq!(next_occurrence(d(2026, 11, 15), 15), d(2026, 11, 15));
    }

    #[test]
    fn the_next_charge_rolls_into_next_month_and_year() {
        assert_eq!(next_occurrence(d(2026, 11, 20), 15), d(2026, 12, 15));
        assert_eq!(next_occurrence(d(2026, 12, 29), 28), d(2027, 1, 28));
    }

    #[test]
    fn periods_name_the_month_charged() {
        assert_eq!(period_of(d(2027, 1, 3)), "2027-01");
    }
}
