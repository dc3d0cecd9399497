//! Outgoing webhooks over HTTP: registering endpoints (secret shown once), who sees and
//! manages which, URL and event validation, the delivery log and replays. Delivery itself,
//! signatures and retries are tested with a real receiver in the worker's tests.

use domain::jobs::{Event, Queues};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app, spawn_app_with};

impl TestApp {
    async fn create_webhook(&self, who: &TestUser, body: Value) -> reqwest::Response {
        self.post_json("/api/webhooks", Some(&who.access_token), &body)
            .await
    }

    async fn webhooks_of(&self, who: &TestUser) -> Vec<Value> {
        let resp = self.get_auth("/api/webhooks", &who.access_token).await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }

    async fn delete_webhook(&self, who: &TestUser, id: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/api/webhooks/{id}")))
            .bearer_auth(&who.access_token)
            .send()
            .await
            .expect("request")
    }
}

#[tokio::test]
async fn users_register_list_and_delete_their_own_endpoints_and_see_the_secret_once() {
    let app = spawn_app().await;
    let (owner, other, admin) = (
        app.register().await,
        app.register().await,
        app.register_admin().await,
    );

    let resp = app
        .create_webhook(
            &owner,
            json!({"url": "https://hooks.example.com/cp", "events": ["donation.created", "loan.late"],
                   "description": "bookkeeping"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.expect("json");
    let secret = created["secret"].as_str().expect("secret");
    assert!(
        secret.starts_with("whsec_") && secret.len() == 70,
        "{secret}"
    );
    assert_eq!(created["platform"], false);
    assert_eq!(created["events"], json!(["donation.created", "loan.late"]));
    let id = created["id"].as_str().expect("id").to_string();

    let listed = app.webhooks_of(&owner).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );
    assert!(app.webhooks_of(&other).await.is_empty());
    error_of(app.delete_webhook(&other, &id).await, 404).await;
    let deliveries = format!("/api/webhooks/{id}/deliveries");
    error_of(app.get_auth(&deliveries, &other.access_token).await, 404).await;

    let platform =
        json!({"url": "https://ops.example.com/all", "events": ["loan.late"], "platform": true});
    error_of(app.create_webhook(&owner, platform.clone()).await, 403).await;
    let resp = app.create_webhook(&admin, platform).await;
    assert_eq!(resp.status().as_u16(), 201);
    let wide: Value = resp.json().await.expect("json");
    assert_eq!(wide["platform"], true);
    assert_eq!(app.webhooks_of(&admin).await.len(), 1);
    assert_eq!(app.webhooks_of(&owner).await.len(), 1, "not the platform's");

    for (bad, field) in [
        (
            json!({"url": "https://hooks.example.com/x", "events": ["report.requested"]}),
            "events",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "events": []}),
            "events",
        ),
        (
            json!({"url": "ftp://hooks.example.com/x", "events": ["loan.late"]}),
            "url",
        ),
        (json!({"events": ["loan.late"]}), "url"),
        (
            json!({"url": "https://hooks.example.com/x", "events": "loan.late"}),
            "events",
        ),
    ] {
        let error = error_of(app.create_webhook(&owner, bad.clone()).await, 422).await;
        assert_eq!(error["details"]["field"], field, "{bad}");
    }

    assert_eq!(app.delete_webhook(&owner, &id).await.status().as_u16(), 204);
    assert!(app.webhooks_of(&owner).await.is_empty());
    error_of(app.delete_webhook(&owner, &id).await, 404).await;
}

