//! The real limit: PostgreSQL's own load generator, `pgbench` (C, libpq, prepared statements),
//! driving Commonpot's donation SQL against the bench database, with no Rust client and no
//! HTTP in the way.
//!
//! * [`ONE`]: the donation transaction of `raw_sql_donate` (`raw.rs`), one donation per commit.
//! * [`SET16`]: 16 donations per commit, issued as exactly the statements group commit
//!   (`crates/money/src/group_commit.rs`) issues for a batch of 16: set-based, one statement
//!   per table over `unnest` of arrays, rows locked in the same order.
//!
//! pgbench only knows integer variables, so each transaction starts with one lookup statement
//! (before `begin`) that turns the `\set` random picks into the ids and arrays the transaction
//! binds, from two small index tables the bench fills beforehand (schema [`SCHEMA`]). Where
//! group commit computes something in Rust between two statements (the stats of the first
//! gifts the `campaign_donors` upsert reports, the goals a batch reaches), the statement is
//! wrapped in a CTE that returns that one row to pgbench (`\gset`) instead of the rows; the
//! statement itself is unchanged.
//! Every pgbench client has its own donors (`:client_id`), like the HTTP clients.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use sqlx::PgPool;
use uuid::Uuid;

use crate::driver::Measured;

pub const ONE: &str = "pgbench_one_per_commit";
pub const SET16: &str = "pgbench_set_based_16";
/// Donations per transaction of [`SET16`].
pub const BATCH: usize = 16;
/// Where the index tables and the uuid v7 function live while the pgbench points run.
const SCHEMA: &str = "bench_pgbench";

/// pgbench: on PATH, then Debian's locations.
pub fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("pgbench");
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let fixed = PathBuf::from("/usr/bin/pgbench");
    if fixed.is_file() {
        return Some(fixed);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/pgbench"))
        .filter(|p| p.is_file())
        .collect();
    versions.sort();
    versions.pop()
}

/// Fills the index tables pgbench looks ids up in: donors `0..` and campaigns `1..=n`.
pub async fn prepare(db: &PgPool, donors: &[Uuid], campaigns: &[Uuid]) -> Result<()> {
    let mut tx = db.begin().await?;
    for sql in [
        format!("drop schema if exists {SCHEMA} cascade"),
        format!("create schema {SCHEMA}"),
        format!("create table {SCHEMA}.donors (i int primary key, id uuid not null)"),
        format!("create table {SCHEMA}.campaigns (i int primary key, id uuid not null)"),
        // Time-ordered ids like `Uuid::now_v7()` in the api (PostgreSQL 15 has no uuidv7()).
        format!(
            "create function {SCHEMA}.uuid_v7() returns uuid language sql volatile as $$
               select encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing
                 substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint)
                 from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid $$"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    for (table, ids, first) in [("donors", donors, 0i32), ("campaigns", campaigns, 1)] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "insert into {SCHEMA}.{table} (i, id)
             select t.n::int + $2 - 1, t.id from unnest($1::uuid[]) with ordinality as t(id, n)"
        )))
        .bind(ids)
        .bind(first)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("analyze {SCHEMA}.donors")))
        .execute(db)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("analyze {SCHEMA}.campaigns")))
        .execute(db)
        .await?;
    Ok(())
}

pub async fn clean_up(db: &PgPool) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop schema if exists {SCHEMA} cascade"
    )))
    .execute(db)
    .await?;
    Ok(())
}

/// One pgbench point.
pub struct Run<'a> {
    pub pgbench: &'a Path,
    pub url: &'a str,
    pub scenario: &'a str,
    pub clients: usize,
    /// pgbench runs whole seconds (`-T`).
    pub seconds: u64,
    pub amount: i64,
    /// Donors in the index table (`0..donors`) and campaigns (`1..=campaigns`).
    pub donors: usize,
    pub campaigns: usize,
}

