//! Email verification: a single-use link valid 7 days, mailed at registration, after an email
//! change and on request. Creating campaigns, lending and payouts need a verified address
//! ([`AccountService::require_verified_email`]).

use chrono::{Duration, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::repo;
use super::service::AccountService;
use outbox::Event;
use platform::error::{Error, ErrorCode, Result};
use platform::signed;

/// The purpose verification links are signed for and stored under.
pub const PURPOSE: &str = "verify_email";
/// How long a verification link works.
pub const LINK_TTL: Duration = Duration::days(7);
/// Links one account can be sent per hour, whatever asked for them (registration, an email
/// change, a resend): beyond that the request is refused with 429, so an account cannot be
/// used to mail strangers.
pub const LINKS_PER_ACCOUNT_PER_HOUR: usize = 3;

/// Issues a link to the user's current address on the caller's transaction, so the token and
/// its outbox event commit with the change that needs them.
pub(crate) async fn issue_link(conn: &mut PgConnection, user_id: Uuid) -> Result<()> {
    let now = Utc::now();
    let recent =
        repo::tokens_issued_since(conn, user_id, PURPOSE, now - Duration::hours(1)).await?;
    if let Some(&oldest) = recent.first()
        && recent.len() >= LINKS_PER_ACCOUNT_PER_HOUR
    {
        // The window slides: the next link is allowed once the oldest one is an hour old.
        let wait = (oldest + Duration::hours(1) - now).num_seconds().max(1);
        return Err(Error::RateLimited {
            retry_after_secs: wait.unsigned_abs(),
        });
    }
    let token_id = Uuid::new_v4();
    repo::insert_token(conn, token_id, user_id, PURPOSE, now + LINK_TTL).await?;
    outbox::record(
        conn,
        &Event::EmailVerificationRequested { user_id, token_id },
    )
    .await?;
    Ok(())
}

impl AccountService {
    /// Marks the account's address verified with a link's token and spends its other links.
    /// A token that is forged, expired or already used (or was issued for an address the
    /// account no longer has: an email change spends those) is refused (422 `invalid_token`).
    #[tracing::instrument(skip_all)]
    pub async fn verify_email(&self, token: &str, ip: &str) -> Result<()> {
        self.limit(&format!("rl:verify_email:ip:{ip}")).await?;
        let invalid = || {
            Error::rule(
                ErrorCode::InvalidToken,
                "this link is invalid, expired or already used",
            )
        };
        let secret = self.infra.config.jwt_secret.expose().as_bytes();
        let token_id = signed::open(secret, PURPOSE, token).ok_or_else(invalid)?;
        let mut tx = self.infra.db.write.begin().await?;
        let user_id = repo::spend_token(&mut tx, token_id, PURPOSE)
            .await?
            .ok_or_else(invalid)?;
        repo::mark_email_verified(&mut *tx, user_id).await?;
        tx.commit().await?;
        tracing::info!(event = "email_verified", user_id = %user_id, "email verified");
        Ok(())
    }

    /// Mails the caller a fresh link; 409 `already_verified` when there is nothing to verify,
    /// 429 beyond [`LINKS_PER_ACCOUNT_PER_HOUR`].
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn resend_verification(&self, user_id: Uuid) -> Result<()> {
        let mut tx = self.infra.db.write.begin().await?;
        // Locked so concurrent resends count each other's links.
        let user = repo::lock_by_id(&mut tx, user_id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if user.email_verified {
            return Err(Error::conflict(
                ErrorCode::AlreadyVerified,
                "your email address is already verified",
            ));
        }
        issue_link(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refuses (403 `email_not_verified`) unless the user's current address is verified, or
    /// the check is switched off (`REQUIRE_VERIFIED_EMAIL=false`). Reads the primary: a user
    /// who just followed their link is let through at once.
    pub async fn require_verified_email(&self, user_id: Uuid) -> Result<()> {
        if !self.infra.config.require_verified_email {
            return Ok(());
        }
        match repo::email_verified(&self.infra.db.write, user_id).await? {
            Some(true) => Ok(()),
            Some(false) => Err(Error::Denied {
                code: ErrorCode::EmailNotVerified,
                message: "verify your email address first".into(),
            }),
            None => Err(Error::NotFound("user")),
        }
    }
}
