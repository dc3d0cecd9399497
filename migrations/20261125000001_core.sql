-- Core schema: accounts, campaigns, wallets, donations, the ledger, idempotency and the outbox.
-- Money is always bigint minor units (cents). Invariants live in CHECK constraints so that no
-- code path can break them.

create table users (
    id                  uuid primary key,
    email               text not null check (length(email) between 3 and 254),
    password_hash       text not null,
    first_name          text not null check (length(first_name) between 1 and 100),
    last_name           text not null check (length(last_name) between 1 and 100),
    role                text not null default 'user' check (role in ('user', 'admin')),
    tier                text not null default 'standard' check (tier in ('standard', 'premium')),
    is_active           boolean not null default true,
    email_notifications boolean not null default true,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
-- Emails are case-insensitive and unique.
create unique index users_email_key on users (lower(email));
create index idx_user_email_active on users (lower(email), is_active);

create table api_keys (
    id           uuid primary key,
    user_id      uuid not null references users (id) on delete cascade,
    name         text not null check (length(name) between 1 and 100),
    prefix       text not null,
    key_hash     bytea not null,
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    constraint api_keys_prefix_key unique (prefix)
);
create index api_keys_user on api_keys (user_id, created_at desc);

create table wallets (
    user_id    uuid primary key references users (id) on delete cascade,
    balance    bigint not null default 0 constraint wallets_balance_non_negative check (balance >= 0),
    updated_at timestamptz not null default now()
);

create table campaigns (
    id            uuid primary key,
    creator_id    uuid not null references users (id),
    title         text not null check (length(title) between 5 and 120),
    description   text not null check (length(description) between 20 and 10000),
    goal_amount   bigint not null check (goal_amount > 0),
    currency      char(3) not null,
    category      text not null,
    funding_model text not null check (funding_model in ('keep_it_all', 'all_or_nothing')),
    status        text not null default 'draft'
        check (status in ('draft', 'active', 'completed', 'cancelled', 'suspended')),
    deadline      timestamptz,
    -- all_or_nothing campaigns settle once at the deadline: released or refunded.
    settled_at    timestamptz,
    settlement    text check (settlement in ('released', 'refunded')),
    published_at  timestamptz,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    search        tsvector generated always as (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', description), 'B')
    ) stored,
    check (funding_model = 'keep_it_all' or deadline is not null)
);
create index idx_campaign_status_created on campaigns (status, created_at desc, id desc);
create index idx_campaign_creator on campaigns (creator_id);
create index idx_campaign_status_deadline on campaigns (status, deadline, id);
create index idx_campaign_category on campaigns (category, status, created_at desc, id desc);
create index idx_campaign_search on campaigns using gin (search);

-- Campaign stats are spread over a few shard rows per campaign, so concurrent donations to one
-- viral campaign update different rows instead of queueing on one. Stats = sum over shards.
create table campaign_stats_shards (
    campaign_id     uuid not null references campaigns (id) on delete cascade,
    shard           smallint not null check (shard between 0 and 15),
    raised_amount   bigint not null default 0 check (raised_amount >= 0),
    -- A donor is counted on the shard of their first standing gift and may be uncounted on
    -- another, so only the sum over shards is meaningful (and never negative).
    donors_count    integer not null default 0,
    donations_count integer not null default 0 check (donations_count >= 0),
    primary key (campaign_id, shard)
);

-- One row per (campaign, donor) with how many of the donor's gifts are still standing: the
-- donor count changes exactly when this goes 0 -> 1 or 1 -> 0.
create table campaign_donors (
    campaign_id        uuid not null references campaigns (id) on delete cascade,
    donor_id           uuid not null references users (id),
    standing_donations integer not null check (standing_donations >= 0),
    primary key (campaign_id, donor_id)
);

create table campaign_images (
    id           uuid primary key,
    campaign_id  uuid not null references campaigns (id) on delete cascade,
    object_key   text not null,
    content_type text not null,
    size_bytes   integer not null check (size_bytes > 0),
    created_at   timestamptz not null default now()
);
create index campaign_images_campaign on campaign_images (campaign_id, created_at);

-- Double-entry ledger. Every money movement is a set of lines under one txn_id summing to zero
-- (enforced at commit by a deferred trigger). Lines are never updated or deleted.
-- Sign: a positive amount increases the account's balance.
create table ledger_entries (
    id         bigserial primary key,
    txn_id     uuid not null,
    account    text not null,
    amount     bigint not null check (amount <> 0),
    kind       text not null,
    created_at timestamptz not null default now()
);
create index ledger_entries_account on ledger_entries (account, id desc);
create index ledger_entries_txn on ledger_entries (txn_id);
create index ledger_entries_created on ledger_entries (created_at, id);

create function ledger_txn_balanced() returns trigger language plpgsql as $$
declare
    total bigint;
begin
    select coalesce(sum(amount), 0) into total from ledger_entries where txn_id = new.txn_id;
    if total <> 0 then
        raise exception 'ledger transaction % is unbalanced by %', new.txn_id, total
            using errcode = 'check_violation', constraint = 'ledger_txn_balanced';
    end if;
    return null;
end $$;

create constraint trigger ledger_txn_balanced
    after insert on ledger_entries
    deferrable initially deferred
    for each row execute function ledger_txn_balanced();

create function ledger_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'ledger_entries is append-only';
end $$;

create trigger ledger_append_only
    before update or delete on ledger_entries
    for each row execute function ledger_append_only();

create table donations (
    id           uuid primary key,
    campaign_id  uuid not null references campaigns (id),
    donor_id     uuid not null references users (id),
    amount       bigint not null check (amount > 0),
    anonymous    boolean not null default false,
    message      text check (length(message) <= 500),
    status       text not null default 'completed' check (status in ('completed', 'refunded')),
    ledger_txn   uuid not null,
    shard        smallint not null,
    created_at   timestamptz not null default now(),
    refunded_at  timestamptz
);
create index idx_donation_campaign_created on donations (campaign_id, created_at desc, id desc);
create index idx_donation_donor_created on donations (donor_id, created_at desc, id desc);

create table deposits (
    id           uuid primary key,
    user_id      uuid not null references users (id),
    amount       bigint not null check (amount > 0),
    provider     text not null,
    status       text not null default 'pending' check (status in ('pending', 'confirmed', 'failed')),
    ledger_txn   uuid,
    created_at   timestamptz not null default now(),
    confirmed_at timestamptz
);
create index deposits_user on deposits (user_id, created_at desc);

-- Provider webhook events already processed: a replayed event changes nothing.
create table payment_events (
    event_id    text primary key,
    received_at timestamptz not null default now()
);

-- Money leaving a campaign's account to its creator: withdrawals (keep_it_all) and the release
-- of an all_or_nothing campaign that met its goal.
create table withdrawals (
    id          uuid primary key,
    kind        text not null default 'withdrawal' check (kind in ('withdrawal', 'release')),
    campaign_id uuid not null references campaigns (id),
    user_id     uuid not null references users (id),
    amount      bigint not null check (amount > 0),
    ledger_txn  uuid not null,
    created_at  timestamptz not null default now()
);
create index withdrawals_campaign on withdrawals (campaign_id);

-- Every write that moves money carries an Idempotency-Key. The first request's response is
-- stored in the same transaction as its effect; retries get it back and move nothing.
create table idempotency_keys (
    user_id         uuid not null references users (id),
    key             text not null check (length(key) between 1 and 200),
    request_hash    text not null,
    response_status smallint not null,
    response        jsonb not null,
    created_at      timestamptz not null default now(),
    primary key (user_id, key)
);

-- Transactional outbox: written with the business change, relayed to the job queues later.
create table outbox (
    id         bigserial primary key,
    kind       text not null,
    payload    jsonb not null,
    created_at timestamptz not null default now(),
    sent_at    timestamptz
);
create index outbox_unsent on outbox (id) where sent_at is null;
