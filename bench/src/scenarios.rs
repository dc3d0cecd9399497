//! The run: seed, start the api (and worker), sign in, then every measured phase in order.
//!
//! 1. reads with the seeded donations: cached detail GETs, uncached list/search pages, and
//!    the campaign donations page;
//! 2. donations as raw SQL from this process, as pgbench runs them (one per commit, and group
//!    commit's statements for 16 per commit: the limit), over HTTP spread over all campaigns, and over HTTP all
//!    to one campaign; after every point the totals must have moved by exactly what clients
//!    saw acknowledged, and the platform's audit must pass;
//! 3. the worker paused during one more donation point, then timed draining the backlog with
//!    the api idle;
//! 4. the donations table grown (default to 1,000,000) and the reads measured again;
//! 5. the campaigns grown (default to 100,000, then 1,000,000, with 1,000,000 users) and the
//!    reads measured at each size.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt, stream};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::{self, Auditor, Database};
use crate::driver::{self, Driver, Measured};
use crate::procs::Services;
use crate::report::{
    BASE, CAMPAIGNS, DETAIL, DONATIONS_PAGE, GROWN, HOT, LIST, Machine, Point, RAW, Results,
    SEARCH, Size, UNIFORM, WORKER_DRAIN,
};
use crate::seed::{self, Seeded, WORDS};
use crate::statements::{Profile, Statements};
use crate::{Args, cpu, pgbench, raw};
use futures::future::BoxFuture;

/// Every bench donation gives this much (minor units).
const AMOUNT: i64 = 500;
/// Clients of the pgbench points.
pub const PGBENCH_CLIENTS: usize = 32;
/// The worker point's donations, made while the worker is paused.
const UNIFORM_WORKER_PAUSED: &str = "http_donate_worker_paused";
const CATEGORIES: &[&str] = &["animals", "community", "education", "health", "technology"];

pub struct Bench<'a> {
    args: &'a Args,
    url: String,
    seeded: Seeded,
    ctx: Ctx,
    redis_prefix: String,
    /// The worker runs beside the api: donation points start once it has caught up.
    worker: bool,
    auditor: Auditor,
    check_db: PgPool,
    points: Vec<Point>,
    audits: u32,
    notes: Vec<String>,
    in_db: usize,
    /// During the worker point's donations: the outbox lag is then the pause, not the worker.
    worker_paused: bool,
    /// Statement counts per point; `None` when the server does not load pg_stat_statements.
    statements: Option<Statements>,
    /// Receipts the worker owes: one per donation a point made (seeded and grown donations
    /// have no outbox events).
    receipts: usize,
}

