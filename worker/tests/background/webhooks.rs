//! Outgoing webhooks end to end: committed events fan out to the subscribed endpoints only,
//! arrive signed, failing receivers are retried then dead-lettered, and replays deliver.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::accounts::{Principal, Role, Tier};
use domain::jobs::{Event, Queues, dead_letter};
use domain::webhooks::{self, NewEndpoint, Sender, delivery::Outcome};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::support::{RunningWorker, TestEnv, eventually, fast_worker};

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// A tiny HTTP server on 127.0.0.1:0 that records every request and answers with a status
/// the test can change.
pub struct Receiver {
    pub url: String,
    requests: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let (reqs, code) = (requests.clone(), status.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, reqs.clone(), code.clone()));
            }
        });
        Self {
            url,
            requests,
            status,
            task,
        }
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
    assert_eq!(logs[0].delivery.status, "delivered");
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

    let kv = &env.app.kv;
    let dead = eventually(Duration::from_secs(30), || async {
        dead_letter::list(kv, 10)
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
    assert_eq!(log.delivery.status, "failed");
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
    assert_eq!(replayed.status, "pending");
    let delivered = eventually(Duration::from_secs(20), || async {
        let (logs, _) = env
            .app
            .webhooks()
            .deliveries(&who, endpoint, 10, 0)
            .await
            .expect("log");
        logs[0].delivery.status == "delivered"
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
    let queues = Queues::new(&env.app.kv);
    let sender = Sender::new(&env.app.config).expect("sender");
    let event = donation(campaign, donor.id);

    let first = webhooks::dispatch(&env.app, &queues, 77, &event)
        .await
        .expect("first");
    let second = webhooks::dispatch(&env.app, &queues, 77, &event)
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

    let once = webhooks::deliver(&env.app, &sender, delivery(endpoint)).await;
    let twice = webhooks::deliver(&env.app, &sender, delivery(endpoint)).await;
    assert_eq!(once.expect("first"), Outcome::Delivered { status: 200 });
    assert_eq!(twice.expect("second"), Outcome::Skipped);
    assert_eq!(hook.received().len(), 1);

    let refused = webhooks::deliver(&env.app, &sender, delivery(dead_end)).await;
    assert!(refused.is_err(), "a refused connection is a failed attempt");
    let (logs, _) = env
        .app
        .webhooks()
        .deliveries(&who, dead_end, 10, 0)
        .await
        .expect("log");
    assert_eq!(logs[0].delivery.status, "pending", "to be retried");
    assert_eq!(logs[0].attempts.len(), 1);
    assert_eq!(logs[0].attempts[0].status_code, None);
    assert_eq!(
        logs[0].attempts[0].error.as_deref(),
        Some("connection failed")
    );
    let again = webhooks::dispatch(&env.app, &queues, 77, &event)
        .await
        .expect("third");
    assert_eq!(
        again, 0,
        "attempted deliveries are the retry layer's business"
    );
}
