//! Test support shared by the api's and the worker's integration tests (cargo feature
//! `testing`, dev-dependencies only): fresh databases cloned from one migrated template, and a
//! private `redis-server` a test may stop and restart.
//!
//! Services come from `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn url_for(db: &str) -> String {
    let base = admin_url();
    let (head, _) = base.rsplit_once('/').expect("database url has a path");
    format!("{head}/{db}")
}

/// Named after the migrations, so a stale template is never used.
fn template_name() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for m in crate::infra::db::MIGRATOR.iter() {
        m.version.hash(&mut h);
        m.checksum.hash(&mut h);
    }
    format!("cp_template_{:016x}", h.finish())
}

static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// Creates the migrated template once, under an advisory lock so that parallel test processes
/// do not race.
async fn template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = template_name();
            let mut conn = PgConnection::connect(&admin_url()).await.expect("connect");
            exec(&mut conn, "select pg_advisory_lock(727274)").await;
            let exists: bool =
                sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut conn)
                    .await
                    .expect("query");
            if !exists {
                let building = format!("{name}_building");
                exec(
                    &mut conn,
                    &format!(r#"drop database if exists "{building}""#),
                )
                .await;
                exec(&mut conn, &format!(r#"create database "{building}""#)).await;
                let mut tpl = PgConnection::connect(&url_for(&building))
                    .await
                    .expect("connect");
                crate::infra::db::MIGRATOR
                    .run(&mut tpl)
                    .await
                    .expect("migrate template");
                tpl.close().await.expect("close");
                exec(
                    &mut conn,
                    &format!(r#"alter database "{building}" rename to "{name}""#),
                )
                .await;
            }
            exec(&mut conn, "select pg_advisory_unlock(727274)").await;
            name
        })
        .await
        .clone()
}

async fn exec(conn: &mut PgConnection, sql: &str) {
    conn.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A new database (name, URL): cloned from the migrated template, or empty (`migrated = false`).
pub async fn create_database(migrated: bool) -> (String, String) {
    let name = format!("cp_test_{}", Uuid::new_v4().simple());
    let source = if migrated {
        format!(r#"template "{}""#, template().await)
    } else {
        "template template0".to_string()
    };
    let mut conn = PgConnection::connect(&admin_url()).await.expect("connect");
    exec(&mut conn, &format!(r#"create database "{name}" {source}"#)).await;
    (name.clone(), url_for(&name))
}

/// A throwaway `redis-server` on a free port that a test may stop and start again on the same
/// port (with an empty dataset, like a restarted cache). Killed on drop.
pub struct PrivateRedis {
    child: Option<std::process::Child>,
    port: u16,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut redis = Self { child: None, port };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        // Stored before waiting so that Drop kills the child if it never comes up.
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("private redis did not start");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
