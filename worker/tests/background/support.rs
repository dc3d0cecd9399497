//! The test harness: each test gets a fresh database cloned from a migrated template, its own
//! Redis key prefix, bucket and mail folder. Set `TEST_LOG=1` to see logs.
//!
//! Services come from `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) and `TEST_S3_ENDPOINT` (default
//! `http://127.0.0.1:9000`), as for the api's tests; the template database is shared with them.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::App;
use domain::config::Config;
use sqlx::PgPool;
use uuid::Uuid;

pub use domain::testing::{PrivateRedis, create_database};

/// Test configuration: the given database and Redis, a fresh prefix, bucket and mail folder.
pub fn test_config(database_url: &str, redis_url: &str, overrides: &[(&str, &str)]) -> Config {
    let vars = test_vars(database_url, redis_url, overrides);
    Config::from_lookup(|k| vars.get(k).cloned()).expect("test config")
}

/// The environment of [`test_config`], for a binary started as its own process.
fn test_vars(
    database_url: &str,
    redis_url: &str,
    overrides: &[(&str, &str)],
) -> HashMap<String, String> {
    let id = Uuid::new_v4().simple().to_string();
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.to_string()),
        ("REDIS_URL".into(), redis_url.to_string()),
        ("REDIS_KEY_PREFIX".into(), format!("cp_test:{id}:")),
        (
            "JWT_SECRET".into(),
            "test-secret-that-is-long-enough-0123456789".into(),
        ),
        (
            "S3_ENDPOINT".into(),
            std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into()),
        ),
        ("S3_BUCKET".into(), format!("t{}", &id[..20])),
        ("S3_ACCESS_KEY_ID".into(), "commonpot".into()),
        ("S3_SECRET_ACCESS_KEY".into(), "commonpot-secret".into()),
        (
            "MAIL_DIR".into(),
            format!("{}/commonpot-mail-{id}", std::env::temp_dir().display()),
        ),
        ("PUBLIC_URL".into(), "https://commonpot.test".into()),
        ("DATABASE_MAX_CONNECTIONS".into(), "10".into()),
    ]);
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

pub fn shared_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn init_logs() {
    static LOGS: Once = Once::new();
    LOGS.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            let config = test_config("postgres://unused/x", "redis://unused", &[]);
            std::mem::forget(domain::infra::telemetry::init(&config));
        }
    });
}

/// One test's world: an `App` on a fresh database and an isolated Redis prefix.
pub struct TestEnv {
    pub app: App,
    /// The environment the app was configured from: a binary started with it shares the
    /// database, Redis prefix, bucket and mail folder.
    pub vars: HashMap<String, String>,
}

impl TestEnv {
    pub async fn new() -> Self {
        Self::with(&shared_redis_url(), &[]).await
    }

    pub async fn with(redis_url: &str, overrides: &[(&str, &str)]) -> Self {
        init_logs();
        let (_, url) = create_database(true).await;
        let vars = test_vars(&url, redis_url, overrides);
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
        let app = App::connect(config).await.expect("connect app");
        Self { app, vars }
    }

    pub fn pool(&self) -> &PgPool {
        &self.app.infra.db.write
    }

    pub fn mail_dir(&self) -> PathBuf {
        PathBuf::from(&self.app.infra.config.mail_dir)
    }

    /// Every message in the mail folder, decoded enough to search (quoted-printable soft
    /// breaks joined).
    pub fn mails(&self) -> Vec<String> {
        domain::testing::mails_in(self.mail_dir())
    }

    /// Mails addressed to `email`.
    pub fn mails_to(&self, email: &str) -> Vec<String> {
        domain::testing::mails_to(self.mail_dir(), email)
    }

    pub async fn user(&self, first_name: &str, email_notifications: bool) -> User {
        let id = Uuid::new_v4();
        let email = format!(
            "{}-{}@example.test",
            first_name.to_lowercase(),
            &id.simple().to_string()[..8]
        );
        sqlx::query(
            "insert into users (id, email, password_hash, first_name, last_name, email_notifications)
             values ($1, $2, 'x', $3, 'Tester', $4)",
        )
        .bind(id)
        .bind(&email)
        .bind(first_name)
        .bind(email_notifications)
        .execute(self.pool())
        .await
        .expect("insert user");
        User { id, email }
    }

