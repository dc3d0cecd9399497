-- When a user deleted their account: the row stays (ledger lines, donations and loans point at
-- it) with its personal data erased.
alter table users add column deleted_at timestamptz;