impl Run<'_> {
    /// Donations per committed transaction.
    pub fn per_tx(&self) -> usize {
        if self.scenario == SET16 { BATCH } else { 1 }
    }

    /// Runs pgbench and returns what it committed, in donations, with the transactions'
    /// latencies (from its per-transaction log).
    pub async fn measure(&self) -> Result<Measured> {
        let per_tx = self.per_tx();
        // Each client draws from its own donors: `per_client` of them, in slots of `per_tx`.
        let per_client = self.donors / self.clients;
        let slots = per_client / per_tx;
        if slots == 0 {
            bail!(
                "{}: {} donors for {} clients is too few for {per_tx} distinct donors per transaction",
                self.scenario,
                self.donors,
                self.clients
            );
        }
        let dir = std::env::temp_dir().join(format!(
            "commonpot-bench-pgbench-{}-{}",
            std::process::id(),
            Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let outcome = self.run_in(&dir, per_client, slots).await;
        let _ = std::fs::remove_dir_all(&dir);
        outcome
    }

    async fn run_in(&self, dir: &Path, per_client: usize, slots: usize) -> Result<Measured> {
        let script = dir.join(format!("{}.sql", self.scenario));
        let text = if self.per_tx() == 1 {
            one_script()
        } else {
            set_script()
        };
        std::fs::write(&script, text).with_context(|| format!("writing {}", script.display()))?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(self.clients);
        let mut cmd = tokio::process::Command::new(self.pgbench);
        cmd.current_dir(dir)
            .arg("--no-vacuum")
            .arg("--protocol=prepared")
            .arg(format!("--client={}", self.clients))
            .arg(format!("--jobs={threads}"))
            .arg(format!("--time={}", self.seconds))
            .arg("--log")
            .arg("--log-prefix=tx")
            .arg(format!("--file={}", script.display()));
        for (name, value) in [
            ("amount", self.amount.to_string()),
            ("per_client", per_client.to_string()),
            ("slots", slots.to_string()),
            ("ncampaigns", self.campaigns.to_string()),
            ("kind", "donation".to_string()),
            ("event_kind", "donation.created".to_string()),
        ] {
            cmd.arg(format!("--define={name}={value}"));
        }
        cmd.arg(self.url);
        let out = cmd
            .output()
            .await
            .with_context(|| format!("running {}", self.pgbench.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            bail!(
                "{}: pgbench failed ({}):\n{}\n{}",
                self.scenario,
                out.status,
                stdout.trim(),
                stderr.trim()
            );
        }
        let summary = Summary::parse(&stdout)
            .with_context(|| format!("{}: reading pgbench's summary:\n{stdout}", self.scenario))?;
        if summary.failed > 0 {
            bail!(
                "{}: {} pgbench transactions failed:\n{}",
                self.scenario,
                summary.failed,
                stderr.trim()
            );
        }
        let hist = read_logs(dir)?;
        let per_tx = self.per_tx() as u64;
        Ok(Measured {
            ok: summary.processed * per_tx,
            errors: summary.failed * per_tx,
            // tps excludes the connection time, like the closed loop of the other points.
            elapsed: Duration::from_secs_f64(if summary.tps > 0.0 {
                summary.processed as f64 / summary.tps
            } else {
                self.seconds as f64
            }),
            hist,
            first_error: None,
        })
    }
}

/// What pgbench printed at the end.
#[derive(Debug, PartialEq)]
struct Summary {
    processed: u64,
    failed: u64,
    tps: f64,
}

impl Summary {
    fn parse(stdout: &str) -> Result<Self> {
        let value = |prefix: &str| {
            stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix(prefix))
                .and_then(|v| v.split_whitespace().next())
                .map(|v| v.trim_end_matches(['/', ',']).to_string())
        };
        let processed = value("number of transactions actually processed:")
            .context("no 'number of transactions actually processed'")?
            .parse()?;
        let failed = match value("number of failed transactions:") {
            Some(v) => v.parse()?,
            None => 0,
        };
        let tps = value("tps =")
            .context("no 'tps ='")?
            .parse()
            .context("tps")?;
        Ok(Self {
            processed,
            failed,
            tps,
        })
    }
}

/// Transaction latencies from pgbench's per-transaction logs (`tx.<pid>[.<thread>]`): the
/// third field is the latency in microseconds.
fn read_logs(dir: &Path) -> Result<Histogram<u64>> {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("tx."));
        if !is_log {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            if let Some(Ok(micros)) = line.split_whitespace().nth(2).map(str::parse::<u64>) {
                hist.saturating_record(micros.clamp(1, 60_000_000));
            }
        }
    }
    Ok(hist)
}

