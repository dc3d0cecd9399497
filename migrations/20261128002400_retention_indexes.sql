-- The retention job deletes by age from these append-only tables. BRIN indexes on their
-- creation times find the old rows without a full scan and cost next to nothing to keep up
-- on the donation path.
create index idempotency_keys_created_brin on idempotency_keys using brin (created_at);
create index outbox_created_brin on outbox using brin (created_at);
create index notifications_sent_created_brin on notifications_sent using brin (created_at);
create index webhook_attempts_created_brin on webhook_attempts using brin (created_at);