impl<'a> Bench<'a> {
    pub async fn run(args: &'a Args, database: &Database, machine: &Machine) -> Result<Results> {
        let started_at = Utc::now();
        let seeded = seed::seed(&database.url, args.users, args.campaigns, args.donations).await?;
        let auditor = Auditor::connect(&database.url, &args.redis_url, &args.s3_endpoint).await?;
        auditor.check("seeding").await?;
        println!("== audit after seeding: clean");
        let max_clients = args.clients.iter().copied().max().unwrap_or(1);
        println!(
            "== starting the release api{}",
            if args.worker_bin.is_some() {
                " and worker"
            } else {
                ""
            }
        );
        let mut services = Services::start(args, &database.url).await?;
        let ctx = Ctx {
            client: driver::http_client(max_clients)?,
            base: services.base_url.clone(),
            drivers: Arc::new(Vec::new()),
            campaigns: Arc::new(seeded.campaigns.clone()),
            run: Uuid::new_v4().simple().to_string()[..8].to_string(),
            list_urls: Arc::new(ListUrls::new(&services.base_url, &seeded)),
        };
        let check_db = db::pool(&database.url, 2).await?;
        let mut notes = Vec::new();
        let statements = match Statements::open(&check_db).await {
            Ok(statements) => Some(statements),
            Err(why) => {
                notes.push(format!(
                    "statements per operation not measured: pg_stat_statements is not loaded \
                     by this server (bench/run starts one that loads it): {why}"
                ));
                None
            }
        };
        let mut bench = Bench {
            args,
            url: database.url.clone(),
            in_db: seeded.donations,
            seeded,
            ctx,
            redis_prefix: services.redis_prefix.clone(),
            worker: services.worker,
            auditor,
            check_db,
            points: Vec::new(),
            audits: 1,
            notes,
            worker_paused: false,
            statements,
            receipts: 0,
        };
        let outcome = bench.phases(&mut services).await;
        let worker_running = services.worker;
        services.stop().await;
        outcome?;
        let mut results = Results {
            machine: machine.clone(),
            started_at,
            settings: serde_json::json!({
                "campaigns": args.campaigns,
                "users": args.users,
                "donations_seeded": args.donations,
                "donations_grown_to": args.scale_donations,
                "campaigns_grown_to": args.scale_campaigns,
                "users_grown_to": args.scale_users,
                "driving_users": args.drivers,
                "clients": args.clients,
                "seconds_per_point": args.duration,
                "warm_set": args.warm_set,
                "api_db_connections": args.api_db_connections,
                "donation_amount": AMOUNT,
                "pgbench_clients": PGBENCH_CLIENTS,
                "pgbench_seconds_per_point": args.duration.ceil().max(1.0),
                "quick": args.quick,
            }),
            worker_running,
            audits_passed: bench.audits,
            points: bench.points,
            notes: bench.notes,
            ratios: Vec::new(),
            targets: Vec::new(),
            bounds: Vec::new(),
        };
        results.evaluate(args.scale_clients);
        Ok(results)
    }

    async fn phases(&mut self, services: &mut Services) -> Result<()> {
        let n = self
            .args
            .drivers
            .max(self.args.clients.iter().copied().max().unwrap_or(1));
        if n > self.seeded.users.len() {
            bail!("need at least as many users as the largest client count");
        }
        self.ctx.drivers =
            Arc::new(driver::login(&self.ctx.client, &self.ctx.base, &self.seeded.users, n).await?);
        let clients = self.args.clients.clone();
        let grow = self.args.scale_donations > self.seeded.donations;

        let warm = self.warm_detail().await?;
        for &c in &clients {
            self.read_point(DETAIL, BASE, c, detail_op(self.ctx.clone(), warm.clone()))
                .await?;
            services.check_alive()?;
        }
        for (scenario, search) in [(LIST, false), (SEARCH, true)] {
            for &c in &clients {
                self.read_point(scenario, BASE, c, list_op(self.ctx.clone(), search))
                    .await?;
                services.check_alive()?;
            }
        }
        let scale_clients = self.args.scale_clients;
        if grow {
            let op = donations_page_op(self.ctx.clone());
            self.read_point(DONATIONS_PAGE, BASE, scale_clients, op)
                .await?;
        }

        let hot = self.seeded.campaigns[1 % self.seeded.campaigns.len()];
        let max_clients = clients.iter().copied().max().unwrap_or(1) as u32;
        let pool = db::pool(&self.url, max_clients).await?;
        for &c in &clients {
            let op = raw_op(self.ctx.clone(), pool.clone(), c);
            self.donation_point(RAW, c, None, op).await?;
        }
        pool.close().await;
        self.pgbench_points().await?;
        for &c in &clients {
            let op = http_donate_op(self.ctx.clone(), UNIFORM, c, None);
            self.donation_point(UNIFORM, c, None, op).await?;
            services.check_alive()?;
        }
        for &c in &clients {
            let op = http_donate_op(self.ctx.clone(), HOT, c, Some(hot));
            self.donation_point(HOT, c, Some(hot), op).await?;
            services.check_alive()?;
        }
        if self.worker {
            self.worker_drain_point(services).await?;
            services.check_alive()?;
        }

        if grow {
            if self.worker {
                self.wait_for_worker().await?;
            }
            let missing = self.args.scale_donations - self.seeded.donations;
            seed::grow_donations(&self.url, &mut self.seeded, self.args.scale_donations).await?;
            self.in_db += missing;
            self.after_growth("growing the donations table").await?;
            self.grown_reads(GROWN).await?;
            services.check_alive()?;
        }
        let steps = self.args.scale_campaigns.clone();
        for (i, &campaigns) in steps.iter().enumerate() {
            let users = if i + 1 == steps.len() {
                self.args.scale_users
            } else {
                0
            };
            seed::grow_platform(&self.url, &mut self.seeded, campaigns, users).await?;
            self.ctx.campaigns = Arc::new(self.seeded.campaigns.clone());
            self.ctx.list_urls = Arc::new(ListUrls::new(&self.ctx.base, &self.seeded));
            self.after_growth(&format!("growing to {campaigns} campaigns"))
                .await?;
            self.grown_reads(CAMPAIGNS).await?;
            services.check_alive()?;
        }
        Ok(())
    }

