-- The admin audit log: one row per admin action, written on the transaction that makes the
-- change. Append-only like the ledger.
create table audit_log (
    id          bigint generated always as identity primary key,
    at          timestamptz not null default now(),
    actor_id    uuid not null,
    action      text not null,
    target_type text not null,
    target_id   text not null,
    before      jsonb not null default 'null',
    after       jsonb not null default 'null',
    request_id  text,
    reason      text
);
create index audit_log_actor on audit_log (actor_id, id desc);
create index audit_log_target on audit_log (target_type, target_id, id desc);
create index audit_log_action on audit_log (action, id desc);
create index audit_log_at on audit_log (at);

create function audit_log_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only';
end $$;
create trigger audit_log_append_only
    before update or delete on audit_log
    for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate
    before truncate on audit_log
    for each statement execute function audit_log_append_only();
