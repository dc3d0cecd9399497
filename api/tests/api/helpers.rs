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
use sqlx::{Connection, Executor, PgConnection};

#[derive(Clone)]
pub struct TestApp {
    pub address: String,
    pub app: App,
    pub client: reqwest::Client,
    pub db_name: String,
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for(db: &str) -> String {
    let base = admin_url();
    let (head, _) = base.rsplit_once('/').expect("database url has a path");
    format!("{head}/{db}")
}

/// The template's name changes whenever a migration changes, so a stale one is never used.
fn template_name() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for m in domain::infra::db::MIGRATOR.iter() {
        m.version.hash(&mut h);
        m.checksum.hash(&mut h);
    }
    format!("cp_template_{:016x}", h.finish())
}

static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// Creates the migrated template database once, under an advisory lock so that parallel test
/// processes do not race.
async fn template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = template_name();
            let mut conn = PgConnection::connect(&admin_url())
                .await
                .expect("connect to postgres");
            conn.execute("select pg_advisory_lock(727274)")
                .await
                .expect("lock");
            let exists: bool =
                sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut conn)
                    .await
                    .expect("query");
            if !exists {
                let building = format!("{name}_building");
                conn.execute(sqlx::AssertSqlSafe(format!(
                    r#"drop database if exists "{building}""#
                )))
                .await
                .expect("drop");
                conn.execute(sqlx::AssertSqlSafe(format!(
                    r#"create database "{building}""#
                )))
                .await
                .expect("create template");
                let mut tpl = PgConnection::connect(&url_for(&building))
                    .await
                    .expect("connect");
                domain::infra::db::MIGRATOR
                    .run(&mut tpl)
                    .await
                    .expect("migrate template");
                tpl.close().await.expect("close");
                conn.execute(sqlx::AssertSqlSafe(format!(
                    r#"alter database "{building}" rename to "{name}""#
                )))
                .await
                .expect("rename");
            }
            conn.execute("select pg_advisory_unlock(727274)")
                .await
                .expect("unlock");
            name
        })
        .await
        .clone()
}

/// A fresh database cloned from the migrated template.
pub async fn fresh_database() -> (String, String) {
    let tpl = template().await;
    let name = format!("cp_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin_url()).await.expect("connect");
    conn.execute(sqlx::AssertSqlSafe(format!(
        r#"create database "{name}" template "{tpl}""#
    )))
    .await
    .expect("clone template");
    (name.clone(), url_for(&name))
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
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|k| vars.get(k).cloned()).expect("test config")
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
    app.storage.ensure_bucket().await.expect("bucket");
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

/// A throwaway `redis-server` on a free port, killed on drop: lets a test stop Redis without
/// disturbing the other tests.
pub struct PrivateRedis {
    child: std::process::Child,
    port: u16,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        // Built before waiting so that Drop kills the child if it never comes up.
        let redis = Self { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("private redis did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

    /// Registers a fresh user through the api.
    pub async fn register(&self) -> TestUser {
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
            .execute(&self.app.db.write)
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
