//! Account rules: registration, login, token refresh and logout, profile changes, API keys
//! and admin moderation of users.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::{Email, Password, PersonName, Principal, Role, Tier, User};
use super::rate_limit::{self, Verdict};
use super::repo::{self, AdminChange, ApiKeyRow, ProfileChange};
use super::sessions::{ACCESS_TTL, Claims, Rotation, SessionInfo, Sessions};
use super::verification;
use outbox::Event;
use platform::Handles;
use platform::error::{Error, ErrorCode, Result};
use platform::infra::metrics::REGISTRATIONS;

pub struct Registration {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    /// The client's `User-Agent`, shown in the session list.
    pub device: String,
}

pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

pub struct AuthSuccess {
    pub user: User,
    pub tokens: TokenPair,
}

#[derive(Default)]
pub struct ProfileUpdate {
    /// A new address (needs `current_password`): it is unverified until the link mailed to it
    /// is followed.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_notifications: Option<bool>,
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

pub struct UserChange {
    pub is_active: Option<bool>,
    pub role: Option<String>,
    pub tier: Option<String>,
}

/// A new API key; `key` is shown to the owner once and stored only as a hash.
pub struct NewApiKey {
    pub record: ApiKeyRow,
    pub key: String,
}

#[derive(Clone, Debug)]
pub struct AccountService {
    pub(crate) infra: Handles,
}

impl AccountService {
    pub fn new(infra: Handles) -> Self {
        Self { infra }
    }
}

const KEY_PREFIX: &str = "cp_";
const KEY_ID_LEN: usize = 12;

pub(crate) async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok())
    })
    .await
    .map_err(Error::internal)?
}

/// A real hash to verify against when the email is unknown, so both failures take as long.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        Argon2::default()
            .hash_password(b"not-a-real-password")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn key_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

