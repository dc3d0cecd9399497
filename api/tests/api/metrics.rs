//! `GET /metrics`: the series move when the thing they count happens. The recorder is one per
//! test process and other tests run beside this one, so each check is "moved by at least".

use domain::testing::metric_sample as sample;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

impl TestApp {
    async fn scrape(&self) -> String {
        let resp = self.get("/metrics").await;
        assert_eq!(resp.status().as_u16(), 200);
        let content_type = resp.headers()["content-type"].to_str().expect("ascii");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        resp.text().await.expect("text")
    }
}

#[tokio::test]
async fn registrations_campaigns_donations_and_loan_decisions_move_their_series() {
    let app = spawn_app().await;
    let before = app.scrape().await;

    let donor = app.register().await;
    let creator = app.register().await;
    let admin = app.register_admin().await;
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let resp = app
        .donate(&donor, campaign, 2_500, &Uuid::new_v4().to_string())
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let resp = app
        .post_json(
            "/api/loans",
            Some(&creator.access_token),
            &json!({"amount": 50_000, "termMonths": 6, "purpose": "A new sewing machine",
                    "description": "To take on more orders from the market every week."}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let loan: Uuid = resp.json::<Value>().await.expect("json")["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    app.app.loans().score(loan).await.expect("scores");
    let resp = app
        .post_json(
            &format!("/api/admin/loans/{loan}/approve"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    // A page read twice: a miss fills the cache, the second read hits it.
    app.get(&format!("/api/campaigns/{campaign}")).await;
    app.get(&format!("/api/campaigns/{campaign}")).await;
    // An unknown path is counted under one shared label, not its own.
    let unknown = format!("/api/no-such-route/{}", Uuid::new_v4());
    assert_eq!(app.get(&unknown).await.status().as_u16(), 404);

    let after = app.scrape().await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    assert!(moved("commonpot_registrations_total", &[]) >= 3.0);
    assert!(moved("commonpot_campaigns_created_total", &[]) >= 1.0);
    assert!(moved("commonpot_donations_total", &[]) >= 1.0);
    assert!(moved("commonpot_donations_amount_minor_total", &[]) >= 2_500.0);
    assert!(
        moved(
            "commonpot_loan_decisions_total",
            &[("decision", "approved")]
        ) >= 1.0
    );
    assert!(moved("commonpot_group_commit_batch_size_count", &[]) >= 1.0);
    assert!(
        moved(
            "commonpot_db_transaction_duration_seconds_count",
            &[("kind", "deposit")]
        ) >= 1.0
    );
    assert!(moved("commonpot_cache_hits_total", &[("cache", "campaign_pages")]) >= 1.0);
    assert!(
        moved(
            "commonpot_cache_misses_total",
            &[("cache", "campaign_pages")]
        ) >= 1.0
    );

    // Requests by route template, method and status, with latency buckets for quantiles.
    let register = [("route", "register"), ("method", "POST"), ("status", "201")];
    assert!(moved("commonpot_http_requests_total", &register) >= 3.0);
    assert!(moved("commonpot_http_request_duration_seconds_count", &register) >= 3.0);
    let donate = [("route", "donate"), ("method", "POST"), ("status", "201")];
    assert!(moved("commonpot_http_requests_total", &donate) >= 1.0);
    assert!(
        moved(
            "commonpot_http_request_duration_seconds_bucket",
            &[("route", "approveLoan"), ("status", "200"), ("le", "+Inf")]
        ) >= 1.0
    );
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert!(moved("commonpot_http_requests_total", &unmatched) >= 1.0);
    assert!(
        !after.contains("no-such-route"),
        "a raw path became a label"
    );
    assert!(after.contains("# TYPE commonpot_http_request_duration_seconds histogram"));
}
