-- Campaign updates: news a campaign's creator (or an admin) posts for its donors and the
-- public. Owned by the campaigns context; the notifications context reads an update through
-- `read.campaign_updates` to email it to the donors.
create table campaign_updates (
    id          uuid primary key,
    campaign_id uuid not null references campaigns (id) on delete cascade,
    author_id   uuid not null references users (id),
    title       text not null check (char_length(title) between 1 and 120),
    body        text not null check (char_length(body) between 1 and 10000),
    created_at  timestamptz not null default now()
);
-- The public list (newest first) and the daily cap's count of the last 24 hours.
create index campaign_updates_campaign on campaign_updates (campaign_id, created_at desc, id desc);

create view read.campaign_updates as
    select id, campaign_id, author_id, title, body, created_at from campaign_updates;
