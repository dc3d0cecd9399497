//! Secrets: never printed, and in production never the values committed in `.env.example`.

use std::fmt;

use super::{ConfigError, Env};

/// A secret that never prints itself (Debug and logs show `***`).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The development defaults, committed for everyone to read: a secret among them protects
/// nothing, so production refuses each one.
const EXAMPLE_ENV: &str = include_str!("../../../../.env.example");

/// Every secret variable `.env.example` sets (a test keeps this list complete).
pub(super) const SECRET_VARS: &[&str] = &[
    "JWT_SECRET",
    "PAYMENTS_WEBHOOK_SECRET",
    "S3_SECRET_ACCESS_KEY",
    "ADMIN_PASSWORD",
];

/// `VAR=value` lines of the example env file, quotes removed.
pub(super) fn example_values() -> impl Iterator<Item = (&'static str, &'static str)> {
    EXAMPLE_ENV
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(var, value)| (var.trim(), value.trim().trim_matches('"')))
}

pub(super) fn refuse_example_secrets<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<(), ConfigError> {
    for &var in SECRET_VARS {
        let committed = example_values()
            .find(|(v, _)| *v == var)
            .map(|(_, value)| value);
        if committed.is_some_and(|example| env.get(var).as_deref() == Some(example)) {
            return Err(ConfigError {
                var,
                reason: "is the committed development value; set a real secret in production"
                    .into(),
            });
        }
    }
    Ok(())
}
