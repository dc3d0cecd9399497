//! SQL: the `reports` table, and the published views (`read.*`) the reports are built from.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Report, ReportKind};
use platform::error::Result;

const COLUMNS: &str = "id, kind, requested_by, period_from, period_to, status, object_key, \
                       row_count, error, created_at, started_at, finished_at";

pub(crate) async fn insert(
    conn: &mut PgConnection,
    kind: ReportKind,
    requested_by: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Report> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into reports (id, kind, requested_by, period_from, period_to)
         values ($1, $2, $3, $4, $5)
         returning {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(kind)
    .bind(requested_by)
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await?)
}

pub(crate) async fn find(db: &PgPool, id: Uuid) -> Result<Option<Report>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from reports where id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Marks a report running unless it is done; `None` when it is done (or missing).
pub(crate) async fn start(db: &PgPool, id: Uuid) -> Result<Option<Report>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update reports set status = 'running', started_at = now()
         where id = $1 and status <> 'done'
         returning {COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

pub(crate) async fn finish(
    conn: &mut PgConnection,
    id: Uuid,
    key: &str,
    rows: i32,
) -> Result<Report> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update reports
         set status = 'done', object_key = $2, row_count = $3, error = null, finished_at = now()
         where id = $1
         returning {COLUMNS}"
    )))
    .bind(id)
    .bind(key)
    .bind(rows)
    .fetch_one(conn)
    .await?)
}

/// Marks a report failed unless it is done; the error is kept to 1000 characters.
pub(crate) async fn fail(db: &PgPool, id: Uuid, error: &str) -> Result<()> {
    sqlx::query(
        "update reports set status = 'failed', error = $2, finished_at = now()
         where id = $1 and status <> 'done'",
    )
    .bind(id)
    .bind(error.chars().take(1000).collect::<String>())
    .execute(db)
    .await?;
    Ok(())
}

/// Per campaign: donations made and refunds made in `[from, to)` (counts, amounts).
pub(crate) async fn donations_by_campaign(
    db: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Uuid, String, String, i64, i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "select c.id, c.title, c.currency,
                count(*) filter (where d.created_at >= $1 and d.created_at < $2),
                coalesce(sum(d.amount) filter (where d.created_at >= $1 and d.created_at < $2), 0)::bigint,
                count(*) filter (where d.refunded_at >= $1 and d.refunded_at < $2),
                coalesce(sum(d.amount) filter (where d.refunded_at >= $1 and d.refunded_at < $2), 0)::bigint
         from read.donations d
         join read.campaigns c on c.id = d.campaign_id
         where (d.created_at >= $1 and d.created_at < $2)
            or (d.refunded_at >= $1 and d.refunded_at < $2)
         group by c.id, c.title, c.currency
         order by c.title, c.id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?)
}

pub(crate) type LoanRow = (
    Uuid,
    Uuid,
    String,
    i64,
    i32,
    i32,
    i64,
    Option<i64>,
    i64,
    i64,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// Every loan on the book at some time in `[from, to)`, with its arrears as of `now`.
pub(crate) async fn loan_book(
    db: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<LoanRow>> {
    Ok(sqlx::query_as(
        "select l.id, l.borrower_id, l.status, l.amount, l.term_months, l.annual_rate_bp,
                l.funded_amount, l.total_due, l.repaid_amount,
                coalesce(a.arrears, 0)::bigint, a.oldest_due, n.next_due,
                l.created_at, l.disbursed_at, l.closed_at
         from read.loans l
         left join lateral (
             select sum(i.amount - i.paid_amount) as arrears, min(i.due_at) as oldest_due
             from read.loan_installments i
             where i.loan_id = l.id and i.paid_amount < i.amount and i.due_at < $3
         ) a on true
         left join lateral (
             select min(i.due_at) as next_due
             from read.loan_installments i
             where i.loan_id = l.id and i.paid_amount < i.amount and i.due_at >= $3
         ) n on true
         where l.created_at < $2 and (l.closed_at is null or l.closed_at >= $1)
         order by l.created_at, l.id",
    )
    .bind(from)
    .bind(to)
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// A donor's standing gifts in `[from, to)`: (donation, made at, campaign title, currency, amount).
pub(crate) async fn gifts_of(
    db: &PgPool,
    donor: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Uuid, DateTime<Utc>, String, String, i64)>> {
    Ok(sqlx::query_as(
        "select d.id, d.created_at, c.title, c.currency, d.amount
         from read.donations d
         join read.campaigns c on c.id = d.campaign_id
         where d.donor_id = $1 and d.created_at >= $2 and d.created_at < $3
           and d.status = 'completed'
         order by d.created_at, d.id",
    )
    .bind(donor)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?)
}