    /// After rows were added behind the api's back (COPY): retires every cached page, as an
    /// operator would after a bulk import, and audits.
    async fn after_growth(&mut self, what: &str) -> Result<()> {
        self.retire_cached_pages().await?;
        self.auditor.check(what).await?;
        self.audits += 1;
        println!("== audit after {what}: clean");
        Ok(())
    }

    /// Detail, list, search and the donations page at `--scale-clients`, after a growth.
    async fn grown_reads(&mut self, stage: &str) -> Result<()> {
        let warm = self.warm_detail().await?;
        let c = self.args.scale_clients;
        self.read_point(DETAIL, stage, c, detail_op(self.ctx.clone(), warm))
            .await?;
        self.read_point(LIST, stage, c, list_op(self.ctx.clone(), false))
            .await?;
        self.read_point(SEARCH, stage, c, list_op(self.ctx.clone(), true))
            .await?;
        self.read_point(
            DONATIONS_PAGE,
            stage,
            c,
            donations_page_op(self.ctx.clone()),
        )
        .await
    }

    fn size(&self) -> Size {
        Size {
            donations: self.in_db,
            campaigns: self.seeded.campaigns.len(),
        }
    }

    /// The api's group-commit batches so far and the donations they held, from its metrics.
    async fn group_commits(&self) -> Result<(f64, f64)> {
        let text = self
            .ctx
            .client
            .get(format!("{}/metrics", self.ctx.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ok((
            value("commonpot_group_commit_batch_size_count "),
            value("commonpot_group_commit_batch_size_sum "),
        ))
    }

    async fn reset_statements(&self) -> Result<()> {
        match &self.statements {
            Some(statements) => statements.reset().await,
            None => Ok(()),
        }
    }

    /// The statements since [`Self::reset_statements`], per one of `ops` operations.
    async fn read_statements(&self, ops: u64) -> Result<Option<Profile>> {
        match &self.statements {
            Some(statements) => Ok(Some(statements.read(ops).await?)),
            None => Ok(None),
        }
    }

    fn print(&self, p: &Point) {
        println!("   {}", p.line());
    }

    async fn read_point<F, Fut>(
        &mut self,
        scenario: &str,
        stage: &str,
        clients: usize,
        op: F,
    ) -> Result<()>
    where
        F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        self.reset_statements().await?;
        let cpu_before = cpu::snapshot();
        let m = driver::measure(clients, self.args.point_duration(), op).await?;
        let p = Point::new(scenario, stage, self.size(), clients, &m)
            .with_cpu(cpu::per_op(&cpu_before, &cpu::snapshot(), m.ok))
            .with_statements(self.read_statements(m.ok).await?);
        self.print(&p);
        self.points.push(p);
        Ok(())
    }

    /// Measures one donation point, then checks the totals moved by exactly what clients saw
    /// acknowledged (also for the hot campaign alone) and runs the audit.
    async fn donation_point<F, Fut>(
        &mut self,
        scenario: &str,
        clients: usize,
        hot: Option<Uuid>,
        op: F,
    ) -> Result<()>
    where
        F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        let measure = driver::measure(clients, self.args.point_duration(), op);
        self.checked_point(scenario, clients, hot, measure).await
    }

