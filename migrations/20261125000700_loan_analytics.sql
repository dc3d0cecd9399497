-- Loan figures in the nightly analytics: decisions made and loans repaid that day.
alter table daily_analytics
    add column loans_approved integer not null default 0 check (loans_approved >= 0),
    add column loans_rejected integer not null default 0 check (loans_rejected >= 0),
    add column loans_repaid   integer not null default 0 check (loans_repaid >= 0);