#[tokio::test]
async fn production_settings_refuse_plain_http_and_local_endpoints() {
    let app = spawn_app_with(&[
        ("WEBHOOKS_ALLOW_HTTP", "false"),
        ("WEBHOOKS_ALLOW_PRIVATE", "false"),
    ])
    .await;
    let user = app.register().await;
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://localhost:8443/x",
        // Forms the old textual filter let through.
        "https://[::ffff:127.0.0.1]:8443/x",
        "https://[::ffff:7f00:1]/x",
        "https://[::ffff:169.254.169.254]/latest/meta-data",
        "https://[::ffff:10.0.0.1]/x",
        "https://[64:ff9b::7f00:1]/x",
        "https://100.64.0.1/x",
        "https://0.1.2.3/x",
        "https://198.18.0.1/x",
        "https://2130706433/x",
        "https://localhost./x",
        "https://intranet/x",
    ] {
        let resp = app
            .create_webhook(&user, json!({"url": url, "events": ["loan.late"]}))
            .await;
        assert_eq!(
            error_of(resp, 422).await["details"]["field"],
            "url",
            "{url}"
        );
    }
    let resp = app
        .create_webhook(
            &user,
            json!({"url": "https://hooks.example.com/x", "events": ["loan.late"]}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test]
async fn plain_http_can_be_allowed_without_allowing_private_destinations() {
    let app = spawn_app_with(&[
        ("WEBHOOKS_ALLOW_HTTP", "true"),
        ("WEBHOOKS_ALLOW_PRIVATE", "false"),
    ])
    .await;
    let user = app.register().await;
    let resp = app
        .create_webhook(
            &user,
            json!({"url": "http://hooks.example.com/x", "events": ["loan.late"]}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let resp = app
        .create_webhook(
            &user,
            json!({"url": "http://127.0.0.1:8080/x", "events": ["loan.late"]}),
        )
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "url");
}

#[tokio::test]
async fn the_delivery_log_shows_every_attempt_and_a_replay_queues_it_again() {
    let app = spawn_app().await;
    let (creator, donor, other) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    // Nothing listens on this port: the attempt fails with a refused connection.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let resp = app
        .create_webhook(
            &creator,
            json!({"url": format!("http://{closed}/hooks"), "events": ["donation.created"]}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let hook = resp.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.fund(&donor, 5_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    assert_eq!(
        app.donate(&donor, campaign, 1_000, "w1").await.status(),
        201
    );

    // What the worker does with the donation's outbox event: fan out, then one attempt.
    let (event_id, payload): (i64, Value) = sqlx::query_as(
        "select id, payload from outbox where kind = 'donation.created' order by id desc limit 1",
    )
    .fetch_one(&app.app.infra.db.write)
    .await
    .expect("event");
    let event: Event = serde_json::from_value(payload).expect("event");
    let queues = Queues::new(&app.app.infra.kv);
    let fanned = domain::jobs::fan_out::dispatch_webhooks(
        &app.app.infra.db.write,
        &queues,
        event_id,
        &event,
    )
    .await
    .expect("dispatch");
    assert_eq!(fanned, 1);
    let delivery: Uuid = sqlx::query_scalar("select id from webhook_deliveries")
        .fetch_one(&app.app.infra.db.write)
        .await
        .expect("delivery");
    let sender = domain::webhooks::Sender::new(&app.app.infra.config).expect("sender");
    assert!(
        domain::webhooks::deliver(&app.app.infra.db.write, &sender, delivery)
            .await
            .is_err()
    );

    let path = format!("/api/webhooks/{hook}/deliveries");
    let page: Value = app
        .get_auth(&path, &creator.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["total"], 1);
    let item = &page["items"][0];
    assert_eq!(item["id"], delivery.to_string());
    assert_eq!(item["eventId"], event_id.to_string());
    assert_eq!(item["event"], "donation.created");
    assert_eq!(item["status"], "pending");
    assert_eq!(item["attempts"], 1);
    let attempt = &item["attemptLog"][0];
    assert!(attempt["statusCode"].is_null());
    assert_eq!(attempt["error"], "connection failed");
    assert!(attempt["durationMs"].is_i64());

    let replay = format!("/api/webhooks/{hook}/deliveries/{delivery}/replay");
    error_of(
        app.post_json(&replay, Some(&other.access_token), &json!({}))
            .await,
        404,
    )
    .await;
    let resp = app
        .post_json(&replay, Some(&creator.access_token), &json!({}))
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let replayed: Value = resp.json().await.expect("json");
    assert_eq!(replayed["status"], "pending");
    let queued: Vec<Value> =
        sqlx::query_scalar("select payload from outbox where kind = 'webhook.replay_requested'")
            .fetch_all(&app.app.infra.db.write)
            .await
            .expect("outbox");
    assert_eq!(
        queued,
        [json!({"type": "webhook_replay_requested", "delivery_id": delivery})]
    );
    let wrong = format!("/api/webhooks/{hook}/deliveries/{}/replay", Uuid::new_v4());
    error_of(
        app.post_json(&wrong, Some(&creator.access_token), &json!({}))
            .await,
        404,
    )
    .await;
}
