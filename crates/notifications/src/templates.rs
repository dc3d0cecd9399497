//! Email templates: plain-text files under `domain/templates/`, compiled into the binary. The
//! first line is `Subject: …`, then a blank line, then the body; `{{name}}` is replaced.

use platform::error::{Error, Result};

pub const WELCOME: &str = include_str!("../templates/welcome.txt");
pub const DONATION_RECEIPT: &str = include_str!("../templates/donation_receipt.txt");
pub const DONATIONS_DIGEST: &str = include_str!("../templates/donations_digest.txt");
pub const LOAN_APPROVED: &str = include_str!("../templates/loan_approved.txt");
pub const LOAN_REJECTED: &str = include_str!("../templates/loan_rejected.txt");
pub const LOAN_FUNDED: &str = include_str!("../templates/loan_funded.txt");
pub const LOAN_LATE: &str = include_str!("../templates/loan_late.txt");
pub const LOAN_REMINDER: &str = include_str!("../templates/loan_reminder.txt");
pub const RECURRING_PAUSED: &str = include_str!("../templates/recurring_paused.txt");
pub const DONATION_REFUNDED: &str = include_str!("../templates/donation_refunded.txt");
pub const GOAL_REACHED: &str = include_str!("../templates/goal_reached.txt");
pub const CAMPAIGN_RELEASED: &str = include_str!("../templates/campaign_released.txt");
pub const REPORT_READY: &str = include_str!("../templates/report_ready.txt");
pub const PASSWORD_RESET: &str = include_str!("../templates/password_reset.txt");
pub const EMAIL_VERIFICATION: &str = include_str!("../templates/email_verification.txt");
pub const LENDER_FUNDED: &str = include_str!("../templates/lender_funded.txt");
pub const LENDER_LATE: &str = include_str!("../templates/lender_late.txt");
pub const LENDER_DEFAULTED: &str = include_str!("../templates/lender_defaulted.txt");
pub const LENDER_WRITTEN_OFF: &str = include_str!("../templates/lender_written_off.txt");
pub const REPAYMENT_DIGEST: &str = include_str!("../templates/repayment_digest.txt");
pub const CAMPAIGN_UPDATE: &str = include_str!("../templates/campaign_update.txt");
pub const PAYOUT_PAID: &str = include_str!("../templates/payout_paid.txt");
pub const PAYOUT_FAILED: &str = include_str!("../templates/payout_failed.txt");

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

/// Fills `template` with `vars`. A placeholder left without a value is an error, so a template
/// and its caller cannot drift apart silently. The template is read once, so values (which may
/// be what users wrote, braces included) are inserted as they are, never read as placeholders.
pub fn render(template: &str, vars: &[(&str, &str)]) -> Result<Email> {
    let mut text = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| Error::internal("template has an unclosed placeholder"))?;
        let name = &after[..end];
        let value = vars
            .iter()
            .find_map(|&(n, v)| (n == name).then_some(v))
            .ok_or_else(|| {
                Error::internal(format!("template placeholder {{{{{name}}}}} has no value"))
            })?;
        text.push_str(value);
        rest = &after[end + 2..];
    }
    text.push_str(rest);
    let (first, body) = text
        .split_once("\n\n")
        .ok_or_else(|| Error::internal("template has no blank line after its subject"))?;
    let subject = first
        .strip_prefix("Subject: ")
        .ok_or_else(|| Error::internal("template does not start with `Subject: `"))?;
    Ok(Email {
        subject: subject.trim().to_string(),
        body: body.to_string(),
    })
}

/// `1234` cents in `USD` → `12.34 USD`.
pub fn money(amount: i64, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}{}.{:02} {}", abs / 100, abs % 100, currency.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_the_subject_is_split_off() {
        let email = render(
            WELCOME,
            &[("first_name", "Ada"), ("public_url", "http://x")],
        )
        .expect("renders");
        assert_eq!(email.subject, "Welcome to Commonpot, Ada");
        assert!(email.body.starts_with("Hi Ada,"));
        assert!(email.body.contains("http://x"));
    }

    #[test]
    fn values_are_inserted_verbatim_even_when_they_look_like_placeholders() {
        let email = render(
            WELCOME,
            &[("first_name", "{{public_url}}"), ("public_url", "http://x")],
        )
        .expect("renders");
        assert!(email.body.starts_with("Hi {{public_url}},"));
    }

    #[test]
    fn a_missing_value_is_an_error_naming_the_placeholder() {
        let err = render(WELCOME, &[("first_name", "Ada")]).expect_err("must fail");
        assert!(err.to_string().contains("{{public_url}}"));
    }

    #[test]
    fn every_template_has_a_subject_line() {
        for t in [
            WELCOME,
            DONATION_RECEIPT,
            DONATIONS_DIGEST,
            LENDER_FUNDED,
            LENDER_LATE,
            LENDER_DEFAULTED,
            LENDER_WRITTEN_OFF,
            REPAYMENT_DIGEST,
            CAMPAIGN_UPDATE,
            EMAIL_VERIFICATION,
        ] {
            assert!(t.starts_with("Subject: "));
        }
    }

    #[test]
    fn money_is_formatted_from_minor_units() {
        assert_eq!(money(1234, "USD"), "12.34 USD");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
        assert_eq!(money(-250, "USD"), "-2.50 USD");
    }
}
