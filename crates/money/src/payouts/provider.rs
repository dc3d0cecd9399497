//! The payment provider's side of bank accounts and payouts. Commonpot hands the account
//! number to the provider and keeps only the token it answers with, the bank's name and the
//! last four digits. The sandbox provider (development, tests) tokenizes locally and settles
//! payouts itself: every payout is paid, except to accounts ending in `0002`, which the sandbox
//! bank refuses (so the failure path can be tried by hand).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use platform::error::{Error, Result};

/// Last four digits of an account the sandbox bank refuses payouts to.
pub const SANDBOX_FAILING_LAST4: &str = "0002";
/// The reason the sandbox gives for refusing one.
pub const SANDBOX_FAILURE: &str = "account_closed";

/// What the user typed; lives only as long as the request.
pub struct BankDetails<'a> {
    pub account_number: &'a str,
    pub routing_number: &'a str,
}

/// What the provider answers and Commonpot keeps.
#[derive(Debug, PartialEq, Eq)]
pub struct Tokenized {
    pub token: String,
    pub bank_name: String,
    pub last4: String,
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks the numbers the way banks do: a 9-digit ABA routing number with a valid check digit,
/// and a 4 to 17 digit account number.
pub fn validate(d: &BankDetails<'_>) -> Result<()> {
    let r = d.routing_number.as_bytes();
    if r.len() != 9 || !digits(d.routing_number) {
        return Err(Error::validation(
            "routingNumber",
            "routingNumber must be 9 digits",
        ));
    }
    let n = |i: usize| u32::from(r[i] - b'0');
    let check = 3 * (n(0) + n(3) + n(6)) + 7 * (n(1) + n(4) + n(7)) + (n(2) + n(5) + n(8));
    if check % 10 != 0 {
        return Err(Error::validation(
            "routingNumber",
            "routingNumber is not a valid routing number",
        ));
    }
    if !(4..=17).contains(&d.account_number.len()) || !digits(d.account_number) {
        return Err(Error::validation(
            "accountNumber",
            "accountNumber must be 4 to 17 digits",
        ));
    }
    Ok(())
}

/// The sandbox's token: stable for the same account (so adding it twice finds the first),
/// and telling nothing about the number without the key.
pub fn sandbox_tokenize(key: &[u8], d: &BankDetails<'_>) -> Result<Tokenized> {
    validate(d)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(Error::internal)?;
    mac.update(d.routing_number.as_bytes());
    mac.update(b":");
    mac.update(d.account_number.as_bytes());
    let digest = hex::encode(mac.finalize().into_bytes());
    Ok(Tokenized {
        token: format!("sbx_ba_{}", &digest[..32]),
        bank_name: "Sandbox Bank".into(),
        last4: d.account_number[d.account_number.len() - 4..].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details<'a>(account_number: &'a str, routing_number: &'a str) -> BankDetails<'a> {
        BankDetails {
            account_number,
            routing_number,
        }
    }

    #[test]
    fn routing_numbers_need_their_check_digit() {
        assert!(validate(&details("000123456789", "110000000")).is_ok());
        assert!(validate(&details("000123456789", "021000021")).is_ok());
        assert!(validate(&details("000123456789", "110000001")).is_err());
        assert!(validate(&details("000123456789", "11000000")).is_err());
        assert!(validate(&details("123", "110000000")).is_err());
        assert!(validate(&details("12a4", "110000000")).is_err());
    }

    #[test]
    fn the_sandbox_keeps_a_stable_token_and_the_last_four_only() {
        let a = sandbox_tokenize(b"k", &details("000123456789", "110000000")).expect("token");
        let b = sandbox_tokenize(b"k", &details("000123456789", "110000000")).expect("token");
        let c = sandbox_tokenize(b"k", &details("000123456780", "110000000")).expect("token");
        assert_eq!(a, b);
        assert_ne!(a.token, c.token);
        assert_eq!(a.last4, "6789");
        assert!(!a.token.contains("123456789"));
    }
}
