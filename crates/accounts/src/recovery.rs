//! Password reset by email: a single-use link valid one hour, requested without saying whether
//! the address has an account, and limited per account and per client address.

use chrono::{Duration, Utc};
use uuid::Uuid;

use super::model::Password;
use super::rate_limit::{RateLimiter, Verdict};
use super::repo;
use super::service::{AccountService, hash_password};
use outbox::Event;
use platform::config::RateLimit;
use platform::error::{Error, ErrorCode, Result};
use platform::signed;

/// The purpose reset links are signed for and stored under.
pub const PURPOSE: &str = "password_reset";
/// How long a reset link works.
pub const LINK_TTL: Duration = Duration::hours(1);
/// Links one account can be sent per hour; further requests answer the same and send nothing.
pub const LINKS_PER_ACCOUNT_PER_HOUR: i64 = 3;
/// Requests (and, separately, confirmations) one client address may make per hour.
pub const PER_IP: RateLimit = RateLimit::new(10, 3600);

impl AccountService {
    /// Emails a reset link when `email` belongs to an active account. The caller learns nothing
    /// either way: the answer is the same, and only the per-address limit can refuse (429).
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &str, ip: &str) -> Result<()> {
        self.limit(&format!("rl:password_reset:ip:{ip}")).await?;
        let Some(user_id) =
            repo::find_active_id_by_email(&self.infra.db.write, email.trim()).await?
        else {
            return Ok(());
        };
        let mut tx = self.infra.db.write.begin().await?;
        let now = Utc::now();
        let recent =
            repo::count_tokens_since(&mut tx, user_id, PURPOSE, now - Duration::hours(1)).await?;
        if recent >= LINKS_PER_ACCOUNT_PER_HOUR {
            tracing::warn!(user_id = %user_id, "password reset requests over the per-account limit; nothing sent");
            return Ok(());
        }
        let token_id = Uuid::new_v4();
        repo::insert_token(&mut tx, token_id, user_id, PURPOSE, now + LINK_TTL).await?;
        outbox::record(
            &mut tx,
            &Event::PasswordResetRequested { user_id, token_id },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(event = "password_reset_requested", user_id = %user_id, "password reset link issued");
        Ok(())
    }

    /// Sets a new password with a reset link's token, spends every open link of the account,
    /// and ends all its sessions. A token that is forged, expired or already used is refused
    /// (422 `invalid_token`).
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(&self, token: &str, password: &str, ip: &str) -> Result<()> {
        self.limit(&format!("rl:password_reset_confirm:ip:{ip}"))
            .await?;
        let password = Password::parse(password, "password")?;
        let invalid = || {
            Error::rule(
                ErrorCode::InvalidToken,
                "this link is invalid, expired or already used",
            )
        };
        let secret = self.infra.config.jwt_secret.expose().as_bytes();
        let token_id = signed::open(secret, PURPOSE, token).ok_or_else(invalid)?;
        let hash = hash_password(password.expose().to_string()).await?;
        let mut tx = self.infra.db.write.begin().await?;
        let user_id = repo::spend_token(&mut tx, token_id, PURPOSE)
            .await?
            .ok_or_else(invalid)?;
        repo::set_password_hash(&mut tx, user_id, &hash).await?;
        tx.commit().await?;
        // Whoever knew the old password may still be signed in.
        self.sessions().revoke_all(user_id).await?;
        tracing::info!(event = "password_reset", user_id = %user_id, "password reset");
        Ok(())
    }

    /// Counts one request against a per-client-address limit ([`PER_IP`]) named `name`.
    pub(crate) async fn limit(&self, name: &str) -> Result<()> {
        match RateLimiter::new(self.infra.clone())
            .hit_named(name, PER_IP)
            .await
        {
            Verdict::Counted(q) if q.exceeded => Err(Error::RateLimited {
                retry_after_secs: q.reset_secs,
            }),
            _ => Ok(()),
        }
    }
}
