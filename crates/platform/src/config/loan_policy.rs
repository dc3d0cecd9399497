//! Microloan policy (`LOAN_*`): limits, terms, rate and the scoring threshold.

use super::{ConfigError, Env};

/// Microloan limits and policy. Amounts are minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanPolicy {
    /// `LOAN_MIN_AMOUNT` / `LOAN_MAX_AMOUNT` (defaults 10,000 and 1,000,000: 100.00 to
    /// 10,000.00).
    pub min_amount: i64,
    pub max_amount: i64,
    /// `LOAN_MIN_TERM_MONTHS` / `LOAN_MAX_TERM_MONTHS` (defaults 3 and 36).
    pub min_term_months: i32,
    pub max_term_months: i32,
    /// `LOAN_MIN_SHARE` (default 2,500: 25.00): the smallest share a lender may take, except
    /// the last one, which may be whatever remains.
    pub min_share: i64,
    /// `LOAN_ANNUAL_RATE_BP` (default 0): annual interest in basis points (500 = 5%) on the
    /// declining balance, fixed on each loan when it is submitted.
    pub annual_rate_bp: i32,
    /// `LOAN_FUNDRAISING_DAYS` (default 30): how long an approved loan raises money before it
    /// expires and its lenders are refunded.
    pub fundraising_days: i64,
    /// `LOAN_DEFAULT_DAYS` (default 90): an installment unpaid this many days past its due
    /// date puts the loan in default.
    pub default_days: i64,
    /// `LOAN_SCORE_THRESHOLD` (default 600, of 0–1000): applications scoring at least this
    /// are shown as "recommended" in the admin queue. Approval stays a human decision.
    pub score_threshold: i32,
}

impl Default for LoanPolicy {
    fn default() -> Self {
        Self {
            min_amount: 10_000,
            max_amount: 1_000_000,
            min_term_months: 3,
            max_term_months: 36,
            min_share: 2_500,
            annual_rate_bp: 0,
            fundraising_days: 30,
            default_days: 90,
            score_threshold: 600,
        }
    }
}

pub(super) fn loan_policy<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<LoanPolicy, ConfigError> {
    let d = LoanPolicy::default();
    let p = LoanPolicy {
        min_amount: env.parse("LOAN_MIN_AMOUNT", d.min_amount)?,
        max_amount: env.parse("LOAN_MAX_AMOUNT", d.max_amount)?,
        min_term_months: env.parse("LOAN_MIN_TERM_MONTHS", d.min_term_months)?,
        max_term_months: env.parse("LOAN_MAX_TERM_MONTHS", d.max_term_months)?,
        min_share: env.parse("LOAN_MIN_SHARE", d.min_share)?,
        annual_rate_bp: env.parse("LOAN_ANNUAL_RATE_BP", d.annual_rate_bp)?,
        fundraising_days: env.parse("LOAN_FUNDRAISING_DAYS", d.fundraising_days)?,
        default_days: env.parse("LOAN_DEFAULT_DAYS", d.default_days)?,
        score_threshold: env.parse("LOAN_SCORE_THRESHOLD", d.score_threshold)?,
    };
    let bad = |var: &'static str, reason: &str| ConfigError {
        var,
        reason: reason.into(),
    };
    if p.min_amount < 1 || p.max_amount < p.min_amount {
        return Err(bad(
            "LOAN_MAX_AMOUNT",
            "must be at least LOAN_MIN_AMOUNT (>= 1)",
        ));
    }
    // Schedules need at least one minor unit of principal per month.
    if p.min_term_months < 1
        || p.max_term_months < p.min_term_months
        || p.max_term_months > 600
        || p.min_amount < i64::from(p.max_term_months)
    {
        return Err(bad(
            "LOAN_MAX_TERM_MONTHS",
            "must be between LOAN_MIN_TERM_MONTHS (>= 1) and 600, and at most LOAN_MIN_AMOUNT",
        ));
    }
    if p.min_share < 1 {
        return Err(bad("LOAN_MIN_SHARE", "must be at least 1"));
    }
    if !(0..=10_000).contains(&p.annual_rate_bp) {
        return Err(bad("LOAN_ANNUAL_RATE_BP", "must be between 0 and 10000"));
    }
    if p.fundraising_days < 1 {
        return Err(bad("LOAN_FUNDRAISING_DAYS", "must be at least 1"));
    }
    if p.default_days < 1 {
        return Err(bad("LOAN_DEFAULT_DAYS", "must be at least 1"));
    }
    if !(0..=1000).contains(&p.score_threshold) {
        return Err(bad("LOAN_SCORE_THRESHOLD", "must be between 0 and 1000"));
    }
    Ok(p)
}
