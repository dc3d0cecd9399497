-- Published read models. Each bounded context owns its tables and alone queries them (its
-- crate declares them in `TABLES`); what another context needs to read (names on campaign and
-- loan pages, the facts in an email, reports, analytics, the ledger audit) it reads from these
-- read-only views in the `read` schema, published by the owner. An owner may reshape its tables
-- as long as its views keep their columns. Secrets (password hashes, key hashes, webhook
-- secrets) are never published.
create schema if not exists read;

-- accounts
create view read.users as
    select id, email, first_name, last_name,
           first_name || ' ' || last_name as full_name,
           first_name || ' ' || left(last_name, 1) || '.' as short_name,
           role, tier, is_active, email_notifications, created_at
    from users;

-- campaigns
create view read.campaigns as
    select id, creator_id, title, goal_amount, currency, category, funding_model, status,
           deadline, published_at, goal_reached_at, created_at
    from campaigns;
create view read.campaign_totals as
    select campaign_id, sum(raised_amount)::bigint as raised_amount,
           sum(donations_count)::bigint as donations_count,
           sum(donors_count)::bigint as donors_count
    from campaign_stats_shards group by campaign_id;

-- money
create view read.donations as
    select id, campaign_id, donor_id, amount, anonymous, message, status, created_at, refunded_at
    from donations;
create view read.deposits as
    select id, user_id, amount, status, created_at, confirmed_at from deposits;
create view read.withdrawals as
    select id, kind, campaign_id, user_id, amount, created_at from withdrawals;
create view read.recurring_donations as
    select id, donor_id, campaign_id, amount, day_of_month, status, next_charge_on, created_at
    from recurring_donations;

-- loans
create view read.loans as
    select id, borrower_id, amount, term_months, annual_rate_bp, purpose, status, funded_amount,
           total_due, repaid_amount, fundraising_deadline, approved_at, disbursed_at, closed_at,
           created_at
    from loans;
create view read.loan_installments as
    select loan_id, seq, due_at, principal, interest, amount, paid_amount, paid_at
    from loan_installments;
create view read.loan_transitions as
    select id, loan_id, from_status, to_status, actor_id, reason, created_at from loan_transitions;
create view read.loan_shares as
    select id, loan_id, lender_id, amount, created_at, refunded_at from loan_shares;
create view read.loan_repayments as
    select id, loan_id, borrower_id, amount, created_at from loan_repayments;
create view read.loan_distributions as
    select repayment_id, lender_id, amount from loan_distributions;

-- ledger
create view read.ledger_entries as
    select id, txn_id, account, amount, kind, created_at from ledger_entries;
create view read.wallets as
    select user_id, balance from wallets;
