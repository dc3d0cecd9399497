//! Outgoing webhooks end to end: committed events fan out to the subscribed endpoints only,
//! arrive signed, failing receivers are retried then dead-lettered, and replays deliver.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::accounts::{Principal, Role, Tier};
use domain::jobs::{Event, Queues, dead_letter};
use domain::webhooks::{self, DeliveryStatus, NewEndpoint, Sender, delivery::Outcome};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::support::{RunningWorker, TestEnv, eventually, fast_worker, shared_redis_url};

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// A tiny HTTP server on 127.0.0.1:0 that records every request and answers with a status
/// the test can change. It also counts connections, so a test can tell that nothing reached
/// it at all (not even a TLS handshake it could not read).
pub struct Receiver {
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let url = format!("http://127.0.0.1:{port}/hooks");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let connections = Arc::new(AtomicUsize::new(0));
        let (reqs, code, count) = (requests.clone(), status.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, reqs.clone(), code.clone()));
            }
        });
        Self {
            url,
            port,
            requests,
            status,
            connections,
            task,
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    requests: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while buf.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
    requests
        .lock()
        .expect("lock")
        .push(Received { headers, body });
    let code = status.load(Ordering::SeqCst);
    let reply = format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = socket.write_all(reply.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// What a receiver does with `Commonpot-Signature` (the README's recipe): recompute the HMAC
/// over `<t>.<body>`, compare in constant time, and refuse stale timestamps.
pub fn verify(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Ok(timestamp) = t.parse::<i64>() else {
        return false;
    };
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return false;
    }
    let Ok(expected) = hex::decode(v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&expected).is_ok()
}

fn principal(user_id: Uuid, role: Role) -> Principal {
    Principal {
        user_id,
        role,
        tier: Tier::Standard,
        session_id: None,
        request_id: None,
    }
}

async fn register(
    env: &TestEnv,
    who: &Principal,
    url: &str,
    events: &[&str],
    platform: bool,
) -> (Uuid, String) {
    let created = env
        .app
        .webhooks()
        .register(
            who,
            NewEndpoint {
                url: Some(url.to_string()),
                events: Some(events.iter().map(|e| e.to_string()).collect()),
                description: None,
                platform,
            },
        )
        .await
        .expect("register");
    (created.endpoint.id, created.secret)
}

fn donation(campaign_id: Uuid, donor_id: Uuid) -> Event {
    Event::DonationCreated {
        donation_id: Uuid::new_v4(),
        campaign_id,
        donor_id,
        amount: 1_500,
    }
}

async fn last_outbox_id(env: &TestEnv) -> i64 {
    sqlx::query_scalar("select max(id) from outbox")
        .fetch_one(env.pool())
        .await
        .expect("outbox id")
}

#[tokio::test]
async fn events_reach_only_their_owners_endpoints_and_platform_ones_signed() {
    let env = TestEnv::new().await;
    let (ann, ben, donor) = (
        env.user("Ann", true).await,
        env.user("Ben", true).await,
        env.user("Dan", true).await,
    );
    let admin = env.user("Ada", true).await;
    let (ann_campaign, ben_campaign) = (env.campaign(ann.id).await, env.campaign(ben.id).await);
    let (ann_hook, platform_hook, ann_loans_only) = (
        Receiver::start(200).await,
        Receiver::start(204).await,
        Receiver::start(200).await,
    );
    let ann_p = principal(ann.id, Role::User);
    let (_, ann_secret) = register(&env, &ann_p, &ann_hook.url, &["donation.created"], false).await;
    register(&env, &ann_p, &ann_loans_only.url, &["loan.late"], false).await;
    let (_, platform_secret) = register(
        &env,
        &principal(admin.id, Role::Admin),
        &platform_hook.url,
        &["donation.created"],
        true,
    )
    .await;
    let worker = RunningWorker::start(&env.app, fast_worker());

    env.commit_event(&donation(ann_campaign, donor.id)).await;
    let ann_event = last_outbox_id(&env).await;
    env.commit_event(&donation(ben_campaign, donor.id)).await;
    let ben_event = last_outbox_id(&env).await;

    let arrived = eventually(Duration::from_secs(20), || async {
        ann_hook.received().len() == 1 && platform_hook.received().len() == 2
    })
    .await;
    // Time for a wrong delivery to show up, had one been queued.
    tokio::time::sleep(Duration::from_millis(500)).await;
    worker.stop().await;
    assert!(arrived, "ann: {:?}", ann_hook.received());
    assert_eq!(ann_hook.received().len(), 1, "only Ann's campaign");
    assert!(ann_loans_only.received().is_empty(), "not subscribed");

    let got = &ann_hook.received()[0];
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers["commonpot-event-id"], ann_event.to_string());
    assert_eq!(got.headers["commonpot-event-type"], "donation.created");
    assert!(
        verify(&ann_secret, &got.headers["commonpot-signature"], &got.body),
        "signature {} over {}",
        got.headers["commonpot-signature"],
        got.body
    );
    assert!(!verify(
        &platform_secret,
        &got.headers["commonpot-signature"],
        &got.body
    ));
    let body: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    assert_eq!(body["type"], "donation.created");
    assert_eq!(body["id"], ann_event.to_string());
    assert_eq!(body["data"]["campaignId"], ann_campaign.to_string());
    assert_eq!(body["data"]["amount"], 1_500);

    let mut platform_ids: Vec<String> = platform_hook
        .received()
        .iter()
        .inspect(|r| {
            assert!(verify(
                &platform_secret,
                &r.headers["commonpot-signature"],
                &r.body
            ))
        })
        .map(|r| r.headers["commonpot-event-id"].clone())
        .collect();
    platform_ids.sort();
    let mut expected = vec![ann_event.to_string(), ben_event.to_string()];
    expected.sort();
    assert_eq!(platform_ids, expected);

    let (logs, total) = env
        .app
        .webhooks()
        .deliveries(&ann_p, ann_hook_id(&env, &ann_hook.url).await, 10, 0)
        .await
        .expect("log");
    assert_eq!(total, 1);
    assert_eq!(logs[0].delivery.status, DeliveryStatus::Delivered);
    assert_eq!(logs[0].attempts.len(), 1);
    assert_eq!(logs[0].attempts[0].status_code, Some(200));
}

