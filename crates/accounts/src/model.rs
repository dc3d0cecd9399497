//! Account types. Inputs are parsed into newtypes at the edge; inside the domain they are valid.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use platform::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(Error::validation("role", "role must be user or admin")),
        }
    }
}

/// `premium` users get a higher rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Enum),
    oai(rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Standard,
    Premium,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Premium => "premium",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "standard" => Ok(Tier::Standard),
            "premium" => Ok(Tier::Premium),
            _ => Err(Error::validation(
                "tier",
                "tier must be standard or premium",
            )),
        }
    }
}

#[derive(Debug, Clone)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "UserDto", rename_all = "camelCase")
)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub tier: Tier,
    pub is_active: bool,
    pub email_notifications: bool,
    /// The current address was confirmed through an emailed link.
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

/// Who is calling: resolved once per request from a bearer token or an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    pub tier: Tier,
    /// The session behind a bearer token; `None` for API keys.
    pub session_id: Option<String>,
    /// The request's `X-Request-Id`, set by the api; the audit log records it with admin
    /// actions.
    pub request_id: Option<String>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden("admin role required"))
        }
    }

    /// This caller as the actor of an audit-log entry.
    pub fn actor(&self) -> audit_log::Actor<'_> {
        audit_log::Actor {
            user_id: self.user_id,
            request_id: self.request_id.as_deref(),
        }
    }
}

/// A syntactically valid email address, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let bad = || Error::validation("email", "email must look like name@example.com");
        if s.len() > 254 || s.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad());
        }
        Ok(Self(s.to_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy: at least 10 characters (at most 200).
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;

    pub fn parse(raw: &str, field: &'static str) -> Result<Self> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(Error::validation(
                field,
                "password must be at least 10 characters",
            ));
        }
        if n > 200 {
            return Err(Error::validation(
                field,
                "password must be at most 200 characters",
            ));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A first or last name: trimmed, 1 to 100 characters.
#[derive(Debug, Clone)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str, field: &'static str) -> Result<Self> {
        let s = raw.trim();
        if s.is_empty() || s.chars().count() > 100 {
            return Err(Error::validation(
                field,
                format!("{field} must be 1 to 100 characters"),
            ));
        }
        Ok(Self(s.to_string()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        let e = Email::parse("  Ada@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_rejected_naming_the_field() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a@b@c.com",
            "a@.com",
        ] {
            match Email::parse(bad) {
                Err(Error::Validation { field, .. }) => assert_eq!(field, "email", "{bad}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn passwords_shorter_than_ten_characters_are_weak() {
        assert!(Password::parse("123456789", "password").is_err());
        assert!(Password::parse("1234567890", "password").is_ok());
        // Characters, not bytes.
        assert!(Password::parse("ééééééééé", "password").is_err());
    }

    #[test]
    fn only_admins_pass_the_admin_check() {
        let mut p = Principal {
            user_id: Uuid::nil(),
            role: Role::User,
            tier: Tier::Standard,
            session_id: None,
            request_id: None,
        };
        assert!(matches!(p.require_admin(), Err(Error::Forbidden(_))));
        p.role = Role::Admin;
        assert!(p.require_admin().is_ok());
    }
}
