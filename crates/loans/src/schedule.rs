//! The loan arithmetic, all in integer minor units: the repayment schedule (equal monthly
//! installments on a declining balance) and the pro-rata split of a repayment among lenders.
//! Both are exact: installments sum to principal + interest, and shares sum to the repayment.

use chrono::{DateTime, Months, Utc};
use uuid::Uuid;

use platform::error::{Error, Result};

/// Basis points per year → per month: interest on a balance is `balance * bp / 120_000`.
const MONTHLY_DIVISOR: i128 = 120_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installment {
    pub seq: i32,
    pub principal: i64,
    pub interest: i64,
}

impl Installment {
    pub fn amount(&self) -> i64 {
        self.principal + self.interest
    }
}

/// One month's interest on `balance`, rounded half up to the minor unit.
fn monthly_interest(balance: i128, annual_rate_bp: i128) -> i128 {
    (balance * annual_rate_bp + MONTHLY_DIVISOR / 2) / MONTHLY_DIVISOR
}

/// Runs `months` payments of `payment` against `principal` and returns the schedule; the last
/// installment pays off whatever balance is left (so it may be a little smaller or larger).
fn amortise(principal: i64, annual_rate_bp: i32, months: i32, payment: i128) -> Vec<Installment> {
    let rate = i128::from(annual_rate_bp);
    let mut balance = i128::from(principal);
    let mut out = Vec::with_capacity(months as usize);
    for seq in 1..=months {
        let interest = monthly_interest(balance, rate);
        let principal_part = if seq == months {
            balance
        } else {
            (payment - interest).clamp(0, balance)
        };
        balance -= principal_part;
        out.push(Installment {
            seq,
            // Bounded by the principal and its interest, both far below i64::MAX.
            principal: principal_part as i64,
            interest: interest as i64,
        });
    }
    out
}