async fn ann_hook_id(env: &TestEnv, url: &str) -> Uuid {
    sqlx::query_scalar("select id from webhook_endpoints where url = $1")
        .bind(url)
        .fetch_one(env.pool())
        .await
        .expect("endpoint")
}

#[tokio::test]
async fn a_failing_receiver_is_retried_then_dead_lettered_and_a_replay_delivers_it() {
    let env = TestEnv::new().await;
    let (owner, donor) = (env.user("Ann", true).await, env.user("Dan", true).await);
    let campaign = env.campaign(owner.id).await;
    let hook = Receiver::start(500).await;
    let who = principal(owner.id, Role::User);
    let (endpoint, secret) = register(&env, &who, &hook.url, &["donation.created"], false).await;
    let options = commonpot_worker::Options {
        max_attempts: 3,
        ..fast_worker()
    };
    let worker = RunningWorker::start(&env.app, options);
    env.commit_event(&donation(campaign, donor.id)).await;
    let event_id = last_outbox_id(&env).await;

    let dead = eventually(Duration::from_secs(30), || async {
        dead_letter::list(env.pool(), 10)
            .await
            .expect("list")
            .iter()
            .any(|l| l.job.name() == "deliver_webhook")
    })
    .await;
    assert!(dead, "the delivery reaches the dead-letter list");
    assert_eq!(hook.received().len(), 3, "three attempts in all");
    assert!(
        hook.received()
            .iter()
            .all(|r| r.headers["commonpot-event-id"] == event_id.to_string()
                && verify(&secret, &r.headers["commonpot-signature"], &r.body)),
        "every attempt is the same event, freshly signed"
    );
    let (logs, _) = env
        .app
        .webhooks()
        .deliveries(&who, endpoint, 10, 0)
        .await
        .expect("log");
    let log = &logs[0];
    assert_eq!(log.delivery.status, DeliveryStatus::Failed);
    assert_eq!(log.delivery.attempts, 3);
    assert_eq!(log.attempts.len(), 3);
    assert!(
        log.attempts.iter().all(|a| a.status_code == Some(500)
            && a.error.as_deref() == Some("receiver answered HTTP 500"))
    );

    hook.answer(200);
    let replayed = env
        .app
        .webhooks()
        .replay(&who, endpoint, log.delivery.id)
        .await
        .expect("replay");
    assert_eq!(replayed.status, DeliveryStatus::Pending);
    let delivered = eventually(Duration::from_secs(20), || async {
        let (logs, _) = env
            .app
            .webhooks()
            .deliveries(&who, endpoint, 10, 0)
            .await
            .expect("log");
        logs[0].delivery.status == DeliveryStatus::Delivered
    })
    .await;
    worker.stop().await;
    assert!(delivered, "the replay is delivered");
    let received = hook.received();
    assert_eq!(received.len(), 4);
    assert_eq!(
        received[3].headers["commonpot-event-id"],
        event_id.to_string()
    );
    assert_eq!(received[3].body, received[0].body, "the same body");
    assert!(verify(
        &secret,
        &received[3].headers["commonpot-signature"],
        &received[3].body
    ));
}

