//! Campaigns, wallets, donations and the ledger: money that is never lost.

use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app};

impl TestApp {
    pub async fn post_idem(
        &self,
        path: &str,
        token: &str,
        key: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Deposits through the sandbox provider, which confirms at once.
    pub async fn fund(&self, user: &TestUser, amount: i64) {
        let resp = self
            .post_idem(
                "/api/wallet/deposits",
                &user.access_token,
                &Uuid::new_v4().to_string(),
                &json!({"amount": amount}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["status"], "confirmed");
    }

    pub async fn balance(&self, user: &TestUser) -> i64 {
        let body: Value = self
            .get_auth("/api/wallet", &user.access_token)
            .await
            .json()
            .await
            .expect("json");
        body["balance"].as_i64().expect("balance")
    }

    /// Creates and publishes a campaign; returns its id.
    pub async fn active_campaign(
        &self,
        creator: &TestUser,
        funding_model: &str,
        goal: i64,
    ) -> Uuid {
        let deadline = chrono::Utc::now() + chrono::Duration::days(30);
        let resp = self
            .post_json(
                "/api/campaigns",
                Some(&creator.access_token),
                &json!({
                    "title": "Clean water for the valley",
                    "description": "We are building three wells for the villages in the valley.",
                    "goalAmount": goal, "currency": "USD", "category": "community",
                    "fundingModel": funding_model, "deadline": deadline,
                }),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 201);
        let id: Uuid = resp.json::<Value>().await.expect("json")["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("id");
        let resp = self
            .post_json(
                &format!("/api/campaigns/{id}/publish"),
                Some(&creator.access_token),
                &json!({}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        id
    }

    pub async fn donate(
        &self,
        donor: &TestUser,
        campaign: Uuid,
        amount: i64,
        key: &str,
    ) -> reqwest::Response {
        self.post_idem(
            &format!("/api/donations/campaign/{campaign}"),
            &donor.access_token,
            key,
            &json!({"amount": amount}),
        )
        .await
    }

    pub async fn campaign(&self, id: Uuid) -> Value {
        self.get(&format!("/api/campaigns/{id}"))
            .await
            .json()
            .await
            .expect("json")
    }

    /// The audit must find no drift.
    pub async fn assert_books_balance(&self) {
        let report = self.app.audit().await.expect("audit");
        assert!(report.ok, "ledger drift: {:?}", report.drift);
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.app.infra.db.write)
            .await
            .expect("count")
    }
}

#[tokio::test]
async fn a_donation_moves_money_from_wallet_to_campaign_with_balanced_ledger_lines() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;

    let resp = app.donate(&donor, campaign, 2_500, "k1").await;
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(resp.headers()["idempotent-replayed"], "false");
    let donation: Value = resp.json().await.expect("json");
    assert_eq!(donation["amount"], 2_500);

    assert_eq!(app.balance(&donor).await, 7_500);
    let c = app.campaign(campaign).await;
    assert_eq!(c["raisedAmount"], 2_500);
    assert_eq!(c["totalDonors"], 1);
    assert_eq!(c["progressPercentage"], 5.0);
    assert!(
        c["creatorName"]
            .as_str()
            .is_some_and(|n| n.contains("Test"))
    );

    let ledger: Value = app
        .get(&format!("/api/campaigns/{campaign}/ledger"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ledger["total"], 1);
    assert_eq!(ledger["items"][0]["amount"], 2_500);
    let tx: Value = app
        .get_auth("/api/wallet/transactions", &donor.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(tx["items"][0]["amount"], -2_500);
    assert_eq!(tx["items"][0]["txnId"], ledger["items"][0]["txnId"]);
    assert_eq!(
        app.count("select count(*) from outbox where kind = 'donation.created'")
            .await,
        1
    );
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_database_refuses_ledger_lines_that_do_not_balance_in_their_statement() {
    let app = spawn_app().await;
    let db = &app.app.infra.db.write;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let before = app.count("select count(*) from ledger_entries").await;
    // Two transactions in one statement: one balanced, one not.
    let r = insert_lines(db, &[(a, -100), (a, 100), (b, -100), (b, 90)]).await;
    assert!(unbalanced(r), "an unbalanced transaction was accepted");
    // A transaction's lines go in one statement: half of one is refused even if the other half
    // would follow.
    let r = insert_lines(db, &[(a, -100)]).await;
    assert!(unbalanced(r), "a one-sided line was accepted");
    assert_eq!(
        app.count("select count(*) from ledger_entries").await,
        before
    );
    // Balanced statements go in, several transactions at once.
    insert_lines(db, &[(a, -100), (a, 100), (b, -7), (b, 3), (b, 4)])
        .await
        .expect("balanced lines");
    assert_eq!(
        app.count("select count(*) from ledger_entries").await,
        before + 5
    );
}

/// Inserts test lines `(txn, amount)` on made-up accounts in one statement.
async fn insert_lines(db: &sqlx::PgPool, lines: &[(Uuid, i64)]) -> Result<(), sqlx::Error> {
    let (txns, amounts): (Vec<Uuid>, Vec<i64>) = lines.iter().copied().unzip();
    sqlx::query(
        "insert into ledger_entries (txn_id, account, amount, kind)
         select t, 'external:test' || n, a, 'test'
         from unnest($1::uuid[], $2::bigint[]) with ordinality as l(t, a, n)",
    )
    .bind(txns)
    .bind(amounts)
    .execute(db)
    .await
    .map(drop)
}

fn unbalanced(r: Result<(), sqlx::Error>) -> bool {
    matches!(r, Err(sqlx::Error::Database(e)) if e.constraint() == Some("ledger_txn_balanced"))
}

#[tokio::test]
async fn two_hundred_concurrent_donations_to_one_campaign_are_exact_and_never_overdraw() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 10_000_000)
        .await;
    let mut donors = Vec::new();
    for _ in 0..40 {
        let d = app.register().await;
        app.fund(&d, 1_000).await;
        donors.push(d);
    }
    // Each donor tries five gifts of 300 with 1,000 in the wallet: exactly three succeed.
    let mut tasks = Vec::new();
    for d in &donors {
        for i in 0..5 {
            let (app, d) = (app.clone(), d.clone());
            tasks.push(tokio::spawn(async move {
                app.donate(&d, campaign, 300, &format!("gift-{i}"))
                    .await
                    .status()
                    .as_u16()
            }));
        }
    }
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("task") {
            201 => created += 1,
            422 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, refused), (120, 80));
    let c = app.campaign(campaign).await;
    assert_eq!(c["raisedAmount"], 120 * 300);
    assert_eq!(c["totalDonors"], 40);
    assert_eq!(c["donationsCount"], 120);
    for d in &donors {
        assert_eq!(app.balance(d).await, 100);
    }
    assert_eq!(
        app.count("select count(*) from wallets where balance < 0")
            .await,
        0
    );
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_same_idempotency_key_sent_fifty_times_in_parallel_donates_once() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, donor) = (app.clone(), donor.clone());
            tokio::spawn(async move {
                let resp = app.donate(&donor, campaign, 1_000, "same-key").await;
                assert_eq!(resp.status().as_u16(), 201);
                resp.json::<Value>().await.expect("json")["id"].clone()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("task"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "all replies name the same donation");
    assert_eq!(app.balance(&donor).await, 9_000);
    assert_eq!(app.count("select count(*) from donations").await, 1);
    let replay = app.donate(&donor, campaign, 1_000, "same-key").await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    app.assert_books_balance().await;
}

/// Group commit stores each key with its answer before writing the donation: the answer, its
/// replay and the stored row must agree to the microsecond.
#[tokio::test]
async fn a_replay_answers_exactly_the_first_answer_which_is_the_stored_donation() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let first = app.donate(&donor, campaign, 1_000, "k").await;
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.expect("json");
    let replay = app.donate(&donor, campaign, 1_000, "k").await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.expect("json"), first);
    let mine: Value = app
        .get_auth("/api/donations/me", &donor.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(mine["items"], json!([first]));
}

#[tokio::test]
async fn a_reused_key_with_a_different_body_is_refused_and_moves_nothing() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    assert_eq!(
        app.donate(&donor, campaign, 1_000, "k")
            .await
            .status()
            .as_u16(),
        201
    );
    let error = error_of(app.donate(&donor, campaign, 2_000, "k").await, 422).await;
    assert_eq!(error["code"], "idempotency_key_reused");
    assert_eq!(app.balance(&donor).await, 9_000);
}

#[tokio::test]
async fn a_failed_donation_writes_nothing_at_all() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 500).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let before = (
        app.count("select count(*) from ledger_entries").await,
        app.count("select count(*) from outbox").await,
        app.count("select count(*) from idempotency_keys").await,
    );
    let error = error_of(app.donate(&donor, campaign, 600, "k").await, 422).await;
    assert_eq!(error["code"], "insufficient_funds");
    let after = (
        app.count("select count(*) from ledger_entries").await,
        app.count("select count(*) from outbox").await,
        app.count("select count(*) from idempotency_keys").await,
    );
    assert_eq!(before, after);
    assert_eq!(app.count("select count(*) from donations").await, 0);
    assert_eq!(app.balance(&donor).await, 500);
    // The key was not used up: the same key works once the wallet is topped up.
    app.fund(&donor, 500).await;
    assert_eq!(
        app.donate(&donor, campaign, 600, "k")
            .await
            .status()
            .as_u16(),
        201
    );
}

