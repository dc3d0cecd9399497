//! The credit score: a deterministic, explainable 0–1000 number computed only from the
//! borrower's own history on the platform. Every point comes from a named factor that records
//! its input and why it counted, so the admin sees exactly how the score was reached.

use serde::{Deserialize, Serialize};

/// Where every application starts, before any history is counted.
pub const BASE: i32 = 300;

/// What the platform knows about a borrower when their application is scored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// Days since the account was created.
    pub account_age_days: i64,
    pub confirmed_deposits: i64,
    /// Sum of confirmed deposits, minor units.
    pub deposited_amount: i64,
    /// Past loans repaid without ever being late.
    pub repaid_on_time: i64,
    /// Past loans repaid after having been late at some point.
    pub repaid_late: i64,
    /// Past loans that defaulted (or were written off).
    pub defaulted: i64,
    /// What the borrower still owes on loans being repaid, minor units.
    pub current_debt: i64,
    /// The largest loan the borrower has fully repaid, minor units.
    pub largest_repaid: i64,
    /// The amount asked for now.
    pub requested: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "FactorDto")
)]
pub struct Factor {
    /// Stable name, e.g. `account_age`.
    pub name: String,
    /// The input the points were computed from (days, a count, minor units or a percentage).
    pub value: i64,
    /// Points added (or taken away) by this factor.
    pub points: i32,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub score: i32,
    pub factors: Vec<Factor>,
}

fn factor(name: &str, value: i64, points: i64, explanation: String) -> Factor {
    Factor {
        name: name.to_string(),
        value,
        // Every factor below is bounded well inside i32.
        points: points as i32,
        explanation,
    }
}

/// Percentage `part / whole`, capped at `cap`, in integer arithmetic.
fn percent(part: i64, whole: i64, cap: i64) -> i64 {
    if whole <= 0 {
        return cap;
    }
    ((i128::from(part.max(0)) * 100 / i128::from(whole)).min(i128::from(cap))) as i64
}

/// Scores `h`. The same history always gives the same score and factors.
pub fn score(h: &History) -> Score {
    let age = h.account_age_days.clamp(0, 365);
    let deposits_pct = percent(h.deposited_amount, h.requested, 100);
    let on_time = h.repaid_on_time.clamp(0, 3);
    let late = h.repaid_late.clamp(0, 3);
    let defaulted = h.defaulted.clamp(0, 3);
    let debt_pct = percent(h.current_debt, h.requested, 200);
    let factors = vec![
        factor(
            "base",
            0,
            i64::from(BASE),
            "every application starts here".into(),
        ),
        factor(
            "account_age",
            h.account_age_days,
            age * 150 / 365,
            format!(
                "account is {} days old (up to 150 points at a year)",
                h.account_age_days
            ),
        ),
        factor(
            "confirmed_deposits",
            h.deposited_amount,
            deposits_pct * 3 / 2,
            format!(
                "{} confirmed deposits totalling {}, {deposits_pct}% of the amount asked \
                 (up to 150 points at 100%)",
                h.confirmed_deposits, h.deposited_amount
            ),
        ),
        factor(
            "repaid_on_time",
            h.repaid_on_time,
            on_time * 100,
            format!(
                "{} earlier loans repaid on time (100 points each, up to 3)",
                h.repaid_on_time
            ),
        ),
        factor(
            "repaid_late",
            h.repaid_late,
            late * 40,
            format!(
                "{} earlier loans repaid after being late (40 points each, up to 3)",
                h.repaid_late
            ),
        ),
        factor(
            "defaulted",
            h.defaulted,
            -defaulted * 300,
            format!(
                "{} earlier loans defaulted (minus 300 points each)",
                h.defaulted
            ),
        ),
        factor(
            "current_debt",
            h.current_debt,
            -debt_pct,
            format!(
                "still owes {} on other loans, {debt_pct}% of the amount asked \
                 (minus a point per percent, up to 200)",
                h.current_debt
            ),
        ),
        amount_vs_history(h),
    ];
    let total: i32 = factors.iter().map(|f| f.points).sum();
    Score {
        score: total.clamp(0, 1000),
        factors,
    }
}

/// Asking for no more than one has already repaid is a good sign; asking for several times as
/// much is not.
fn amount_vs_history(h: &History) -> Factor {
    if h.largest_repaid <= 0 {
        return factor(
            "amount_vs_history",
            0,
            0,
            "no loan repaid yet to compare the amount with".into(),
        );
    }
    let ratio = percent(h.requested, h.largest_repaid, 10_000);
    let points = match ratio {
        0..=100 => 100,
        101..=200 => 50,
        201..=400 => 0,
        _ => -100,
    };
    factor(
        "amount_vs_history",
        ratio,
        points,
        format!(
            "asks for {ratio}% of the largest loan repaid before ({}): \
             100 points up to 100%, 50 up to 200%, minus 100 above 400%",
            h.largest_repaid
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newcomer() -> History {
        History {
            requested: 50_000,
            ..Default::default()
        }
    }

    #[test]
    fn a_newcomer_without_history_gets_the_base_score() {
        let s = score(&newcomer());
        assert_eq!(s.score, BASE);
        assert_eq!(s.factors.len(), 8);
        assert_eq!(s.factors.iter().map(|f| f.points).sum::<i32>(), BASE);
    }

    #[test]
    fn the_same_history_always_gives_the_same_score_and_factors() {
        let h = History {
            account_age_days: 200,
            confirmed_deposits: 3,
            deposited_amount: 30_000,
            repaid_on_time: 1,
            largest_repaid: 40_000,
            ..newcomer()
        };
        assert_eq!(score(&h), score(&h));
    }

    #[test]
    fn a_seasoned_borrower_who_always_repaid_scores_high_and_every_point_is_explained() {
        let h = History {
            account_age_days: 800,
            confirmed_deposits: 10,
            deposited_amount: 100_000,
            repaid_on_time: 2,
            largest_repaid: 60_000,
            ..newcomer()
        };
        let s = score(&h);
        // 300 + 150 (age) + 150 (deposits) + 200 (two on time) + 100 (asks less than before).
        assert_eq!(s.score, 900);
        assert!(s.factors.iter().all(|f| !f.explanation.is_empty()));
    }

    #[test]
    fn defaults_and_current_debt_pull_the_score_down_but_never_below_zero() {
        let h = History {
            defaulted: 2,
            current_debt: 200_000,
            ..newcomer()
        };
        assert_eq!(score(&h).score, 0);
        let one_default = History {
            defaulted: 1,
            ..newcomer()
        };
        assert_eq!(score(&one_default).score, 0);
    }

    #[test]
    fn the_score_is_capped_at_one_thousand() {
        let h = History {
            account_age_days: 5_000,
            deposited_amount: 10_000_000,
            repaid_on_time: 10,
            repaid_late: 10,
            largest_repaid: 1_000_000,
            ..newcomer()
        };
        assert_eq!(score(&h).score, 1000);
    }

    #[test]
    fn asking_for_much_more_than_ever_repaid_costs_points() {
        let modest = History {
            largest_repaid: 50_000,
            ..newcomer()
        };
        let bold = History {
            largest_repaid: 10_000,
            ..newcomer()
        };
        assert!(score(&modest).score > score(&bold).score);
    }
}
