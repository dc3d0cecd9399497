-- A user's own data export reads these, as it reads the other `read.*` views: the API keys
-- and webhook endpoints a user registered, without their hashes and secrets.
create view read.api_keys as
    select id, user_id, name, prefix, created_at, last_used_at, revoked_at from api_keys;
create view read.webhook_endpoints as
    select id, owner_id, created_by, url, kinds, description, created_at from webhook_endpoints;
