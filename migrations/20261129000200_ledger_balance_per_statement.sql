-- The ledger's balance check once per insert statement instead of once per line.
--
-- The deferred per-row constraint trigger summed the whole transaction's lines again for every
-- line at commit: a donation batch of 16 ran the same query 32 times. Every writer inserts all
-- lines of a ledger transaction in one statement (`ledger::write_many`), so checking that each
-- statement's new lines balance per `txn_id` keeps the same rule — the lines of every
-- transaction sum to zero — with one query per statement over the statement's own rows, and
-- refuses an unbalanced statement at once rather than at commit.
drop trigger ledger_txn_balanced on ledger_entries;
drop function ledger_txn_balanced();

create function ledger_statement_balanced() returns trigger language plpgsql as $$
declare
    bad record;
begin
    select txn_id, sum(amount) as total into bad
    from new_lines group by txn_id having sum(amount) <> 0 limit 1;
    if found then
        raise exception 'ledger transaction % is unbalanced by %', bad.txn_id, bad.total
            using errcode = 'check_violation', constraint = 'ledger_txn_balanced';
    end if;
    return null;
end $$;

create trigger ledger_txn_balanced
    after insert on ledger_entries
    referencing new table as new_lines
    for each statement execute function ledger_statement_balanced();
