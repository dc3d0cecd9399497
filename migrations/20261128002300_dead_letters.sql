-- Jobs that failed their last attempt, kept in PostgreSQL (they were a capped Redis list that
-- dropped the oldest silently). A retry marks the letter; the retention job prunes retried ones.
create table dead_letters (
    id         uuid primary key,
    queue      text not null,
    job        jsonb not null,
    error      text not null,
    attempts   integer not null check (attempts >= 0),
    failed_at  timestamptz not null,
    retried_at timestamptz
);
create index dead_letters_waiting on dead_letters (failed_at desc) where retried_at is null;
