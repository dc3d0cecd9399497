//! Moderation: a suspended campaign is hidden from the public and its recurring plans pause
//! until it is reinstated; featured campaigns; every admin action in the audit log; the admin
//! dashboard's live figures.

use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app};

impl TestApp {
    async fn moderate(&self, admin: &TestUser, campaign: Uuid, action: &str, body: Value) -> Value {
        let resp = self
            .post_json(
                &format!("/api/admin/campaigns/{campaign}/{action}"),
                Some(&admin.access_token),
                &body,
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200, "{action}");
        resp.json().await.expect("json")
    }

    /// The ids on a page of `/api/campaigns{query}`, as `viewer` (anonymous without one).
    async fn listed(&self, query: &str, viewer: Option<&TestUser>) -> Vec<String> {
        let path = format!("/api/campaigns{query}");
        let resp = match viewer {
            Some(v) => self.get_auth(&path, &v.access_token).await,
            None => self.get(&path).await,
        };
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        let page: Value = resp.json().await.expect("json");
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_string())
            .collect()
    }

    /// The campaign's audit entries, oldest first: (action, reason, after).
    async fn campaign_audit(&self, campaign: Uuid) -> Vec<(String, Option<String>, Value)> {
        sqlx::query_as(
            "select action, reason, after from audit_log
             where target_type = 'campaign' and target_id = $1 order by id",
        )
        .bind(campaign.to_string())
        .fetch_all(&self.app.infra.db.write)
        .await
        .expect("audit entries")
    }

    async fn plans(&self, donor: &TestUser) -> Vec<Value> {
        let body: Value = self
            .get_auth("/api/donations/recurring", &donor.access_token)
            .await
            .json()
            .await
            .expect("json");
        body.as_array().expect("plans").clone()
    }

    async fn new_plan(&self, donor: &TestUser, campaign: Uuid, day: u32) -> String {
        let resp = self
            .post_json(
                "/api/donations/recurring",
                Some(&donor.access_token),
                &json!({"campaignId": campaign, "amount": 1_000, "dayOfMonth": day}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 201);
        let plan: Value = resp.json().await.expect("json");
        plan["id"].as_str().expect("id").to_string()
    }

    async fn plan_action(&self, donor: &TestUser, plan: &str, action: &str) -> reqwest::Response {
        self.post_json(
            &format!("/api/donations/recurring/{plan}/{action}"),
            Some(&donor.access_token),
            &json!({}),
        )
        .await
    }

    async fn dashboard(&self, admin: &TestUser) -> Value {
        let resp = self
            .get_auth("/api/admin/dashboard", &admin.access_token)
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }
}

fn status_of(plan: &Value) -> (String, Option<String>) {
    (
        plan["status"].as_str().expect("status").to_string(),
        plan["statusReason"].as_str().map(str::to_string),
    )
}

