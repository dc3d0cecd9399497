//! The admin audit log: each admin action writes exactly one entry on its own transaction
//! (who, request id, before/after, reason); refused actions write none; the log is filtered,
//! paged by keyset, admins only, and append-only in SQL.

use std::collections::HashSet;

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app};

impl TestApp {
    /// An admin's request carrying `X-Request-Id: rid` (and an `Idempotency-Key` when given).
    async fn send_as(
        &self,
        method: Method,
        path: &str,
        user: &TestUser,
        rid: &str,
        idempotency_key: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&user.access_token)
            .header("X-Request-Id", rid)
            .json(body);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        req.send().await.expect("request")
    }

    /// One page of the audit log as `admin` sees it.
    async fn audit_log(&self, admin: &TestUser, query: &str) -> Value {
        let resp = self
            .get_auth(&format!("/api/admin/audit-log{query}"), &admin.access_token)
            .await;
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        resp.json().await.expect("json")
    }

    /// The entries for one target, checked to be exactly one.
    async fn only_entry(&self, admin: &TestUser, target_type: &str, target_id: &str) -> Value {
        let page = self
            .audit_log(
                admin,
                &format!("?target_type={target_type}&target_id={target_id}"),
            )
            .await;
        let entries = page["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), 1, "{target_type} {target_id}: {page}");
        entries[0].clone()
    }

    async fn audit_count(&self) -> i64 {
        self.count("select count(*) from audit_log").await
    }

    /// A loan pending review (applied and scored), by a fresh borrower.
    async fn loan_pending_review(&self) -> Uuid {
        let borrower = self.register().await;
        let resp = self
            .post_json(
                "/api/loans",
                Some(&borrower.access_token),
                &json!({"amount": 10_000, "termMonths": 6, "purpose": "A new sewing machine",
                        "description": "To take on more orders from the market every week."}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 201);
        let id = resp.json::<Value>().await.expect("json")["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("id");
        self.app.loans().score(id).await.expect("scores");
        id
    }

    /// A donation of 3,000 to a fresh campaign; returns its id.
    async fn donation(&self) -> String {
        let (creator, donor) = (self.register().await, self.register().await);
        self.fund(&donor, 10_000).await;
        let campaign = self.active_campaign(&creator, "keep_it_all", 50_000).await;
        let resp = self
            .donate(&donor, campaign, 3_000, &Uuid::new_v4().to_string())
            .await;
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.expect("json");
        body["id"].as_str().expect("id").to_string()
    }
}

fn assert_entry(entry: &Value, admin: &TestUser, action: &str, rid: &str) {
    assert_eq!(entry["action"], action, "{entry}");
    assert_eq!(entry["actorId"], admin.id.to_string(), "{entry}");
    assert_eq!(entry["actorEmail"], admin.email.as_str(), "{entry}");
    assert_eq!(entry["requestId"], rid, "{entry}");
}

#[tokio::test]
async fn each_admin_action_writes_one_entry_with_who_why_and_what_changed() {
    let app = spawn_app().await;
    let admin = app.register_admin().await;
    assert_eq!(app.audit_count().await, 0);

    // User moderation.
    let user = app.register().await;
    let resp = app
        .send_as(
            Method::PATCH,
            &format!("/api/admin/users/{}", user.id),
            &admin,
            "rid-user",
            None,
            &json!({"tier": "premium"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let e = app.only_entry(&admin, "user", &user.id.to_string()).await;
    assert_entry(&e, &admin, "user.updated", "rid-user");
    assert_eq!(
        e["before"],
        json!({"role": "user", "tier": "standard", "is_active": true})
    );
    assert_eq!(
        e["after"],
        json!({"role": "user", "tier": "premium", "is_active": true})
    );
    assert_eq!(e["reason"], Value::Null);

    // A refund, with its reason (trimmed).
    let donation = app.donation().await;
    let resp = app
        .send_as(
            Method::POST,
            &format!("/api/admin/donations/{donation}/refund"),
            &admin,
            "rid-refund",
            Some("k1"),
            &json!({"reason": "  duplicate gift  "}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let e = app.only_entry(&admin, "donation", &donation).await;
    assert_entry(&e, &admin, "donation.refunded", "rid-refund");
    assert_eq!(e["before"], json!({"status": "completed", "amount": 3_000}));
    assert_eq!(e["after"], json!({"status": "refunded", "amount": 3_000}));
    assert_eq!(e["reason"], "duplicate gift");
    // A replay of the refund moves nothing and records nothing more.
    let resp = app
        .send_as(
            Method::POST,
            &format!("/api/admin/donations/{donation}/refund"),
            &admin,
            "rid-refund-again",
            Some("k1"),
            &json!({"reason": "duplicate gift"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    app.only_entry(&admin, "donation", &donation).await;

    // Loan decisions.
    let approved = app.loan_pending_review().await;
    let resp = app
        .send_as(
            Method::POST,
            &format!("/api/admin/loans/{approved}/approve"),
            &admin,
            "rid-approve",
            None,
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let e = app.only_entry(&admin, "loan", &approved.to_string()).await;
    assert_entry(&e, &admin, "loan.approved", "rid-approve");
    assert_eq!(e["before"], json!({"status": "pending_review"}));
    assert_eq!(e["after"], json!({"status": "fundraising"}));

    let rejected = app.loan_pending_review().await;
    let resp = app
        .send_as(
            Method::POST,
            &format!("/api/admin/loans/{rejected}/reject"),
            &admin,
            "rid-reject",
            None,
            &json!({"reason": "income not shown"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let e = app.only_entry(&admin, "loan", &rejected.to_string()).await;
    assert_entry(&e, &admin, "loan.rejected", "rid-reject");
    assert_eq!(e["before"], json!({"status": "pending_review"}));
    assert_eq!(e["after"], json!({"status": "rejected"}));
    assert_eq!(e["reason"], "income not shown");

    // The way to default is long (tests/api/loans.rs walks it); here the loan is put there.
    let defaulted = app.loan_pending_review().await;
    sqlx::query(
        "update loans set status = 'defaulted', total_due = 10500, repaid_amount = 2000,
                funded_amount = amount, disbursed_at = now()
         where id = $1",
    )
    .bind(defaulted)
    .execute(&app.app.infra.db.write)
    .await
    .expect("default");
    let resp = app
        .send_as(
            Method::POST,
            &format!("/api/admin/loans/{defaulted}/write-off"),
            &admin,
            "rid-write-off",
            None,
            &json!({"reason": "borrower unreachable"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let e = app.only_entry(&admin, "loan", &defaulted.to_string()).await;
    assert_entry(&e, &admin, "loan.written_off", "rid-write-off");
    assert_eq!(
        e["before"],
        json!({"status": "defaulted", "outstanding": 8_500})
    );
    assert_eq!(e["after"], json!({"status": "written_off"}));
    assert_eq!(e["reason"], "borrower unreachable");

    // A dead letter sent back to its queue.
    let job = domain::jobs::kinds::Job::InvalidateCache(domain::jobs::kinds::InvalidateCache {
        keys: vec!["k".into()],
        generations: vec![],
    });
    let letter = domain::jobs::dead_letter::record(
        &app.app.infra.db.write,
        job,
        "boom".into(),
        5,
        Utc::now(),
    )
    .await
    .expect("record");
    let resp = app
        .send_as(
            Method::POST,
            &format!("/api/admin/jobs/dead-letters/{}/retry", letter.id),
            &admin,
            "rid-retry",
            None,
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let e = app
        .only_entry(&admin, "dead_letter", &letter.id.to_string())
        .await;
    assert_entry(&e, &admin, "dead_letter.retried", "rid-retry");
    assert_eq!(
        e["before"],
        json!({"state": "dead", "queue": "invalidate_cache", "attempts": 5})
    );
    assert_eq!(
        e["after"],
        json!({"state": "queued", "queue": "invalidate_cache", "attempts": 0})
    );

    // An admin stops someone else's campaign's recurring donations.
    let (creator, donor) = (app.register().await, app.register().await);
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let resp = app
        .post_json(
            "/api/donations/recurring",
            Some(&donor.access_token),
            &json!({"campaignId": campaign, "amount": 1_000, "dayOfMonth": 3}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let resp = app
        .send_as(
            Method::POST,
            &format!("/api/campaigns/{campaign}/recurring/stop"),
            &admin,
            "rid-stop",
            None,
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let e = app
        .only_entry(&admin, "campaign", &campaign.to_string())
        .await;
    assert_entry(&e, &admin, "recurring.stopped", "rid-stop");
    assert_eq!(e["before"], json!({"live_plans": 1}));
    assert_eq!(e["after"], json!({"live_plans": 0}));

    // A report request.
    let today = Utc::now().date_naive().to_string();
    let resp = app
        .send_as(
            Method::POST,
            "/api/admin/reports",
            &admin,
            "rid-report",
            None,
            &json!({"kind": "loan_book", "from": today, "to": today}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let report = resp.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let e = app.only_entry(&admin, "report", &report).await;
    assert_entry(&e, &admin, "report.requested", "rid-report");
    assert_eq!(e["before"], Value::Null);
    assert_eq!(
        e["after"],
        json!({"kind": "loan_book", "from": today, "to": today})
    );

    // One entry per action, nothing else.
    assert_eq!(app.audit_count().await, 8);
}

#[tokio::test]
async fn refused_actions_write_no_entry_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.register_admin().await;

    // A refund without a reason (missing, blank or too long) refunds nothing.
    let donation = app.donation().await;
    let path = format!("/api/admin/donations/{donation}/refund");
    let long = "x".repeat(1001);
    for (i, body) in [
        json!({}),
        json!({"reason": null}),
        json!({"reason": "   "}),
        json!({"reason": long}),
    ]
    .iter()
    .enumerate()
    {
        let resp = app
            .post_idem(&path, &admin.access_token, &format!("k{i}"), body)
            .await;
        assert_eq!(
            error_of(resp, 422).await["details"]["field"],
            "reason",
            "{body}"
        );
    }
    assert_eq!(
        app.count("select count(*) from donations where status = 'refunded'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from idempotency_keys where key like 'k%'")
            .await,
        0
    );

    // A write-off without a reason leaves the loan defaulted.
    let loan = app.loan_pending_review().await;
    sqlx::query(
        "update loans set status = 'defaulted', total_due = 10000, funded_amount = amount,
                disbursed_at = now()
         where id = $1",
    )
    .bind(loan)
    .execute(&app.app.infra.db.write)
    .await
    .expect("default");
    let resp = app
        .post_json(
            &format!("/api/admin/loans/{loan}/write-off"),
            Some(&admin.access_token),
            &json!({"reason": ""}),
        )
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "reason");
    // A rejection of a loan not under review is an invalid transition.
    let resp = app
        .post_json(
            &format!("/api/admin/loans/{loan}/reject"),
            Some(&admin.access_token),
            &json!({"reason": "too late for that"}),
        )
        .await;
    assert_eq!(error_of(resp, 409).await["code"], "invalid_transition");
    let status: String = sqlx::query_scalar("select status from loans where id = $1")
        .bind(loan)
        .fetch_one(&app.app.infra.db.write)
        .await
        .expect("status");
    assert_eq!(status, "defaulted");

    // An admin may not demote themselves.
    let resp = app
        .client
        .patch(app.url(&format!("/api/admin/users/{}", admin.id)))
        .bearer_auth(&admin.access_token)
        .json(&json!({"role": "user"}))
        .send()
        .await
        .expect("request");
    assert_eq!(error_of(resp, 422).await["code"], "cannot_moderate_self");

    // A creator stopping their own campaign's plans uses no admin power.
    let creator = app.register_admin().await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let resp = app
        .post_json(
            &format!("/api/campaigns/{campaign}/recurring/stop"),
            Some(&creator.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);

    assert_eq!(app.audit_count().await, 0);
}

#[tokio::test]
async fn the_log_is_filtered_and_paged_newest_first_without_overlap() {
    let app = spawn_app().await;
    let (admin, other) = (app.register_admin().await, app.register_admin().await);
    let user = app.register().await;
    let today = Utc::now().date_naive().to_string();
    let report = json!({"kind": "loan_book", "from": today, "to": today});
    for _ in 0..3 {
        let resp = app
            .post_json("/api/admin/reports", Some(&admin.access_token), &report)
            .await;
        assert_eq!(resp.status().as_u16(), 202);
    }
    for tier in ["premium", "standard"] {
        let resp = app
            .client
            .patch(app.url(&format!("/api/admin/users/{}", user.id)))
            .bearer_auth(&other.access_token)
            .json(&json!({"tier": tier}))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 200);
    }

    // Two pages of three and two, newest first, the cursor absent at the end.
    let first = app.audit_log(&admin, "?limit=3").await;
    let first_ids: Vec<i64> = first["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(first_ids.len(), 3);
    assert!(first_ids.windows(2).all(|w| w[0] > w[1]), "{first_ids:?}");
    let cursor = first["nextBefore"].as_i64().expect("a next page");
    let second = app
        .audit_log(&admin, &format!("?limit=3&before={cursor}"))
        .await;
    let second_ids: Vec<i64> = second["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(second_ids.len(), 2);
    assert_eq!(second["nextBefore"], Value::Null);
    let all: HashSet<i64> = first_ids.iter().chain(&second_ids).copied().collect();
    assert_eq!(all.len(), 5, "no entry on both pages");
    assert!(second_ids.iter().all(|id| *id < first_ids[2]));
    // The newest entries are the tier changes.
    assert_eq!(first["entries"][0]["action"], "user.updated");
    assert_eq!(first["entries"][0]["after"]["tier"], "standard");

    let count = |page: &Value| page["entries"].as_array().map_or(0, Vec::len);
    let by_action = app.audit_log(&admin, "?action=report.requested").await;
    assert_eq!(count(&by_action), 3);
    assert!(
        by_action["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["actorId"] == admin.id.to_string())
    );
    let by_actor = app.audit_log(&admin, &format!("?actor={}", other.id)).await;
    assert_eq!(count(&by_actor), 2);
    let by_target = app
        .audit_log(
            &admin,
            &format!("?target_type=user&target_id={}&limit=1", user.id),
        )
        .await;
    assert_eq!(count(&by_target), 1);
    assert!(by_target["nextBefore"].is_i64());
    let hour = chrono::Duration::hours(1);
    let period = |from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>| {
        format!(
            "?from={}&to={}",
            from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    };
    let now = Utc::now();
    assert_eq!(
        count(&app.audit_log(&admin, &period(now - hour, now + hour)).await),
        5
    );
    assert_eq!(
        count(
            &app.audit_log(&admin, &period(now + hour, now + hour * 2))
                .await
        ),
        0
    );

    // Bad filters name the parameter.
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?action=user.deleted", "action"),
    ] {
        let resp = app
            .get_auth(&format!("/api/admin/audit-log{query}"), &admin.access_token)
            .await;
        assert_eq!(
            error_of(resp, 422).await["details"]["field"],
            field,
            "{query}"
        );
    }
    let to_before_from = period(now, now - hour);
    let resp = app
        .get_auth(
            &format!("/api/admin/audit-log{to_before_from}"),
            &admin.access_token,
        )
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "to");
}

#[tokio::test]
async fn only_admins_read_the_log() {
    let app = spawn_app().await;
    let user = app.register().await;
    let resp = app.get("/api/admin/audit-log").await;
    error_of(resp, 401).await;
    let resp = app
        .get_auth("/api/admin/audit-log", &user.access_token)
        .await;
    assert_eq!(error_of(resp, 403).await["code"], "forbidden");
}

#[tokio::test]
async fn the_log_is_append_only_in_sql() {
    let app = spawn_app().await;
    let admin = app.register_admin().await;
    let today = Utc::now().date_naive().to_string();
    let resp = app
        .post_json(
            "/api/admin/reports",
            Some(&admin.access_token),
            &json!({"kind": "loan_book", "from": today, "to": today}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let db = &app.app.infra.db.write;
    for sql in [
        "update audit_log set reason = 'rewritten'",
        "delete from audit_log",
        "truncate audit_log",
    ] {
        let error = sqlx::query(sql).execute(db).await.expect_err(sql);
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    assert_eq!(app.audit_count().await, 1);
}
