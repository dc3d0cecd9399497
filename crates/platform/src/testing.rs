//! Test support shared by the api's and the worker's integration tests (cargo feature
//! `testing`, dev-dependencies only): fresh databases cloned from one migrated template, a
//! private `redis-server` a test may stop and restart, a stand-in Sentry endpoint and a reader
//! of `/metrics` samples.
//!
//! Services come from `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
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

/// A stand-in Sentry server on a free local port: it keeps the event of every envelope posted
/// to `/api/1/envelope/` (where a client with [`dsn`](Self::dsn) sends them) so a test can see
/// what a process reported and with which tags. Its thread lives as long as the test process.
pub struct SentryEndpoint {
    addr: SocketAddr,
    events: Arc<Mutex<Vec<Value>>>,
}

impl SentryEndpoint {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sentry endpoint");
        let addr = listener.local_addr().expect("local address");
        let events = Arc::new(Mutex::new(Vec::new()));
        let store = events.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || serve_envelopes(stream, &store));
            }
        });
        Self { addr, events }
    }

    /// The DSN of project 1 on this endpoint.
    pub fn dsn(&self) -> String {
        format!("http://public@{}/1", self.addr)
    }

    /// Every event received so far.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().expect("events lock").clone()
    }

    /// The first event `wanted` accepts, in the order they arrived, waiting up to `limit`.
    pub async fn event_where(
        &self,
        limit: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let found = self.events().into_iter().find(|e| wanted(e));
            if found.is_some() || tokio::time::Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Answers HTTP/1.1 requests on one connection until the client closes it, keeping the event
/// items of the envelopes.
fn serve_envelopes(stream: TcpStream, events: &Mutex<Vec<Value>>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if request_line.contains(" /api/1/envelope/") {
            events
                .lock()
                .expect("events lock")
                .extend(envelope_events(&body));
        }
        let reply =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        if writer.write_all(reply).is_err() {
            return;
        }
    }
}

/// The payloads of an envelope's `event` items. An envelope is JSON documents one after
/// another: its header, then each item's header and payload.
fn envelope_events(body: &[u8]) -> Vec<Value> {
    let docs: Vec<Value> = serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .collect();
    docs.get(1..)
        .unwrap_or_default()
        .chunks(2)
        .filter(|item| item[0]["type"] == "event")
        .filter_map(|item| item.get(1).cloned())
        .collect()
}

/// The sum of the samples of `name` in a `/metrics` text whose labels include every pair of
/// `labels` (0 when there is none).
pub fn metric_sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let wanted = series_name == name
                && labels.iter().all(|(k, v)| {
                    series_labels
                        .split(',')
                        .any(|p| p == format!("{k}=\"{v}\""))
                });
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// The mails the file transport wrote under `dir` (`MAIL_DIR`), oldest first, with
/// quoted-printable soft line breaks and `=3D` undone so tests can search the text.
pub fn mails_in(dir: impl AsRef<std::path::Path>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut mails: Vec<(std::time::SystemTime, String)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).expect("read mail");
            let at = e.metadata().and_then(|m| m.modified()).expect("mtime");
            (at, text.replace("=\r\n", "").replace("=3D", "="))
        })
        .collect();
    mails.sort();
    mails.into_iter().map(|(_, m)| m).collect()
}

/// The mails under `dir` addressed to `email`, oldest first.
pub fn mails_to(dir: impl AsRef<std::path::Path>, email: &str) -> Vec<String> {
    let to = format!("To: {email}");
    mails_in(dir)
        .into_iter()
        .filter(|m| m.contains(&to))
        .collect()
}
