//! The benchmark's own database: created fresh and migrated, dropped at the end, and checked
//! with the platform's audit after every phase that moves money.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

pub struct Database {
    pub name: String,
    pub url: String,
}

fn url_for(admin_url: &str, db: &str) -> Result<String> {
    let (head, _) = admin_url
        .rsplit_once('/')
        .context("the admin URL needs a database path")?;
    Ok(format!("{head}/{db}"))
}

impl Database {
    /// Drops databases left by earlier interrupted runs, then creates and migrates a new one.
    pub async fn create(admin_url: &str) -> Result<Self> {
        let mut admin = PgConnection::connect(admin_url)
            .await
            .context("connecting to PostgreSQL (is it running? see bench/run)")?;
        let stale: Vec<String> = sqlx::query_scalar(
            "select datname from pg_database where datname like 'cp\\_bench\\_%'",
        )
        .fetch_all(&mut admin)
        .await?;
        for old in stale {
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    r#"drop database if exists "{old}" with (force)"#
                )))
                .await?;
        }
        let name = format!("cp_bench_{}", Uuid::new_v4().simple());
        admin
            .execute(sqlx::AssertSqlSafe(format!(r#"create database "{name}""#)))
            .await?;
        let url = url_for(admin_url, &name)?;
        let mut conn = PgConnection::connect(&url).await?;
        domain::infra::db::MIGRATOR
            .run(&mut conn)
            .await
            .context("migrating the benchmark database")?;
        conn.close().await?;
        Ok(Self { name, url })
    }

    pub async fn drop_it(&self, admin_url: &str) -> Result<()> {
        let mut admin = PgConnection::connect(admin_url).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                r#"drop database if exists "{}" with (force)"#,
                self.name
            )))
            .await?;
        Ok(())
    }
}

pub async fn pool(url: &str, size: u32) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .connect(url)
        .await?)
}

/// Money totals that a donation phase must move by exactly what it acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub donations: i64,
    pub donated: i64,
    pub raised: i64,
    pub gifts: i64,
    pub wallets: i64,
}

pub async fn totals(db: &PgPool, campaign: Option<Uuid>) -> Result<Totals> {
    let (donations, donated): (i64, i64) = sqlx::query_as(
        "select count(*), coalesce(sum(amount), 0)::bigint from donations
         where status = 'completed' and ($1::uuid is null or campaign_id = $1)",
    )
    .bind(campaign)
    .fetch_one(db)
    .await?;
    let (raised, gifts): (i64, i64) = sqlx::query_as(
        "select coalesce(sum(raised_amount), 0)::bigint, coalesce(sum(donations_count), 0)::bigint
         from campaign_stats_shards where ($1::uuid is null or campaign_id = $1)",
    )
    .bind(campaign)
    .fetch_one(db)
    .await?;
    let wallets: i64 = sqlx::query_scalar("select coalesce(sum(balance), 0)::bigint from wallets")
        .fetch_one(db)
        .await?;
    Ok(Totals {
        donations,
        donated,
        raised,
        gifts,
        wallets,
    })
}

/// Fails unless the phase moved exactly `acknowledged` donations of `amount` each: the
/// donations table, the stats shards and the wallets must all agree with what clients saw.
pub fn check_exact(
    phase: &str,
    before: Totals,
    after: Totals,
    acknowledged: u64,
    amount: i64,
) -> Result<()> {
    let n = acknowledged as i64;
    let checks = [
        ("donations written", after.donations - before.donations, n),
        ("amount donated", after.donated - before.donated, n * amount),
        ("stats raised", after.raised - before.raised, n * amount),
        ("stats donation count", after.gifts - before.gifts, n),
        (
            "wallets debited",
            before.wallets - after.wallets,
            n * amount,
        ),
    ];
    let wrong: Vec<String> = checks
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(what, got, want)| format!("{what}: {got}, expected {want}"))
        .collect();
    if !wrong.is_empty() {
        bail!(
            "{phase}: totals are not exact after {acknowledged} acknowledged donations: {}",
            wrong.join("; ")
        );
    }
    Ok(())
}

/// The platform's own audit (`domain::App::audit`), through an `App` on the bench database.
pub struct Auditor {
    app: domain::App,
}

impl Auditor {
    pub async fn connect(url: &str, redis_url: &str, s3_endpoint: &str) -> Result<Self> {
        let prefix = format!("cp_bench_audit:{}:", Uuid::new_v4().simple());
        let vars: HashMap<&str, String> = HashMap::from([
            ("DATABASE_URL", url.to_string()),
            ("DATABASE_MAX_CONNECTIONS", "2".to_string()),
            ("REDIS_URL", redis_url.to_string()),
            ("REDIS_KEY_PREFIX", prefix),
            ("JWT_SECRET", crate::procs::JWT_SECRET.to_string()),
            ("S3_ENDPOINT", s3_endpoint.to_string()),
            ("S3_ACCESS_KEY_ID", "commonpot".to_string()),
            ("S3_SECRET_ACCESS_KEY", "commonpot-secret".to_string()),
        ]);
        let config = domain::config::Config::from_lookup(|k| vars.get(k).cloned())
            .context("audit configuration")?;
        let app = domain::App::connect(config)
            .await
            .context("connecting the auditor")?;
        Ok(Self { app })
    }

    /// Runs the audit and fails loudly on any drift.
    pub async fn check(&self, after: &str) -> Result<i64> {
        let report = self.app.audit().await.context("running the audit")?;
        if !report.ok {
            let sample: Vec<String> = report
                .drift
                .iter()
                .take(10)
                .map(|d| {
                    format!(
                        "{} {} expected {} actual {}",
                        d.kind, d.subject, d.expected, d.actual
                    )
                })
                .collect();
            bail!(
                "AUDIT FAILED after {after}: {} drift(s), e.g. {}",
                report.drift.len(),
                sample.join("; ")
            );
        }
        Ok(report.ledger_lines)
    }
}
