-- When the user proved they read mail at their current address (a `verify_email` link);
-- null until then, and again after an email change. Creating campaigns, lending and payouts
-- need it.
alter table users add column email_verified_at timestamptz;
-- Accounts from before the rule keep working: their addresses count as verified.
update users set email_verified_at = created_at;

alter table account_tokens drop constraint account_tokens_purpose_check;
alter table account_tokens add constraint account_tokens_purpose_check
    check (purpose in ('password_reset', 'verify_email'));

-- Other contexts and the privacy export read it here; a view can only gain columns at its end.
create or replace view read.users as
    select id, email, first_name, last_name,
           first_name || ' ' || last_name as full_name,
           first_name || ' ' || left(last_name, 1) || '.' as short_name,
           role, tier, is_active, email_notifications, created_at, email_verified_at
    from users;

-- Notifications mail a verification link only while it is open: one spent by an email change
-- must not reach the new address. The rows hold no secret (the link's tag is never stored).
create view read.account_tokens as
    select id, user_id, purpose, created_at, expires_at, used_at from account_tokens;