/// `raw_sql_donate`'s transaction (`raw.rs`), statement for statement.
fn one_script() -> String {
    format!(
        r#"-- One donation per commit: the statements of raw_sql_donate (bench/src/raw.rs).
\set slot random(0, :slots - 1)
\set campaign_i random(1, :ncampaigns)
\set shard random(0, 15)
\set donor_i :client_id * :per_client + :slot
-- The ids the bench would hold in memory (not part of the donation transaction).
select d.id as donor, c.id as campaign, x.key, x.fingerprint, x.txn, x.did,
       array['wallet:' || d.id, 'campaign:' || c.id]::text as accounts,
       array[-:amount::bigint, :amount::bigint]::text as lines,
       jsonb_build_object('type', 'donation_created', 'donation_id', x.did,
         'campaign_id', c.id, 'donor_id', d.id, 'amount', :amount::bigint)::text as payload,
       now()::text as created,
       jsonb_build_object('id', x.did, 'campaign_id', c.id, 'donor_id', d.id,
         'amount', :amount::bigint, 'anonymous', false, 'message', null, 'status', 'completed',
         'created_at', now(), 'refunded_at', null)::text as response
from {SCHEMA}.donors d, {SCHEMA}.campaigns c,
     (select k as key, encode(sha256(convert_to(k, 'UTF8')), 'hex') as fingerprint,
             {SCHEMA}.uuid_v7() as txn, {SCHEMA}.uuid_v7() as did
      from (select 'pgbench-' || gen_random_uuid() as k) k) x
where d.i = :donor_i and c.i = :campaign_i
\gset
begin;
insert into idempotency_keys (user_id, key, request_hash, response_status, response)
  values (:donor, :key, :fingerprint, 201, :response) on conflict do nothing;
select status, deadline from campaigns where id = :campaign for key share;
update wallets set balance = balance - :amount, updated_at = now()
  where user_id = :donor and balance >= :amount;
insert into ledger_entries (txn_id, account, amount, kind)
  select :txn::uuid, account, amount, :kind::text from unnest(:accounts::text[], :lines::bigint[]) as t(account, amount);
insert into donations
    (id, campaign_id, donor_id, amount, anonymous, message, created_at, ledger_txn, shard)
  values (:did, :campaign, :donor, :amount, false, null, :created, :txn, :shard);
insert into campaign_donors (campaign_id, donor_id, standing_donations)
  values (:campaign, :donor, 1)
  on conflict (campaign_id, donor_id)
  do update set standing_donations = campaign_donors.standing_donations + excluded.standing_donations
  returning standing_donations
\gset
\set first_gift case when :standing_donations = 1 then 1 else 0 end
insert into campaign_stats_shards (campaign_id, shard, raised_amount, donors_count, donations_count)
  values (:campaign, :shard, :amount, :first_gift, 1)
  on conflict (campaign_id, shard) do update set
    raised_amount = campaign_stats_shards.raised_amount + excluded.raised_amount,
    donors_count = campaign_stats_shards.donors_count + excluded.donors_count,
    donations_count = campaign_stats_shards.donations_count + excluded.donations_count;
insert into outbox (kind, payload) values (:event_kind, :payload);
commit;
"#
    )
}

