-- CSV reports built by the worker into object storage, and outgoing webhooks with their
-- delivery log.

-- One row per requested report. The request and its outbox event commit together; the worker's
-- `generate_report` job builds the CSV, uploads it to `object_key` and marks the row done.
create table reports (
    id           uuid primary key,
    kind         text not null
        check (kind in ('donations_by_campaign', 'loan_book', 'giving_statement')),
    requested_by uuid not null references users (id) on delete cascade,
    -- Inclusive UTC dates; a giving statement covers its calendar year.
    period_from  date not null,
    period_to    date not null,
    status       text not null default 'queued'
        check (status in ('queued', 'running', 'done', 'failed')),
    object_key   text,
    row_count    integer check (row_count >= 0),
    -- The last failure, kept for admins; never shown to donors.
    error        text,
    created_at   timestamptz not null default now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    check (period_to >= period_from),
    check (status <> 'done' or (object_key is not null and finished_at is not null))
);
create index reports_requested_by on reports (requested_by, created_at desc);

-- Where integrations want events. `owner_id` null means platform-wide (registered by an admin):
-- it receives every event of its kinds; otherwise only events of the owner's campaigns and
-- loans. The secret signs every delivery, so it is kept (and shown once, at creation).
create table webhook_endpoints (
    id          uuid primary key,
    owner_id    uuid references users (id) on delete cascade,
    created_by  uuid not null references users (id) on delete cascade,
    url         text not null check (length(url) between 10 and 2000),
    kinds       text[] not null check (cardinality(kinds) between 1 and 50),
    description text check (length(description) <= 200),
    secret      text not null,
    created_at  timestamptz not null default now()
);
create index webhook_endpoints_owner on webhook_endpoints (owner_id, created_at desc);
create index webhook_endpoints_kinds on webhook_endpoints using gin (kinds);

-- One row per (endpoint, event): the fan-out inserts with `on conflict do nothing`, so running
-- it twice delivers once. The body is fixed here so every attempt and replay sends the same
-- bytes.
create table webhook_deliveries (
    id               uuid primary key,
    endpoint_id      uuid not null references webhook_endpoints (id) on delete cascade,
    -- The outbox row the event came from; sent as `Commonpot-Event-Id` for receiver dedupe.
    event_id         bigint not null,
    event_kind       text not null,
    body             text not null,
    status           text not null default 'pending'
        check (status in ('pending', 'delivered', 'failed')),
    attempts         integer not null default 0 check (attempts >= 0),
    last_status_code smallint,
    last_error       text,
    created_at       timestamptz not null default now(),
    delivered_at     timestamptz,
    constraint webhook_deliveries_once unique (endpoint_id, event_id)
);
create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, created_at desc, id);
create index webhook_deliveries_event on webhook_deliveries (event_id);

-- Every attempt: what the receiver answered (or why nothing came back) and how long it took.
create table webhook_attempts (
    id          bigserial primary key,
    delivery_id uuid not null references webhook_deliveries (id) on delete cascade,
    status_code smallint,
    error       text,
    duration_ms integer not null check (duration_ms >= 0),
    created_at  timestamptz not null default now()
);
create index webhook_attempts_delivery on webhook_attempts (delivery_id, id);
