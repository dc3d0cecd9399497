//! The domain's one error type. Each variant knows its kind; the api maps kinds to HTTP statuses
//! and stable `code`s. Internal causes (SQL, Redis, S3) are logged by the api, never sent.

use std::borrow::Cow;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Declares a closed set of wire values (error codes, audit actions) with each variant's value
/// written once, for `as_str`, `ALL` and (with the calling crate's `openapi` feature) the spec.
#[macro_export]
macro_rules! codes {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
        pub enum $name {
            $(#[cfg_attr(feature = "openapi", oai(rename = $value))] $variant),+
        }

        impl $name {
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value),+
                }
            }
        }
    };
}

codes! {
    /// Every `code` an error response can carry: stable values a client can switch on.
    /// `validation_failed` names the field in `details.field`.
    pub enum ErrorCode {
        BadRequest = "bad_request",
        MalformedJson = "malformed_json",
        MethodNotAllowed = "method_not_allowed",
        PayloadTooLarge = "payload_too_large",
        UnsupportedMediaType = "unsupported_media_type",
        ValidationFailed = "validation_failed",
        Unauthorized = "unauthorized",
        Forbidden = "forbidden",
        NotFound = "not_found",
        RateLimited = "rate_limited",
        ServiceUnavailable = "service_unavailable",
        NotReady = "not_ready",
        InternalError = "internal_error",
        Error = "error",
        AccountNotSettled = "account_not_settled",
        AlreadyRefunded = "already_refunded",
        AlreadyVerified = "already_verified",
        AlreadySubscribed = "already_subscribed",
        AmountMismatch = "amount_mismatch",
        ApplicationDecided = "application_decided",
        CampaignClosed = "campaign_closed",
        CampaignFundsPaidOut = "campaign_funds_paid_out",
        CampaignNotAccepting = "campaign_not_accepting",
        CampaignNotPublished = "campaign_not_published",
        CampaignPublished = "campaign_published",
        CampaignSuspended = "campaign_suspended",
        CannotModerateSelf = "cannot_moderate_self",
        DeadlinePassed = "deadline_passed",
        DepositSettled = "deposit_settled",
        EmailNotVerified = "email_not_verified",
        EmailTaken = "email_taken",
        ExceedsRemaining = "exceeds_remaining",
        FundsHeld = "funds_held",
        IdempotencyKeyReused = "idempotency_key_reused",
        InsufficientFunds = "insufficient_funds",
        InvalidToken = "invalid_token",
        InvalidTransition = "invalid_transition",
        LoanNotFundraising = "loan_not_fundraising",
        LoanNotRepayable = "loan_not_repayable",
        NotASession = "not_a_session",
        OpenApplicationExists = "open_application_exists",
        OwnLoan = "own_loan",
        PayoutLimitExceeded = "payout_limit_exceeded",
        PayoutSettled = "payout_settled",
        TooManyUpdates = "too_many_updates",
        TooManyWebhooks = "too_many_webhooks",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field failed validation (422, code `validation_failed`, `details.field`).
    #[error("{message}")]
    Validation {
        field: &'static str,
        message: Cow<'static, str>,
    },
    /// A business rule refused a well-formed request (422), e.g. `insufficient_funds`.
    #[error("{message}")]
    Rule {
        code: ErrorCode,
        message: Cow<'static, str>,
    },
    /// The thing does not exist or the caller may not know it does (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (409), e.g. `email_taken`.
    #[error("{message}")]
    Conflict {
        code: ErrorCode,
        message: Cow<'static, str>,
    },
    /// Missing or bad credentials (401). The message never says which part was wrong.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Authenticated, but the account must do something first (403 with its own code), e.g.
    /// `email_not_verified`.
    #[error("{message}")]
    Denied {
        code: ErrorCode,
        message: Cow<'static, str>,
    },
    /// Too many requests (429); retry after the given seconds.
    #[error("rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency needed for this request is down (503).
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn validation(field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Validation {
            field,
            message: message.into(),
        }
    }
    pub fn rule(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Rule {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }

    /// Whether PostgreSQL or Redis could not be reached at all (no free connection, connection
    /// lost, server shutting down or refusing connections) rather than refusing a statement:
    /// such requests are answered 503 with `Retry-After`, as a retry may well succeed.
    pub fn is_outage(&self) -> bool {
        match self {
            Error::Database(sqlx::Error::Database(db)) => db.code().is_some_and(|code| {
                // 08: connection exception; 57P01-03: admin/crash shutdown, cannot connect
                // now; 53300: too many connections.
                code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
            }),
            Error::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::BeginFailed,
            ) => true,
            Error::Redis(e) => {
                e.is_io_error()
                    || e.is_connection_refusal()
                    || e.is_connection_dropped()
                    || e.is_timeout()
            }
            _ => false,
        }
    }

    /// The name of the violated constraint, when this is a constraint violation.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Database(sqlx::Error::Database(db)) => db.constraint(),
            _ => None,
        }
    }

    /// Maps a named constraint violation to `to`, leaving every other error unchanged, so
    /// uniqueness is enforced by the database instead of a check-then-insert race.
    pub fn on_constraint(self, name: &str, to: impl FnOnce() -> Error) -> Error {
        if self.constraint() == Some(name) {
            to()
        } else {
            self
        }
    }
}