    /// Runs `measure` (which reports the donations it saw acknowledged) between the worker
    /// catching up and the exact checks and audit of [`Self::donation_point`].
    async fn checked_point(
        &mut self,
        scenario: &str,
        clients: usize,
        hot: Option<Uuid>,
        measure: impl std::future::Future<Output = Result<Measured>>,
    ) -> Result<()> {
        if self.worker {
            self.wait_for_worker().await?;
        }
        let before = db::totals(&self.check_db, None).await?;
        let before_hot = match hot {
            Some(id) => Some(db::totals(&self.check_db, Some(id)).await?),
            None => None,
        };
        self.reset_statements().await?;
        let batches_before = self.group_commits().await?;
        let cpu_before = cpu::snapshot();
        let lag = LagSampler::start(self.check_db.clone());
        let m: Measured = measure.await?;
        self.receipts += usize::try_from(m.ok).unwrap_or(0);
        // The point's background work counts too: CPU is read once the worker has caught up.
        if self.worker && !self.worker_paused {
            self.wait_for_worker().await?;
        }
        let cpu_after = cpu::snapshot();
        let mut p = Point::new(scenario, BASE, self.size(), clients, &m)
            .with_cpu(cpu::per_op(&cpu_before, &cpu_after, m.ok))
            .with_statements(self.read_statements(m.ok).await?);
        let (batches, donations) = self.group_commits().await?;
        if batches > batches_before.0 {
            p.donations_per_commit =
                Some((donations - batches_before.1) / (batches - batches_before.0));
        }
        let worst_lag = lag.stop().await;
        if self.worker && !self.worker_paused {
            p = p.with_outbox_lag(worst_lag);
        }
        self.print(&p);
        let phase = format!("{scenario} at {clients} clients");
        let after = db::totals(&self.check_db, None).await?;
        db::check_exact(&phase, before, after, m.ok, AMOUNT)?;
        if let (Some(id), Some(before_hot)) = (hot, before_hot) {
            let after_hot = db::totals(&self.check_db, Some(id)).await?;
            // Wallets are not per campaign: compare them globally only.
            let after_hot = db::Totals {
                wallets: before_hot.wallets - (after.donated - before.donated),
                ..after_hot
            };
            db::check_exact(
                &format!("{phase}, hot campaign"),
                before_hot,
                after_hot,
                m.ok,
                AMOUNT,
            )?;
        }
        self.auditor.check(&phase).await?;
        self.audits += 1;
        self.in_db += m.ok as usize;
        self.points.push(p);
        Ok(())
    }

    /// The limit measured by PostgreSQL's own client (`pgbench.rs`): the donation transaction
    /// one per commit, then group commit's statements for 16 donations per commit, at
    /// [`PGBENCH_CLIENTS`] clients, with the worker running and the same checks and audit
    /// as every donation point. Without pgbench the points are left out, with a note.
    async fn pgbench_points(&mut self) -> Result<()> {
        let Some(bin) = pgbench::find() else {
            let note = format!(
                "{} and {} FAILED: pgbench not found (looked on PATH, in /usr/bin and \
                 /usr/lib/postgresql/*/bin; Debian: apt-get install postgresql-client-15)",
                pgbench::ONE,
                pgbench::SET16
            );
            println!("!! {note}");
            self.notes.push(note);
            return Ok(());
        };
        println!("== pgbench: {}", bin.display());
        // Each pgbench client has its own donors, so no two transactions in flight share a
        // wallet; any seeded user can be one (no HTTP client runs meanwhile).
        pgbench::prepare(&self.check_db, &self.seeded.users, &self.seeded.campaigns).await?;
        let url = self.url.clone();
        for scenario in [pgbench::ONE, pgbench::SET16] {
            let run = pgbench::Run {
                pgbench: &bin,
                url: &url,
                scenario,
                clients: PGBENCH_CLIENTS,
                seconds: self.args.duration.ceil().max(1.0) as u64,
                amount: AMOUNT,
                donors: self.seeded.users.len(),
                campaigns: self.seeded.campaigns.len(),
            };
            let measure = run.measure();
            self.checked_point(scenario, PGBENCH_CLIENTS, None, measure)
                .await?;
        }
        pgbench::clean_up(&self.check_db).await
    }