#[tokio::test]
async fn bad_donations_get_clear_errors() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 100_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    for amount in [0, 99, -5, 10_000_001] {
        let error = error_of(
            app.donate(&donor, campaign, amount, &format!("a{amount}"))
                .await,
            422,
        )
        .await;
        assert_eq!(error["details"]["field"], "amount");
    }
    let no_key = app
        .post_json(
            &format!("/api/donations/campaign/{campaign}"),
            Some(&donor.access_token),
            &json!({"amount": 500}),
        )
        .await;
    assert_eq!(
        error_of(no_key, 422).await["details"]["field"],
        "Idempotency-Key"
    );
    let wrong_type = app
        .post_idem(
            &format!("/api/donations/campaign/{campaign}"),
            &donor.access_token,
            "t",
            &json!({"amount": "lots"}),
        )
        .await;
    assert_eq!(
        error_of(wrong_type, 422).await["details"]["field"],
        "amount"
    );
    let missing_field = app
        .post_idem(
            &format!("/api/donations/campaign/{campaign}"),
            &donor.access_token,
            "t",
            &json!({"anonymous": true}),
        )
        .await;
    assert_eq!(
        error_of(missing_field, 422).await["details"]["field"],
        "amount"
    );
    let malformed = app
        .client
        .post(app.url(&format!("/api/donations/campaign/{campaign}")))
        .bearer_auth(&donor.access_token)
        .header("Idempotency-Key", "t")
        .header("content-type", "application/json")
        .body("{\"amount\": 5")
        .send()
        .await
        .expect("send");
    assert_eq!(error_of(malformed, 400).await["code"], "malformed_json");
    let missing = error_of(app.donate(&donor, Uuid::new_v4(), 500, "m").await, 404).await;
    assert_eq!(missing["code"], "not_found");
    // A draft does not take donations.
    let draft = app
        .post_json(
            "/api/campaigns",
            Some(&creator.access_token),
            &json!({"title": "A draft campaign", "description": "Not published yet, so no gifts please.",
                    "goalAmount": 5_000, "currency": "USD", "category": "health", "fundingModel": "keep_it_all"}),
        )
        .await
        .json::<Value>()
        .await
        .expect("json");
    let draft_id: Uuid = draft["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let error = error_of(app.donate(&donor, draft_id, 500, "d").await, 409).await;
    assert_eq!(error["code"], "campaign_not_accepting");
    assert_eq!(app.balance(&donor).await, 100_000);
    assert_eq!(
        app.count("select count(*) from ledger_entries where kind = 'donation'")
            .await,
        0
    );
}

