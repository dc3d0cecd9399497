//! A lender's portfolio: one position per loan they funded, with what they lent, what has come
//! back to them, what is still owed to them and the next repayment they can expect.
//!
//! Every amount a lender is owed is their part of a loan figure under the rule repayments are
//! split by ([`schedule::pro_rata`]: largest remainder over the standing shares), so the
//! positions of a loan's lenders always sum exactly to the loan's figure, and a repayment of
//! the next installment pays each lender exactly the part shown.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::LoanStatus;
use super::repo::{self, PositionRow};
use super::schedule;
use super::service::LoanService;
use accounts::Principal;
use platform::error::Result;

/// Where a lender's money in one loan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum LenderStatus {
    /// Still raising money; the share waits in the loan's escrow.
    Fundraising,
    /// Disbursed and repaid on schedule.
    Repaying,
    /// An installment is past due.
    Late,
    /// Unpaid for too long; no repayments are taken.
    Defaulted,
    /// Given up after a default; what was still owed is lost.
    WrittenOff,
    /// Repaid in full.
    Repaid,
    /// The loan did not raise its amount in time and the share went back to the wallet.
    Refunded,
}

impl LenderStatus {
    /// The lender's view of a loan in `status`; `refunded` when their shares were returned.
    pub fn of(status: LoanStatus, refunded: bool) -> Self {
        if refunded {
            return Self::Refunded;
        }
        match status {
            // Shares are taken only while fundraising; the earlier states never have any.
            LoanStatus::Submitted
            | LoanStatus::Scoring
            | LoanStatus::PendingReview
            | LoanStatus::Fundraising => Self::Fundraising,
            LoanStatus::Funded | LoanStatus::Active => Self::Repaying,
            LoanStatus::Late => Self::Late,
            LoanStatus::Defaulted => Self::Defaulted,
            LoanStatus::WrittenOff => Self::WrittenOff,
            LoanStatus::Repaid => Self::Repaid,
            LoanStatus::Rejected | LoanStatus::Expired => Self::Refunded,
        }
    }
}

/// One loan the lender funded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "LendingPosition", rename_all = "camelCase")
)]
pub struct Position {
    pub loan_id: Uuid,
    pub purpose: String,
    /// First name and last initial.
    pub borrower_name: String,
    pub loan_status: LoanStatus,
    pub status: LenderStatus,
    /// The lender's shares in this loan, minor units (for `refunded`, what was returned).
    pub lent: i64,
    /// What repayments have passed on to this lender so far.
    pub repaid: i64,
    /// The lender's part of what the loan still owes (principal and interest): their share
    /// while fundraising, their pro-rata part of the outstanding balance while repaying, late
    /// or defaulted, zero once repaid, written off or refunded.
    pub outstanding: i64,
    /// When the next unpaid installment falls due, while the loan is repaying or late.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub next_due_at: Option<DateTime<Utc>>,
    /// This lender's part of that installment (what is still unpaid of it).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub next_amount: Option<i64>,
    /// When the lender first lent to this loan.
    pub lent_at: DateTime<Utc>,
}

/// How many positions are in each status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "LenderStatusCounts", rename_all = "camelCase")
)]
pub struct StatusCounts {
    pub fundraising: i64,
    pub repaying: i64,
    pub late: i64,
    pub defaulted: i64,
    pub written_off: i64,
    pub repaid: i64,
    pub refunded: i64,
}

impl StatusCounts {
    fn add(&mut self, status: LenderStatus) {
        let n = match status {
            LenderStatus::Fundraising => &mut self.fundraising,
            LenderStatus::Repaying => &mut self.repaying,
            LenderStatus::Late => &mut self.late,
            LenderStatus::Defaulted => &mut self.defaulted,
            LenderStatus::WrittenOff => &mut self.written_off,
            LenderStatus::Repaid => &mut self.repaid,
            LenderStatus::Refunded => &mut self.refunded,
        };
        *n += 1;
    }
}

/// The whole portfolio's sums, minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "PortfolioTotals", rename_all = "camelCase")
)]
pub struct Totals {
    /// Lent to loans that were not refunded.
    pub lent: i64,
    /// Returned from loans whose fundraising failed.
    pub refunded: i64,
    pub repaid: i64,
    pub outstanding: i64,
    /// Loans in each status (one per loan, however many shares the lender took in it).
    pub by_status: StatusCounts,
}

/// A page of positions, newest first, and the totals of them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portfolio {
    pub positions: Vec<Position>,
    /// Positions in all.
    pub count: i64,
    pub totals: Totals,
}

