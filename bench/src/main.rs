//! `bench`: how close Commonpot comes to what this machine can do, measured side by side.
//!
//! One run seeds a fresh database, measures donations as raw SQL from this process and with
//! PostgreSQL's pgbench (the limit: one donation per commit, and 16 per commit as group commit
//! writes them), then drives the real release api over HTTP: donations spread over all campaigns,
//! donations to one campaign, cached detail GETs and uncached list/search pages, at each client
//! count. It audits the ledger after every donation phase, grows the donations table to check
//! that reads stay flat, and writes a table, JSON and a PNG chart. Run it with `bench/run`.

mod chart;
mod cpu;
mod db;
mod driver;
mod pgbench;
mod procs;
mod raw;
mod report;
mod scenarios;
mod seed;
mod statements;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::report::Results;
use crate::scenarios::Bench;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "bench",
    about = "Commonpot benchmark: HTTP against the raw-SQL limit"
)]
pub struct Args {
    /// PostgreSQL URL of a database the bench can create and drop databases from.
    #[arg(
        long,
        env = "BENCH_ADMIN_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/postgres"
    )]
    pub admin_url: String,
    #[arg(
        long,
        env = "BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// The local S3-compatible server (started by deploy/dev/services.sh).
    #[arg(
        long,
        env = "BENCH_S3_ENDPOINT",
        default_value = "http://127.0.0.1:9000"
    )]
    pub s3_endpoint: String,
    /// The release api binary.
    #[arg(long, default_value = "target/release/api")]
    pub api_bin: PathBuf,
    /// The release worker binary; left out when missing.
    #[arg(long)]
    pub worker_bin: Option<PathBuf>,
    /// Active campaigns to seed.
    #[arg(long, default_value_t = 10_000)]
    pub campaigns: usize,
    /// Users with funded wallets to seed.
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Donations present before the run (up to 1,000,000), consistent with stats and ledger.
    #[arg(long, default_value_t = 10_000)]
    pub donations: usize,
    /// Grow the donations table to this many before re-measuring reads (0 = skip).
    #[arg(long, default_value_t = 1_000_000)]
    pub scale_donations: usize,
    /// After the donations grow, grow the active campaigns to each of these counts in turn and
    /// re-measure the reads (0 = skip).
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    pub scale_campaigns: Vec<usize>,
    /// Users the platform has once the campaigns reach their last count.
    #[arg(long, default_value_t = 1_000_000)]
    pub scale_users: usize,
    /// Users that sign in and drive the load (each client uses its own share of them).
    #[arg(long, default_value_t = 256)]
    pub drivers: usize,
    /// Concurrent clients, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,64")]
    pub clients: Vec<usize>,
    /// Client count for the small-versus-large read comparison.
    #[arg(long, default_value_t = 8)]
    pub scale_clients: usize,
    /// Seconds per measured point.
    #[arg(long, default_value_t = 3.0)]
    pub duration: f64,
    /// Campaigns whose detail pages are warmed and then read from the cache.
    #[arg(long, default_value_t = 1_000)]
    pub warm_set: usize,
    /// `DATABASE_MAX_CONNECTIONS` of the api (its production default is 20).
    #[arg(long, default_value_t = 20)]
    pub api_db_connections: u32,
    /// About a minute: smaller seed, 1 s points, reads re-measured at 100k donations.
    #[arg(long)]
    pub quick: bool,
    /// Where latest.json, latest.png, latest.txt and the api logs go.
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
    /// Keep the benchmark database afterwards (its name is printed).
    #[arg(long)]
    pub keep_db: bool,
}

impl Args {
    /// `--scale-campaigns 0` (no growth) and `--quick` (smaller sizes).
    fn apply_shorthands(&mut self) {
        if self.scale_campaigns == [0] {
            self.scale_campaigns.clear();
        }
        if self.quick {
            self.campaigns = self.campaigns.min(2_000);
            self.users = self.users.min(20_000);
            self.donations = self.donations.min(10_000);
            self.scale_donations = self.scale_donations.min(100_000);
            self.scale_campaigns = vec![20_000];
            self.scale_users = self.scale_users.min(40_000);
            self.drivers = self.drivers.min(128);
            self.duration = self.duration.min(1.0);
            self.warm_set = self.warm_set.min(300);
        }
    }

    fn validate(&self) -> Result<()> {
        if self.campaigns == 0 || self.users < 2 || self.drivers == 0 {
            bail!("--campaigns, --users and --drivers must be positive (users at least 2)");
        }
        if self.drivers > self.users {
            bail!("--drivers must not exceed --users");
        }
        if self.donations > 1_000_000 || self.scale_donations > 1_000_000 {
            bail!("--donations and --scale-donations go up to 1,000,000");
        }
        // Seeded wallets hold seed::DEPOSIT; keep the average spend far below it.
        if self.donations.max(self.scale_donations) > self.users * 1_000 {
            bail!("at most 1,000 seeded donations per user");
        }
        if self.scale_campaigns.windows(2).any(|w| w[0] >= w[1])
            || self
                .scale_campaigns
                .first()
                .is_some_and(|&c| c <= self.campaigns)
            || self.scale_campaigns.last().is_some_and(|&c| c > 10_000_000)
        {
            bail!("--scale-campaigns must rise above --campaigns, up to 10,000,000");
        }
        if self.clients.is_empty() || self.clients.contains(&0) || self.duration <= 0.0 {
            bail!("--clients needs positive counts and --duration a positive number of seconds");
        }
        Ok(())
    }

    pub fn point_duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration)
    }
}

#[tokio::main]
async fn main() {
    let mut args = Args::parse();
    args.apply_shorthands();
    if let Err(e) = run(args).await {
        eprintln!("\nbench failed: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<()> {
    args.validate()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    // The worker writes a file per email (donation receipts): keep only this run's.
    let mail = args.out.join("mail");
    if mail.exists() {
        std::fs::remove_dir_all(&mail).with_context(|| format!("clearing {}", mail.display()))?;
    }
    let machine = report::Machine::detect();
    println!("== Commonpot bench on {machine}");

    let database = db::Database::create(&args.admin_url).await?;
    println!("== fresh database {}", database.name);
    let outcome = Bench::run(&args, &database, &machine).await;
    if args.keep_db {
        println!("== kept database {}", database.name);
    } else {
        database.drop_it(&args.admin_url).await?;
    }
    let results = outcome?;
    finish(&args, &results)
}

fn finish(args: &Args, results: &Results) -> Result<()> {
    let text = results.table();
    println!("\n{text}");
    std::fs::write(args.out.join("latest.txt"), &text)?;
    let json = serde_json::to_string_pretty(results)?;
    std::fs::write(args.out.join("latest.json"), json)?;
    let png = args.out.join("latest.png");
    chart::draw(&png, &results.points)?;
    println!(
        "wrote {}, {} and {}",
        args.out.join("latest.txt").display(),
        args.out.join("latest.json").display(),
        png.display()
    );
    Ok(())
}
