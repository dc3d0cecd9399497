//! CSV reports over HTTP: admins queue platform reports, donors their giving statements; both
//! are polled until done and downloaded through a presigned URL. (The api tests do not run a
//! worker: they run the `generate_report` job's function where the worker would.)

use chrono::{Datelike, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, error_of, spawn_app};

fn id_of(body: &Value) -> Uuid {
    body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id")
}

impl TestApp {
    /// What the worker does when the report's outbox event reaches it.
    async fn run_report_job(&self, id: Uuid) {
        domain::reports::generate(&self.app.infra, id)
            .await
            .expect("generate");
    }

    async fn outbox_kinds(&self) -> Vec<String> {
        sqlx::query_scalar("select kind from outbox order by id")
            .fetch_all(&self.app.infra.db.write)
            .await
            .expect("outbox")
    }

    async fn download(&self, url: &str) -> String {
        let resp = self.client.get(url).send().await.expect("download");
        assert_eq!(resp.status().as_u16(), 200, "presigned download");
        resp.text().await.expect("csv")
    }
}

#[tokio::test]
async fn admins_queue_a_report_poll_it_and_download_the_csv() {
    let app = spawn_app().await;
    let (admin, user, creator, donor) = (
        app.register_admin().await,
        app.register().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    assert_eq!(
        app.donate(&donor, campaign, 2_500, "r1").await.status(),
        201
    );
    let today = Utc::now().date_naive().to_string();
    let body = json!({"kind": "donations_by_campaign", "from": today, "to": today});

    let resp = app
        .post_json("/api/admin/reports", Some(&user.access_token), &body)
        .await;
    error_of(resp, 403).await;
    for (bad, field) in [
        (
            json!({"kind": "everything", "from": today, "to": today}),
            "kind",
        ),
        (json!({"kind": "loan_book", "to": today}), "from"),
        (
            json!({"kind": "loan_book", "from": "2026-02-01", "to": "2026-01-01"}),
            "to",
        ),
        (
            json!({"kind": "loan_book", "from": "yesterday", "to": today}),
            "from",
        ),
    ] {
        let resp = app
            .post_json("/api/admin/reports", Some(&admin.access_token), &bad)
            .await;
        assert_eq!(
            error_of(resp, 422).await["details"]["field"],
            field,
            "{bad}"
        );
    }

    let resp = app
        .post_json("/api/admin/reports", Some(&admin.access_token), &body)
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let queued: Value = resp.json().await.expect("json");
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["kind"], "donations_by_campaign");
    let id = id_of(&queued);
    assert!(
        app.outbox_kinds()
            .await
            .contains(&"report.requested".to_string())
    );
    let path = format!("/api/admin/reports/{id}");
    let polled: Value = app
        .get_auth(&path, &admin.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(polled["status"], "queued");
    assert!(polled["downloadUrl"].is_null());
    error_of(app.get_auth(&path, &user.access_token).await, 403).await;

    app.run_report_job(id).await;

    let done: Value = app
        .get_auth(&path, &admin.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["rowCount"], 1);
    let csv = app
        .download(done["downloadUrl"].as_str().expect("download url"))
        .await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "campaign_id,campaign_title,currency,period_from,period_to,donations_count,\
             donations_amount,refunds_count,refunds_amount,net_amount"
        )
    );
    assert_eq!(
        lines.next().map(str::to_string),
        Some(format!(
            "{campaign},Clean water for the valley,USD,{today},{today},1,25.00,0,0.00,25.00"
        ))
    );
    let missing = format!("/api/admin/reports/{}", Uuid::new_v4());
    error_of(app.get_auth(&missing, &admin.access_token).await, 404).await;
}

#[tokio::test]
async fn donors_get_their_own_giving_statement_and_nobody_elses() {
    let app = spawn_app().await;
    let (creator, donor, other, admin) = (
        app.register().await,
        app.register().await,
        app.register().await,
        app.register_admin().await,
    );
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    assert_eq!(
        app.donate(&donor, campaign, 1_250, "s1").await.status(),
        201
    );
    assert_eq!(app.donate(&donor, campaign, 300, "s2").await.status(), 201);
    let year = Utc::now().year();

    for bad in [
        json!({"year": 1999}),
        json!({"year": year + 1}),
        json!({"year": "x"}),
    ] {
        let resp = app
            .post_json("/api/donations/statements", Some(&donor.access_token), &bad)
            .await;
        assert_eq!(
            error_of(resp, 422).await["details"]["field"],
            "year",
            "{bad}"
        );
    }
    let resp = app
        .post_json(
            "/api/donations/statements",
            Some(&donor.access_token),
            &json!({"year": year}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let queued: Value = resp.json().await.expect("json");
    assert_eq!(queued["kind"], "giving_statement");
    assert_eq!(queued["from"], format!("{year}-01-01"));
    assert_eq!(queued["to"], format!("{year}-12-31"));
    let id = id_of(&queued);
    let path = format!("/api/donations/statements/{id}");
    error_of(app.get_auth(&path, &other.access_token).await, 404).await;

    app.run_report_job(id).await;

    let done: Value = app
        .get_auth(&path, &donor.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(done["status"], "done");
    let csv = app
        .download(done["downloadUrl"].as_str().expect("url"))
        .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "date,campaign,amount,currency,donation_id");
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1].contains(",Clean water for the valley,12.50,USD,"));
    assert!(lines[2].contains(",Clean water for the valley,3.00,USD,"));
    assert_eq!(lines[3], ",Total,15.50,USD,");
    error_of(app.get_auth(&path, &other.access_token).await, 404).await;
    let as_admin = app
        .get_auth(&format!("/api/admin/reports/{id}"), &admin.access_token)
        .await;
    assert_eq!(as_admin.status().as_u16(), 200);
}
