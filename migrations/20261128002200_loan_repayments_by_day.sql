-- The daily repayment digest reads one day's repayments across all loans.
create index loan_repayments_created on loan_repayments (created_at);
