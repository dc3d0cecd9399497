-- Money out (#15): bank accounts held by the payment provider, payouts from wallets, and the
-- provider's fee on deposits and payouts as its own ledger line (`fees:processing`).

alter table deposits add column fee bigint not null default 0 check (fee >= 0 and fee < amount);

-- Only the provider's token, the bank's name and the last four digits are kept: the account
-- number itself passes through to the provider and is never stored.
create table payout_accounts (
    id             uuid primary key,
    user_id        uuid not null references users (id),
    provider_token text not null,
    bank_name      text not null,
    last4          text not null check (last4 ~ '^[0-9]{4}$'),
    created_at     timestamptz not null default now(),
    removed_at     timestamptz
);
-- The same bank account twice is one account (the provider's token is stable per account).
create unique index payout_accounts_live on payout_accounts (user_id, provider_token)
    where removed_at is null;

create table payouts (
    id                uuid primary key,
    user_id           uuid not null references users (id),
    -- Null once the account holder deleted their account (the payout itself stays).
    payout_account_id uuid references payout_accounts (id) on delete set null,
    amount            bigint not null check (amount > 0),
    -- The provider's price, taken from what reaches the bank.
    fee               bigint not null check (fee >= 0 and fee < amount),
    status            text not null default 'pending' check (status in ('pending', 'paid', 'failed')),
    provider          text not null,
    failure_reason    text,
    ledger_txn        uuid not null,
    created_at        timestamptz not null default now(),
    settled_at        timestamptz
);
create index payouts_user on payouts (user_id, created_at desc);
create index payouts_open on payouts (created_at) where status = 'pending';

create or replace view read.deposits as
    select id, user_id, amount, status, created_at, confirmed_at, fee from deposits;
create view read.payouts as
    select id, user_id, payout_account_id, amount, fee, status, failure_reason, created_at,
           settled_at
    from payouts;
create view read.payout_accounts as
    select id, user_id, bank_name, last4, created_at, removed_at from payout_accounts;
