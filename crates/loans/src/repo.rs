//! SQL for loans, their transitions, scores, documents, shares, schedule and repayments.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};
use uuid::Uuid;

use super::model::{LenderTotal, Loan, LoanDocument, LoanStatus, ScheduledInstallment, Transition};
use super::schedule::Installment;
use super::scoring::{Factor, History};
use platform::error::{Error, Result};

#[derive(FromRow)]
struct LoanRow {
    id: Uuid,
    borrower_id: Uuid,
    borrower_name: String,
    amount: i64,
    term_months: i32,
    annual_rate_bp: i32,
    purpose: String,
    description: String,
    status: String,
    funded_amount: i64,
    total_due: Option<i64>,
    repaid_amount: i64,
    fundraising_deadline: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    disbursed_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<LoanRow> for Loan {
    type Error = Error;
    fn try_from(r: LoanRow) -> Result<Self> {
        Ok(Loan {
            id: r.id,
            borrower_id: r.borrower_id,
            borrower_name: r.borrower_name,
            amount: r.amount,
            term_months: r.term_months,
            annual_rate_bp: r.annual_rate_bp,
            purpose: r.purpose,
            description: r.description,
            status: LoanStatus::parse(&r.status)?,
            funded_amount: r.funded_amount,
            total_due: r.total_due,
            repaid_amount: r.repaid_amount,
            fundraising_deadline: r.fundraising_deadline,
            approved_at: r.approved_at,
            disbursed_at: r.disbursed_at,
            closed_at: r.closed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

// The borrower's public name comes from the same query (no N+1).
const SELECT: &str = "select l.id, l.borrower_id,
        u.first_name || ' ' || left(u.last_name, 1) || '.' as borrower_name,
        l.amount, l.term_months, l.annual_rate_bp, l.purpose, l.description, l.status,
        l.funded_amount, l.total_due, l.repaid_amount, l.fundraising_deadline, l.approved_at,
        l.disbursed_at, l.closed_at, l.created_at, l.updated_at
    from loans l join read.users u on u.id = l.borrower_id";

fn loans(rows: Vec<LoanRow>) -> Result<Vec<Loan>> {
    rows.into_iter().map(Loan::try_from).collect()
}

pub struct NewLoan<'a> {
    pub id: Uuid,
    pub borrower_id: Uuid,
    pub amount: i64,
    pub term_months: i32,
    pub annual_rate_bp: i32,
    pub purpose: &'a str,
    pub description: &'a str,
}

pub async fn insert(conn: &mut PgConnection, l: NewLoan<'_>) -> Result<()> {
    sqlx::query(
        "insert into loans (id, borrower_id, amount, term_months, annual_rate_bp, purpose, description)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(l.id)
    .bind(l.borrower_id)
    .bind(l.amount)
    .bind(l.term_months)
    .bind(l.annual_rate_bp)
    .bind(l.purpose)
    .bind(l.description)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Loan>> {
    let row: Option<LoanRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where l.id = $1")))
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(Loan::try_from).transpose()
}

/// Locks the loan row: every status change and every share or repayment takes this lock, so
/// they apply one at a time (concurrent lenders cannot over-fund).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Loan>> {
    let row: Option<LoanRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where l.id = $1 for update of l"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(Loan::try_from).transpose()
}

/// Moves the loan to `to` and records who did it and why, in the caller's transaction.
pub async fn transition(
    conn: &mut PgConnection,
    loan_id: Uuid,
    from: Option<LoanStatus>,
    to: LoanStatus,
    actor: Option<Uuid>,
    reason: &str,
) -> Result<()> {
    sqlx::query("update loans set status = $2, updated_at = now() where id = $1")
        .bind(loan_id)
        .bind(to.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into loan_transitions (loan_id, from_status, to_status, actor_id, reason)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(loan_id)
    .bind(from.map(LoanStatus::as_str))
    .bind(to.as_str())
    .bind(actor)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn transitions(db: impl PgExecutor<'_>, loan_id: Uuid) -> Result<Vec<Transition>> {
    Ok(sqlx::query_as(
        "select from_status, to_status, actor_id, reason, created_at from loan_transitions
         where loan_id = $1 order by id",
    )
    .bind(loan_id)
    .fetch_all(db)
    .await?)
}

pub async fn set_approved(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("update loans set approved_at = $2, fundraising_deadline = $3 where id = $1")
        .bind(id)
        .bind(now)
        .bind(deadline)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_funded(conn: &mut PgConnection, id: Uuid, amount: i64) -> Result<()> {
    sqlx::query("update loans set funded_amount = funded_amount + $2 where id = $1")
        .bind(id)
        .bind(amount)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_disbursed(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
    total_due: i64,
) -> Result<()> {
    sqlx::query("update loans set disbursed_at = $2, total_due = $3 where id = $1")
        .bind(id)
        .bind(now)
        .bind(total_due)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_repaid(conn: &mut PgConnection, id: Uuid, amount: i64) -> Result<()> {
    sqlx::query("update loans set repaid_amount = repaid_amount + $2 where id = $1")
        .bind(id)
        .bind(amount)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_closed(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("update loans set closed_at = $2 where id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Loans in `status`, newest first, with the total.
pub async fn list_by_status(
    db: impl PgExecutor<'_> + Copy,
    status: LoanStatus,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Loan>, i64)> {
    let rows: Vec<LoanRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where l.status = $1 order by l.created_at desc, l.id desc limit $2 offset $3"
    )))
    .bind(status.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar("select count(*) from loans where status = $1")
        .bind(status.as_str())
        .fetch_one(db)
        .await?;
    Ok((loans(rows)?, total))
}

pub async fn list_by_borrower(
    db: impl PgExecutor<'_> + Copy,
    borrower_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Loan>, i64)> {
    let rows: Vec<LoanRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where l.borrower_id = $1 order by l.created_at desc, l.id desc
         limit $2 offset $3"
    )))
    .bind(borrower_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar("select count(*) from loans where borrower_id = $1")
        .bind(borrower_id)
        .fetch_one(db)
        .await?;
    Ok((loans(rows)?, total))
}

pub async fn insert_score(
    conn: &mut PgConnection,
    loan_id: Uuid,
    score: i32,
    factors: &[Factor],
) -> Result<()> {
    let factors = serde_json::to_value(factors).map_err(Error::internal)?;
    sqlx::query(
        "insert into loan_scores (loan_id, score, factors) values ($1, $2, $3)
         on conflict (loan_id) do nothing",
    )
    .bind(loan_id)
    .bind(score)
    .bind(factors)
    .execute(conn)
    .await?;
    Ok(())
}

/// Scores of the given loans: (score, factors, computed at).
pub async fn scores_for(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, i32, Vec<Factor>, DateTime<Utc>)>> {
    let rows: Vec<(Uuid, i32, serde_json::Value, DateTime<Utc>)> = sqlx::query_as(
        "select loan_id, score, factors, created_at from loan_scores where loan_id = any($1)",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(id, score, factors, at)| {
            let factors = serde_json::from_value(factors).map_err(Error::internal)?;
            Ok((id, score, factors, at))
        })
        .collect()
}

/// The borrower's history for scoring, as of `now`, leaving out the loan being scored.
///
/// Reads the account's age and its confirmed deposits directly (read-only) so the score is one
/// consistent snapshot.
pub async fn history(
    db: impl PgExecutor<'_>,
    loan_id: Uuid,
    borrower_id: Uuid,
    requested: i64,
    now: DateTime<Utc>,
) -> Result<History> {
    let row: (i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "with past as (
            select l.status, l.amount, coalesce(l.total_due, 0) - l.repaid_amount as owed,
                   exists (select 1 from loan_transitions t
                           where t.loan_id = l.id and t.to_status = 'late') as was_late
            from loans l where l.borrower_id = $2 and l.id <> $1)
         select
            (select greatest(0, extract(day from $3::timestamptz - created_at))::bigint from read.users where id = $2),
            (select count(*) from read.deposits where user_id = $2 and status = 'confirmed'),
            (select coalesce(sum(amount), 0)::bigint from read.deposits
             where user_id = $2 and status = 'confirmed'),
            (select count(*) from past where status = 'repaid' and not was_late),
            (select count(*) from past where status = 'repaid' and was_late),
            (select count(*) from past where status in ('defaulted', 'written_off')),
            (select coalesce(sum(owed), 0)::bigint from past where status in ('active', 'late')),
            (select coalesce(max(amount), 0)::bigint from past where status = 'repaid')",
    )
    .bind(loan_id)
    .bind(borrower_id)
    .bind(now)
    .fetch_one(db)
    .await?;
    Ok(History {
        account_age_days: row.0,
        confirmed_deposits: row.1,
        deposited_amount: row.2,
        repaid_on_time: row.3,
        repaid_late: row.4,
        defaulted: row.5,
        current_debt: row.6,
        largest_repaid: row.7,
        requested,
    })
}

pub async fn insert_document(
    db: impl PgExecutor<'_>,
    loan_id: Uuid,
    doc: &LoanDocument,
) -> Result<()> {
    sqlx::query(
        "insert into loan_documents (id, loan_id, object_key, content_type, size_bytes)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(doc.id)
    .bind(loan_id)
    .bind(&doc.object_key)
    .bind(&doc.content_type)
    .bind(doc.size_bytes)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn documents(db: impl PgExecutor<'_>, loan_id: Uuid) -> Result<Vec<LoanDocument>> {
    Ok(sqlx::query_as(
        "select id, object_key, content_type, size_bytes, created_at from loan_documents
         where loan_id = $1 order by created_at, id",
    )
    .bind(loan_id)
    .fetch_all(db)
    .await?)
}

pub async fn insert_share(
    conn: &mut PgConnection,
    id: Uuid,
    loan_id: Uuid,
    lender_id: Uuid,
    amount: i64,
    ledger_txn: Uuid,
) -> Result<DateTime<Utc>> {
    Ok(sqlx::query_scalar(
        "insert into loan_shares (id, loan_id, lender_id, amount, ledger_txn)
         values ($1, $2, $3, $4, $5) returning created_at",
    )
    .bind(id)
    .bind(loan_id)
    .bind(lender_id)
    .bind(amount)
    .bind(ledger_txn)
    .fetch_one(conn)
    .await?)
}

/// Each lender's standing total in the loan, ordered by lender id (the order wallets are
/// credited in, so concurrent transactions lock them in the same order).
pub async fn lender_totals(db: impl PgExecutor<'_>, loan_id: Uuid) -> Result<Vec<LenderTotal>> {
    Ok(sqlx::query_as(
        "select lender_id, sum(amount)::bigint as amount from loan_shares
         where loan_id = $1 and refunded_at is null group by lender_id order by lender_id",
    )
    .bind(loan_id)
    .fetch_all(db)
    .await?)
}

pub async fn mark_shares_refunded(conn: &mut PgConnection, loan_id: Uuid) -> Result<u64> {
    let done = sqlx::query(
        "update loan_shares set refunded_at = now() where loan_id = $1 and refunded_at is null",
    )
    .bind(loan_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn insert_installments(
    conn: &mut PgConnection,
    loan_id: Uuid,
    rows: &[(Installment, DateTime<Utc>)],
) -> Result<()> {
    let seqs: Vec<i32> = rows.iter().map(|(i, _)| i.seq).collect();
    let dues: Vec<DateTime<Utc>> = rows.iter().map(|(_, d)| *d).collect();
    let principals: Vec<i64> = rows.iter().map(|(i, _)| i.principal).collect();
    let interests: Vec<i64> = rows.iter().map(|(i, _)| i.interest).collect();
    sqlx::query(
        "insert into loan_installments (loan_id, seq, due_at, principal, interest, amount)
         select $1, seq, due, p, i, p + i
         from unnest($2::int[], $3::timestamptz[], $4::bigint[], $5::bigint[]) as t(seq, due, p, i)",
    )
    .bind(loan_id)
    .bind(&seqs)
    .bind(&dues)
    .bind(&principals)
    .bind(&interests)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn installments(
    db: impl PgExecutor<'_>,
    loan_id: Uuid,
) -> Result<Vec<ScheduledInstallment>> {
    Ok(sqlx::query_as(
        "select seq, due_at, principal, interest, amount, paid_amount, paid_at
         from loan_installments where loan_id = $1 order by seq",
    )
    .bind(loan_id)
    .fetch_all(db)
    .await?)
}

/// Pays `amount` into the unpaid installments, oldest first.
pub async fn pay_installments(
    conn: &mut PgConnection,
    loan_id: Uuid,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let unpaid: Vec<(i32, i64)> = sqlx::query_as(
        "select seq, amount - paid_amount from loan_installments
         where loan_id = $1 and paid_amount < amount order by seq",
    )
    .bind(loan_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut left = amount;
    for (seq, open) in unpaid {
        if left == 0 {
            break;
        }
        let pay = left.min(open);
        sqlx::query(
            "update loan_installments set paid_amount = paid_amount + $3,
                paid_at = case when paid_amount + $3 = amount then $4 else paid_at end
             where loan_id = $1 and seq = $2",
        )
        .bind(loan_id)
        .bind(seq)
        .bind(pay)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        left -= pay;
    }
    if left != 0 {
        return Err(Error::internal("repayment exceeds the open installments"));
    }
    Ok(())
}

/// The oldest unpaid installment's due date, if one is due at or before `now`.
pub async fn oldest_overdue(
    db: impl PgExecutor<'_>,
    loan_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "select min(due_at) from loan_installments
         where loan_id = $1 and paid_amount < amount and due_at <= $2",
    )
    .bind(loan_id)
    .bind(now)
    .fetch_one(db)
    .await?)
}

pub struct NewRepayment {
    pub id: Uuid,
    pub loan_id: Uuid,
    pub borrower_id: Uuid,
    pub amount: i64,
    pub ledger_txn: Uuid,
    pub distribution_txn: Uuid,
}

pub async fn insert_repayment(
    conn: &mut PgConnection,
    r: &NewRepayment,
    distributions: &[(Uuid, i64)],
) -> Result<DateTime<Utc>> {
    let created_at = sqlx::query_scalar(
        "insert into loan_repayments (id, loan_id, borrower_id, amount, ledger_txn, distribution_txn)
         values ($1, $2, $3, $4, $5, $6) returning created_at",
    )
    .bind(r.id)
    .bind(r.loan_id)
    .bind(r.borrower_id)
    .bind(r.amount)
    .bind(r.ledger_txn)
    .bind(r.distribution_txn)
    .fetch_one(&mut *conn)
    .await?;
    let lenders: Vec<Uuid> = distributions.iter().map(|d| d.0).collect();
    let amounts: Vec<i64> = distributions.iter().map(|d| d.1).collect();
    sqlx::query(
        "insert into loan_distributions (repayment_id, lender_id, amount)
         select $1, lender, amount from unnest($2::uuid[], $3::bigint[]) as t(lender, amount)",
    )
    .bind(r.id)
    .bind(&lenders)
    .bind(&amounts)
    .execute(conn)
    .await?;
    Ok(created_at)
}

/// Loans being repaid whose status may need to change at `now`: an installment is overdue
/// (→ late or defaulted), or they are late and may have caught up.
pub async fn due_for_review(db: impl PgExecutor<'_>, now: DateTime<Utc>) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select l.id from loans l
         where l.status = 'late'
            or (l.status = 'active' and exists (
                select 1 from loan_installments i
                where i.loan_id = l.id and i.paid_amount < i.amount and i.due_at <= $1))
         order by l.id",
    )
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// Fundraising loans whose deadline has passed at `now`.
pub async fn due_for_expiry(db: impl PgExecutor<'_>, now: DateTime<Utc>) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select id from loans where status = 'fundraising' and fundraising_deadline <= $1
         order by id",
    )
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// Unpaid installments of repaying loans that fall due in `(now, now + days]`, as
/// (loan, installment number).
pub async fn installments_due_within(
    db: impl PgExecutor<'_>,
    now: DateTime<Utc>,
    days: i32,
) -> Result<Vec<(Uuid, i32)>> {
    Ok(sqlx::query_as(
        "select i.loan_id, i.seq from loan_installments i join loans l on l.id = i.loan_id
         where i.paid_amount < i.amount and l.status in ('active', 'late')
           and i.due_at > $1 and i.due_at <= $1 + make_interval(days => $2)",
    )
    .bind(now)
    .bind(days)
    .fetch_all(db)
    .await?)
}

/// One loan a lender funded, with their side of it.
#[derive(Debug, Clone, FromRow)]
pub struct PositionRow {
    pub loan_id: Uuid,
    pub purpose: String,
    pub borrower_name: String,
    pub status: String,
    /// The lender's shares in the loan (all refunded together when its fundraising failed).
    pub lent: i64,
    pub refunded: bool,
    pub lent_at: DateTime<Utc>,
    pub total_due: Option<i64>,
    pub repaid_amount: i64,
    /// What the loan's repayments passed on to this lender.
    pub repaid: i64,
    /// The oldest unpaid installment: when it falls due and what is still unpaid of it.
    pub next_due_at: Option<DateTime<Utc>>,
    pub next_open: Option<i64>,
}

/// Every loan `lender_id` has taken a share in, one row each, newest first.
pub async fn positions(db: impl PgExecutor<'_>, lender_id: Uuid) -> Result<Vec<PositionRow>> {
    Ok(sqlx::query_as(
        "with mine as (
            select loan_id, sum(amount)::bigint as lent,
                   bool_and(refunded_at is not null) as refunded, min(created_at) as lent_at
            from loan_shares where lender_id = $1 group by loan_id),
         paid as (
            select r.loan_id, sum(d.amount)::bigint as repaid
            from loan_distributions d join loan_repayments r on r.id = d.repayment_id
            where d.lender_id = $1 group by r.loan_id)
         select l.id as loan_id, l.purpose,
                u.first_name || ' ' || left(u.last_name, 1) || '.' as borrower_name,
                l.status, m.lent, m.refunded, m.lent_at, l.total_due, l.repaid_amount,
                coalesce(p.repaid, 0)::bigint as repaid,
                n.due_at as next_due_at, n.open as next_open
         from mine m
         join loans l on l.id = m.loan_id
         join read.users u on u.id = l.borrower_id
         left join paid p on p.loan_id = l.id
         left join lateral (
            select i.due_at, i.amount - i.paid_amount as open from loan_installments i
            where i.loan_id = l.id and i.paid_amount < i.amount order by i.seq limit 1) n on true
         order by m.lent_at desc, l.id desc",
    )
    .bind(lender_id)
    .fetch_all(db)
    .await?)
}

/// Each lender's standing total in each of `loan_ids`, as (loan, lender, amount): the weights
/// repayments are split by.
pub async fn lender_weights(
    db: impl PgExecutor<'_>,
    loan_ids: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, i64)>> {
    Ok(sqlx::query_as(
        "select loan_id, lender_id, sum(amount)::bigint from loan_shares
         where loan_id = any($1) and refunded_at is null
         group by loan_id, lender_id order by loan_id, lender_id",
    )
    .bind(loan_ids)
    .fetch_all(db)
    .await?)
}

/// Loans waiting in `scoring` since before `before` (by their last change), touched at `now`
/// so the next sweep waits a full period again; returns them.
pub async fn touch_stale_scoring(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "update loans set updated_at = $2
         where status = 'scoring' and updated_at < $1
         returning id",
    )
    .bind(before)
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// Loans that still tie the user to money in motion: theirs as borrower not yet closed, and
/// loans they lent to that are still being raised or repaid.
pub async fn open_positions_of(conn: &mut PgConnection, user_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select (select count(*) from loans where borrower_id = $1
                   and status not in ('rejected', 'expired', 'repaid', 'written_off'))
              + (select count(distinct l.id) from loan_shares s join loans l on l.id = s.loan_id
                 where s.lender_id = $1 and s.refunded_at is null
                   and l.status in ('fundraising', 'funded', 'active', 'late'))",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?)
}

/// Deletes the documents of the user's loan applications; returns their object keys.
pub async fn delete_documents_of_borrower(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "delete from loan_documents d using loans l
         where l.id = d.loan_id and l.borrower_id = $1
         returning d.object_key",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}