#[tokio::test]
async fn all_or_nothing_refunds_every_donor_when_the_goal_is_missed_at_the_deadline() {
    let app = spawn_app().await;
    let (creator, a, b) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&a, 5_000).await;
    app.fund(&b, 5_000).await;
    let campaign = app
        .active_campaign(&creator, "all_or_nothing", 100_000)
        .await;
    assert_eq!(
        app.donate(&a, campaign, 1_000, "1").await.status().as_u16(),
        201
    );
    assert_eq!(
        app.donate(&a, campaign, 500, "2").await.status().as_u16(),
        201
    );
    assert_eq!(
        app.donate(&b, campaign, 2_000, "3").await.status().as_u16(),
        201
    );
    // Creators cannot withdraw held funds.
    let error = error_of(
        app.post_idem(
            &format!("/api/campaigns/{campaign}/withdrawals"),
            &creator.access_token,
            "w",
            &json!({"amount": 100}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(error["code"], "funds_held");

    // Nothing happens before the deadline.
    let summary = app
        .app
        .money()
        .close_due_campaigns(chrono::Utc::now())
        .await
        .expect("close");
    assert_eq!(summary.refunded_campaigns, 0);
    let later = chrono::Utc::now() + chrono::Duration::days(31);
    let summary = app
        .app
        .money()
        .close_due_campaigns(later)
        .await
        .expect("close");
    assert_eq!(
        (summary.refunded_campaigns, summary.refunded_donations),
        (1, 3)
    );
    // Running it again changes nothing.
    let again = app
        .app
        .money()
        .close_due_campaigns(later)
        .await
        .expect("close");
    assert_eq!(again.refunded_donations, 0);

    assert_eq!(app.balance(&a).await, 5_000);
    assert_eq!(app.balance(&b).await, 5_000);
    assert_eq!(app.balance(&creator).await, 0);
    let c = app.campaign(campaign).await;
    assert_eq!(c["status"], "cancelled");
    assert_eq!(c["settlement"], "refunded");
    assert_eq!(c["raisedAmount"], 0);
    assert_eq!(c["totalDonors"], 0);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn all_or_nothing_releases_funds_to_the_creator_when_the_goal_is_met() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 20_000).await;
    let campaign = app
        .active_campaign(&creator, "all_or_nothing", 10_000)
        .await;
    assert_eq!(
        app.donate(&donor, campaign, 12_000, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    let later = chrono::Utc::now() + chrono::Duration::days(31);
    let summary = app
        .app
        .money()
        .close_due_campaigns(later)
        .await
        .expect("close");
    assert_eq!(summary.released, 1);
    assert_eq!(app.balance(&creator).await, 12_000);
    let c = app.campaign(campaign).await;
    assert_eq!(
        (c["status"].as_str(), c["settlement"].as_str()),
        (Some("completed"), Some("released"))
    );
    assert_eq!(c["raisedAmount"], 12_000);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn keep_it_all_creators_withdraw_what_was_raised_and_no_more() {
    let app = spawn_app().await;
    let (creator, donor, other) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&donor, 20_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    assert_eq!(
        app.donate(&donor, campaign, 8_000, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    let path = format!("/api/campaigns/{campaign}/withdrawals");
    assert_eq!(
        error_of(
            app.post_idem(&path, &other.access_token, "w", &json!({"amount": 100}))
                .await,
            403
        )
        .await["code"],
        "forbidden"
    );
    assert_eq!(
        error_of(
            app.post_idem(
                &path,
                &creator.access_token,
                "w0",
                &json!({"amount": 9_000})
            )
            .await,
            422
        )
        .await["code"],
        "insufficient_funds"
    );
    let resp = app
        .post_idem(
            &path,
            &creator.access_token,
            "w1",
            &json!({"amount": 5_000}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(app.balance(&creator).await, 5_000);
    // Raised stays what donors gave; the account holds the rest.
    assert_eq!(app.campaign(campaign).await["raisedAmount"], 8_000);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn an_admin_refund_restores_the_wallet_and_the_stats_once_only() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    let admin = app.register_admin().await;
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let donation: Value = app
        .donate(&donor, campaign, 3_000, "1")
        .await
        .json()
        .await
        .expect("json");
    let path = format!(
        "/api/admin/donations/{}/refund",
        donation["id"].as_str().expect("id")
    );
    let error = error_of(
        app.post_idem(&path, &donor.access_token, "r", &json!({}))
            .await,
        403,
    )
    .await;
    assert_eq!(error["code"], "forbidden");
    // The donations page's total is the campaign's stats count: one per completed donation.
    let donations_path = format!("/api/campaigns/{campaign}/donations");
    let page: Value = app.get(&donations_path).await.json().await.expect("json");
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1))
    );
    let reason = json!({"reason": "donor asked for it back"});
    let resp = app
        .post_idem(&path, &admin.access_token, "r1", &reason)
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(
        resp.json::<Value>().await.expect("json")["status"],
        "refunded"
    );
    assert_eq!(app.balance(&donor).await, 10_000);
    let c = app.campaign(campaign).await;
    assert_eq!(
        (c["raisedAmount"].as_i64(), c["totalDonors"].as_i64()),
        (Some(0), Some(0))
    );
    let page: Value = app.get(&donations_path).await.json().await.expect("json");
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let error = error_of(
        app.post_idem(&path, &admin.access_token, "r2", &reason)
            .await,
        409,
    )
    .await;
    assert_eq!(error["code"], "already_refunded");
    assert_eq!(app.balance(&donor).await, 10_000);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_cached_campaign_page_is_never_stale_after_a_donation_or_an_edit() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let list_path = "/api/campaigns?status=active";
    // Warm the caches.
    assert_eq!(app.campaign(campaign).await["raisedAmount"], 0);
    app.get(list_path).await;
    let (hits_before, _) = app.app.campaigns().cache_stats().snapshot();
    assert_eq!(app.campaign(campaign).await["raisedAmount"], 0);
    assert!(
        app.app.campaigns().cache_stats().snapshot().0 > hits_before,
        "second read is a cache hit"
    );

    assert_eq!(
        app.donate(&donor, campaign, 700, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(app.campaign(campaign).await["raisedAmount"], 700);
    let list: Value = app.get(list_path).await.json().await.expect("json");
    assert_eq!(list["items"][0]["raisedAmount"], 700);

    let resp = app
        .client
        .patch(app.url(&format!("/api/campaigns/{campaign}")))
        .bearer_auth(&creator.access_token)
        .json(&json!({"title": "Clean water, now with filters"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        app.campaign(campaign).await["title"],
        "Clean water, now with filters"
    );
    let list: Value = app.get(list_path).await.json().await.expect("json");
    assert_eq!(list["items"][0]["title"], "Clean water, now with filters");
}

#[tokio::test]
async fn payment_webhooks_need_a_fresh_valid_signature_and_are_applied_once() {
    let app = crate::helpers::spawn_app_with(&[("PAYMENTS_SANDBOX", "false")]).await;
    let user = app.register().await;
    let deposit: Value = app
        .post_idem(
            "/api/wallet/deposits",
            &user.access_token,
            "dep",
            &json!({"amount": 4_000}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(deposit["status"], "pending");
    assert_eq!(app.balance(&user).await, 0);
    let body = json!({"id": "evt_1", "type": "deposit.succeeded", "data": {"depositId": deposit["id"], "amount": 4_000}}).to_string();
    let now = chrono::Utc::now().timestamp();
    let secret = app
        .app
        .infra
        .config
        .payments_webhook_secret
        .expose()
        .to_string();
    let send = |signature: String, body: String| {
        let app = app.clone();
        async move {
            app.client
                .post(app.url("/api/payments/webhook"))
                .header("Payment-Signature", signature)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send")
        }
    };
    let sign = |t: i64, b: &str, s: &str| {
        domain::money::service::sign_payment_webhook(s, t, b.as_bytes()).expect("sign")
    };

    let error = error_of(
        send(sign(now, &body, "wrong-secret"), body.clone()).await,
        401,
    )
    .await;
    assert_eq!(error["code"], "unauthorized");
    let error = error_of(
        send(sign(now - 3_600, &body, &secret), body.clone()).await,
        401,
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("timestamp"))
    );
    let tampered = body.replace("4000", "400000");
    error_of(send(sign(now, &body, &secret), tampered).await, 401).await;
    assert_eq!(app.balance(&user).await, 0);

    let ok: Value = send(sign(now, &body, &secret), body.clone())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ok["status"], "applied");
    assert_eq!(app.balance(&user).await, 4_000);
    let replay: Value = send(sign(now, &body, &secret), body.clone())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(replay["status"], "duplicate");
    assert_eq!(app.balance(&user).await, 4_000);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn live_totals_stream_to_viewers_as_donations_arrive() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let resp = app.get(&format!("/api/campaigns/{campaign}/events")).await;
    assert_eq!(resp.status().as_u16(), 200);
    let mut stream = resp.bytes_stream();
    let mut seen = String::new();
    let first = stream.next().await.expect("event").expect("bytes");
    seen.push_str(&String::from_utf8_lossy(&first));
    assert!(seen.contains("\"raisedAmount\":0"), "{seen}");
    assert_eq!(
        app.donate(&donor, campaign, 1_234, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("\"raisedAmount\":1234") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("update in time")
            .expect("event")
            .expect("bytes");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn live_totals_are_published_only_for_campaigns_someone_watches() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let watched = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let unwatched = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    // A pattern subscription sees every campaign's channel without counting as a viewer.
    let kv = &app.app.infra.kv;
    let mut all = kv.client().get_async_pubsub().await.expect("pubsub");
    all.psubscribe(kv.key("campaign:*:events"))
        .await
        .expect("psubscribe");
    let viewer = app.get(&format!("/api/campaigns/{watched}/events")).await;
    assert_eq!(viewer.status().as_u16(), 200);
    let mut viewer = viewer.bytes_stream();
    viewer.next().await.expect("snapshot").expect("bytes");

    for (n, campaign) in [unwatched, watched].into_iter().enumerate() {
        let key = format!("gift-{n}");
        assert_eq!(app.donate(&donor, campaign, 500, &key).await.status(), 201);
    }

    let mut messages = all.on_message();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), messages.next())
        .await
        .expect("a message in time")
        .expect("message");
    assert_eq!(
        first.get_channel_name(),
        kv.key(format!("campaign:{watched}:events"))
    );
    let more = tokio::time::timeout(std::time::Duration::from_millis(500), messages.next()).await;
    assert!(more.is_err(), "nothing for the campaign nobody watches");
}

#[tokio::test]
async fn campaign_images_are_type_checked_and_served_through_presigned_urls() {
    let app = spawn_app().await;
    let (creator, other) = (app.register().await, app.register().await);
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let png = b"\x89PNG\r\n\x1a\n-not-a-real-image-but-the-right-magic".to_vec();
    let upload = |token: String, bytes: Vec<u8>| {
        let app = app.clone();
        async move {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("x.png"),
            );
            app.client
                .post(app.url(&format!("/api/campaigns/{campaign}/images")))
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
                .expect("upload")
        }
    };
    error_of(upload(other.access_token.clone(), png.clone()).await, 403).await;
    let error = error_of(
        upload(creator.access_token.clone(), b"plain text".to_vec()).await,
        422,
    )
    .await;
    assert_eq!(error["details"]["field"], "file");
    let resp = upload(creator.access_token.clone(), png.clone()).await;
    assert_eq!(resp.status().as_u16(), 201);
    let c = app.campaign(campaign).await;
    let url = c["images"][0]["url"].as_str().expect("url");
    let fetched = reqwest::get(url)
        .await
        .expect("get image")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(fetched.as_ref(), png.as_slice());
}

#[tokio::test]
async fn campaigns_are_listed_filtered_searched_and_paged_by_cursor() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let resp = app
            .post_json(
                "/api/campaigns",
                Some(&creator.access_token),
                &json!({"title": format!("Solar panels for school {i}"), "description": "Bringing clean electricity to rural classrooms.",
                        "goalAmount": 5_000 + i, "currency": "USD", "category": if i % 2 == 0 { "education" } else { "environment" },
                        "fundingModel": "keep_it_all"}),
            )
            .await;
        let id = resp.json::<Value>().await.expect("json")["id"]
            .as_str()
            .expect("id")
            .to_string();
        app.post_json(
            &format!("/api/campaigns/{id}/publish"),
            Some(&creator.access_token),
            &json!({}),
        )
        .await;
        ids.push(id);
    }
    let page: Value = app
        .get("/api/campaigns?limit=2")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["hasMore"], true);
    assert!(
        page.get("total").is_none(),
        "the filtered set is not counted"
    );
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["items"][0]["id"], ids[4].as_str());
    let cursor = page["nextCursor"].as_str().expect("cursor");
    let next: Value = app
        .get(&format!("/api/campaigns?limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(next["items"][0]["id"], ids[2].as_str());
    let edu: Value = app
        .get("/api/campaigns?category=education")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(edu["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(edu["hasMore"], false);
    let found: Value = app
        .get("/api/campaigns?q=electricity%20classrooms")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(found["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(found["hasMore"], false);
    let none: Value = app
        .get("/api/campaigns?q=submarine")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0));
    assert_eq!(none["hasMore"], false);
    assert_eq!(none["nextCursor"], Value::Null);
    for bad in [
        "sort=loudest",
        "limit=0",
        "limit=101",
        "page=0",
        "status=open",
        "cursor=%25%25",
    ] {
        let error = error_of(app.get(&format!("/api/campaigns?{bad}")).await, 422).await;
        assert_eq!(error["code"], "validation_failed", "{bad}");
    }
}

#[tokio::test]
async fn has_more_is_true_only_when_another_page_follows() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            app.active_campaign(&creator, "keep_it_all", 10_000)
                .await
                .to_string(),
        );
    }
    // A draft is not visible to the public and must not make a page look unfinished.
    let draft = app
        .post_json(
            "/api/campaigns",
            Some(&creator.access_token),
            &json!({"title": "A draft campaign", "description": "Not published yet, so not listed.",
                    "goalAmount": 5_000, "currency": "USD", "category": "community",
                    "fundingModel": "keep_it_all"}),
        )
        .await;
    assert_eq!(draft.status().as_u16(), 201);
    let list = |query: String| {
        let app = &app;
        async move {
            let resp = app.get(&format!("/api/campaigns?{query}")).await;
            assert_eq!(resp.status().as_u16(), 200, "{query}");
            let page: Value = resp.json().await.expect("json");
            let ids: Vec<String> = page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_string())
                .collect();
            (page, ids)
        }
    };

    // Offset paging.
    let (first, first_ids) = list("limit=2&page=1".into()).await;
    assert_eq!(first_ids, vec![ids[2].clone(), ids[1].clone()]);
    assert_eq!(first["hasMore"], true);
    let (second, second_ids) = list("limit=2&page=2".into()).await;
    assert_eq!(second_ids, vec![ids[0].clone()]);
    assert_eq!(second["hasMore"], false);
    // Every sort pages the same whether a page is read at once or cut past an offset first.
    for sort in ["newest", "most_raised", "ending_soon", "featured"] {
        let (_, whole) = list(format!("sort={sort}&limit=3&page=1")).await;
        let mut paged = Vec::new();
        for page in 1..=3 {
            paged.extend(list(format!("sort={sort}&limit=1&page={page}")).await.1);
        }
        assert_eq!(paged, whole, "sort={sort}");
    }
    // A full last page does not promise another.
    let (all, all_ids) = list("limit=3&page=1".into()).await;
    assert_eq!(all_ids.len(), 3);
    assert_eq!(all["hasMore"], false);
    assert_eq!(all["nextCursor"], Value::Null);

    // Keyset paging: the cursor is handed out only while a page follows.
    let cursor = first["nextCursor"].as_str().expect("cursor on page 1");
    let resp = app
        .get(&format!("/api/campaigns?limit=2&cursor={cursor}"))
        .await;
    let last: Value = resp.json().await.expect("json");
    assert_eq!(last["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(last["items"][0]["id"], ids[0].as_str());
    assert_eq!(last["hasMore"], false);
    assert_eq!(last["nextCursor"], Value::Null);

    // The same answers again, now from the page cache.
    let (cached, _) = list("limit=2&page=1".into()).await;
    assert_eq!(cached["hasMore"], true);
    let (cached, _) = list("limit=2&page=2".into()).await;
    assert_eq!(cached["hasMore"], false);
}

#[tokio::test]
async fn creating_a_campaign_validates_every_field() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let valid = json!({"title": "Library books", "description": "Books for the village library, for all ages.",
                       "goalAmount": 5_000, "currency": "USD", "category": "education", "fundingModel": "keep_it_all"});
    for (field, value) in [
        ("title", json!("abc")),
        ("description", json!("too short")),
        ("goalAmount", json!(5)),
        ("currency", json!("EUR")),
        ("category", json!("gambling")),
        ("fundingModel", json!("some")),
        ("deadline", json!("2001-01-01T00:00:00Z")),
    ] {
        let mut body = valid.clone();
        body[field] = value;
        let error = error_of(
            app.post_json("/api/campaigns", Some(&creator.access_token), &body)
                .await,
            422,
        )
        .await;
        assert_eq!(error["details"]["field"], field);
    }
    assert_eq!(app.count("select count(*) from campaigns").await, 0);
}

#[tokio::test]
async fn donations_keep_working_while_redis_is_down() {
    let redis = crate::helpers::PrivateRedis::start();
    let app = crate::helpers::spawn_app_with(&[("REDIS_URL", &redis.url())]).await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    drop(redis);
    let resp = app.donate(&donor, campaign, 1_000, "during-outage").await;
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(app.campaign(campaign).await["raisedAmount"], 1_000);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn live_totals_reach_viewers_connected_to_another_api_instance() {
    let app = spawn_app().await;
    let other = crate::helpers::start(app.app.clone(), app.db_name.clone()).await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let mut stream = other
        .get(&format!("/api/campaigns/{campaign}/events"))
        .await
        .bytes_stream();
    let mut seen =
        String::from_utf8_lossy(&stream.next().await.expect("event").expect("bytes")).to_string();
    assert_eq!(
        app.donate(&donor, campaign, 4_321, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("\"raisedAmount\":4321") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("update in time")
            .expect("event")
            .expect("bytes");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_admin_dashboard_is_cached_for_an_hour_and_counts_cache_use() {
    let app = spawn_app().await;
    let (admin, user, donor) = (
        app.register_admin().await,
        app.register().await,
        app.register().await,
    );
    error_of(
        app.get_auth("/api/admin/dashboard", &user.access_token)
            .await,
        403,
    )
    .await;
    let first: Value = app
        .get_auth("/api/admin/dashboard", &admin.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(first["totals"]["users"], 3);
    app.fund(&donor, 1_000).await;
    let second: Value = app
        .get_auth("/api/admin/dashboard", &admin.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        second["computedAt"], first["computedAt"],
        "served from the cache"
    );
    assert_eq!(second["totals"]["walletBalances"], 0);
    assert!(second["cache"]["hits"].as_u64() >= Some(1));
}

#[tokio::test]
async fn reaching_the_goal_records_one_goal_reached_event() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 20_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 5_000).await;
    let goal_events = "select count(*) from outbox where kind = 'campaign.goal_reached'";
    assert_eq!(
        app.donate(&donor, campaign, 3_000, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(app.count(goal_events).await, 0);
    assert_eq!(
        app.donate(&donor, campaign, 3_000, "2")
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(app.count(goal_events).await, 1);
    assert_eq!(
        app.donate(&donor, campaign, 1_000, "3")
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(app.count(goal_events).await, 1);
}

#[tokio::test]
async fn a_new_image_shows_on_the_cached_campaign_page_at_once() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    assert_eq!(
        app.campaign(campaign).await["images"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        app.campaign(campaign).await["images"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"GIF89a-tiny".to_vec()).file_name("a.gif"),
    );
    let resp = app
        .client
        .post(app.url(&format!("/api/campaigns/{campaign}/images")))
        .bearer_auth(&creator.access_token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(
        app.campaign(campaign).await["images"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
