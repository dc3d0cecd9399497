-- Background work: what the worker and the scheduler record.

-- One row per notification actually sent (or deliberately skipped): the job that sends mail is
-- delivered at least once, and this key is what makes a second delivery a no-op.
create table notifications_sent (
    dedupe_key text primary key,
    user_id    uuid not null references users (id) on delete cascade,
    template   text not null,
    -- `sent`, or `skipped` when the user turned off non-essential mail.
    outcome    text not null check (outcome in ('sent', 'skipped')),
    created_at timestamptz not null default now()
);

-- Per-day platform totals for the admin dashboard, rebuilt nightly (an upsert, so re-running a
-- day is harmless). Days are UTC dates.
create table daily_analytics (
    day              date primary key,
    donations_count  integer not null check (donations_count >= 0),
    donations_amount bigint not null check (donations_amount >= 0),
    donors_count     integer not null check (donors_count >= 0),
    refunds_count    integer not null check (refunds_count >= 0),
    refunds_amount   bigint not null check (refunds_amount >= 0),
    new_campaigns    integer not null check (new_campaigns >= 0),
    new_users        integer not null check (new_users >= 0),
    computed_at      timestamptz not null default now()
);

-- A Merkle root over each UTC day's ledger lines (ordered by id), computed once and never
-- overwritten: recomputing it later and comparing shows whether that day's history changed.
create table ledger_digests (
    day         date primary key,
    merkle_root bytea not null check (length(merkle_root) = 32),
    line_count  bigint not null check (line_count >= 0),
    first_id    bigint,
    last_id     bigint,
    computed_at timestamptz not null default now()
);

-- Each scheduled run claims (task, scheduled_for) before it starts, so two schedulers that both
-- think they lead still run a tick once. Doubles as the run history.
create table scheduler_runs (
    task          text not null,
    scheduled_for timestamptz not null,
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    error         text,
    primary key (task, scheduled_for)
);
