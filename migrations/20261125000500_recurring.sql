-- Monthly recurring donations. Each month's charge is a normal donation made with the
-- idempotency key `recurring:{plan}:{period}`, so a period is charged once however often the
-- scheduler runs.
create table recurring_donations (
    id                  uuid primary key,
    donor_id            uuid not null references users (id),
    campaign_id         uuid not null references campaigns (id),
    amount              bigint not null check (amount > 0),
    day_of_month        smallint not null check (day_of_month between 1 and 28),
    status              text not null default 'active'
        check (status in ('active', 'paused', 'cancelled', 'stopped', 'ended')),
    status_reason       text,
    next_charge_on      date not null,
    failed_attempts     smallint not null default 0 check (failed_attempts between 0 and 3),
    last_charged_period text,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
create index recurring_due on recurring_donations (next_charge_on, id) where status = 'active';
create index recurring_campaign on recurring_donations (campaign_id, status);
create index recurring_donor on recurring_donations (donor_id, created_at desc);
-- One live plan per donor and campaign.
create unique index recurring_one_live_plan on recurring_donations (donor_id, campaign_id)
    where status in ('active', 'paused');
