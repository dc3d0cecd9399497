//! PDF receipts and giving statements people can file: a donation's receipt for its donor (or
//! an admin), the statement's PDF beside its CSV, and January's statements for every donor.
//! The PDFs are read back with lopdf (already in the lock file through printpdf).

use chrono::{Datelike, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use domain::background::BackgroundJob;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app};

const TITLE: &str = "Clean water for the valley";

/// The text of every page of a PDF.
fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let doc = lopdf::Document::load_mem(bytes).expect("parses as PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("text")
}

impl TestApp {
    async fn gift(&self, donor: &TestUser, campaign: Uuid, amount: i64, key: &str) -> Uuid {
        let resp = self.donate(donor, campaign, amount, key).await;
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.expect("json");
        body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("id")
    }

    async fn receipt(&self, donation: Uuid, token: &str) -> reqwest::Response {
        self.get_auth(&format!("/api/donations/{donation}/receipt"), token)
            .await
    }

    async fn pdf_of(&self, resp: reqwest::Response) -> String {
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers()["content-type"].to_str().expect("type"),
            "application/pdf"
        );
        pdf_text(&resp.bytes().await.expect("bytes"))
    }
}

fn receipt_number(donation: Uuid) -> String {
    let hex = donation.simple().to_string().to_uppercase();
    format!("CP-{}-{}", Utc::now().year(), &hex[20..])
}

#[tokio::test]
async fn the_donor_and_admins_get_the_receipt_and_nobody_else_learns_it_exists() {
    let app = spawn_app().await;
    let (admin, creator, donor, other) = (
        app.register_admin().await,
        app.register().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let donation = app.gift(&donor, campaign, 1_234, "g1").await;

    let resp = app.receipt(donation, &donor.access_token).await;
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .expect("disposition")
        .to_string();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{}.pdf\"", receipt_number(donation))
    );
    let text = app.pdf_of(resp).await;
    for expected in [
        "Donation receipt",
        "Test User",
        TITLE,
        "12.34 USD",
        &receipt_number(donation),
        &donation.to_string(),
        "Commonpot, 1 Commons Square, Springfield",
        &Utc::now().date_naive().to_string(),
    ] {
        assert!(text.contains(expected), "{expected:?} missing in {text}");
    }
    assert!(!text.contains("REFUNDED"), "{text}");
    let as_admin = app
        .pdf_of(app.receipt(donation, &admin.access_token).await)
        .await;
    assert!(as_admin.contains(&receipt_number(donation)));

    let not_found = error_of(app.receipt(donation, &other.access_token).await, 404).await;
    let unknown = error_of(app.receipt(Uuid::now_v7(), &donor.access_token).await, 404).await;
    assert_eq!(
        not_found, unknown,
        "another's donation looks like no donation"
    );
    let resp = app
        .client
        .get(app.url(&format!("/api/donations/{donation}/receipt")))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn a_refunded_donation_s_receipt_says_refunded_with_the_date() {
    let app = spawn_app().await;
    let (admin, creator, donor) = (
        app.register_admin().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let donation = app.gift(&donor, campaign, 3_000, "g1").await;
    let resp = app
        .post_idem(
            &format!("/api/admin/donations/{donation}/refund"),
            &admin.access_token,
            "r1",
            &json!({"reason": "donor asked for it back"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);

    let text = app
        .pdf_of(app.receipt(donation, &donor.access_token).await)
        .await;
    let today = Utc::now().date_naive();
    assert!(text.contains(&format!("REFUNDED on {today}")), "{text}");
    assert!(text.contains("30.00 USD"), "{text}");
}

#[tokio::test]
async fn the_statement_pdf_lists_the_year_s_gifts_and_their_total() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 200_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 500_000).await;
    let first = app.gift(&donor, campaign, 1_250, "s1").await;
    let second = app.gift(&donor, campaign, 100_000, "s2").await;
    let resp = app
        .post_json(
            "/api/donations/statements",
            Some(&donor.access_token),
            &json!({"year": Utc::now().year()}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let queued: Value = resp.json().await.expect("json");
    assert!(queued["pdfUrl"].is_null());
    let id: Uuid = queued["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    domain::reports::generate(&app.app.infra, id)
        .await
        .expect("generate");

    let done: Value = app
        .get_auth(
            &format!("/api/donations/statements/{id}"),
            &donor.access_token,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(done["status"], "done");
    assert!(done["downloadUrl"].as_str().is_some());
    let resp = app
        .client
        .get(done["pdfUrl"].as_str().expect("pdfUrl"))
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    let text = pdf_text(&resp.bytes().await.expect("bytes"));
    for expected in [
        format!("Giving statement {}", Utc::now().year()),
        "Test User".to_string(),
        receipt_number(first),
        receipt_number(second),
        "12.50 USD".to_string(),
        "1,000.00 USD".to_string(),
        "Total of 2 gifts".to_string(),
        "1,012.50 USD".to_string(),
    ] {
        assert!(text.contains(&expected), "{expected:?} missing in {text}");
    }
    assert!(text.contains(TITLE), "{text}");
}

#[tokio::test]
async fn january_queues_one_statement_per_donor_with_gifts_however_often_it_runs() {
    let app = spawn_app().await;
    // The creator gave nothing: no statement for them either.
    let (creator, giver, refunded, asked) = (
        app.register().await,
        app.register().await,
        app.register().await,
        app.register().await,
    );
    let campaign = app.active_campaign(&creator, "keep_it_all", 500_000).await;
    for (i, donor) in [&giver, &refunded, &asked].into_iter().enumerate() {
        app.fund(donor, 10_000).await;
        app.gift(donor, campaign, 1_000, &format!("k{i}")).await;
    }
    // The gifts are "last year" for a run next January; the refunded one does not count.
    sqlx::query(
        "update donations set status = 'refunded', refunded_at = now() where donor_id = $1",
    )
    .bind(refunded.id)
    .execute(&app.app.infra.db.write)
    .await
    .expect("refund");
    let year = Utc::now().year();
    // A donor who asked for the finished year's statement themselves gets no second one.
    let resp = app
        .post_json(
            "/api/donations/statements",
            Some(&asked.access_token),
            &json!({"year": year}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    sqlx::query("update reports set created_at = $2 where requested_by = $1")
        .bind(asked.id)
        .bind(
            Utc.with_ymd_and_hms(year + 1, 1, 1, 9, 0, 0)
                .single()
                .expect("time"),
        )
        .execute(&app.app.infra.db.write)
        .await
        .expect("backdate");

    let now = Utc.with_ymd_and_hms(year + 1, 1, 2, 4, 0, 0).unwrap();
    let job = domain::background::scheduled::YearlyStatements { now };
    job.run(&app.app).await.expect("first run");
    job.run(&app.app).await.expect("second run");
    app.app
        .reports()
        .queue_yearly_statements(now + chrono::Duration::days(1))
        .await
        .expect("next day");

    let rows: Vec<(Uuid, bool, chrono::NaiveDate)> = sqlx::query_as(
        "select requested_by, automatic, period_from from reports
         where kind = 'giving_statement' order by automatic",
    )
    .fetch_all(&app.app.infra.db.write)
    .await
    .expect("reports");
    let first_day = chrono::NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
    assert_eq!(
        rows,
        vec![(asked.id, false, first_day), (giver.id, true, first_day)]
    );
    let events: i64 =
        sqlx::query_scalar("select count(*) from outbox where kind = 'report.requested'")
            .fetch_one(&app.app.infra.db.write)
            .await
            .expect("outbox");
    assert_eq!(events, 2, "one event per statement queued");
}