impl AccountService {
    pub(crate) fn sessions(&self) -> Sessions<'_> {
        Sessions::new(
            &self.infra.kv,
            self.infra.config.jwt_secret.expose().as_bytes(),
        )
    }

    async fn start_session(&self, user: &User, device: &str) -> Result<TokenPair> {
        let sessions = self.sessions();
        let (sid, refresh_token) = sessions
            .create(user.id, user.role, user.tier, device)
            .await?;
        Ok(TokenPair {
            access_token: sessions.issue_access(user.id, user.role, user.tier, &sid)?,
            refresh_token,
            expires_in: ACCESS_TTL.as_secs(),
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn register(&self, input: Registration) -> Result<AuthSuccess> {
        let email = Email::parse(&input.email)?;
        let password = Password::parse(&input.password, "password")?;
        let first = PersonName::parse(&input.first_name, "firstName")?;
        let last = PersonName::parse(&input.last_name, "lastName")?;
        let hash = hash_password(password.expose().to_string()).await?;
        let mut tx = self.infra.db.write.begin().await?;
        let user = repo::insert_user(
            &mut *tx,
            Uuid::now_v7(),
            email.as_str(),
            &hash,
            &first.into_inner(),
            &last.into_inner(),
        )
        .await
        .map_err(|e| {
            e.on_constraint("users_email_key", || {
                Error::conflict(
                    ErrorCode::EmailTaken,
                    "an account with this email already exists",
                )
            })
        })?;
        outbox::record(&mut tx, &Event::UserRegistered { user_id: user.id }).await?;
        verification::issue_link(&mut tx, user.id).await?;
        tx.commit().await?;
        metrics::counter!(REGISTRATIONS).increment(1);
        tracing::info!(event = "user_registered", user_id = %user.id, "user registered");
        let tokens = self.start_session(&user, &input.device).await?;
        Ok(AuthSuccess { user, tokens })
    }

    /// Unknown email and wrong password give the same error, in about the same time.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, email: &str, password: &str, device: &str) -> Result<AuthSuccess> {
        let invalid = Error::Unauthorized("invalid email or password");
        // The primary: a replica may still hold a changed password or a deactivated account.
        let found = repo::find_with_hash_by_email(&self.infra.db.write, email.trim()).await?;
        let (user, hash) = match found {
            Some(found) => found,
            None => {
                verify_password(password.to_string(), dummy_hash().to_string()).await?;
                return Err(invalid);
            }
        };
        if !verify_password(password.to_string(), hash).await? || !user.is_active {
            return Err(invalid);
        }
        let tokens = self.start_session(&user, device).await?;
        Ok(AuthSuccess { user, tokens })
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let sessions = self.sessions();
        match sessions.rotate(refresh_token).await? {
            Rotation::Rotated {
                user_id,
                refresh_token,
            } => {
                let sid = refresh_token
                    .split_once('.')
                    .map(|(sid, _)| sid.to_string())
                    .unwrap_or_default();
                // Decides access: the primary, not a replica that may lag a deactivation.
                let user = repo::find_by_id(&self.infra.db.write, user_id).await?;
                let Some(user) = user.filter(|u| u.is_active) else {
                    sessions.revoke(&sid).await?;
                    return Err(Error::Unauthorized("account is not active"));
                };
                Ok(TokenPair {
                    access_token: sessions.issue_access(user.id, user.role, user.tier, &sid)?,
                    refresh_token,
                    expires_in: ACCESS_TTL.as_secs(),
                })
            }
            Rotation::Reused => {
                tracing::warn!("refresh token reuse detected; session revoked");
                Err(Error::Unauthorized(
                    "refresh token already used; session revoked",
                ))
            }
            Rotation::Unknown => Err(Error::Unauthorized("invalid refresh token")),
        }
    }

    /// The caller's live sessions, newest first.
    pub async fn sessions_of(&self, principal: &Principal) -> Result<Vec<SessionInfo>> {
        self.sessions().list(principal.user_id).await
    }

    /// Ends one of the caller's sessions (their current one included); 404 for any other id.
    pub async fn end_session(&self, principal: &Principal, sid: &str) -> Result<()> {
        if self.sessions().revoke_own(principal.user_id, sid).await? {
            Ok(())
        } else {
            Err(Error::NotFound("session"))
        }
    }

    /// Ends every session of the caller except the one making the request (all of them for an
    /// API key); returns how many ended.
    pub async fn end_other_sessions(&self, principal: &Principal) -> Result<usize> {
        let keep = principal.session_id.as_deref();
        self.sessions().revoke_others(principal.user_id, keep).await
    }

    /// Ends every session of the user at once (e.g. their account was deleted).
    pub async fn end_all_sessions(&self, user_id: Uuid) -> Result<()> {
        self.sessions().revoke_all(user_id).await
    }

    pub async fn logout(&self, principal: &Principal) -> Result<()> {
        match &principal.session_id {
            Some(sid) => self.sessions().revoke(sid).await,
            None => Err(Error::rule(
                ErrorCode::NotASession,
                "API keys have no session; revoke the key instead",
            )),
        }
    }

    /// Resolves a bearer access token and, with `count`, counts the request against the
    /// caller's rate limit in the same Redis round trip. The verdict is `None` when the request
    /// was not counted there (refused credentials count as anonymous; sessions from before the
    /// store kept role and tier, and Redis outages, count on their own): the caller then asks
    /// the [`RateLimiter`](crate::rate_limit::RateLimiter).
    ///
    /// When Redis cannot answer, falls back to the token's signature and expiry plus the
    /// account as PostgreSQL has it (active flag, role, tier), so donations keep working during
    /// a Redis outage; only logout then lags, by at most the token's 15 minutes.
    pub async fn authenticate_bearer(
        &self,
        token: &str,
        count: bool,
    ) -> (Result<Principal>, Option<Verdict>) {
        let sessions = self.sessions();
        let claims = match sessions.verify_access(token) {
            Ok(claims) => claims,
            Err(e) => return (Err(e), None),
        };
        let limits = &self.infra.config.rate_limits;
        let (session, hits) = match sessions.state(&claims, count.then_some(limits)).await {
            Ok((Some(session), hits)) => (session, hits),
            Ok((None, _)) => return (Err(Error::Unauthorized("session has ended")), None),
            Err(e) => {
                tracing::warn!(error = %e, "session store unavailable; checking account in PostgreSQL");
                // A role or tier change made during the outage could not end the sessions, so
                // the claims may be stale: trust the database instead.
                return (self.principal_from_db(&claims).await, None);
            }
        };
        // The token's subject must be the session's user, and its role the session's: a
        // token minted with a stolen secret cannot borrow someone else's session or promote
        // itself (the script counted nothing then).
        if session.user_id != claims.sub {
            return (
                Err(Error::Unauthorized("invalid or expired access token")),
                None,
            );
        }
        match (session.role, session.tier) {
            (Some(role), Some(tier)) if role == claims.role => {
                let verdict = match (role, hits) {
                    (Role::Admin, _) => Some(Verdict::Unlimited),
                    (Role::User, Some(hits)) => Some(rate_limit::counted(limits, tier, hits)),
                    (Role::User, None) => None,
                };
                let principal = Principal {
                    user_id: claims.sub,
                    role,
                    tier,
                    session_id: Some(claims.sid),
                    request_id: None,
                };
                (Ok(principal), verdict)
            }
            (Some(_), Some(_)) => (
                Err(Error::Unauthorized("invalid or expired access token")),
                None,
            ),
            // Sessions started before the store kept role and tier.
            _ => (self.principal_from_db(&claims).await, None),
        }
    }

    /// The caller as the primary database has it (active flag, role, tier).
    async fn principal_from_db(&self, claims: &Claims) -> Result<Principal> {
        let user = repo::find_by_id(&self.infra.db.write, claims.sub)
            .await?
            .filter(|u| u.is_active)
            .ok_or(Error::Unauthorized("account is not active"))?;
        Ok(Principal {
            user_id: user.id,
            role: user.role,
            tier: user.tier,
            session_id: Some(claims.sid.clone()),
            request_id: None,
        })
    }

    /// Resolves an `X-API-Key`: looked up by its public prefix, checked against its hash.
    pub async fn authenticate_api_key(&self, key: &str) -> Result<Principal> {
        let invalid = Error::Unauthorized("invalid API key");
        let rest = key.strip_prefix(KEY_PREFIX).ok_or(invalid)?;
        let (prefix, secret) = rest
            .split_at_checked(KEY_ID_LEN)
            .and_then(|(p, s)| s.strip_prefix('_').map(|s| (p, s)))
            .ok_or(Error::Unauthorized("invalid API key"))?;
        // The primary: a revoked key must stop working at once, whatever a replica's lag.
        let owner = repo::find_api_key(&self.infra.db.write, prefix)
            .await?
            .ok_or(Error::Unauthorized("invalid API key"))?;
        // Digests of a 256-bit random secret: comparing them leaks nothing useful.
        if owner.key_hash != key_hash(secret) || !owner.user.is_active {
            return Err(Error::Unauthorized("invalid API key"));
        }
        repo::touch_api_key(&self.infra.db.write, owner.key_id).await?;
        Ok(Principal {
            user_id: owner.user.id,
            role: owner.user.role,
            tier: owner.user.tier,
            session_id: None,
            request_id: None,
        })
    }

    /// The primary: callers read their profile right after changing it.
    pub async fn me(&self, principal: &Principal) -> Result<User> {
        repo::find_by_id(&self.infra.db.write, principal.user_id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Any user's public profile (used by other contexts, e.g. for notifications).
    pub async fn find(&self, user_id: Uuid) -> Result<User> {
        repo::find_by_id(&self.infra.db.read, user_id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id))]
    pub async fn update_me(&self, principal: &Principal, update: ProfileUpdate) -> Result<User> {
        let first_name = update
            .first_name
            .map(|n| PersonName::parse(&n, "firstName").map(PersonName::into_inner))
            .transpose()?;
        let last_name = update
            .last_name
            .map(|n| PersonName::parse(&n, "lastName").map(PersonName::into_inner))
            .transpose()?;
        let email = update.email.as_deref().map(Email::parse).transpose()?;
        let new_password = update
            .new_password
            .map(|new| Password::parse(&new, "newPassword"))
            .transpose()?;
        // Whoever holds a session but not the password must not take the account over.
        if email.is_some() || new_password.is_some() {
            let current = update.current_password.ok_or_else(|| {
                Error::validation(
                    "currentPassword",
                    "current password is required to change the email or password",
                )
            })?;
            let stored = repo::password_hash(&self.infra.db.write, principal.user_id)
                .await?
                .ok_or(Error::NotFound("user"))?;
            if !verify_password(current, stored).await? {
                return Err(Error::validation(
                    "currentPassword",
                    "current password is wrong",
                ));
            }
        }
        let password_hash = match new_password {
            Some(new) => Some(hash_password(new.expose().to_string()).await?),
            None => None,
        };
        let changed_password = password_hash.is_some();
        let mut tx = self.infra.db.write.begin().await?;
        let before = repo::lock_by_id(&mut tx, principal.user_id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        // Only a different mailbox unverifies: a change of letter case reaches the same one.
        let new_email = email
            .filter(|e| !e.as_str().eq_ignore_ascii_case(&before.email))
            .map(|e| e.as_str().to_string());
        let changed_email = new_email.is_some();
        let user = repo::update_profile(
            &mut *tx,
            principal.user_id,
            ProfileChange {
                email: new_email,
                first_name,
                last_name,
                email_notifications: update.email_notifications,
                password_hash,
            },
        )
        .await
        .map_err(|e| {
            e.on_constraint("users_email_key", || {
                Error::conflict(
                    ErrorCode::EmailTaken,
                    "an account with this email already exists",
                )
            })
        })?
        .ok_or(Error::NotFound("user"))?;
        if changed_email {
            // Links mailed to the old address must not verify the new one.
            repo::spend_open_tokens(&mut tx, user.id, verification::PURPOSE).await?;
            verification::issue_link(&mut tx, user.id).await?;
        }
        tx.commit().await?;
        if changed_email {
            tracing::info!(event = "email_changed", user_id = %user.id, "email changed; verification link issued");
        }
        if changed_password {
            // Other sessions may belong to whoever knew the old password.
            self.sessions().revoke_all(user.id).await?;
        }
        Ok(user)
    }

    /// Refuses (422 on `password`) unless `password` is the user's current one: a second check
    /// before something that cannot be undone.
    pub async fn check_password(&self, user_id: Uuid, password: &str) -> Result<()> {
        let stored = repo::password_hash(&self.infra.db.write, user_id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if verify_password(password.to_string(), stored).await? {
            Ok(())
        } else {
            Err(Error::validation("password", "password is wrong"))
        }
    }

    pub async fn create_api_key(&self, principal: &Principal, name: &str) -> Result<NewApiKey> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::validation(
                "name",
                "name must be 1 to 100 characters",
            ));
        }
        let mut id_bytes = [0u8; KEY_ID_LEN / 2];
        let mut secret_bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut id_bytes);
        rand::rng().fill_bytes(&mut secret_bytes);
        let prefix = hex::encode(id_bytes);
        let secret = hex::encode(secret_bytes);
        let record = repo::insert_api_key(
            &self.infra.db.write,
            Uuid::now_v7(),
            principal.user_id,
            name,
            &prefix,
            &key_hash(&secret),
        )
        .await?;
        Ok(NewApiKey {
            key: format!("{KEY_PREFIX}{prefix}_{secret}"),
            record,
        })
    }

    /// The primary: a key just created or revoked shows as such at once.
    pub async fn list_api_keys(&self, principal: &Principal) -> Result<Vec<ApiKeyRow>> {
        repo::list_api_keys(&self.infra.db.write, principal.user_id).await
    }

    pub async fn revoke_api_key(&self, principal: &Principal, id: Uuid) -> Result<()> {
        if repo::revoke_api_key(&self.infra.db.write, principal.user_id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("API key"))
        }
    }

    pub async fn admin_list_users(
        &self,
        principal: &Principal,
        q: Option<&str>,
        page: i64,
        limit: i64,
    ) -> Result<(Vec<User>, i64)> {
        principal.require_admin()?;
        repo::list(
            &self.infra.db.read,
            q.filter(|q| !q.trim().is_empty()),
            limit,
            (page - 1) * limit,
        )
        .await
    }

    /// Changes take effect at once: deactivation or a role change ends the user's sessions (new
    /// tokens carry the new role); a tier change is written into the live sessions.
    #[tracing::instrument(skip_all, fields(admin = %principal.user_id, user_id = %id))]
    pub async fn admin_update_user(
        &self,
        principal: &Principal,
        id: Uuid,
        change: UserChange,
    ) -> Result<User> {
        principal.require_admin()?;
        let change = AdminChange {
            is_active: change.is_active,
            role: change.role.as_deref().map(Role::parse).transpose()?,
            tier: change.tier.as_deref().map(Tier::parse).transpose()?,
        };
        // Otherwise the last admin could lock everyone out of moderation.
        if id == principal.user_id
            && (change.is_active == Some(false) || change.role == Some(Role::User))
        {
            return Err(Error::rule(
                ErrorCode::CannotModerateSelf,
                "admins cannot deactivate or demote themselves",
            ));
        }
        // The row is locked so the audit entry's `before` is what this update replaced.
        let mut tx = self.infra.db.write.begin().await?;
        let before = repo::lock_by_id(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        let user = repo::admin_update(&mut *tx, id, change)
            .await?
            .ok_or(Error::NotFound("user"))?;
        audit_log::record(
            &mut tx,
            principal.actor(),
            &audit_log::Change {
                action: audit_log::Action::UserUpdated,
                target_type: "user",
                target_id: id.to_string(),
                before: moderated_fields(&before),
                after: moderated_fields(&user),
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        if !user.is_active || user.role != before.role {
            self.sessions().revoke_all(id).await?;
        } else if user.tier != before.tier {
            self.sessions().set_tier(id, user.tier).await?;
        }
        tracing::info!(
            is_active = user.is_active,
            role = user.role.as_str(),
            "user_moderated"
        );
        Ok(user)
    }

    /// Creates or promotes the bootstrap admin from `ADMIN_EMAIL` / `ADMIN_PASSWORD`.
    pub async fn ensure_admin(&self, email: &str, password: &str) -> Result<()> {
        let email = Email::parse(email)?;
        let password = Password::parse(password, "ADMIN_PASSWORD")?;
        let hash = hash_password(password.expose().to_string()).await?;
        repo::upsert_admin(&self.infra.db.write, Uuid::now_v7(), email.as_str(), &hash).await
    }
}

/// What an admin may change on a user, as the audit log records it.
fn moderated_fields(user: &User) -> serde_json::Value {
    serde_json::json!({
        "role": user.role.as_str(),
        "tier": user.tier.as_str(),
        "is_active": user.is_active,
    })
}