    /// The worker point: the worker is paused (SIGSTOP) during one more uniform donation point
    /// at 32 clients, then resumed with the api idle and timed until it has relayed every
    /// outbox event and emptied its queues. Its throughput is outbox events per second.
    async fn worker_drain_point(&mut self, services: &Services) -> Result<()> {
        self.wait_for_worker().await?;
        services.signal_worker("STOP").await?;
        self.worker_paused = true;
        let op = http_donate_op(self.ctx.clone(), UNIFORM_WORKER_PAUSED, 32, None);
        let paused = self
            .donation_point(UNIFORM_WORKER_PAUSED, 32, None, op)
            .await;
        services.signal_worker("CONT").await?;
        self.worker_paused = false;
        paused?;
        let events: i64 = sqlx::query_scalar("select count(*) from outbox where sent_at is null")
            .fetch_one(&self.check_db)
            .await?;
        let mails_before = mail_files(&self.args.out.join("mail"));
        self.reset_statements().await?;
        let cpu_before = cpu::snapshot();
        let started = Instant::now();
        self.wait_for_worker().await?;
        let m = Measured {
            ok: u64::try_from(events).unwrap_or(0),
            errors: 0,
            elapsed: started.elapsed(),
            hist: hdrhistogram::Histogram::new(3)?,
            first_error: None,
        };
        let p = Point::new(WORKER_DRAIN, BASE, self.size(), 1, &m)
            .with_cpu(cpu::per_op(&cpu_before, &cpu::snapshot(), m.ok))
            .with_statements(self.read_statements(m.ok).await?);
        self.print(&p);
        let mails = mail_files(&self.args.out.join("mail")).saturating_sub(mails_before);
        self.notes.push(format!(
            "{WORKER_DRAIN}: with the api idle the worker relayed {events} outbox events and \
             sent {mails} emails in {:.1} s ({:.0} events/s, {:.0} emails/s); its row's CPU is \
             per event",
            m.elapsed.as_secs_f64(),
            p.throughput,
            mails as f64 / m.elapsed.as_secs_f64().max(0.001)
        ));
        self.points.push(p);
        Ok(())
    }

    /// Reads `warm_set` detail pages once so they are cached, and checks Redis holds them.
    async fn warm_detail(&mut self) -> Result<Arc<Vec<Uuid>>> {
        let n = self.args.warm_set.min(self.seeded.campaigns.len());
        let step = (self.seeded.campaigns.len() / n.max(1)).max(1);
        let ids: Vec<Uuid> = self
            .seeded
            .campaigns
            .iter()
            .step_by(step)
            .take(n)
            .copied()
            .collect();
        stream::iter(ids.clone())
            .map(|id| {
                let client = self.ctx.client.clone();
                let url = format!("{}/api/campaigns/{id}", self.ctx.base);
                async move { driver::expect_status(client.get(url).send().await?, 200).await }
            })
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await
            .context("warming the detail cache")?;
        let cached = self.cached_detail_pages().await?;
        println!("== detail cache warmed: {cached} pages in Redis for {n} campaigns");
        if cached < n {
            self.notes.push(format!(
                "only {cached} of {n} warmed detail pages were in Redis: 'cached' detail reads partly missed"
            ));
        }
        Ok(Arc::new(ids))
    }