    pub async fn campaign(&self, creator: Uuid) -> Uuid {
        self.campaign_titled(creator, "Clean water for Lakeside")
            .await
    }

    pub async fn campaign_titled(&self, creator: Uuid, title: &str) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query(
            "insert into campaigns (id, creator_id, title, description, goal_amount, currency,
                                    category, funding_model, status, published_at)
             values ($1, $2, $3, 'A well and filters for the village school.',
                     100000, 'USD', 'community', 'keep_it_all', 'active', now())",
        )
        .bind(id)
        .bind(creator)
        .bind(title)
        .execute(self.pool())
        .await
        .expect("insert campaign");
        id
    }

    /// A completed donation with its stats, as the donation path would leave them (the ledger
    /// is left out: these tests do not read it).
    pub async fn donation(&self, campaign: Uuid, donor: Uuid, amount: i64) -> Uuid {
        self.donation_at(campaign, donor, amount, None).await
    }

    /// [`Self::donation`] made at `at` (now when `None`).
    pub async fn donation_at(
        &self,
        campaign: Uuid,
        donor: Uuid,
        amount: i64,
        at: Option<DateTime<Utc>>,
    ) -> Uuid {
        let id = Uuid::new_v4();
        let mut tx = self.pool().begin().await.expect("begin");
        sqlx::query(
            "insert into donations (id, campaign_id, donor_id, amount, ledger_txn, shard, created_at)
             values ($1, $2, $3, $4, $5, 3, coalesce($6, now()))",
        )
        .bind(id)
        .bind(campaign)
        .bind(donor)
        .bind(amount)
        .bind(Uuid::new_v4())
        .bind(at)
        .execute(&mut *tx)
        .await
        .expect("insert donation");
        let standing: i32 = sqlx::query_scalar(
            "insert into campaign_donors (campaign_id, donor_id, standing_donations)
             values ($1, $2, 1)
             on conflict (campaign_id, donor_id)
             do update set standing_donations = campaign_donors.standing_donations + 1
             returning standing_donations",
        )
        .bind(campaign)
        .bind(donor)
        .fetch_one(&mut *tx)
        .await
        .expect("donor row");
        sqlx::query(
            "insert into campaign_stats_shards (campaign_id, shard, raised_amount, donors_count, donations_count)
             values ($1, 3, $2, $3, 1)
             on conflict (campaign_id, shard) do update set
                raised_amount = campaign_stats_shards.raised_amount + excluded.raised_amount,
                donors_count = campaign_stats_shards.donors_count + excluded.donors_count,
                donations_count = campaign_stats_shards.donations_count + 1",
        )
        .bind(campaign)
        .bind(amount)
        .bind(i32::from(standing == 1))
        .execute(&mut *tx)
        .await
        .expect("stats");
        tx.commit().await.expect("commit");
        id
    }

    /// Records `event` in the outbox in its own committed transaction.
    pub async fn commit_event(&self, event: &domain::jobs::Event) {
        let mut tx = self.pool().begin().await.expect("begin");
        domain::outbox::record(&mut tx, event)
            .await
            .expect("record");
        tx.commit().await.expect("commit");
    }

    pub async fn unsent_outbox_rows(&self) -> i64 {
        sqlx::query_scalar("select count(*) from outbox where sent_at is null")
            .fetch_one(self.pool())
            .await
            .expect("count")
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
}

/// Polls `check` until it returns true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Worker settings with short waits, so tests run in seconds.
pub fn fast_worker() -> commonpot_worker::Options {
    commonpot_worker::Options {
        relay_interval: Duration::from_millis(50),
        poll_interval: Duration::from_millis(50),
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        shutdown_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

/// Runs the worker in the background; dropping the guard stops it.
pub struct RunningWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<domain::Result<()>>>,
}

impl RunningWorker {
    pub fn start(app: &App, options: commonpot_worker::Options) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(commonpot_worker::run(app.clone(), options, async move {
            let _ = stopped.await;
        }));
        Self {
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Stops the worker and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("worker task").expect("worker ran");
        }
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
