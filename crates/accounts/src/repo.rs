//! SQL for users and API keys. Functions borrow a connection or pool; callers own transactions.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};
use uuid::Uuid;

use super::model::{Role, Tier, User};
use platform::error::{Error, Result};

#[derive(FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub tier: String,
    pub is_active: bool,
    pub email_notifications: bool,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(User {
            id: r.id,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            role: Role::parse(&r.role)?,
            tier: Tier::parse(&r.tier)?,
            is_active: r.is_active,
            email_notifications: r.email_notifications,
            email_verified: r.email_verified,
            created_at: r.created_at,
        })
    }
}

const USER_COLUMNS: &str = "id, email, first_name, last_name, role, tier, is_active, \
     email_notifications, email_verified_at is not null as email_verified, created_at";

pub async fn insert_user(
    db: impl PgExecutor<'_>,
    id: Uuid,
    email: &str,
    password_hash: &str,
    first_name: &str,
    last_name: &str,
) -> Result<User> {
    let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into users (id, email, password_hash, first_name, last_name)
         values ($1, $2, $3, $4, $5) returning {USER_COLUMNS}"
    )))
    .bind(id)
    .bind(email)
    .bind(password_hash)
    .bind(first_name)
    .bind(last_name)
    .fetch_one(db)
    .await?;
    row.try_into()
}

/// The user and their password hash, by case-insensitive email.
pub async fn find_with_hash_by_email(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<(User, String)>> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: String,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS}, password_hash from users where lower(email) = lower($1)"
    )))
    .bind(email)
    .fetch_optional(db)
    .await?;
    row.map(|r| Ok((r.user.try_into()?, r.password_hash)))
        .transpose()
}

pub async fn find_by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from users where id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(User::try_from).transpose()
}

/// The user, with its row locked until the transaction ends.
pub async fn lock_by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from users where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(User::try_from).transpose()
}

pub async fn password_hash(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("select password_hash from users where id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

pub struct ProfileChange {
    /// A new address; it starts unverified.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_notifications: Option<bool>,
    pub password_hash: Option<String>,
}

pub async fn update_profile(
    db: impl PgExecutor<'_>,
    id: Uuid,
    change: ProfileChange,
) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update users set
            first_name = coalesce($2, first_name),
            last_name = coalesce($3, last_name),
            email_notifications = coalesce($4, email_notifications),
            password_hash = coalesce($5, password_hash),
            email_verified_at = case when $6::text is null then email_verified_at end,
            email = coalesce($6, email),
            updated_at = now()
         where id = $1 returning {USER_COLUMNS}"
    )))
    .bind(id)
    .bind(change.first_name)
    .bind(change.last_name)
    .bind(change.email_notifications)
    .bind(change.password_hash)
    .bind(change.email)
    .fetch_optional(db)
    .await?;
    row.map(User::try_from).transpose()
}

pub struct AdminChange {
    pub is_active: Option<bool>,
    pub role: Option<Role>,
    pub tier: Option<Tier>,
}

pub async fn admin_update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    change: AdminChange,
) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update users set
            is_active = coalesce($2, is_active),
            role = coalesce($3, role),
            tier = coalesce($4, tier),
            updated_at = now()
         where id = $1 returning {USER_COLUMNS}"
    )))
    .bind(id)
    .bind(change.is_active)
    .bind(change.role.map(Role::as_str))
    .bind(change.tier.map(Tier::as_str))
    .fetch_optional(db)
    .await?;
    row.map(User::try_from).transpose()
}

/// Creates the bootstrap admin, or promotes (and re-activates) an existing account. The
/// operator named the address, so it counts as verified.
pub async fn upsert_admin(
    db: impl PgExecutor<'_>,
    id: Uuid,
    email: &str,
    password_hash: &str,
) -> Result<()> {
    sqlx::query(
        "insert into users (id, email, password_hash, first_name, last_name, role, email_verified_at)
         values ($1, $2, $3, 'Platform', 'Admin', 'admin', now())
         on conflict (lower(email)) do update set role = 'admin', is_active = true,
             email_verified_at = coalesce(users.email_verified_at, now()), updated_at = now()",
    )
    .bind(id)
    .bind(email)
    .bind(password_hash)
    .execute(db)
    .await?;
    Ok(())
}

/// One page of users, optionally filtered by a substring of email or name.
pub async fn list(
    db: impl PgExecutor<'_>,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<User>, i64)> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        total: i64,
    }
    let pattern = q.map(|q| format!("%{}%", q.replace('%', "\\%").replace('_', "\\_")));
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS}, count(*) over () as total from users
         where $1::text is null or email ilike $1 or (first_name || ' ' || last_name) ilike $1
         order by created_at desc, id desc limit $2 offset $3"
    )))
    .bind(pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    let users = rows
        .into_iter()
        .map(|r| User::try_from(r.user))
        .collect::<Result<_>>()?;
    Ok((users, total))
}

/// An API key as its owner sees it: never the key itself (only its hash is stored).
#[derive(Debug, Clone, FromRow)]
#[cfg_attr(
    feature = "openapi",
    derive(poem_openapi::Object),
    oai(rename = "ApiKeyDto", rename_all = "camelCase")
)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    /// Public part of the key, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// Null until first used.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Null while the key works.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert_api_key(
    db: impl PgExecutor<'_>,
    id: Uuid,
    user_id: Uuid,
    name: &str,
    prefix: &str,
    key_hash: &[u8],
) -> Result<ApiKeyRow> {
    Ok(sqlx::query_as(
        "insert into api_keys (id, user_id, name, prefix, key_hash) values ($1, $2, $3, $4, $5)
         returning id, name, prefix, created_at, last_used_at, revoked_at",
    )
    .bind(id)
    .bind(user_id)
    .bind(name)
    .bind(prefix)
    .bind(key_hash)
    .fetch_one(db)
    .await?)
}

