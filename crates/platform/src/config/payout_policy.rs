//! Money out and the payment provider's prices (`PAYOUT_*`, `PAYMENTS_*_FEE*`).

use super::{ConfigError, Env};

/// Payout limits and provider fees. Amounts are minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutPolicy {
    /// `PAYOUT_MIN_AMOUNT` (default 1,000: 10.00): the smallest payout.
    pub min_amount: i64,
    /// `PAYOUT_DAILY_LIMIT` (default 1,000,000: 10,000.00): what one user may pay out in any
    /// 24 hours (failed payouts do not count).
    pub daily_limit: i64,
    /// `PAYMENTS_PAYOUT_FEE` (default 25: 0.25): the provider's fixed price per payout, taken
    /// from what reaches the bank.
    pub payout_fee: i64,
    /// `PAYMENTS_DEPOSIT_FEE_BPS` + `PAYMENTS_DEPOSIT_FEE_FIXED` (defaults 0 and 0; the dev
    /// `./run` sets a card-like 290 + 30): the provider's price per deposit, in basis points of
    /// the amount (rounded up) plus a fixed part, taken from the wallet as its own ledger line.
    pub deposit_fee_bps: i64,
    pub deposit_fee_fixed: i64,
}

impl Default for PayoutPolicy {
    fn default() -> Self {
        Self {
            min_amount: 1_000,
            daily_limit: 1_000_000,
            payout_fee: 25,
            deposit_fee_bps: 0,
            deposit_fee_fixed: 0,
        }
    }
}

impl PayoutPolicy {
    /// The provider's fee on a deposit of `amount`.
    pub fn deposit_fee(&self, amount: i64) -> i64 {
        // Ceiling of amount × bps / 10,000, in i128 so no amount can overflow.
        let variable = (i128::from(amount) * i128::from(self.deposit_fee_bps) + 9_999) / 10_000;
        i64::try_from(variable).unwrap_or(i64::MAX) + self.deposit_fee_fixed
    }
}

pub(super) fn payout_policy<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<PayoutPolicy, ConfigError> {
    let d = PayoutPolicy::default();
    let p = PayoutPolicy {
        min_amount: env.parse("PAYOUT_MIN_AMOUNT", d.min_amount)?,
        daily_limit: env.parse("PAYOUT_DAILY_LIMIT", d.daily_limit)?,
        payout_fee: env.parse("PAYMENTS_PAYOUT_FEE", d.payout_fee)?,
        deposit_fee_bps: env.parse("PAYMENTS_DEPOSIT_FEE_BPS", d.deposit_fee_bps)?,
        deposit_fee_fixed: env.parse("PAYMENTS_DEPOSIT_FEE_FIXED", d.deposit_fee_fixed)?,
    };
    let bad = |var: &'static str, reason: &str| ConfigError {
        var,
        reason: reason.into(),
    };
    if p.payout_fee < 0 || p.min_amount <= p.payout_fee {
        return Err(bad(
            "PAYOUT_MIN_AMOUNT",
            "must exceed PAYMENTS_PAYOUT_FEE (>= 0)",
        ));
    }
    if p.daily_limit < p.min_amount {
        return Err(bad(
            "PAYOUT_DAILY_LIMIT",
            "must be at least PAYOUT_MIN_AMOUNT",
        ));
    }
    if !(0..5_000).contains(&p.deposit_fee_bps) {
        return Err(bad("PAYMENTS_DEPOSIT_FEE_BPS", "must be 0 to 4,999"));
    }
    if p.deposit_fee_fixed < 0 {
        return Err(bad("PAYMENTS_DEPOSIT_FEE_FIXED", "must be >= 0"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposit_fees_round_up_and_add_the_fixed_part() {
        let p = PayoutPolicy {
            deposit_fee_bps: 290,
            deposit_fee_fixed: 30,
            ..PayoutPolicy::default()
        };
        assert_eq!(p.deposit_fee(10_000), 290 + 30);
        assert_eq!(p.deposit_fee(101), 3 + 30); // 2.929 rounds up
        assert_eq!(PayoutPolicy::default().deposit_fee(10_000), 0);
    }
}
