//! `spawn_app()` and friends. Set `TEST_LOG=1` to see the api's logs.
//!
//! Services come from `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) and `TEST_S3_ENDPOINT` (default
//! `http://127.0.0.1:9000`, the local S3 server `./test` starts).

use std::collections::HashMap;
use std::sync::Once;

use commonpot_api::startup::Application;
use domain::App;
use domain::config::Config;

#[derive(Clone)]
pub struct TestApp {
    pub address: String,
    pub app: App,
    pub client: reqwest::Client,
    pub db_name: String,
}

pub use domain::testing::PrivateRedis;

/// A fresh database cloned from the migrated template.
pub async fn fresh_database() -> (String, String) {
    domain::testing::create_database(true).await
}

/// Test configuration: isolated database, Redis prefix and bucket, port 0.
pub fn test_config(database_url: &str, overrides: &[(&str, &str)]) -> Config {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.to_string()),
        (
            "REDIS_URL".into(),
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ),
        ("REDIS_KEY_PREFIX".into(), format!("cp_test:{id}:")),
        (
            "JWT_SECRET".into(),
            "test-secret-that-is-long-enough-0123456789".into(),
        ),
        ("BIND_ADDR".into(), "127.0.0.1:0".into()),
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
        ("DATABASE_MAX_CONNECTIONS".into(), "10".into()),
        // Every test client is 127.0.0.1; tests about limits set their own.
        ("RATE_LIMIT_ANONYMOUS".into(), "100000/60".into()),
        ("RATE_LIMIT_AUTHENTICATED".into(), "100000/60".into()),
        ("RATE_LIMIT_PREMIUM".into(), "100000/60".into()),
    ]);
    // `TEST_PGBOUNCER_ADDR=host:port` (set by tests/scale/run): the api's pools go through that
    // PgBouncer; migrations keep the direct URL.
    if let Ok(pooler) = std::env::var("TEST_PGBOUNCER_ADDR") {
        vars.insert("DATABASE_URL".into(), with_host(database_url, &pooler));
        vars.insert("DATABASE_DIRECT_URL".into(), database_url.to_string());
    }
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|k| vars.get(k).cloned()).expect("test config")
}

/// `url` with its `host:port` replaced.
fn with_host(url: &str, host_port: &str) -> String {
    let (head, rest) = url.split_once('@').expect("database URL with user@host");
    let (_, path) = rest
        .split_once('/')
        .expect("database URL with a database name");
    format!("{head}@{host_port}/{path}")
}

fn init_logs() {
    static LOGS: Once = Once::new();
    LOGS.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            tracing_subscriber_init();
        }
    });
}

fn tracing_subscriber_init() {
    let config = test_config("postgres://unused/x", &[]);
    std::mem::forget(domain::infra::telemetry::init(&config));
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the api with configuration overrides, e.g. tighter rate limits.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    init_logs();
    let (db_name, url) = fresh_database().await;
    let config = test_config(&url, overrides);
    let app = App::connect(config).await.expect("connect app");
    app.infra.storage.ensure_bucket().await.expect("bucket");
    start(app, db_name).await
}

/// Starts the api on an already connected `App` (for tests that break a dependency).
pub async fn start(app: App, db_name: String) -> TestApp {
    let server = Application::build(app.clone()).await.expect("bind");
    let address = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run_until_stopped());
    TestApp {
        address,
        app,
        client: reqwest::Client::new(),
        db_name,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }
}

/// Asserts the shared error envelope and returns its `error` object.
pub async fn error_of(resp: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    let body: serde_json::Value = resp.json().await.expect("error body is JSON");
    let error = body.get("error").cloned().expect("error envelope");
    assert!(error["code"].is_string(), "code missing: {body}");
    assert!(error["message"].is_string(), "message missing: {body}");
    error
}

/// A signed-in user as the tests see it.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Registers a fresh user through the api, with their email verified as if they had
    /// followed the mailed link (whose mail is then skipped when mail is delivered).
    pub async fn register(&self) -> TestUser {
        let user = self.register_unverified().await;
        let db = &self.app.infra.db.write;
        sqlx::query("update users set email_verified_at = now() where id = $1")
            .bind(user.id)
            .execute(db)
            .await
            .expect("verify");
        sqlx::query("update account_tokens set used_at = now() where user_id = $1")
            .bind(user.id)
            .execute(db)
            .await
            .expect("spend the link");
        user
    }

    /// Registers a fresh user through the api; their email waits for the mailed link.
    pub async fn register_unverified(&self) -> TestUser {
        let email = format!("u{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "correct horse battery".to_string();
        let resp = self
            .post_json(
                "/api/auth/register",
                None,
                &serde_json::json!({"email": email, "password": password, "firstName": "Test", "lastName": "User"}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 201, "register failed");
        let body: serde_json::Value = resp.json().await.expect("json");
        TestUser {
            id: body["user"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("id"),
            email,
            password,
            access_token: body["accessToken"].as_str().expect("token").to_string(),
            refresh_token: body["refreshToken"].as_str().expect("refresh").to_string(),
        }
    }

    /// Registers a user and makes them an admin directly in the database, then signs in again
    /// so the token carries the role.
    pub async fn register_admin(&self) -> TestUser {
        let mut user = self.register().await;
        sqlx::query("update users set role = 'admin' where id = $1")
            .bind(user.id)
            .execute(&self.app.infra.db.write)
            .await
            .expect("promote");
        let resp = self
            .post_json(
                "/api/auth/login",
                None,
                &serde_json::json!({"email": user.email, "password": user.password}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        let body: serde_json::Value = resp.json().await.expect("json");
        user.access_token = body["accessToken"].as_str().expect("token").to_string();
        user.refresh_token = body["refreshToken"].as_str().expect("refresh").to_string();
        user
    }
}

impl TestApp {
    /// Does the worker's mail work for every outbox event not yet handled, right here: each
    /// event's `send_notification`, `notify_donors` and `notify_lenders` jobs run, and the event
    /// is marked sent.
    /// Other jobs are left to the tests that need them.
    pub async fn deliver_mail(&self) {
        use domain::jobs::{Event, Job};
        use domain::notifications;
        let db = &self.app.infra.db.write;
        let rows: Vec<(i64, serde_json::Value)> = sqlx::query_as(
            "update outbox set sent_at = now() where sent_at is null returning id, payload",
        )
        .fetch_all(db)
        .await
        .expect("outbox");
        let mailer = domain::infra::mail::Mailer::new(&self.app.infra.config).expect("mailer");
        let config = &self.app.infra.config;
        for (_, payload) in rows {
            let event: Event = serde_json::from_value(payload).expect("event");
            for job in Job::for_event(&event) {
                match job {
                    Job::SendNotification(j) => {
                        notifications::send_all(db, &mailer, config, &j.notifications)
                            .await
                            .expect("send");
                    }
                    Job::NotifyDonors(j) => {
                        notifications::notify_donors(db, &mailer, config, j.campaign_id, j.notice)
                            .await
                            .expect("notify donors");
                    }
                    Job::NotifyLenders(j) => {
                        notifications::notify_lenders(db, &mailer, config, j.loan_id, j.notice)
                            .await
                            .expect("notify lenders");
                    }
                    _ => {}
                }
            }
        }
    }

    /// The mails sent to `email` so far, oldest first, with quoted-printable undone enough to
    /// search.
    pub fn mails_to(&self, email: &str) -> Vec<String> {
        domain::testing::mails_to(&self.app.infra.config.mail_dir, email)
    }
}
