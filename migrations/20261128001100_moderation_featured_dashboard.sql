-- Moderation, featured campaigns and the admin dashboard's live figures (issue #14).

-- An admin's pick for the front page; null when not featured. Kept through a suspension, so a
-- reinstated campaign comes back featured (the public lists hide suspended campaigns anyway).
alter table campaigns add column featured_at timestamptz;
-- `featured=true` reads the few featured public campaigns newest first; `sort=featured` reads
-- every public campaign in its order (featured first, then newest) without sorting them.
create index idx_campaign_featured_created on campaigns (created_at desc, id desc)
    where featured_at is not null and status <> 'draft' and status <> 'suspended';
create index idx_campaign_featured_first on campaigns
    ((featured_at is null), created_at desc, id desc)
    where status <> 'draft' and status <> 'suspended';

-- Columns appended at the end, so the view keeps its existing ones.
create or replace view read.campaigns as
    select id, creator_id, title, goal_amount, currency, category, funding_model, status,
           deadline, published_at, goal_reached_at, created_at, featured_at
    from campaigns;

-- outbox: what is waiting for the relay, for the dashboard's outbox lag.
create view read.outbox_backlog as
    select count(*) as unsent, min(created_at) as oldest_unsent_at
    from outbox where sent_at is null;

-- The dashboard counts what happened since a moment (today, the last 30 days): each of these
-- reads a time range of its table instead of scanning it whole.
create index idx_donation_created on donations (created_at);
create index idx_user_created on users (created_at);
create index idx_loan_created on loans (created_at);
create index idx_loan_transition_created on loan_transitions (created_at, to_status);