/// `lender`'s part of `amount` split over `weights` by the repayment rule; zero when they hold
/// no standing share.
pub fn part_of(amount: i64, lender: Uuid, weights: &[(Uuid, i64)]) -> Result<i64> {
    if amount == 0 || weights.is_empty() {
        return Ok(0);
    }
    Ok(schedule::pro_rata(amount, weights)?
        .into_iter()
        .find(|(id, _)| *id == lender)
        .map_or(0, |(_, part)| part))
}

/// The position of `lender` from its row and the weights of its loan (needed only while the
/// loan is repaying, late or defaulted).
pub fn position(row: PositionRow, lender: Uuid, weights: &[(Uuid, i64)]) -> Result<Position> {
    let loan_status = LoanStatus::parse(&row.status)?;
    let status = LenderStatus::of(loan_status, row.refunded);
    let outstanding = match status {
        LenderStatus::Fundraising => row.lent,
        LenderStatus::Repaying | LenderStatus::Late | LenderStatus::Defaulted => {
            let owed = row.total_due.unwrap_or(0) - row.repaid_amount;
            part_of(owed, lender, weights)?
        }
        LenderStatus::WrittenOff | LenderStatus::Repaid | LenderStatus::Refunded => 0,
    };
    let next = match (status, row.next_due_at, row.next_open) {
        (LenderStatus::Repaying | LenderStatus::Late, Some(due), Some(open)) => {
            Some((due, part_of(open, lender, weights)?))
        }
        _ => None,
    };
    Ok(Position {
        loan_id: row.loan_id,
        purpose: row.purpose,
        borrower_name: row.borrower_name,
        loan_status,
        status,
        lent: row.lent,
        repaid: row.repaid,
        outstanding,
        next_due_at: next.map(|n| n.0),
        next_amount: next.map(|n| n.1),
        lent_at: row.lent_at,
    })
}

/// The sums over every position.
pub fn totals(positions: &[Position]) -> Totals {
    let mut t = Totals::default();
    for p in positions {
        if p.status == LenderStatus::Refunded {
            t.refunded += p.lent;
        } else {
            t.lent += p.lent;
        }
        t.repaid += p.repaid;
        t.outstanding += p.outstanding;
        t.by_status.add(p.status);
    }
    t
}

/// Whether a position's outstanding amount and next repayment need the loan's weights.
fn needs_weights(row: &PositionRow) -> bool {
    !row.refunded && matches!(row.status.as_str(), "active" | "late" | "defaulted")
}

