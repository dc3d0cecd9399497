-- Microloans: applications, their scores, lenders' shares, the repayment schedule, repayments
-- and their distribution to lenders, and a record of every status change. Money is bigint
-- minor units; the money itself lives in the ledger (`loan:{id}` is the escrow account).

create table loans (
    id                   uuid primary key,
    borrower_id          uuid not null references users (id),
    amount               bigint not null constraint loans_amount_positive check (amount > 0),
    term_months          integer not null check (term_months between 1 and 600),
    -- Annual interest in basis points (500 = 5%), fixed at submission from the configuration.
    annual_rate_bp       integer not null default 0 check (annual_rate_bp between 0 and 10000),
    purpose              text not null check (length(purpose) between 3 and 120),
    description          text not null check (length(description) between 20 and 5000),
    status               text not null default 'submitted' check (status in (
        'submitted', 'scoring', 'pending_review', 'fundraising', 'rejected', 'expired',
        'funded', 'active', 'late', 'repaid', 'defaulted', 'written_off')),
    -- Sum of lenders' shares taken while fundraising (kept after an expiry's refunds).
    funded_amount        bigint not null default 0 check (funded_amount >= 0),
    -- What the borrower owes in all (principal + interest), fixed at disbursement.
    total_due            bigint check (total_due >= amount),
    repaid_amount        bigint not null default 0 check (repaid_amount >= 0),
    fundraising_deadline timestamptz,
    approved_at          timestamptz,
    disbursed_at         timestamptz,
    closed_at            timestamptz,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint loans_funded_within_amount check (funded_amount <= amount),
    constraint loans_repaid_within_due check (total_due is null or repaid_amount <= total_due),
    check (status <> 'fundraising' or fundraising_deadline is not null),
    check (status not in ('active', 'late', 'repaid', 'defaulted', 'written_off')
           or (total_due is not null and disbursed_at is not null and funded_amount = amount))
);
create index idx_loan_borrower_status on loans (borrower_id, status);
create index idx_loan_status_created on loans (status, created_at desc, id desc);
create index idx_loan_fundraising_deadline on loans (fundraising_deadline) where status = 'fundraising';
-- One open application per borrower: a second one while this is undecided or fundraising is a
-- 409 (the constraint, not a check-then-insert, decides under concurrency).
create unique index loans_one_open_application on loans (borrower_id)
    where status in ('submitted', 'scoring', 'pending_review', 'fundraising');

-- Who moved a loan between statuses, when and why. `actor_id` is null for the system (scoring,
-- the scheduler, funding).
create table loan_transitions (
    id          bigserial primary key,
    loan_id     uuid not null references loans (id) on delete cascade,
    from_status text,
    to_status   text not null,
    actor_id    uuid references users (id),
    reason      text not null check (length(reason) between 1 and 500),
    created_at  timestamptz not null default now()
);
create index loan_transitions_loan on loan_transitions (loan_id, id);
create index loan_transitions_to on loan_transitions (to_status, loan_id);

-- The credit score, computed once per application, with the factors that explain it.
create table loan_scores (
    loan_id    uuid primary key references loans (id) on delete cascade,
    score      integer not null check (score between 0 and 1000),
    factors    jsonb not null,
    created_at timestamptz not null default now()
);

create table loan_documents (
    id           uuid primary key,
    loan_id      uuid not null references loans (id) on delete cascade,
    object_key   text not null,
    content_type text not null,
    size_bytes   integer not null check (size_bytes > 0),
    created_at   timestamptz not null default now()
);
create index loan_documents_loan on loan_documents (loan_id, created_at);

-- A lender's share: money moved from their wallet into the loan's escrow. A lender may take
-- several; repayments are distributed pro rata to each lender's total.
create table loan_shares (
    id          uuid primary key,
    loan_id     uuid not null references loans (id),
    lender_id   uuid not null references users (id),
    amount      bigint not null check (amount > 0),
    ledger_txn  uuid not null,
    created_at  timestamptz not null default now(),
    -- Set when an expired loan returned the share.
    refunded_at timestamptz
);
create index loan_shares_loan on loan_shares (loan_id, lender_id);
create index loan_shares_lender on loan_shares (lender_id, created_at desc);

-- The repayment schedule, fixed at disbursement: equal installments (the last one absorbs the
-- rounding) that sum exactly to `loans.total_due`.
create table loan_installments (
    loan_id     uuid not null references loans (id) on delete cascade,
    seq         integer not null check (seq >= 1),
    due_at      timestamptz not null,
    principal   bigint not null check (principal >= 0),
    interest    bigint not null check (interest >= 0),
    amount      bigint not null check (amount > 0),
    paid_amount bigint not null default 0 check (paid_amount >= 0),
    paid_at     timestamptz,
    primary key (loan_id, seq),
    check (amount = principal + interest),
    constraint loan_installments_paid_within_amount check (paid_amount <= amount)
);
create index loan_installments_unpaid on loan_installments (due_at) where paid_amount < amount;

-- Money from the borrower's wallet, paid into the loan and passed on to the lenders at once.
create table loan_repayments (
    id               uuid primary key,
    loan_id          uuid not null references loans (id),
    borrower_id      uuid not null references users (id),
    amount           bigint not null check (amount > 0),
    ledger_txn       uuid not null,
    distribution_txn uuid not null,
    created_at       timestamptz not null default now()
);
create index loan_repayments_loan on loan_repayments (loan_id, created_at);

-- Each lender's part of a repayment (largest-remainder allocation; sums to the repayment).
create table loan_distributions (
    repayment_id uuid not null references loan_repayments (id),
    lender_id    uuid not null references users (id),
    amount       bigint not null check (amount > 0),
    primary key (repayment_id, lender_id)
);
create index loan_distributions_lender on loan_distributions (lender_id);
