-- Giving statements are also built as PDF (its object key beside the CSV's), and in January the
-- scheduler asks for every donor's statement of the year before (`automatic`): at most one such
-- statement per donor and year, however often the task runs.
alter table reports
    add column pdf_key text,
    add column automatic boolean not null default false;

create unique index reports_yearly_statement_once
    on reports (requested_by, period_from)
    where automatic;