impl LoanService {
    /// The caller's positions as a lender, newest first (`limit` from `offset`), with the
    /// totals of the whole portfolio.
    ///
    /// The totals need every position, so all of them are read (one row per loan, plus the
    /// lender lists of the loans still owing) and the page is cut from them: a lender's loans
    /// number in the hundreds, not millions.
    #[tracing::instrument(skip_all, fields(lender_id = %principal.user_id))]
    pub async fn portfolio(
        &self,
        principal: &Principal,
        limit: i64,
        offset: i64,
    ) -> Result<Portfolio> {
        let lender = principal.user_id;
        // The primary: lenders look for the share they just took.
        let db = &self.infra.db.write;
        let rows = repo::positions(db, lender).await?;
        let owing: Vec<Uuid> = rows
            .iter()
            .filter(|r| needs_weights(r))
            .map(|r| r.loan_id)
            .collect();
        let mut weights: HashMap<Uuid, Vec<(Uuid, i64)>> = HashMap::new();
        for (loan_id, lender_id, amount) in repo::lender_weights(db, &owing).await? {
            weights
                .entry(loan_id)
                .or_default()
                .push((lender_id, amount));
        }
        let positions = rows
            .into_iter()
            .map(|row| {
                let loan_weights = weights.get(&row.loan_id).map_or(&[][..], Vec::as_slice);
                position(row, lender, loan_weights)
            })
            .collect::<Result<Vec<_>>>()?;
        let totals = totals(&positions);
        let count = positions.len() as i64;
        let page = positions
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(0))
            .take(usize::try_from(limit).unwrap_or(0))
            .collect();
        Ok(Portfolio {
            positions: page,
            count,
            totals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        let mut v: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
        v.sort();
        v
    }

    fn row(status: &str, lent: i64, total_due: Option<i64>, repaid_amount: i64) -> PositionRow {
        PositionRow {
            loan_id: Uuid::nil(),
            purpose: "A sewing machine".into(),
            borrower_name: "Ada L.".into(),
            status: status.into(),
            lent,
            refunded: false,
            lent_at: Utc::now(),
            total_due,
            repaid_amount,
            repaid: 0,
            next_due_at: Some(Utc::now()),
            next_open: Some(3_334),
        }
    }

    #[test]
    fn lenders_parts_of_what_a_loan_owes_sum_exactly_to_it() {
        let lenders = ids(3);
        let shares = [2_501, 3_333, 4_167];
        let weights: Vec<(Uuid, i64)> = lenders.iter().copied().zip(shares).collect();
        for owed in [0, 1, 2, 7, 333, 9_999, 10_001, 12_345, 1_000_003] {
            let sum: i64 = lenders
                .iter()
                .map(|&l| part_of(owed, l, &weights).expect("splits"))
                .sum();
            assert_eq!(sum, owed, "parts of {owed}");
        }
    }

    #[test]
    fn a_lenders_part_is_what_a_repayment_of_that_amount_would_pay_them() {
        let lenders = ids(4);
        let weights: Vec<(Uuid, i64)> = lenders.iter().copied().zip([1, 1, 1, 7]).collect();
        let paid = schedule::pro_rata(1_001, &weights).expect("splits");
        for (lender, part) in paid {
            assert_eq!(part_of(1_001, lender, &weights).expect("splits"), part);
        }
    }

    #[test]
    fn someone_without_a_standing_share_is_owed_nothing() {
        let weights = [(Uuid::new_v4(), 500)];
        assert_eq!(part_of(300, Uuid::new_v4(), &weights).expect("ok"), 0);
        assert_eq!(part_of(300, Uuid::new_v4(), &[]).expect("ok"), 0);
    }

    #[test]
    fn positions_follow_the_loan_and_owe_the_lenders_part_of_the_balance() {
        let (me, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let weights = [(me, 3_000), (other, 7_000)];
        let p = position(row("active", 3_000, Some(10_001), 1_000), me, &weights).expect("ok");
        assert_eq!(p.status, LenderStatus::Repaying);
        // 9,001 owed: 2,700.3 → 2,700 to me, 6,300.7 → 6,301 to the other lender.
        assert_eq!(p.outstanding, 2_700);
        assert_eq!(p.next_amount, Some(1_000), "3,334 × 0.3 = 1,000.2");
        let p = position(row("fundraising", 3_000, None, 0), me, &[]).expect("ok");
        assert_eq!(
            (p.status, p.outstanding, p.next_amount),
            (LenderStatus::Fundraising, 3_000, None)
        );
        let p = position(row("defaulted", 3_000, Some(10_001), 1_000), me, &weights).expect("ok");
        assert_eq!(
            (p.status, p.outstanding, p.next_due_at),
            (LenderStatus::Defaulted, 2_700, None)
        );
        let p = position(row("written_off", 3_000, Some(10_001), 1_000), me, &weights).expect("ok");
        assert_eq!((p.status, p.outstanding), (LenderStatus::WrittenOff, 0));
        let mut refunded = row("expired", 3_000, None, 0);
        refunded.refunded = true;
        let p = position(refunded, me, &[]).expect("ok");
        assert_eq!((p.status, p.outstanding), (LenderStatus::Refunded, 0));
    }

    #[test]
    fn totals_keep_refunds_apart_from_what_is_lent() {
        let me = Uuid::from_u128(1);
        let weights = [(me, 3_000)];
        let mut refunded = row("expired", 500, None, 0);
        refunded.refunded = true;
        let positions = [
            position(row("active", 3_000, Some(3_000), 0), me, &weights).expect("ok"),
            position(row("fundraising", 200, None, 0), me, &[]).expect("ok"),
            position(refunded, me, &[]).expect("ok"),
        ];
        let t = totals(&positions);
        assert_eq!((t.lent, t.refunded, t.outstanding), (3_200, 500, 3_200));
        assert_eq!(
            (
                t.by_status.repaying,
                t.by_status.fundraising,
                t.by_status.refunded
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn every_loan_status_maps_to_a_lender_status() {
        for s in LoanStatus::ALL {
            assert_eq!(LenderStatus::of(s, true), LenderStatus::Refunded);
        }
        assert_eq!(
            LenderStatus::of(LoanStatus::Active, false),
            LenderStatus::Repaying
        );
        assert_eq!(
            LenderStatus::of(LoanStatus::Late, false),
            LenderStatus::Late
        );
    }
}
