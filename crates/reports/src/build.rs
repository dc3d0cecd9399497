//! The CSV files: one query per kind, read from the reporting replica, written with the `csv`
//! crate (quoting and escaping by the book). Amounts are decimal strings in the currency's
//! major unit; user-written text is defused against spreadsheet formula injection.

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Report, ReportKind};
use crate::repo;
use platform::error::{Error, Result};

/// A built file and how many data rows it holds (header and total lines not counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csv {
    pub bytes: Vec<u8>,
    pub rows: usize,
}

/// Builds `report`'s file. Loan arrears are as of `now`.
#[tracing::instrument(skip_all, fields(report_id = %report.id, kind = report.kind.as_str()))]
pub async fn build(db: &PgPool, report: &Report, now: DateTime<Utc>) -> Result<Csv> {
    let (from, to) = bounds(report.period_from, report.period_to)?;
    match report.kind {
        ReportKind::DonationsByCampaign => donations_by_campaign(db, report, from, to).await,
        ReportKind::LoanBook => loan_book(db, from, to, now).await,
        ReportKind::GivingStatement => giving_statement(db, report.requested_by, from, to).await,
    }
}

/// `[from 00:00, to + 1 day 00:00)` in UTC.
pub fn bounds(from: NaiveDate, to: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let end = to
        .checked_add_days(Days::new(1))
        .ok_or_else(|| Error::internal("date out of range"))?;
    Ok((
        from.and_time(chrono::NaiveTime::MIN).and_utc(),
        end.and_time(chrono::NaiveTime::MIN).and_utc(),
    ))
}

/// Minor units as a decimal string: 123456 → `1234.56`, -5 → `-0.05`.
pub fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Text a user wrote (campaign titles) could start a spreadsheet formula; a leading quote
/// makes spreadsheets show it as text instead of running it.
pub fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

struct Writer {
    inner: csv::Writer<Vec<u8>>,
    rows: usize,
}

impl Writer {
    fn new(header: &[&str]) -> Result<Self> {
        let mut inner = csv::Writer::from_writer(Vec::new());
        inner.write_record(header).map_err(Error::internal)?;
        Ok(Self { inner, rows: 0 })
    }

    fn row<I, S>(&mut self, cells: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.rows += 1;
        self.extra(cells)
    }

    /// A line that is not a data row (a total).
    fn extra<I, S>(&mut self, cells: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.inner.write_record(cells).map_err(Error::internal)
    }

    fn finish(self) -> Result<Csv> {
        let bytes = self.inner.into_inner().map_err(Error::internal)?;
        Ok(Csv {
            bytes,
            rows: self.rows,
        })
    }
}

async fn donations_by_campaign(
    db: &PgPool,
    report: &Report,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Csv> {
    // Donations count in the period they were made, refunds in the period they were refunded
    // (as the nightly analytics do), so a closed period's figures never change.
    let rows = repo::donations_by_campaign(db, from, to).await?;
    let mut out = Writer::new(&[
        "campaign_id",
        "campaign_title",
        "currency",
        "period_from",
        "period_to",
        "donations_count",
        "donations_amount",
        "refunds_count",
        "refunds_amount",
        "net_amount",
    ])?;
    let (period_from, period_to) = (report.period_from.to_string(), report.period_to.to_string());
    for (id, title, currency, count, amount, refunds, refunded) in rows {
        out.row([
            id.to_string(),
            text(&title),
            currency,
            period_from.clone(),
            period_to.clone(),
            count.to_string(),
            decimal(amount),
            refunds.to_string(),
            decimal(refunded),
            decimal(amount - refunded),
        ])?;
    }
    out.finish()
}

async fn loan_book(
    db: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Csv> {
    // Every loan that was on the book at some time in the period: applied before its end and
    // not closed before its start. Arrears: what is unpaid of installments already due.
    let rows = repo::loan_book(db, from, to, now).await?;
    let mut out = Writer::new(&[
        "loan_id",
        "borrower_id",
        "status",
        "amount",
        "term_months",
        "annual_rate_bp",
        "funded_amount",
        "total_due",
        "repaid_amount",
        "outstanding",
        "arrears_amount",
        "days_past_due",
        "next_due_at",
        "created_at",
        "disbursed_at",
        "closed_at",
    ])?;
    let date = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    for r in rows {
        let (id, borrower, status, amount, term, rate, funded, total_due, repaid) =
            (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8);
        let (arrears, oldest_due, next_due, created, disbursed, closed) =
            (r.9, r.10, r.11, r.12, r.13, r.14);
        let days_past_due = oldest_due
            .map(|due| (now - due).num_days().to_string())
            .unwrap_or_default();
        out.row([
            id.to_string(),
            borrower.to_string(),
            status,
            decimal(amount),
            term.to_string(),
            rate.to_string(),
            decimal(funded),
            total_due.map(decimal).unwrap_or_default(),
            decimal(repaid),
            total_due
                .map(|due| decimal(due - repaid))
                .unwrap_or_default(),
            decimal(arrears),
            days_past_due,
            date(next_due),
            created.to_rfc3339(),
            date(disbursed),
            date(closed),
        ])?;
    }
    out.finish()
}

async fn giving_statement(
    db: &PgPool,
    donor: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Csv> {
    // Refunded gifts are left out: the donor got the money back.
    let rows = repo::gifts_of(db, donor, from, to).await?;
    let mut out = Writer::new(&["date", "campaign", "amount", "currency", "donation_id"])?;
    let mut total: i64 = 0;
    let mut currency = String::new();
    for (id, at, title, cur, amount) in rows {
        total = total.saturating_add(amount);
        out.row([
            at.date_naive().to_string(),
            text(&title),
            decimal(amount),
            cur.clone(),
            id.to_string(),
        ])?;
        currency = cur;
    }
    out.extra([
        String::new(),
        "Total".to_string(),
        decimal(total),
        currency,
        String::new(),
    ])?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_as_decimals_with_two_places() {
        assert_eq!(decimal(0), "0.00");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(123_456), "1234.56");
        assert_eq!(decimal(-250), "-2.50");
        assert_eq!(decimal(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn text_that_could_start_a_formula_is_defused() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("Clean water, now"), "Clean water, now");
    }

    #[test]
    fn periods_cover_whole_utc_days() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        let (from, to) = bounds(d("2026-03-01"), d("2026-03-31")).expect("bounds");
        assert_eq!(from.to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-04-01T00:00:00+00:00");
    }

    #[test]
    fn commas_quotes_and_newlines_are_quoted() {
        let mut w = Writer::new(&["a", "b"]).expect("writer");
        w.row(["say \"hi\", then", "two\nlines"]).expect("row");
        let csv = w.finish().expect("finish");
        assert_eq!(
            String::from_utf8(csv.bytes).expect("utf8"),
            "a,b\n\"say \"\"hi\"\", then\",\"two\nlines\"\n"
        );
        assert_eq!(csv.rows, 1);
    }
}