#[tokio::test]
async fn dispatching_and_delivering_twice_sends_once_and_refused_connections_are_logged() {
    let env = TestEnv::new().await;
    let (owner, donor) = (env.user("Ann", true).await, env.user("Dan", true).await);
    let campaign = env.campaign(owner.id).await;
    let hook = Receiver::start(200).await;
    let who = principal(owner.id, Role::User);
    let (endpoint, _) = register(&env, &who, &hook.url, &["donation.created"], false).await;
    // A port with nothing listening: every attempt is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let (dead_end, _) = register(
        &env,
        &who,
        &format!("http://{closed}/hooks"),
        &["donation.created"],
        false,
    )
    .await;
    let queues = Queues::new(&env.app.infra.kv);
    let sender = Sender::new(&env.app.infra.config).expect("sender");
    let event = donation(campaign, donor.id);

    let first =
        domain::jobs::fan_out::dispatch_webhooks(&env.app.infra.db.write, &queues, 77, &event)
            .await
            .expect("first");
    let second =
        domain::jobs::fan_out::dispatch_webhooks(&env.app.infra.db.write, &queues, 77, &event)
            .await
            .expect("second");
    assert_eq!(first, 2);
    assert_eq!(
        second, 2,
        "nothing attempted yet, so both are pushed again (same keys)"
    );
    let rows: Vec<(Uuid, Uuid)> =
        sqlx::query_as("select id, endpoint_id from webhook_deliveries where event_id = 77")
            .fetch_all(env.pool())
            .await
            .expect("rows");
    assert_eq!(rows.len(), 2, "one delivery per endpoint");
    let delivery = |ep: Uuid| rows.iter().find(|r| r.1 == ep).expect("delivery").0;

    let once = webhooks::deliver(&env.app.infra.db.write, &sender, delivery(endpoint)).await;
    let twice = webhooks::deliver(&env.app.infra.db.write, &sender, delivery(endpoint)).await;
    assert_eq!(once.expect("first"), Outcome::Delivered { status: 200 });
    assert_eq!(twice.expect("second"), Outcome::Skipped);
    assert_eq!(hook.received().len(), 1);

    let refused = webhooks::deliver(&env.app.infra.db.write, &sender, delivery(dead_end)).await;
    assert!(refused.is_err(), "a refused connection is a failed attempt");
    let (logs, _) = env
        .app
        .webhooks()
        .deliveries(&who, dead_end, 10, 0)
        .await
        .expect("log");
    assert_eq!(
        logs[0].delivery.status,
        DeliveryStatus::Pending,
        "to be retried"
    );
    assert_eq!(logs[0].attempts.len(), 1);
    assert_eq!(logs[0].attempts[0].status_code, None);
    assert_eq!(
        logs[0].attempts[0].error.as_deref(),
        Some("connection failed")
    );
    let again =
        domain::jobs::fan_out::dispatch_webhooks(&env.app.infra.db.write, &queues, 77, &event)
            .await
            .expect("third");
    assert_eq!(
        again, 0,
        "attempted deliveries are the retry layer's business"
    );
}

