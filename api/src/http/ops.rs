//! Operations: the admin's view of the job queues and dead letters, and the public ledger
//! digests anyone can use to check that history was not rewritten.

use chrono::{DateTime, NaiveDate, Utc};
use domain::App;
use domain::jobs::{
    dead_letter,
    queue::{QueueDepth, Queues},
};
use domain::ledger::digest as ledger_digest;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::common::Json;
use uuid::Uuid;

use super::ApiTags;
use super::enums::{JobQueue, from_db};
use super::error::{ADMIN, API, ApiResult, BY_ID, PARAMS};
use super::params::DigestLimit;
use super::public::NoAuth;
use super::security::Auth;

// Not the jobs crate's depth row: its queue name is text, sent as the JobQueue set.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct QueueDto {
    pub queue: JobQueue,
    /// Waiting to be picked up.
    pub pending: u64,
    /// Delayed: scheduled or waiting for a retry.
    pub scheduled: u64,
    /// Taken by a worker and not finished: running, or held by a worker that stopped until its
    /// heartbeat lapses (about 15 s) and they are queued again.
    pub in_flight: u64,
}

// Not the dead letter itself: the job is sent as JSON and its queue as the JobQueue set.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DeadLetterDto {
    pub id: Uuid,
    /// The job's queue.
    pub queue: JobQueue,
    /// The job payload.
    pub job: serde_json::Value,
    pub error: String,
    pub attempts: u64,
    pub failed_at: DateTime<Utc>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct JobsOverview {
    pub queues: Vec<QueueDto>,
    /// Newest first (at most 100).
    pub dead_letters: Vec<DeadLetterDto>,
}

// Not the ledger digest: its Merkle root is bytes, sent as hex.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DigestDto {
    pub day: NaiveDate,
    /// Hex SHA-256 Merkle root (RFC 6962 tree) over the day's ledger lines in id order.
    pub merkle_root: String,
    pub line_count: i64,
    /// Null for a day without ledger lines.
    #[oai(nullable)]
    pub first_id: Option<i64>,
    #[oai(nullable)]
    pub last_id: Option<i64>,
}

#[derive(ApiResponse)]
pub enum Retried {
    /// Back on its queue.
    #[oai(status = 202)]
    Accepted,
}

pub struct OpsApi;

fn queue(name: &str) -> JobQueue {
    from_db(name, JobQueue::parse, JobQueue::SendNotification)
}

impl From<QueueDepth> for QueueDto {
    fn from(q: QueueDepth) -> Self {
        QueueDto {
            queue: queue(q.queue),
            pending: q.pending,
            scheduled: q.scheduled,
            in_flight: q.in_flight,
        }
    }
}

#[OpenApi(prefix_path = "/api")]
impl OpsApi {
    /// Admin: queue depths and the dead-letter list.
    #[oai(
        path = "/admin/jobs",
        method = "get",
        tag = "ApiTags::Admin",
        operation_id = "getJobs"
    )]
    async fn jobs(
        &self,
        app: Data<&App>,
        auth: Auth,
    ) -> ApiResult<Json<JobsOverview>, { API | ADMIN }> {
        auth.admin()?;
        let queues = Queues::new(&app.infra.kv).depths().await?;
        let letters = dead_letter::list(&app.infra.db.write, 100).await?;
        Ok(Json(JobsOverview {
            queues: queues.into_iter().map(QueueDto::from).collect(),
            dead_letters: letters
                .into_iter()
                .map(|l| DeadLetterDto {
                    id: l.id,
                    queue: queue(l.job.name()),
                    job: serde_json::to_value(&l.job).unwrap_or_default(),
                    error: l.error,
                    attempts: l.attempts as u64,
                    failed_at: l.failed_at,
                })
                .collect(),
        }))
    }

    /// Admin: put a dead-lettered job back on its queue with fresh attempts.
    #[oai(
        path = "/admin/jobs/dead-letters/:id/retry",
        method = "post",
        tag = "ApiTags::Admin",
        operation_id = "retryDeadLetter"
    )]
    async fn retry(
        &self,
        app: Data<&App>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Retried, { API | ADMIN | BY_ID }> {
        let principal = auth.admin()?;
        let queues = Queues::new(&app.infra.kv);
        let db = &app.infra.db.write;
        if dead_letter::retry_as_admin(db, &queues, principal.actor(), id.0).await? {
            Ok(Retried::Accepted)
        } else {
            Err(domain::Error::NotFound("dead letter").into())
        }
    }

    /// Published nightly ledger digests, newest first. Keep a root you saw: recomputing it
    /// later from the same day's ledger lines proves they were not changed.
    #[oai(
        path = "/ledger/digests",
        method = "get",
        tag = "ApiTags::Donations",
        operation_id = "listLedgerDigests"
    )]
    async fn digests(
        &self,
        _auth: NoAuth,
        app: Data<&App>,
        before: Query<Option<NaiveDate>>,
        limit: Query<DigestLimit>,
    ) -> ApiResult<Json<Vec<DigestDto>>, { API | PARAMS }> {
        let limit = limit.0.0.unwrap_or(30);
        if !(1..=366).contains(&limit) {
            return Err(
                domain::Error::validation("limit", "limit must be between 1 and 366").into(),
            );
        }
        let digests = ledger_digest::published(&app.infra.db.read, before.0, limit).await?;
        Ok(Json(
            digests
                .into_iter()
                .map(|d| DigestDto {
                    day: d.day,
                    merkle_root: d.root_hex(),
                    line_count: d.line_count,
                    first_id: d.first_id,
                    last_id: d.last_id,
                })
                .collect(),
        ))
    }
}