/// Group commit's statements for a batch of 16 (`group_commit.rs`: `write`, `write_gifts`,
/// `insert_donations`, `goals_reached`, and the ledger, idempotency, wallet and stats SQL they
/// call).
fn set_script() -> String {
    let picks: String = (1..=BATCH)
        .map(|k| format!("\\set c{k} random(1, :ncampaigns)\n"))
        .collect();
    let campaign_list: Vec<String> = (1..=BATCH).map(|k| format!(":c{k}::int")).collect();
    let campaign_list = campaign_list.join(", ");
    format!(
        r#"-- 16 donations per commit: group commit's statements for a batch of 16
-- (crates/money/src/group_commit.rs), 16 distinct donors of this client, random campaigns.
\set slot random(0, :slots - 1)
\set salt random(0, 1000000)
\set first :client_id * :per_client + :slot * {BATCH}
{picks}-- The batch as group commit holds it in memory (not part of the transaction): keys, ids
-- and column arrays, in donor order (claims, wallets) and in (campaign, donor) order (the rest).
with g as (
  select d.id as donor, c.id as campaign, 'pgbench-' || gen_random_uuid() as key,
         {SCHEMA}.uuid_v7() as did, {SCHEMA}.uuid_v7() as txn, :amount::bigint as amount
  from unnest(array[{campaign_list}]) with ordinality as t(ci, k)
  join {SCHEMA}.donors d on d.i = :first::int + t.k::int - 1
  join {SCHEMA}.campaigns c on c.i = t.ci
), gs as (
  -- One stats shard per campaign per batch.
  select g.*, encode(sha256(convert_to(key, 'UTF8')), 'hex') as fingerprint,
         (abs(hashtext(campaign::text || :salt)) % 16)::smallint as shard
  from g
), p as (
  select campaign, sum(amount) as raised, count(*) as gifts, min(shard) as shard
  from gs group by campaign
)
select
  (select array_agg(donor order by donor) from gs)::text as d_users,
  (select array_agg(key order by donor) from gs)::text as d_keys,
  (select array_agg(fingerprint order by donor) from gs)::text as d_hashes,
  (select array_agg(jsonb_build_object('id', did, 'campaign_id', campaign, 'donor_id', donor,
     'amount', amount, 'anonymous', false, 'message', null, 'status', 'completed',
     'created_at', now(), 'refunded_at', null) order by donor) from gs)::text as d_answers,
  (select array_agg(amount order by donor) from gs)::text as d_amounts,
  (select array_agg(campaign order by campaign) from p)::text as gate_ids,
  (select array_agg(campaign order by campaign, donor) from gs)::text as c_campaigns,
  (select array_agg(donor order by campaign, donor) from gs)::text as c_users,
  (select array_agg(key order by campaign, donor) from gs)::text as c_keys,
  (select array_agg(did order by campaign, donor) from gs)::text as c_ids,
  (select array_agg(amount order by campaign, donor) from gs)::text as c_amounts,
  (select array_agg(false) from gs)::text as c_anonymous,
  (select array_agg(null::text) from gs)::text as c_messages,
  (select array_agg(now()) from gs)::text as c_created,
  (select array_agg(txn order by campaign, donor) from gs)::text as c_txns,
  (select array_agg(shard order by campaign, donor) from gs)::text as c_shards,
  (select array_agg(l.txn order by campaign, donor, l.n) from gs,
     lateral (values (1, gs.txn), (2, gs.txn)) as l(n, txn))::text as l_txns,
  (select array_agg(l.account order by campaign, donor, l.n) from gs,
     lateral (values (1, 'wallet:' || donor), (2, 'campaign:' || campaign)) as l(n, account))::text
     as l_accounts,
  (select array_agg(l.amount order by campaign, donor, l.n) from gs,
     lateral (values (1, -amount), (2, amount)) as l(n, amount))::text as l_amounts,
  (select array_agg(:kind::text) from gs, generate_series(1, 2))::text as l_kinds,
  (select array_agg(campaign order by campaign) from p)::text as s_ids,
  (select array_agg(shard order by campaign) from p)::text as s_shards,
  (select array_agg(raised order by campaign) from p)::text as s_raised,
  (select array_agg(gifts order by campaign) from p)::text as s_counts,
  (select array_agg(:event_kind::text) from gs)::text as e_kinds,
  (select array_agg(jsonb_build_object('type', 'donation_created', 'donation_id', did,
     'campaign_id', campaign, 'donor_id', donor, 'amount', amount) order by campaign, donor)
   from gs)::text as e_payloads
\gset
begin;
-- idempotency::claim_many (keys::insert_new), each key stored with its answer
insert into idempotency_keys (user_id, key, request_hash, response_status, response)
  select u, k, h, case when r is null then 0 else 201 end, coalesce(r, 'null')
  from unnest(:d_users::uuid[], :d_keys::text[], :d_hashes::text[], :d_answers::jsonb[]) as t(u, k, h, r)
  on conflict do nothing returning user_id, key;
-- campaigns_repo::donation_gates; the batch keeps the gates of campaigns short of their goal
with gates as (
  select id, status, deadline, goal_amount, goal_reached_at is not null as goal_reached
  from campaigns where id = any(:gate_ids::uuid[]) order by id for key share
)
select coalesce(array_agg(id order by id) filter (where not goal_reached), '{{}}')::text as short_ids,
       coalesce(array_agg(goal_amount order by id) filter (where not goal_reached), '{{}}')::text
         as short_goals
from gates
\gset
-- wallets::debit_many
update wallets w set balance = w.balance - t.amount, updated_at = now()
  from unnest(:d_users::uuid[], :d_amounts::bigint[]) as t(user_id, amount)
  where w.user_id = t.user_id and w.balance >= t.amount
  returning w.user_id;
-- ledger::write_many (entries::insert)
insert into ledger_entries (txn_id, account, amount, kind)
  select * from unnest(:l_txns::uuid[], :l_accounts::text[], :l_amounts::bigint[], :l_kinds::text[]);
-- repo::insert_donations
insert into donations
    (id, campaign_id, donor_id, amount, anonymous, message, created_at, ledger_txn, shard)
  select * from unnest(:c_ids::uuid[], :c_campaigns::uuid[], :c_users::uuid[], :c_amounts::bigint[],
                       :c_anonymous::bool[], :c_messages::text[], :c_created::timestamptz[],
                       :c_txns::uuid[], :c_shards::smallint[]);
-- campaigns_repo::add_gifts: campaign_donors, then the new donors per campaign for the stats
with f as (
  insert into campaign_donors (campaign_id, donor_id, standing_donations)
  select c, d, 1 from unnest(:c_campaigns::uuid[], :c_users::uuid[]) as t(c, d)
  on conflict (campaign_id, donor_id)
  do update set standing_donations = campaign_donors.standing_donations + 1
  returning case when standing_donations = 1 then campaign_id end as first
)
select array_agg((select count(*) from f where f.first = s.id)::int order by s.n)::text as s_new
from unnest(:s_ids::uuid[]) with ordinality as s(id, n)
\gset
-- the stats, returning the amount raised by the campaigns still short (goals_reached compares it)
with added as (
  insert into campaign_stats_shards (campaign_id, shard, raised_amount, donors_count, donations_count)
  select * from unnest(:s_ids::uuid[], :s_shards::smallint[], :s_raised::bigint[], :s_new::int[], :s_counts::int[])
  on conflict (campaign_id, shard) do update set
    raised_amount = campaign_stats_shards.raised_amount + excluded.raised_amount,
    donors_count = campaign_stats_shards.donors_count + excluded.donors_count,
    donations_count = campaign_stats_shards.donations_count + excluded.donations_count
  returning campaign_id, shard, raised_amount
), totals as (
  select a.campaign_id, (a.raised_amount + coalesce(sum(o.raised_amount), 0))::bigint as raised
  from added a
  left join campaign_stats_shards o on o.campaign_id = a.campaign_id and o.shard <> a.shard
  where a.campaign_id = any(:short_ids::uuid[])
  group by a.campaign_id, a.raised_amount
)
select count(*) as n_reached, coalesce(array_agg(x.id order by x.id), '{{}}')::text as reached
from unnest(:short_ids::uuid[], :short_goals::bigint[]) as x(id, goal)
join totals t on t.campaign_id = x.id where t.raised >= x.goal
\gset
\if :n_reached > 0
-- campaigns_repo::mark_goal_reached; its events go first in the outbox
with m as (
  update campaigns set goal_reached_at = now()
  where id = any(:reached::uuid[]) and goal_reached_at is null returning id
)
select (coalesce(array_agg('campaign.goal_reached'::text), '{{}}') || :e_kinds::text[])::text as e_kinds,
       (coalesce(array_agg(jsonb_build_object('type', 'campaign_goal_reached', 'campaign_id', m.id)),
         '{{}}') || :e_payloads::jsonb[])::text as e_payloads
from m
\gset
\endif
-- outbox::record_many
insert into outbox (kind, payload) select * from unnest(:e_kinds::text[], :e_payloads::jsonb[]);
commit;
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_15s_summary() {
        let out = "transaction type: x.sql\nscaling factor: 1\nquery mode: prepared\n\
            number of clients: 32\nnumber of threads: 2\nmaximum number of tries: 1\n\
            duration: 3 s\nnumber of transactions actually processed: 1234\n\
            number of failed transactions: 0 (0.000%)\nlatency average = 77.8 ms\n\
            initial connection time = 40.1 ms\ntps = 411.123 (without initial connection time)\n";
        assert_eq!(
            Summary::parse(out).expect("the summary parses"),
            Summary {
                processed: 1234,
                failed: 0,
                tps: 411.123
            }
        );
    }

    #[test]
    fn scripts_name_every_batch_slot() {
        let s = set_script();
        assert!(s.contains("\\set c16 random(1, :ncampaigns)"));
        assert!(s.contains(":c16::int]"));
        assert!(one_script().contains("commit;"));
    }
}