/// Names `/etc/hosts` maps to a loopback address (`localhost` and usually the machine's own
/// name): reachable only through the resolver, which must refuse them.
fn loopback_names_in_hosts_file() -> Vec<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut names: Vec<String> = hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let ip: std::net::IpAddr = fields.next()?.parse().ok()?;
            ip.is_loopback()
                .then(|| fields.map(str::to_string).collect::<Vec<_>>())
        })
        .flatten()
        .filter(|name| !name.contains(':'))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Every way of writing a local or internal destination that got past the old textual filter,
/// aimed at `port` (where the test's receiver listens on 127.0.0.1).
fn local_destinations(scheme: &str, port: u16) -> Vec<String> {
    let mut hosts: Vec<String> = [
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::ffff:169.254.169.254]",
        "[::ffff:10.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[::]",
        "[::1]",
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0.0.0.0",
        "0.1.2.3",
        "100.64.0.1",
        "198.18.0.1",
        "localhost",
        "localhost.",
    ]
    .map(String::from)
    .to_vec();
    hosts.extend(loopback_names_in_hosts_file());
    hosts.sort();
    hosts.dedup();
    hosts
        .iter()
        .map(|host| format!("{scheme}://{host}:{port}/hooks?token=t0p"))
        .collect()
}

/// Registers each destination (refused outright), then writes each straight into the table —
/// as if registered before the setting tightened, or through a name whose DNS changed since —
/// and runs one attempt for each: every attempt is logged as "destination not allowed", with
/// no status and no timing, and the receiver sees no connection at all.
async fn assert_refused_at_connect_time(overrides: &[(&str, &str)], scheme: &str) {
    let env = TestEnv::with(&shared_redis_url(), overrides).await;
    let (owner, donor) = (env.user("Ann", true).await, env.user("Dan", true).await);
    let campaign = env.campaign(owner.id).await;
    let hook = Receiver::start(200).await;
    let who = principal(owner.id, Role::User);
    let urls = local_destinations(scheme, hook.port);
    for url in &urls {
        let refused = env
            .app
            .webhooks()
            .register(
                &who,
                NewEndpoint {
                    url: Some(url.clone()),
                    events: Some(vec!["donation.created".into()]),
                    description: None,
                    platform: false,
                },
            )
            .await
            .err();
        assert!(
            matches!(
                refused,
                Some(domain::Error::Validation { field: "url", .. })
            ),
            "registration of {url}: {refused:?}"
        );
        sqlx::query(
            "insert into webhook_endpoints (id, owner_id, created_by, url, kinds, secret)
             values ($1, $2, $2, $3, array['donation.created'], 'whsec_test')",
        )
        .bind(Uuid::now_v7())
        .bind(owner.id)
        .bind(url)
        .execute(env.pool())
        .await
        .expect("insert endpoint");
    }
    let queues = Queues::new(&env.app.infra.kv);
    let sender = Sender::new(&env.app.infra.config).expect("sender");
    let fanned = domain::jobs::fan_out::dispatch_webhooks(
        &env.app.infra.db.write,
        &queues,
        91,
        &donation(campaign, donor.id),
    )
    .await
    .expect("dispatch");
    assert_eq!(fanned, urls.len());
    let deliveries: Vec<(Uuid, String)> = sqlx::query_as(
        "select d.id, e.url from webhook_deliveries d
         join webhook_endpoints e on e.id = d.endpoint_id",
    )
    .fetch_all(env.pool())
    .await
    .expect("deliveries");
    for (delivery, url) in &deliveries {
        let result = webhooks::deliver(&env.app.infra.db.write, &sender, *delivery).await;
        assert!(result.is_err(), "{url} was delivered");
        let attempt: (Option<i16>, Option<String>, i32) = sqlx::query_as(
            "select status_code, error, duration_ms from webhook_attempts where delivery_id = $1",
        )
        .bind(delivery)
        .fetch_one(env.pool())
        .await
        .expect("attempt");
        assert_eq!(
            attempt,
            (None, Some("destination not allowed".into()), 0),
            "{url}"
        );
    }
    // Time for a connection to show up, had one been opened.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.connections(), 0, "the receiver was connected to");
    assert!(hook.received().is_empty());
}

