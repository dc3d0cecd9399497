//! The audit's queries, over the published views of the ledger, money, campaigns and loans.

use sqlx::PgExecutor;

use platform::error::Result;

/// Runs one check: (subject, expected, actual) for every disagreement.
pub(crate) async fn disagreements(
    db: impl PgExecutor<'_>,
    sql: &'static str,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(sql).fetch_all(db).await?)
}

pub(crate) async fn ledger_lines(db: impl PgExecutor<'_>) -> Result<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from read.ledger_entries")
            .fetch_one(db)
            .await?,
    )
}

// Each query returns (subject, expected, actual) for every disagreement.
pub(crate) const UNBALANCED: &str =
    "select txn_id::text, 0::bigint, sum(amount)::bigint from read.ledger_entries
    group by txn_id having sum(amount) <> 0";

pub(crate) const WALLETS: &str = "with l as (
        select substr(account, 8)::uuid as user_id, sum(amount)::bigint as balance
        from read.ledger_entries where account like 'wallet:%' group by 1)
    select coalesce(w.user_id, l.user_id)::text, coalesce(l.balance, 0), coalesce(w.balance, 0)
    from read.wallets w full join l on l.user_id = w.user_id
    where coalesce(w.balance, 0) <> coalesce(l.balance, 0)";

// Stats shards must equal the standing donations: amount, count and distinct donors.
pub(crate) const STATS: &str = "with d as (
        select campaign_id, sum(amount)::bigint as raised, count(*)::bigint as n,
               count(distinct donor_id)::bigint as donors
        from read.donations where status = 'completed' group by 1),
    s as (
        select campaign_id, raised_amount as raised, donations_count as n, donors_count as donors
        from read.campaign_totals)
    select coalesce(d.campaign_id, s.campaign_id)::text || ':' || x.what, x.expected, x.actual
    from d full join s on s.campaign_id = d.campaign_id
    cross join lateral (values
        ('raised', coalesce(d.raised, 0), coalesce(s.raised, 0)),
        ('donations', coalesce(d.n, 0), coalesce(s.n, 0)),
        ('donors', coalesce(d.donors, 0), coalesce(s.donors, 0))) as x(what, expected, actual)
    where x.expected <> x.actual";

// A campaign's account holds its standing donations minus what was paid out to the creator.
pub(crate) const CAMPAIGN_ACCOUNTS: &str = "with l as (
        select substr(account, 10)::uuid as campaign_id, sum(amount)::bigint as balance
        from read.ledger_entries where account like 'campaign:%' group by 1),
    d as (select campaign_id, sum(amount)::bigint as raised from read.donations
          where status = 'completed' group by 1),
    w as (select campaign_id, sum(amount)::bigint as paid from read.withdrawals group by 1),
    ids as (select campaign_id from l union select campaign_id from d union select campaign_id from w)
    select ids.campaign_id::text, coalesce(d.raised, 0) - coalesce(w.paid, 0), coalesce(l.balance, 0)
    from ids left join l using (campaign_id) left join d using (campaign_id) left join w using (campaign_id)
    where coalesce(d.raised, 0) - coalesce(w.paid, 0) <> coalesce(l.balance, 0)";

// A loan's escrow holds what lenders put in, less refunds and the disbursement, plus
// repayments received, less what was passed on to lenders (at rest: the amount raised while
// fundraising, zero afterwards).
pub(crate) const LOAN_ACCOUNTS: &str = "with l as (
        select substr(account, 6)::uuid as loan_id, sum(amount)::bigint as balance
        from read.ledger_entries where account like 'loan:%' group by 1),
    s as (select loan_id, sum(amount)::bigint as lent,
                 coalesce(sum(amount) filter (where refunded_at is not null), 0)::bigint as refunded
          from read.loan_shares group by 1),
    r as (select loan_id, sum(amount)::bigint as repaid from read.loan_repayments group by 1),
    d as (select r.loan_id, sum(d.amount)::bigint as distributed
          from read.loan_distributions d join read.loan_repayments r on r.id = d.repayment_id group by 1),
    x as (select id as loan_id, case when disbursed_at is null then 0 else amount end as disbursed
          from read.loans),
    ids as (select loan_id from l union select loan_id from x),
    e as (select ids.loan_id,
                 coalesce(s.lent, 0) - coalesce(s.refunded, 0) - coalesce(x.disbursed, 0)
                   + coalesce(r.repaid, 0) - coalesce(d.distributed, 0) as expected,
                 coalesce(l.balance, 0) as actual
          from ids left join l using (loan_id) left join s using (loan_id)
          left join r using (loan_id) left join d using (loan_id) left join x using (loan_id))
    select loan_id::text, expected, actual from e where expected <> actual";

// A loan's running totals equal its records: funded = every share taken, repaid = every
// repayment = what the installments show as paid.
pub(crate) const LOAN_TOTALS: &str = "select l.id::text || ':' || x.what, x.expected, x.actual
    from read.loans l
    left join (select loan_id, sum(amount)::bigint as s from read.loan_shares group by 1) s on s.loan_id = l.id
    left join (select loan_id, sum(amount)::bigint as s from read.loan_repayments group by 1) r on r.loan_id = l.id
    left join (select loan_id, sum(paid_amount)::bigint as s from read.loan_installments group by 1) i on i.loan_id = l.id
    cross join lateral (values
        ('funded', coalesce(s.s, 0), l.funded_amount),
        ('repaid', coalesce(r.s, 0), l.repaid_amount),
        ('installments_paid', coalesce(r.s, 0), coalesce(i.s, 0))) as x(what, expected, actual)
    where x.expected <> x.actual";

// Money on its way to a bank: the pending account holds exactly the open payouts.
pub(crate) const PAYOUTS_PENDING: &str = "with l as (
        select coalesce(sum(amount), 0)::bigint as balance
        from read.ledger_entries where account = 'payouts:pending'),
    p as (select coalesce(sum(amount), 0)::bigint as open
          from read.payouts where status = 'pending')
    select 'payouts:pending', p.open, l.balance from l, p where p.open <> l.balance";

// The provider's fees: on every confirmed deposit and every paid payout, nothing else.
pub(crate) const FEES_PROCESSING: &str = "with l as (
        select coalesce(sum(amount), 0)::bigint as balance
        from read.ledger_entries where account = 'fees:processing'),
    f as (select (select coalesce(sum(fee), 0) from read.deposits where status = 'confirmed')
               + (select coalesce(sum(fee), 0) from read.payouts where status = 'paid') as fees)
    select 'fees:processing', f.fees::bigint, l.balance from l, f where f.fees <> l.balance";