    /// The grown donations were written behind the api's back (COPY): retire every cached page,
    /// as an operator would after a bulk import, so detail pages show the new totals.
    async fn retire_cached_pages(&self) -> Result<()> {
        let client = redis::Client::open(self.args.redis_url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("INCR")
            .arg(format!("{}campaigns:gen", self.redis_prefix))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn cached_detail_pages(&self) -> Result<usize> {
        let client = redis::Client::open(self.args.redis_url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let pattern = format!("{}campaigns:g*:detail:*", self.redis_prefix);
        let (mut cursor, mut count) = (0u64, 0usize);
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            count += keys.len();
            if next == 0 {
                return Ok(count);
            }
            cursor = next;
        }
    }

    /// Waits (up to two minutes) until the worker has relayed every outbox event, emptied its
    /// queues and written every receipt owed (a job it has taken but not finished, up to a
    /// hundred receipts, is in no queue's count), so a backlog left by one point does not
    /// compete with the next one's measurements (each point still pays for the background work
    /// of its own donations as they happen).
    async fn wait_for_worker(&mut self) -> Result<()> {
        let kv = domain::infra::kv::Kv::connect(&self.args.redis_url, &self.redis_prefix)
            .await
            .context("connecting to the worker's queues")?;
        let queues = domain::jobs::Queues::new(&kv);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let unsent: i64 =
                sqlx::query_scalar("select count(*) from outbox where sent_at is null")
                    .fetch_one(&self.check_db)
                    .await?;
            let pending: u64 = queues
                .depths()
                .await
                .context("reading queue depths")?
                .iter()
                .map(|d| d.pending)
                .sum();
            // Listing the folder costs more than the two counts: only once they are zero.
            let owed = if unsent == 0 && pending == 0 {
                self.receipts
                    .saturating_sub(mail_files(&self.args.out.join("mail")))
            } else {
                self.receipts
            };
            if unsent == 0 && pending == 0 && owed == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.notes.push(format!(
                    "the worker still had {unsent} outbox events, {pending} jobs waiting and \
                     {owed} receipts unsent when the next point started"
                ));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// What the operations need, cheap to clone into each closure.
#[derive(Clone)]
struct Ctx {
    client: reqwest::Client,
    base: String,
    drivers: Arc<Vec<Driver>>,
    campaigns: Arc<Vec<Uuid>>,
    run: String,
    list_urls: Arc<ListUrls>,
}

type Op = Box<dyn Fn(usize, u64) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// The driving user for a client's `seq`-th operation: each client has its own users, so no
/// two concurrent donations come from one wallet.
fn pick(drivers: &[Driver], clients: usize, client: usize, seq: u64) -> &Driver {
    let own = (drivers.len() - client).div_ceil(clients).max(1);
    &drivers[client + (seq as usize % own) * clients]
}

fn campaign(campaigns: &[Uuid], hot: Option<Uuid>) -> Uuid {
    hot.unwrap_or_else(|| campaigns[rand::random_range(0..campaigns.len())])
}

fn raw_op(ctx: Ctx, pool: PgPool, clients: usize) -> Op {
    Box::new(move |c, seq| {
        let (pool, user) = (pool.clone(), pick(&ctx.drivers, clients, c, seq).user_id);
        let campaign = campaign(&ctx.campaigns, None);
        let key = format!("bench-{}-raw-{clients}-{c}-{seq}", ctx.run);
        Box::pin(async move { raw::donate(&pool, user, campaign, AMOUNT, &key).await })
    })
}

/// Donations over HTTP; `tag` keeps each point's idempotency keys its own.
fn http_donate_op(ctx: Ctx, tag: &'static str, clients: usize, hot: Option<Uuid>) -> Op {
    Box::new(move |c, seq| {
        let token = &pick(&ctx.drivers, clients, c, seq).token;
        let campaign = campaign(&ctx.campaigns, hot);
        let request = ctx
            .client
            .post(format!("{}/api/donations/campaign/{campaign}", ctx.base))
            .bearer_auth(token)
            .header(
                "Idempotency-Key",
                format!("bench-{}-{tag}-{clients}-{c}-{seq}", ctx.run),
            )
            .json(&serde_json::json!({ "amount": AMOUNT }));
        Box::pin(async move { driver::expect_status(request.send().await?, 201).await })
    })
}

fn detail_op(ctx: Ctx, warm: Arc<Vec<Uuid>>) -> Op {
    Box::new(move |_, _| {
        let id = warm[rand::random_range(0..warm.len())];
        let request = ctx.client.get(format!("{}/api/campaigns/{id}", ctx.base));
        Box::pin(async move { driver::expect_status(request.send().await?, 200).await })
    })
}

/// Uncached list pages, or (`search`) uncached full-text searches.
fn list_op(ctx: Ctx, search: bool) -> Op {
    Box::new(move |_, seq| {
        let url = if search {
            ctx.list_urls.search()
        } else {
            ctx.list_urls.list(seq)
        };
        let request = ctx.client.get(url);
        Box::pin(async move { driver::expect_status(request.send().await?, 200).await })
    })
}

fn donations_page_op(ctx: Ctx) -> Op {
    Box::new(move |_, _| {
        let id = campaign(&ctx.campaigns, None);
        let request = ctx.client.get(format!(
            "{}/api/campaigns/{id}/donations?page=1&limit=20",
            ctx.base
        ));
        Box::pin(async move { driver::expect_status(request.send().await?, 200).await })
    })
}

/// List and search URLs that are never requested twice in a run, so every one misses the
/// page cache: keyset pages at random cursors, searches and filtered offset pages.
struct ListUrls {
    base: String,
    oldest: i64,
    newest: i64,
    seen: Mutex<HashSet<String>>,
}

impl ListUrls {
    fn new(base: &str, seeded: &Seeded) -> Self {
        Self {
            base: format!("{base}/api/campaigns"),
            oldest: seeded.oldest.timestamp_micros(),
            newest: seeded.newest.timestamp_micros(),
            seen: Mutex::new(HashSet::new()),
        }
    }

    fn keyset(&self) -> String {
        let at = rand::random_range(self.oldest..=self.newest);
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{at}|{}", Uuid::new_v4()));
        format!("{}?status=active&limit=20&cursor={cursor}", self.base)
    }

    /// A keyset page at a random cursor, or a category page sorted newest or ending soon.
    fn list(&self, seq: u64) -> String {
        if seq.is_multiple_of(2) {
            return self.keyset();
        }
        self.fresh(|| {
            let c = CATEGORIES[rand::random_range(0..CATEGORIES.len())];
            let sort = if rand::random_bool(0.5) {
                "newest"
            } else {
                "ending_soon"
            };
            let page = rand::random_range(1..=40);
            let limit = rand::random_range(10..=30);
            format!("status=active&category={c}&sort={sort}&page={page}&limit={limit}")
        })
    }

    /// A full-text search for one word or two, on one of its first five pages.
    fn search(&self) -> String {
        self.fresh(|| {
            let page = rand::random_range(1..=5);
            let limit = rand::random_range(10..=30);
            let w = WORDS[rand::random_range(0..WORDS.len())];
            if rand::random_bool(0.5) {
                let w2 = WORDS[rand::random_range(0..WORDS.len())];
                format!("q={w}%20{w2}&page={page}&limit={limit}")
            } else {
                format!("q={w}&page={page}&limit={limit}")
            }
        })
    }

    /// A URL from `query` not requested before in this run (a keyset page when 20 tries all
    /// repeated one).
    fn fresh(&self, query: impl Fn() -> String) -> String {
        for _ in 0..20 {
            let url = format!("{}?{}", self.base, query());
            let fresh = self
                .seen
                .lock()
                .map(|mut seen| seen.insert(url.clone()))
                .unwrap_or(false);
            if fresh {
                return url;
            }
        }
        self.keyset()
    }
}

/// Files under the worker's mail folder (one per email sent).
fn mail_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() { mail_files(&path) } else { 1 }
            })
            .sum()
    })
}

/// Samples the age of the oldest unsent outbox event every 200 ms until stopped, keeping the
/// worst.
struct LagSampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<f64>,
}

impl LagSampler {
    fn start(db: PgPool) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut worst = 0.0f64;
            loop {
                let age: Option<f64> = sqlx::query_scalar(
                    "select extract(epoch from clock_timestamp() - created_at)::float8
                     from outbox where sent_at is null order by id limit 1",
                )
                .fetch_optional(&db)
                .await
                .ok()
                .flatten();
                worst = worst.max(age.unwrap_or(0.0));
                tokio::select! {
                    _ = &mut stopped => return worst,
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        });
        Self { stop, task }
    }

    async fn stop(self) -> f64 {
        let _ = self.stop.send(());
        self.task.await.unwrap_or(0.0)
    }
}