#[tokio::test]
async fn without_private_destinations_no_written_form_of_a_local_address_is_delivered_to() {
    // Plain http stays allowed here, so a destination let through would really be delivered.
    assert_refused_at_connect_time(
        &[
            ("WEBHOOKS_ALLOW_HTTP", "true"),
            ("WEBHOOKS_ALLOW_PRIVATE", "false"),
        ],
        "http",
    )
    .await;
}

#[tokio::test]
async fn production_settings_open_no_connection_to_a_local_address() {
    assert_refused_at_connect_time(
        &[
            ("WEBHOOKS_ALLOW_HTTP", "false"),
            ("WEBHOOKS_ALLOW_PRIVATE", "false"),
        ],
        "https",
    )
    .await;
}

/// Collects formatted log lines in memory.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).to_string()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn failed_deliveries_log_the_receivers_origin_but_never_its_path_or_query() {
    let logs = CapturedLogs::default();
    // This test's thread only; the worker runs on it too (a current-thread runtime).
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish(),
    );
    let env = TestEnv::new().await;
    let (owner, donor) = (env.user("Ann", true).await, env.user("Dan", true).await);
    let campaign = env.campaign(owner.id).await;
    let hook = Receiver::start(500).await;
    let url = format!(
        "http://127.0.0.1:{}/in/sk_live_PATHSECRET?token=QUERYSECRET",
        hook.port
    );
    let who = principal(owner.id, Role::User);
    register(&env, &who, &url, &["donation.created"], false).await;
    let options = commonpot_worker::Options {
        max_attempts: 2,
        ..fast_worker()
    };
    let worker = RunningWorker::start(&env.app, options);
    env.commit_event(&donation(campaign, donor.id)).await;
    let dead = eventually(Duration::from_secs(30), || async {
        dead_letter::list(env.pool(), 10)
            .await
            .expect("list")
            .iter()
            .any(|l| l.job.name() == "deliver_webhook")
    })
    .await;
    worker.stop().await;
    assert!(dead, "the delivery reaches the dead-letter list");
    assert_eq!(hook.received().len(), 2, "both attempts arrived");

    let origin = format!("http://127.0.0.1:{}", hook.port);
    let text = logs.text();
    assert!(text.contains("job failed"), "{text}");
    assert!(text.contains(&origin), "the origin is named: {text}");
    for secret in ["PATHSECRET", "QUERYSECRET", "/in/", "token="] {
        assert!(!text.contains(secret), "{secret} logged: {text}");
    }
    let letters = dead_letter::list(env.pool(), 10).await.expect("list");
    let letter = letters
        .iter()
        .find(|l| l.job.name() == "deliver_webhook")
        .expect("dead letter");
    assert!(letter.error.contains(&origin), "{}", letter.error);
    assert!(!letter.error.contains("SECRET"), "{}", letter.error);
}