#[tokio::test]
async fn a_suspended_campaign_is_hidden_from_the_public_and_seen_by_its_creator_and_admins() {
    let app = spawn_app().await;
    let (creator, donor, stranger, admin) = (
        app.register().await,
        app.register().await,
        app.register().await,
        app.register_admin().await,
    );
    app.fund(&donor, 5_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 100_000).await;
    let id = campaign.to_string();
    let resp = app.donate(&donor, campaign, 500, "gift-1").await;
    assert_eq!(resp.status().as_u16(), 201);
    app.moderate(&admin, campaign, "feature", json!({})).await;
    // Warm the page and list caches, which the suspension must not serve to the public.
    assert_eq!(app.campaign(campaign).await["status"], "active");
    for query in ["", "?q=wells", "?featured=true", "?sort=featured"] {
        assert!(app.listed(query, None).await.contains(&id), "{query}");
    }

    let path = format!("/api/admin/campaigns/{campaign}/suspend");
    let missing = error_of(
        app.post_json(&path, Some(&admin.access_token), &json!({}))
            .await,
        422,
    )
    .await;
    assert_eq!(missing["details"]["field"], "reason");
    let blank = json!({"reason": "  "});
    let resp = app
        .post_json(&path, Some(&admin.access_token), &blank)
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "reason");
    assert_eq!(
        app.campaign(campaign).await["status"],
        "active",
        "no change without a reason"
    );
    let reason = json!({"reason": "reported as a scam"});
    let resp = app
        .post_json(&path, Some(&creator.access_token), &reason)
        .await;
    error_of(resp, 403).await;

    let suspended = app
        .moderate(&admin, campaign, "suspend", reason.clone())
        .await;
    assert_eq!(suspended["status"], "suspended");
    let resp = app
        .post_json(&path, Some(&admin.access_token), &reason)
        .await;
    assert_eq!(error_of(resp, 409).await["code"], "invalid_transition");

    let pages = ["", "/donations", "/ledger", "/events"];
    for page in pages {
        let url = format!("/api/campaigns/{campaign}{page}");
        assert_eq!(
            error_of(app.get(&url).await, 404).await["code"],
            "not_found"
        );
        let as_stranger = app.get_auth(&url, &stranger.access_token).await;
        assert_eq!(error_of(as_stranger, 404).await["code"], "not_found");
    }
    for viewer in [&creator, &admin] {
        let url = format!("/api/campaigns/{campaign}");
        let resp = app.get_auth(&url, &viewer.access_token).await;
        let detail: Value = resp.json().await.expect("json");
        assert_eq!(detail["status"], "suspended");
        for page in ["/donations", "/ledger"] {
            let url = format!("/api/campaigns/{campaign}{page}");
            let body: Value = app
                .get_auth(&url, &viewer.access_token)
                .await
                .json()
                .await
                .expect("json");
            assert_eq!(body["total"], 1, "{page}");
        }
    }

    for query in [
        "",
        "?q=wells",
        "?featured=true",
        "?sort=featured",
        "?status=suspended",
    ] {
        assert!(!app.listed(query, None).await.contains(&id), "{query}");
        assert!(
            !app.listed(query, Some(&stranger)).await.contains(&id),
            "{query}"
        );
    }
    assert_eq!(
        app.listed("?status=suspended", Some(&creator)).await,
        vec![id.clone()]
    );
    assert_eq!(
        app.listed("?status=suspended", Some(&admin)).await,
        vec![id.clone()]
    );

    let refused = app.donate(&donor, campaign, 500, "gift-2").await;
    assert_eq!(
        error_of(refused, 409).await["code"],
        "campaign_not_accepting"
    );
    assert_eq!(app.balance(&donor).await, 4_500);

    let back = app.moderate(&admin, campaign, "reinstate", json!({})).await;
    assert_eq!(back["status"], "active");
    assert_eq!(
        back["featured"], true,
        "the feature outlives the suspension"
    );
    assert_eq!(app.campaign(campaign).await["status"], "active");
    assert!(app.listed("?featured=true", None).await.contains(&id));

    let entries = app.campaign_audit(campaign).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "campaign.featured",
            "campaign.suspended",
            "campaign.reinstated"
        ]
    );
    assert_eq!(entries[1].1.as_deref(), Some("reported as a scam"));
    assert_eq!(entries[1].2["status"], "suspended");
    assert_eq!(entries[2].1, None);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn admins_feature_active_campaigns_which_lead_the_featured_sort() {
    let app = spawn_app().await;
    let (creator, admin) = (app.register().await, app.register_admin().await);
    let older = app.active_campaign(&creator, "keep_it_all", 100_000).await;
    let newer = app.active_campaign(&creator, "keep_it_all", 100_000).await;
    let (older_id, newer_id) = (older.to_string(), newer.to_string());
    assert_eq!(
        app.listed("?sort=featured", None).await,
        vec![newer_id.clone(), older_id.clone()]
    );
    assert!(app.listed("?featured=true", None).await.is_empty());

    let feature = format!("/api/admin/campaigns/{older}/feature");
    let resp = app
        .post_json(&feature, Some(&creator.access_token), &json!({}))
        .await;
    error_of(resp, 403).await;
    let draft: Value = app
        .post_json(
            "/api/campaigns",
            Some(&creator.access_token),
            &json!({"title": "A draft campaign", "description": "Not published yet, so not featurable.",
                    "goalAmount": 5_000, "currency": "USD", "category": "community",
                    "fundingModel": "keep_it_all"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let draft_path = format!(
        "/api/admin/campaigns/{}/feature",
        draft["id"].as_str().expect("id")
    );
    let resp = app
        .post_json(&draft_path, Some(&admin.access_token), &json!({}))
        .await;
    assert_eq!(error_of(resp, 409).await["code"], "invalid_transition");

    let featured = app
        .moderate(&admin, older, "feature", json!({"reason": "staff pick"}))
        .await;
    assert_eq!(featured["featured"], true);
    assert_eq!(app.campaign(older).await["featured"], true);
    assert_eq!(app.campaign(newer).await["featured"], false);
    assert_eq!(
        app.listed("?featured=true", None).await,
        vec![older_id.clone()]
    );
    assert_eq!(
        app.listed("?sort=featured", None).await,
        vec![older_id.clone(), newer_id.clone()]
    );
    assert_eq!(
        app.listed("?sort=featured&featured=true", None).await,
        vec![older_id.clone()]
    );

    let unfeatured = app
        .moderate(
            &admin,
            older,
            "unfeature",
            json!({"reason": "pick rotated"}),
        )
        .await;
    assert_eq!(unfeatured["featured"], false);
    assert!(app.listed("?featured=true", None).await.is_empty());
    assert_eq!(
        app.listed("?sort=featured", None).await,
        vec![newer_id, older_id]
    );

    app.moderate(&admin, older, "suspend", json!({"reason": "spam"}))
        .await;
    let resp = app
        .post_json(&feature, Some(&admin.access_token), &json!({}))
        .await;
    assert_eq!(error_of(resp, 409).await["code"], "invalid_transition");

    let entries = app.campaign_audit(older).await;
    let got: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|e| (e.0.as_str(), e.1.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("campaign.featured", Some("staff pick")),
            ("campaign.unfeatured", Some("pick rotated")),
            ("campaign.suspended", Some("spam")),
        ]
    );
}

#[tokio::test]
async fn a_suspension_pauses_recurring_plans_and_reinstatement_resumes_only_those() {
    let app = spawn_app().await;
    let (creator, admin) = (app.register().await, app.register_admin().await);
    let (steady, own_pause, resumer) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    for donor in [&steady, &own_pause, &resumer] {
        app.fund(donor, 10_000).await;
    }
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    let day = 3;
    let steady_plan = app.new_plan(&steady, campaign, day).await;
    let own_plan = app.new_plan(&own_pause, campaign, day).await;
    let resumer_plan = app.new_plan(&resumer, campaign, day).await;
    for (donor, plan) in [(&own_pause, &own_plan), (&resumer, &resumer_plan)] {
        assert_eq!(
            app.plan_action(donor, plan, "pause")
                .await
                .status()
                .as_u16(),
            200
        );
    }

    app.moderate(
        &admin,
        campaign,
        "suspend",
        json!({"reason": "under review"}),
    )
    .await;
    let paused = (
        String::from("paused"),
        Some(String::from("campaign_suspended")),
    );
    let by_donor = (String::from("paused"), Some(String::from("by_donor")));
    assert_eq!(status_of(&app.plans(&steady).await[0]), paused);
    assert_eq!(status_of(&app.plans(&own_pause).await[0]), by_donor);
    let entries = app.campaign_audit(campaign).await;
    assert_eq!(
        entries[0].2["recurringPlans"], 1,
        "one plan paused by the suspension"
    );

    // The suspension's pause is not the donor's to lift.
    let resp = app.plan_action(&steady, &steady_plan, "resume").await;
    assert_eq!(error_of(resp, 409).await["code"], "campaign_suspended");
    // A donor who lifts their own pause meanwhile waits for the reinstatement too: the charge
    // is refused and the plan paused again, not ended.
    assert_eq!(
        app.plan_action(&resumer, &resumer_plan, "resume")
            .await
            .status()
            .as_u16(),
        200
    );

    let later = Utc::now() + chrono::Duration::days(45);
    let run = app.app.recurring().charge_due(later).await.expect("run");
    assert_eq!((run.charged, run.ended), (0, 0));
    assert_eq!(run.paused, 1);
    assert_eq!(status_of(&app.plans(&resumer).await[0]), paused);
    for donor in [&steady, &own_pause, &resumer] {
        assert_eq!(
            app.balance(donor).await,
            10_000,
            "nothing charged while suspended"
        );
    }

    app.moderate(&admin, campaign, "reinstate", json!({"reason": "cleared"}))
        .await;
    let today = Utc::now().date_naive();
    for donor in [&steady, &resumer] {
        let plan = &app.plans(donor).await[0];
        assert_eq!(status_of(plan), (String::from("active"), None));
        let next: NaiveDate = plan["nextChargeOn"]
            .as_str()
            .expect("date")
            .parse()
            .expect("date");
        assert!(
            next >= today,
            "no charge for a month missed while suspended"
        );
    }
    assert_eq!(status_of(&app.plans(&own_pause).await[0]), by_donor);
    let entries = app.campaign_audit(campaign).await;
    assert_eq!(entries[1].2["recurringPlans"], 2);

    let next: NaiveDate = app.plans(&steady).await[0]["nextChargeOn"]
        .as_str()
        .expect("date")
        .parse()
        .expect("date");
    let at = next.and_hms_opt(6, 0, 0).expect("time").and_utc();
    let run = app.app.recurring().charge_due(at).await.expect("run");
    assert_eq!(run.charged, 2, "one month each, nothing made up");
    assert_eq!(app.balance(&steady).await, 9_000);
    assert_eq!(app.balance(&resumer).await, 9_000);
    assert_eq!(app.balance(&own_pause).await, 10_000);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_dashboard_counts_today_live_and_shows_the_pipeline() {
    let app = spawn_app().await;
    let admin = app.register_admin().await;
    let user = app.register().await;
    error_of(
        app.get_auth("/api/admin/dashboard", &user.access_token)
            .await,
        403,
    )
    .await;
    let before = app.dashboard(&admin).await;
    let today = &before["today"];
    assert_eq!(today["registrations"], 2);
    assert_eq!(today["donationsCount"], 0);
    assert_eq!(today["approvalRateBp"], Value::Null);
    assert_eq!(before["pipeline"]["deadLetters"], 0);
    assert!(
        before["pipeline"]["queues"]
            .as_array()
            .is_some_and(|q| !q.is_empty())
    );

    let (creator, donor, borrower) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&donor, 5_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 100_000).await;
    for (amount, key) in [(700, "a"), (300, "b")] {
        let resp = app.donate(&donor, campaign, amount, key).await;
        assert_eq!(resp.status().as_u16(), 201);
    }
    let resp = app
        .post_json(
            "/api/loans",
            Some(&borrower.access_token),
            &json!({"amount": 10_001, "termMonths": 12, "purpose": "A new sewing machine",
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
    // The api runs no relay here, so the outbox only grows; make its oldest event two minutes
    // old, and fail a job for good.
    sqlx::query(
        "update outbox set created_at = now() - interval '120 seconds'
         where id = (select min(id) from outbox where sent_at is null)",
    )
    .execute(&app.app.infra.db.write)
    .await
    .expect("age the outbox");
    let job = domain::jobs::kinds::Job::InvalidateCache(domain::jobs::kinds::InvalidateCache {
        keys: vec!["k".into()],
        generations: vec![],
    });
    domain::jobs::dead_letter::record(&app.app.infra.db.write, job, "boom".into(), 5, Utc::now())
        .await
        .expect("dead letter");

    let after = app.dashboard(&admin).await;
    assert_eq!(
        after["computedAt"], before["computedAt"],
        "aggregates from the cache"
    );
    let today = &after["today"];
    assert_eq!(today["registrations"], 5);
    assert_eq!(today["donationsCount"], 2);
    assert_eq!(today["donationsAmount"], 1_000);
    assert_eq!(today["newDonors"], 1);
    assert_eq!(today["campaignsCreated"], 1);
    assert_eq!(today["loansSubmitted"], 1);
    assert_eq!(today["loansApproved"], 1);
    assert_eq!(today["approvalRateBp"], 10_000);
    assert_eq!(today["defaultRateBp"], Value::Null);
    let pipeline = &after["pipeline"];
    assert!(
        pipeline["outboxLagSeconds"].as_i64() >= Some(120),
        "{pipeline}"
    );
    assert!(pipeline["outboxUnsent"].as_i64() >= Some(1));
    assert_eq!(pipeline["deadLetters"], 1);

    // A fresh computation (the cache emptied) counts the 30 days the same way.
    let mut kv = app.app.infra.kv.conn();
    let key = app.app.infra.kv.key("dashboard:v3");
    redis::cmd("DEL")
        .arg(&key)
        .query_async::<()>(&mut kv)
        .await
        .expect("drop the cached dashboard");
    let fresh = app.dashboard(&admin).await;
    assert_ne!(fresh["computedAt"], before["computedAt"]);
    let month = &fresh["last30DaysActivity"];
    for field in [
        "registrations",
        "donationsAmount",
        "newDonors",
        "loansApproved",
    ] {
        assert_eq!(month[field], today[field], "{field}");
    }
}

#[tokio::test]
async fn closing_a_campaign_ends_its_plans_even_those_a_suspension_paused() {
    let app = spawn_app().await;
    let (creator, admin) = (app.register().await, app.register_admin().await);
    let (paused_donor, closing_donor) = (app.register().await, app.register().await);
    for donor in [&paused_donor, &closing_donor] {
        app.fund(donor, 10_000).await;
    }
    // Cancelled while suspended: the plans the suspension paused end with it.
    let suspended = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    app.new_plan(&paused_donor, suspended, 3).await;
    app.moderate(
        &admin,
        suspended,
        "suspend",
        json!({"reason": "checking the documents"}),
    )
    .await;
    assert_eq!(status_of(&app.plans(&paused_donor).await[0]).0, "paused");
    let resp = app
        .post_json(
            &format!("/api/campaigns/{suspended}/cancel"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        status_of(&app.plans(&paused_donor).await[0]),
        ("ended".to_string(), Some("campaign_closed".to_string()))
    );
    // Closed at its deadline: its live plans end in the closing transaction.
    let closing = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    app.new_plan(&closing_donor, closing, 5).await;
    app.app
        .money()
        .close_due_campaigns(chrono::Utc::now() + chrono::Duration::days(31))
        .await
        .expect("close");
    assert_eq!(
        status_of(&app.plans(&closing_donor).await[0]),
        ("ended".to_string(), Some("campaign_closed".to_string()))
    );
}