/// Equal monthly installments that repay `principal` with `annual_rate_bp` interest (basis
/// points, on the declining balance) over `months`.
///
/// At 0% the principal is split into parts differing by at most one minor unit (the earlier
/// installments carry the extra units). With interest, the installment is the smallest whole
/// amount whose last payment does not exceed it, found by exact integer simulation rather than
/// the floating-point annuity formula; the last installment absorbs the rounding.
pub fn build(principal: i64, annual_rate_bp: i32, months: i32) -> Result<Vec<Installment>> {
    if months < 1 {
        return Err(Error::validation(
            "termMonths",
            "termMonths must be at least 1",
        ));
    }
    if principal < i64::from(months) {
        return Err(Error::validation(
            "amount",
            "amount must be at least one minor unit per month of the term",
        ));
    }
    if !(0..=10_000).contains(&annual_rate_bp) {
        return Err(Error::internal("annual rate outside 0..=10000 bp"));
    }
    if annual_rate_bp == 0 {
        let n = i64::from(months);
        let (base, extra) = (principal / n, principal % n);
        return Ok((1..=months)
            .map(|seq| Installment {
                seq,
                principal: base + i64::from(i64::from(seq) <= extra),
                interest: 0,
            })
            .collect());
    }
    // The payment lies between the interest-free share and principal plus a full term of
    // interest on the whole principal; the last payment only shrinks as the payment grows.
    let last_fits = |payment: i128| {
        let schedule = amortise(principal, annual_rate_bp, months, payment);
        schedule
            .last()
            .is_some_and(|l| i128::from(l.amount()) <= payment)
    };
    let p = i128::from(principal);
    let mut lo = (p + i128::from(months) - 1) / i128::from(months);
    let mut hi = p + monthly_interest(p, i128::from(annual_rate_bp)) * i128::from(months) + 1;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if last_fits(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let schedule = amortise(principal, annual_rate_bp, months, lo);
    if schedule.iter().any(|i| i.amount() <= 0) {
        return Err(Error::validation(
            "amount",
            "amount is too small for this term and rate",
        ));
    }
    Ok(schedule)
}

/// The due date of installment `seq`: the same day of the month, `seq` months after
/// disbursement (clamped to the month's last day).
pub fn due_at(disbursed_at: DateTime<Utc>, seq: i32) -> Result<DateTime<Utc>> {
    disbursed_at
        .checked_add_months(Months::new(seq.unsigned_abs()))
        .ok_or_else(|| Error::internal("installment due date out of range"))
}

/// Splits `amount` among lenders in proportion to their `weights` (their total shares), with
/// the largest-remainder method: everyone gets the floor of their exact part, and the units
/// left over go one each to the largest remainders (ties: larger weight first, then lender id),
/// so the parts sum exactly to `amount` and the same input always gives the same split.
/// Lenders whose part is zero are left out.
pub fn pro_rata(amount: i64, weights: &[(Uuid, i64)]) -> Result<Vec<(Uuid, i64)>> {
    let total: i128 = weights.iter().map(|(_, w)| i128::from(*w)).sum();
    if amount < 0 || total <= 0 || weights.iter().any(|(_, w)| *w <= 0) {
        return Err(Error::internal(
            "pro-rata split needs positive weights and a non-negative amount",
        ));
    }
    let amount128 = i128::from(amount);
    let mut parts: Vec<(Uuid, i64, i128, i128)> = weights
        .iter()
        .map(|(id, w)| {
            let exact = amount128 * i128::from(*w);
            (*id, *w, exact / total, exact % total)
        })
        .collect();
    let given: i128 = parts.iter().map(|p| p.2).sum();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&parts[a], &parts[b]);
        pb.3.cmp(&pa.3).then(pb.1.cmp(&pa.1)).then(pa.0.cmp(&pb.0))
    });
    // Fewer leftover units than lenders: each remainder is below `total`.
    let leftover = (amount128 - given) as usize;
    for &i in order.iter().take(leftover) {
        parts[i].2 += 1;
    }
    Ok(parts
        .into_iter()
        .filter(|p| p.2 > 0)
        .map(|(id, _, part, _)| (id, part as i64))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(s: &[Installment]) -> i64 {
        s.iter().map(Installment::amount).sum()
    }

    fn interest(s: &[Installment]) -> i64 {
        s.iter().map(|i| i.interest).sum()
    }

    #[test]
    fn an_interest_free_loan_splits_the_principal_into_near_equal_installments() {
        let s = build(10_001, 0, 3).expect("builds");
        let amounts: Vec<i64> = s.iter().map(Installment::amount).collect();
        assert_eq!(amounts, [3_334, 3_334, 3_333]);
        assert_eq!(total(&s), 10_001);
        assert_eq!(interest(&s), 0);
    }

    #[test]
    fn awkward_amounts_at_zero_percent_still_sum_exactly_and_differ_by_at_most_one_unit() {
        for (principal, months) in [
            (100, 7),
            (99_999, 12),
            (1_000_003, 36),
            (7, 7),
            (12_345, 11),
        ] {
            let s = build(principal, 0, months).expect("builds");
            assert_eq!(s.len(), months as usize);
            assert_eq!(total(&s), principal, "{principal} over {months}");
            let max = s.iter().map(Installment::amount).max().expect("some");
            let min = s.iter().map(Installment::amount).min().expect("some");
            assert!(max - min <= 1);
        }
    }

    #[test]
    fn an_interest_bearing_schedule_matches_the_textbook_annuity() {
        // 1,000.00 at 12% a year over 12 months: the annuity formula gives 88.85 a month.
        let s = build(100_000, 1_200, 12).expect("builds");
        assert!(s[..11].iter().all(|i| i.amount() == 8_885));
        let last = s[11].amount();
        assert!((8_870..=8_885).contains(&last), "last installment {last}");
        assert_eq!(s[0].interest, 1_000);
        assert_eq!(s.iter().map(|i| i.principal).sum::<i64>(), 100_000);
        assert_eq!(total(&s), 100_000 + interest(&s));
    }

    #[test]
    fn interest_bearing_schedules_repay_the_principal_exactly_for_awkward_inputs() {
        for (principal, rate, months) in [
            (10_001, 1, 3),
            (99_999, 999, 7),
            (1_000_003, 2_499, 36),
            (12_345, 10_000, 11),
            (333, 500, 3),
            (1_000_000, 1_850, 60),
        ] {
            let s = build(principal, rate, months).expect("builds");
            assert_eq!(s.len(), months as usize);
            assert_eq!(s.iter().map(|i| i.principal).sum::<i64>(), principal);
            assert_eq!(total(&s), principal + interest(&s));
            let first = s[0].amount();
            assert!(s[..s.len() - 1].iter().all(|i| i.amount() == first));
            let last = s[s.len() - 1].amount();
            assert!(
                last > 0 && last <= first,
                "{principal}/{rate}/{months}: last {last}"
            );
            // Each rounded payment leaves under a unit of drift, compounded at the rate.
            assert!(
                first - last <= 2 * i64::from(months),
                "{principal}/{rate}/{months}: first {first}, last {last}"
            );
        }
    }

    #[test]
    fn interest_falls_as_the_balance_declines() {
        let s = build(500_000, 2_000, 24).expect("builds");
        assert!(s.windows(2).all(|w| w[1].interest <= w[0].interest));
    }

    #[test]
    fn a_principal_smaller_than_the_term_is_refused() {
        assert!(build(5, 0, 6).is_err());
        assert!(build(100, 0, 0).is_err());
    }

    #[test]
    fn installments_fall_due_monthly_and_month_ends_are_clamped() {
        let start = DateTime::parse_from_rfc3339("2026-01-31T10:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let due = due_at(start, 1).expect("due");
        assert_eq!(due.to_rfc3339(), "2026-02-28T10:00:00+00:00");
        assert_eq!(
            due_at(start, 3).expect("due").to_rfc3339(),
            "2026-04-30T10:00:00+00:00"
        );
    }

    fn ids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn a_repayment_is_split_pro_rata_and_the_parts_sum_exactly() {
        let l = ids(3);
        let parts = pro_rata(1_000, &[(l[0], 1), (l[1], 1), (l[2], 1)]).expect("splits");
        assert_eq!(parts, [(l[0], 334), (l[1], 333), (l[2], 333)]);
    }

    #[test]
    fn leftover_units_go_to_the_largest_remainders_not_the_first_lender() {
        let l = ids(3);
        // Exact parts: 14.2857, 28.5714, 57.1428 → floors 14, 28, 57 and one unit left for
        // the largest remainder (0.5714, lender 2).
        let parts = pro_rata(100, &[(l[0], 2_500), (l[1], 5_000), (l[2], 10_000)]).expect("ok");
        assert_eq!(parts, [(l[0], 14), (l[1], 29), (l[2], 57)]);
    }

    #[test]
    fn awkward_splits_sum_exactly_to_the_cent_and_never_exceed_the_exact_part_by_a_unit() {
        let l = ids(7);
        let weights: Vec<(Uuid, i64)> = l
            .iter()
            .zip([2_501, 3_333, 7_777, 12_345, 9_999, 2_500, 1_111])
            .map(|(id, w)| (*id, w))
            .collect();
        let sum: i64 = weights.iter().map(|w| w.1).sum();
        for amount in [1, 2, 7, 99, 1_001, 33_333, 394_711, 9_999_999] {
            let parts = pro_rata(amount, &weights).expect("splits");
            assert_eq!(parts.iter().map(|p| p.1).sum::<i64>(), amount, "{amount}");
            for (id, part) in &parts {
                let w = weights.iter().find(|w| w.0 == *id).expect("weight").1;
                let exact = amount as f64 * w as f64 / sum as f64;
                assert!(
                    (*part as f64 - exact).abs() < 1.0,
                    "{amount}: {part} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn the_split_is_deterministic_whatever_the_input_order() {
        let l = ids(4);
        let a = [(l[0], 10), (l[1], 10), (l[2], 10), (l[3], 10)];
        let mut b = a;
        b.reverse();
        let mut pa = pro_rata(3, &a).expect("ok");
        let mut pb = pro_rata(3, &b).expect("ok");
        pa.sort();
        pb.sort();
        assert_eq!(pa, pb);
        assert_eq!(pa, [(l[0], 1), (l[1], 1), (l[2], 1)]);
    }

    #[test]
    fn a_split_without_positive_weights_is_an_error() {
        assert!(pro_rata(10, &[]).is_err());
        assert!(pro_rata(10, &[(Uuid::nil(), 0)]).is_err());
    }
}
