//! SQL: the `reports` table, and the published views (`read.*`) the reports are built from.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Report, ReportKind};
use platform::error::Result;

const COLUMNS: &str = "id, kind, requested_by, period_from, period_to, status, object_key, \
                       pdf_key, row_count, error, created_at, started_at, finished_at";

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
    pdf_key: Option<&str>,
    rows: i32,
) -> Result<Report> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update reports
         set status = 'done', object_key = $2, pdf_key = $3, row_count = $4, error = null,
             finished_at = now()
         where id = $1
         returning {COLUMNS}"
    )))
    .bind(id)
    .bind(key)
    .bind(pdf_key)
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

/// The donors with a standing gift in `[from, to)` after `after` (by id), `limit` of them.
pub(crate) async fn donors_between(
    db: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Uuid,
    limit: i64,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select distinct d.donor_id
         from read.donations d
         where d.created_at >= $1 and d.created_at < $2 and d.status = 'completed'
           and d.donor_id > $3
         order by d.donor_id
         limit $4",
    )
    .bind(from)
    .bind(to)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The scheduler's statements for `donors` over `from..=to`: one per donor and year (the
/// `reports_yearly_statement_once` index), and none for a donor who asked for the year's
/// statement after it ended. Returns the ones created now.
pub(crate) async fn insert_yearly(
    conn: &mut PgConnection,
    donors: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
    year_end: DateTime<Utc>,
) -> Result<Vec<Report>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into reports (id, kind, requested_by, period_from, period_to, automatic)
         select t.id, 'giving_statement', t.donor, $3, $4, true
         from unnest($1::uuid[], $2::uuid[]) as t(id, donor)
         where not exists (
             select 1 from reports r
             where r.requested_by = t.donor and r.kind = 'giving_statement'
               and r.period_from = $3 and r.period_to = $4 and r.created_at >= $5
               and r.status <> 'failed'
         )
         on conflict (requested_by, period_from) where automatic do nothing
         returning {COLUMNS}"
    )))
    .bind(donors.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .bind(donors)
    .bind(from)
    .bind(to)
    .bind(year_end)
    .fetch_all(conn)
    .await?)
}

/// What a donation's receipt says, read from the owners' views: (donor, donor name, campaign
/// title, currency, amount, made at, refunded at).
pub(crate) type ReceiptRow = (
    Uuid,
    String,
    String,
    String,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

pub(crate) async fn receipt(db: &PgPool, donation: Uuid) -> Result<Option<ReceiptRow>> {
    Ok(sqlx::query_as(
        "select d.donor_id, u.full_name, c.title, c.currency, d.amount, d.created_at,
                case when d.status = 'refunded' then coalesce(d.refunded_at, d.created_at) end
         from read.donations d
         join read.campaigns c on c.id = d.campaign_id
         join read.users u on u.id = d.donor_id
         where d.id = $1",
    )
    .bind(donation)
    .fetch_optional(db)
    .await?)
}

/// A user's full name as statements print it.
pub(crate) async fn full_name(db: &PgPool, user: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("select full_name from read.users where id = $1")
            .bind(user)
            .fetch_optional(db)
            .await?,
    )
}