pub async fn list_api_keys(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Vec<ApiKeyRow>> {
    Ok(sqlx::query_as(
        "select id, name, prefix, created_at, last_used_at, revoked_at from api_keys
         where user_id = $1 order by created_at desc",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?)
}

/// Revokes the caller's own key; false when there is no such (unrevoked) key of theirs.
pub async fn revoke_api_key(db: impl PgExecutor<'_>, user_id: Uuid, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "update api_keys set revoked_at = now()
         where id = $1 and user_id = $2 and revoked_at is null",
    )
    .bind(id)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct KeyOwner {
    pub key_id: Uuid,
    pub key_hash: Vec<u8>,
    pub user: User,
}

/// An unrevoked key by its public prefix, with its owner.
pub async fn find_api_key(db: impl PgExecutor<'_>, prefix: &str) -> Result<Option<KeyOwner>> {
    #[derive(FromRow)]
    struct Row {
        key_id: Uuid,
        key_hash: Vec<u8>,
        #[sqlx(flatten)]
        user: UserRow,
    }
    let row: Option<Row> = sqlx::query_as(
        "select k.id as key_id, k.key_hash, u.id, u.email, u.first_name, u.last_name, u.role,
                u.tier, u.is_active, u.email_notifications,
                u.email_verified_at is not null as email_verified, u.created_at
         from api_keys k join users u on u.id = k.user_id
         where k.prefix = $1 and k.revoked_at is null",
    )
    .bind(prefix)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(KeyOwner {
            key_id: r.key_id,
            key_hash: r.key_hash,
            user: r.user.try_into()?,
        })
    })
    .transpose()
}

/// Records use, at most once a minute per key, so busy keys do not write on every request.
pub async fn touch_api_key(db: impl PgExecutor<'_>, id: Uuid) -> Result<()> {
    sqlx::query(
        "update api_keys set last_used_at = now()
         where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The active user with this (case-insensitive) email.
pub async fn find_active_id_by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("select id from users where lower(email) = lower($1) and is_active")
            .bind(email)
            .fetch_optional(db)
            .await?,
    )
}

/// Links of `purpose` issued to the user since `since`.
pub async fn count_tokens_since(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: &str,
    since: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select count(*) from account_tokens
         where user_id = $1 and purpose = $2 and created_at >= $3",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(since)
    .fetch_one(conn)
    .await?)
}

pub async fn insert_token(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
    purpose: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "insert into account_tokens (id, user_id, purpose, expires_at) values ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(user_id)
    .bind(purpose)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends an unused, unexpired link of `purpose` held by an active user, and every other
/// unused link of that purpose the user holds; returns the user, or `None` when the link was
/// not spendable.
pub async fn spend_token(conn: &mut PgConnection, id: Uuid, purpose: &str) -> Result<Option<Uuid>> {
    let user: Option<Uuid> = sqlx::query_scalar(
        "update account_tokens t set used_at = now()
         from users u
         where t.id = $1 and t.purpose = $2 and t.used_at is null and t.expires_at > now()
           and u.id = t.user_id and u.is_active
         returning t.user_id",
    )
    .bind(id)
    .bind(purpose)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(user) = user {
        sqlx::query(
            "update account_tokens set used_at = now()
             where user_id = $1 and purpose = $2 and used_at is null",
        )
        .bind(user)
        .bind(purpose)
        .execute(conn)
        .await?;
    }
    Ok(user)
}

/// When the user was issued links of `purpose` since `since`, oldest first.
pub async fn tokens_issued_since(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "select created_at from account_tokens
         where user_id = $1 and purpose = $2 and created_at >= $3
         order by created_at",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(since)
    .fetch_all(conn)
    .await?)
}

/// Spends every unused link of `purpose` the user holds.
pub async fn spend_open_tokens(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: &str,
) -> Result<()> {
    sqlx::query(
        "update account_tokens set used_at = now()
         where user_id = $1 and purpose = $2 and used_at is null",
    )
    .bind(user_id)
    .bind(purpose)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the user's current address as verified (kept when it already was).
pub async fn mark_email_verified(db: impl PgExecutor<'_>, id: Uuid) -> Result<()> {
    sqlx::query(
        "update users set email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
         where id = $1",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the user's current address is verified; `None` for an unknown user.
pub async fn email_verified(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<bool>> {
    Ok(
        sqlx::query_scalar("select email_verified_at is not null from users where id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn set_password_hash(conn: &mut PgConnection, id: Uuid, hash: &str) -> Result<()> {
    sqlx::query("update users set password_hash = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes account links that expired before `before`, used or not.
pub async fn prune_tokens(pool: &sqlx::PgPool, before: DateTime<Utc>) -> Result<u64> {
    platform::infra::db::prune(
        pool,
        "delete from account_tokens where ctid in
           (select ctid from account_tokens where expires_at < $1 limit $2)",
        before,
    )
    .await
}

/// Erases the user's personal data in place, keeping the row (and its id) for the ledger,
/// donations and loans that point at it: a placeholder name and address, no password, no
/// mail, no keys, no links.
pub async fn erase_user(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query(
        "update users set email = 'deleted-' || id || '@deleted.invalid', password_hash = '!',
                first_name = 'Deleted', last_name = 'user', is_active = false,
                email_notifications = false, deleted_at = now(), updated_at = now()
         where id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("delete from api_keys where user_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from account_tokens where user_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
