-- Single-use account links (password reset). The emailed link carries the row's id and an HMAC
-- of it under the server's secret (platform::signed), so nothing stored here opens an account.
create table account_tokens (
    id         uuid primary key,
    user_id    uuid not null references users (id) on delete cascade,
    purpose    text not null check (purpose in ('password_reset')),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at    timestamptz
);
-- The per-account limit counts a user's recent links; a confirmation spends the rest.
create index account_tokens_user on account_tokens (user_id, purpose, created_at);
