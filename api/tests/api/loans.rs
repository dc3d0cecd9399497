//! Microloans over HTTP: apply, score, approve, lend, disburse, repay, arrears and expiry, with
//! the ledger audited after every step.

use chrono::{DateTime, Duration, Months, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app, spawn_app_with};

fn id_of(body: &Value) -> Uuid {
    body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id")
}

fn statuses(detail: &Value) -> Vec<String> {
    detail["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|t| t["toStatus"].as_str().expect("status").to_string())
        .collect()
}

impl TestApp {
    async fn apply_loan(&self, borrower: &TestUser, amount: i64, term: i32) -> reqwest::Response {
        self.post_json(
            "/api/loans",
            Some(&borrower.access_token),
            &json!({"amount": amount, "termMonths": term, "purpose": "A new sewing machine",
                    "description": "To take on more orders from the market every week."}),
        )
        .await
    }

    /// Applies, scores (as the worker's job would) and approves; returns the loan id.
    pub(crate) async fn fundraising_loan(
        &self,
        borrower: &TestUser,
        admin: &TestUser,
        amount: i64,
        term: i32,
    ) -> Uuid {
        let resp = self.apply_loan(borrower, amount, term).await;
        assert_eq!(resp.status().as_u16(), 201);
        let id = id_of(&resp.json().await.expect("json"));
        self.app.loans().score(id).await.expect("scores");
        let resp = self
            .post_json(
                &format!("/api/admin/loans/{id}/approve"),
                Some(&admin.access_token),
                &json!({}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        id
    }

    pub(crate) async fn lend(
        &self,
        lender: &TestUser,
        loan: Uuid,
        amount: i64,
    ) -> reqwest::Response {
        self.post_idem(
            &format!("/api/loans/{loan}/lend"),
            &lender.access_token,
            &Uuid::new_v4().to_string(),
            &json!({"amount": amount}),
        )
        .await
    }

    pub(crate) async fn repay(
        &self,
        borrower: &TestUser,
        loan: Uuid,
        amount: i64,
    ) -> reqwest::Response {
        self.post_idem(
            &format!("/api/loans/{loan}/repayments"),
            &borrower.access_token,
            &Uuid::new_v4().to_string(),
            &json!({"amount": amount}),
        )
        .await
    }

    pub(crate) async fn loan_as(&self, user: &TestUser, id: Uuid) -> Value {
        let resp = self
            .get_auth(&format!("/api/loans/{id}"), &user.access_token)
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }

    pub(crate) async fn schedule_of(&self, id: Uuid) -> Value {
        let resp = self.get(&format!("/api/loans/{id}/schedule")).await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }

    /// A funded lender.
    pub(crate) async fn lender(&self, amount: i64) -> TestUser {
        let u = self.register().await;
        self.fund(&u, amount).await;
        u
    }
}

#[tokio::test]
async fn a_loan_goes_from_application_to_repaid_with_the_books_balanced_at_every_step() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let stranger = app.register().await;

    let resp = app.apply_loan(&borrower, 12_000, 3).await;
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.expect("json");
    let id = id_of(&body);
    assert_eq!(body["status"], "scoring", "waits in scoring until scored");
    assert_eq!(statuses(&body), ["submitted", "scoring"]);
    assert_eq!(
        app.count("select count(*) from outbox where kind = 'loan.submitted'")
            .await,
        1
    );
    // Not public until approved.
    assert_eq!(
        app.get(&format!("/api/loans/{id}")).await.status().as_u16(),
        404
    );
    let resp = app
        .get_auth(&format!("/api/loans/{id}"), &stranger.access_token)
        .await;
    assert_eq!(resp.status().as_u16(), 404);

    // Scoring runs once however often the job is delivered.
    let first = app
        .app
        .loans()
        .score(id)
        .await
        .expect("scores")
        .expect("a score");
    let again = app
        .app
        .loans()
        .score(id)
        .await
        .expect("again")
        .expect("the same score");
    assert_eq!(first.score, again.score);
    assert_eq!(first.factors, again.factors);
    assert!((0..=1000).contains(&first.score));

    let queue: Value = app
        .get_auth(
            "/api/admin/loans?status=pending_review",
            &admin.access_token,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(queue["total"], 1);
    let entry = &queue["items"][0];
    assert_eq!(entry["id"], id.to_string());
    assert_eq!(entry["score"]["score"], first.score);
    assert_eq!(entry["recommended"], first.score >= 600);
    assert!(
        !entry["score"]["factors"]
            .as_array()
            .expect("factors")
            .is_empty()
    );

    let resp = app
        .post_json(
            &format!("/api/admin/loans/{id}/approve"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let approved: Value = resp.json().await.expect("json");
    assert_eq!(approved["status"], "fundraising");
    assert!(approved["fundraisingDeadline"].is_string());

    // Public now, without the private parts.
    let public: Value = app
        .get(&format!("/api/loans/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(public["status"], "fundraising");
    assert!(public["score"].is_null() && public["transitions"].is_null());
    let list: Value = app.get("/api/loans").await.json().await.expect("json");
    assert_eq!(list["total"], 1);
    app.assert_books_balance().await;

    let a = app.lender(10_000).await;
    let b = app.lender(10_000).await;
    let resp = app.lend(&a, id, 5_000).await;
    assert_eq!(resp.status().as_u16(), 201);
    app.assert_books_balance().await;
    let resp = app.lend(&b, id, 7_000).await;
    assert_eq!(resp.status().as_u16(), 201);
    let share: Value = resp.json().await.expect("json");
    assert_eq!(share["loanStatus"], "active", "the last share disburses");
    app.assert_books_balance().await;
    assert_eq!(app.balance(&borrower).await, 12_000);
    assert_eq!(app.balance(&a).await, 5_000);
    assert_eq!(app.balance(&b).await, 3_000);

    let schedule = app.schedule_of(id).await;
    let installments = schedule["installments"].as_array().expect("list");
    assert_eq!(installments.len(), 3);
    let sum: i64 = installments
        .iter()
        .map(|i| i["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(Some(sum), schedule["totalDue"].as_i64());
    assert_eq!(sum, 12_000, "0% by default");

    // Oldest installments first; lenders paid pro rata (5:7) at once.
    let resp = app.repay(&borrower, id, 6_000).await;
    assert_eq!(resp.status().as_u16(), 201);
    let repayment: Value = resp.json().await.expect("json");
    assert_eq!(repayment["outstanding"], 6_000);
    assert_eq!(app.balance(&a).await, 5_000 + 2_500);
    assert_eq!(app.balance(&b).await, 3_000 + 3_500);
    let schedule = app.schedule_of(id).await;
    assert_eq!(schedule["installments"][0]["status"], "paid");
    assert_eq!(schedule["installments"][1]["paidAmount"], 2_000);
    app.assert_books_balance().await;

    let resp = app.repay(&borrower, id, 6_000).await;
    assert_eq!(resp.status().as_u16(), 201);
    let last: Value = resp.json().await.expect("json");
    assert_eq!(last["loanStatus"], "repaid");
    assert_eq!(app.balance(&a).await, 10_000);
    assert_eq!(app.balance(&b).await, 10_000);
    assert_eq!(app.balance(&borrower).await, 0);
    app.assert_books_balance().await;

    let detail = app.loan_as(&borrower, id).await;
    assert_eq!(
        statuses(&detail),
        [
            "submitted",
            "scoring",
            "pending_review",
            "fundraising",
            "funded",
            "active",
            "repaid"
        ]
    );
    assert!(detail["closedAt"].is_string());
    assert_eq!(detail["lendersCount"], 2);
    let resp = app.repay(&borrower, id, 100).await;
    assert_eq!(error_of(resp, 409).await["code"], "loan_not_repayable");
}

#[tokio::test]
async fn repayments_are_split_pro_rata_with_awkward_amounts_and_sum_exactly_to_the_cent() {
    let app = spawn_app_with(&[("LOAN_MIN_SHARE", "1")]).await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let id = app.fundraising_loan(&borrower, &admin, 10_001, 12).await;
    let shares = [2_501, 3_333, 4_167];
    let mut lenders = Vec::new();
    for amount in shares {
        let l = app.lender(amount).await;
        assert_eq!(app.lend(&l, id, amount).await.status().as_u16(), 201);
        lenders.push(l);
    }
    app.fund(&borrower, 1_000).await;
    let mut received = [0i64; 3];
    for amount in [1, 7, 333, 1_001, 2_999] {
        let resp = app.repay(&borrower, id, amount).await;
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.expect("json");
        let parts = body["distributions"].as_array().expect("parts");
        let total: i64 = parts.iter().map(|p| p["amount"].as_i64().expect("n")).sum();
        assert_eq!(total, amount, "parts sum exactly to {amount}");
        for p in parts {
            let who = lenders
                .iter()
                .position(|l| p["lenderId"] == l.id.to_string())
                .expect("a lender");
            let part = p["amount"].as_i64().expect("n");
            let exact = amount as f64 * shares[who] as f64 / 10_001.0;
            assert!((part as f64 - exact).abs() < 1.0, "{part} vs {exact}");
            received[who] += part;
        }
        app.assert_books_balance().await;
    }
    for (who, lender) in lenders.iter().enumerate() {
        assert_eq!(app.balance(lender).await, received[who]);
    }
    let repaid: i64 = [1, 7, 333, 1_001, 2_999].iter().sum();
    assert_eq!(app.balance(&borrower).await, 10_001 + 1_000 - repaid);
    // More than is owed names the field and moves nothing.
    let resp = app.repay(&borrower, id, 10_001).await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "amount");
    app.assert_books_balance().await;
}

#[tokio::test]
async fn concurrent_lenders_racing_for_the_last_shares_never_over_fund_a_loan() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let id = app.fundraising_loan(&borrower, &admin, 10_000, 6).await;
    let first = app.lender(2_500).await;
    assert_eq!(app.lend(&first, id, 2_500).await.status().as_u16(), 201);

    // 7,500 remain: ten lenders race for 2,500 each; exactly three can win.
    let mut racers = Vec::new();
    for _ in 0..10 {
        racers.push(app.lender(2_500).await);
    }
    let results = futures::future::join_all(racers.iter().map(|l| app.lend(l, id, 2_500))).await;
    let mut won = 0;
    for (resp, lender) in results.into_iter().zip(&racers) {
        match resp.status().as_u16() {
            201 => {
                won += 1;
                assert_eq!(app.balance(lender).await, 0);
            }
            409 => {
                let code = error_of(resp, 409).await["code"].clone();
                assert!(
                    code == "exceeds_remaining" || code == "loan_not_fundraising",
                    "{code}"
                );
                assert_eq!(
                    app.balance(lender).await,
                    2_500,
                    "a loser keeps their money"
                );
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(won, 3);
    let detail = app.loan_as(&borrower, id).await;
    assert_eq!(detail["fundedAmount"], 10_000);
    assert_eq!(detail["status"], "active");
    assert_eq!(app.balance(&borrower).await, 10_000);
    assert_eq!(
        app.count("select count(*) from loan_installments").await,
        6,
        "the schedule was fixed once"
    );
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_retried_share_with_the_same_key_moves_money_once() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let id = app.fundraising_loan(&borrower, &admin, 10_000, 6).await;
    let lender = app.lender(5_000).await;
    let path = format!("/api/loans/{id}/lend");
    let body = json!({"amount": 3_000});
    let send = || app.post_idem(&path, &lender.access_token, "share-1", &body);
    let (a, b) = tokio::join!(send(), send());
    assert_eq!(a.status().as_u16(), 201);
    assert_eq!(b.status().as_u16(), 201);
    let (a, b): (Value, Value) = (a.json().await.expect("j"), b.json().await.expect("j"));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(app.balance(&lender).await, 2_000);
    let resp = app
        .post_idem(
            &path,
            &lender.access_token,
            "share-1",
            &json!({"amount": 2_500}),
        )
        .await;
    assert_eq!(error_of(resp, 422).await["code"], "idempotency_key_reused");
    app.assert_books_balance().await;
}

#[tokio::test]
async fn schedules_with_interest_sum_exactly_to_what_is_owed() {
    let app = spawn_app_with(&[("LOAN_ANNUAL_RATE_BP", "1250")]).await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let id = app.fundraising_loan(&borrower, &admin, 100_003, 7).await;
    let lender = app.lender(100_003).await;
    assert_eq!(app.lend(&lender, id, 100_003).await.status().as_u16(), 201);
    let schedule = app.schedule_of(id).await;
    let items = schedule["installments"].as_array().expect("list");
    assert_eq!(items.len(), 7);
    let field =
        |name: &str| -> Vec<i64> { items.iter().map(|i| i[name].as_i64().expect("n")).collect() };
    let (amounts, principal) = (field("amount"), field("principal"));
    assert_eq!(principal.iter().sum::<i64>(), 100_003);
    let total: i64 = amounts.iter().sum();
    assert_eq!(Some(total), schedule["totalDue"].as_i64());
    assert!(total > 100_003, "interest is charged");
    assert!(amounts[..6].iter().all(|a| *a == amounts[0]), "{amounts:?}");
    assert!(amounts[6] <= amounts[0]);
    // Repaying everything owed closes the loan and the lender gets principal and interest.
    app.fund(&borrower, total - 100_003).await;
    let resp = app.repay(&borrower, id, total).await;
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(app.balance(&lender).await, total);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_loan_goes_late_then_defaults_on_a_controlled_clock_and_an_admin_writes_it_off() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let user = app.register().await;
    let id = app.fundraising_loan(&borrower, &admin, 12_000, 4).await;
    let lender = app.lender(12_000).await;
    assert_eq!(app.lend(&lender, id, 12_000).await.status().as_u16(), 201);
    let detail = app.loan_as(&borrower, id).await;
    let disbursed: DateTime<Utc> = detail["disbursedAt"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("disbursed");
    let month = |n: u32| disbursed.checked_add_months(Months::new(n)).expect("date");
    let loans = app.app.loans();

    let sweep = loans
        .review_arrears(month(1) - Duration::hours(1))
        .await
        .expect("runs");
    assert_eq!(sweep.late, 0, "nothing is due yet");
    let sweep = loans
        .review_arrears(month(1) + Duration::days(1))
        .await
        .expect("runs");
    assert_eq!(sweep.late, 1);
    assert_eq!(app.loan_as(&borrower, id).await["status"], "late");
    assert_eq!(
        app.count("select count(*) from outbox where kind = 'loan.late'")
            .await,
        1
    );
    // Running the same day again changes nothing.
    let again = loans
        .review_arrears(month(1) + Duration::days(1))
        .await
        .expect("runs");
    assert_eq!((again.late, again.defaulted, again.cured), (0, 0, 0));

    // Paying the overdue installment brings the loan back to active on the next run.
    let resp = app.repay(&borrower, id, 3_000).await;
    assert_eq!(resp.status().as_u16(), 201);
    let sweep = loans
        .review_arrears(month(1) + Duration::days(2))
        .await
        .expect("runs");
    assert_eq!(sweep.cured, 1);
    assert_eq!(app.loan_as(&borrower, id).await["status"], "active");
    app.assert_books_balance().await;

    // Installment 2 unpaid for more than 90 days: late and defaulted in one run.
    let sweep = loans
        .review_arrears(month(2) + Duration::days(90))
        .await
        .expect("runs");
    assert_eq!(sweep.defaulted, 0, "90 days is not more than 90");
    assert_eq!(sweep.late, 1);
    let sweep = loans
        .review_arrears(month(2) + Duration::days(91))
        .await
        .expect("runs");
    assert_eq!(sweep.defaulted, 1);
    let detail = app.loan_as(&borrower, id).await;
    assert_eq!(detail["status"], "defaulted");
    assert_eq!(
        statuses(&detail)[5..],
        ["active", "late", "active", "late", "defaulted"]
    );
    assert_eq!(
        app.count("select count(*) from outbox where kind = 'loan.defaulted'")
            .await,
        1
    );
    let resp = app.repay(&borrower, id, 1_000).await;
    assert_eq!(error_of(resp, 409).await["code"], "loan_not_repayable");

    let path = format!("/api/admin/loans/{id}/write-off");
    let resp = app
        .post_json(&path, Some(&user.access_token), &json!({}))
        .await;
    assert_eq!(error_of(resp, 403).await["code"], "forbidden");
    let reason = json!({"reason": "no repayment in four months"});
    let resp = app
        .post_json(&path, Some(&admin.access_token), &reason)
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "written_off");
    let last = &body["transitions"]
        .as_array()
        .expect("list")
        .last()
        .cloned()
        .expect("one");
    assert_eq!(last["actorId"], admin.id.to_string());
    let resp = app
        .post_json(&path, Some(&admin.access_token), &reason)
        .await;
    assert_eq!(error_of(resp, 409).await["code"], "invalid_transition");
    // The lender keeps what was repaid; the rest is lost, and the books still balance.
    assert_eq!(app.balance(&lender).await, 3_000);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn an_unfunded_loan_expires_at_its_deadline_and_every_lender_is_refunded() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let id = app.fundraising_loan(&borrower, &admin, 50_000, 6).await;
    let a = app.lender(10_000).await;
    let b = app.lender(10_000).await;
    assert_eq!(app.lend(&a, id, 2_500).await.status().as_u16(), 201);
    assert_eq!(app.lend(&a, id, 4_000).await.status().as_u16(), 201);
    assert_eq!(app.lend(&b, id, 3_000).await.status().as_u16(), 201);
    let loans = app.app.loans();
    let before = loans.expire_fundraising(Utc::now()).await.expect("runs");
    assert_eq!(before.expired, 0);
    let later = Utc::now() + Duration::days(31);
    let sweep = loans.expire_fundraising(later).await.expect("runs");
    assert_eq!((sweep.expired, sweep.refunded_shares), (1, 3));
    assert_eq!(app.balance(&a).await, 10_000);
    assert_eq!(app.balance(&b).await, 10_000);
    let detail = app.loan_as(&borrower, id).await;
    assert_eq!(detail["status"], "expired");
    assert_eq!(app.balance(&borrower).await, 0);
    let again = loans.expire_fundraising(later).await.expect("runs");
    assert_eq!(again.expired, 0, "once only");
    let resp = app.lend(&b, id, 2_500).await;
    assert_eq!(error_of(resp, 409).await["code"], "loan_not_fundraising");
    app.assert_books_balance().await;
    // The borrower may apply again once the application is closed.
    assert_eq!(
        app.apply_loan(&borrower, 20_000, 6).await.status().as_u16(),
        201
    );
}

#[tokio::test]
async fn only_the_borrower_repays_only_admins_decide_and_bad_input_names_the_field() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let user = app.register().await;

    for (body, field) in [
        (
            json!({"amount": 99, "termMonths": 6, "purpose": "Tools", "description": "x".repeat(30)}),
            "amount",
        ),
        (
            json!({"amount": 10_000, "termMonths": 99, "purpose": "Tools", "description": "x".repeat(30)}),
            "termMonths",
        ),
        (
            json!({"amount": 10_000, "termMonths": 6, "purpose": "", "description": "x".repeat(30)}),
            "purpose",
        ),
        (
            json!({"amount": 10_000, "termMonths": 6, "purpose": "Tools", "description": "short"}),
            "description",
        ),
        (
            json!({"amount": "lots", "termMonths": 6, "purpose": "Tools", "description": "x".repeat(30)}),
            "amount",
        ),
        (
            json!({"termMonths": 6, "purpose": "Tools", "description": "x".repeat(30)}),
            "amount",
        ),
    ] {
        let resp = app
            .post_json("/api/loans", Some(&borrower.access_token), &body)
            .await;
        assert_eq!(error_of(resp, 422).await["details"]["field"], field);
    }
    assert_eq!(app.count("select count(*) from loans").await, 0);

    let resp = app.apply_loan(&borrower, 10_000, 6).await;
    let id = id_of(&resp.json().await.expect("json"));
    let resp = app.apply_loan(&borrower, 20_000, 6).await;
    assert_eq!(error_of(resp, 409).await["code"], "open_application_exists");
    app.app.loans().score(id).await.expect("scores");

    for action in ["approve", "reject", "write-off"] {
        let resp = app
            .post_json(
                &format!("/api/admin/loans/{id}/{action}"),
                Some(&user.access_token),
                &json!({"reason": "not for you"}),
            )
            .await;
        assert_eq!(error_of(resp, 403).await["code"], "forbidden", "{action}");
    }
    let resp = app.get_auth("/api/admin/loans", &user.access_token).await;
    assert_eq!(resp.status().as_u16(), 403);
    let resp = app
        .post_json(
            &format!("/api/admin/loans/{id}/reject"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "reason");

    // An admin does not decide on their own application.
    let own = app.apply_loan(&admin, 10_000, 6).await;
    let own = id_of(&own.json().await.expect("json"));
    app.app.loans().score(own).await.expect("scores");
    let resp = app
        .post_json(
            &format!("/api/admin/loans/{own}/approve"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(error_of(resp, 403).await["code"], "forbidden");

    let resp = app
        .post_json(
            &format!("/api/admin/loans/{id}/approve"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let resp = app
        .post_json(
            &format!("/api/admin/loans/{id}/reject"),
            Some(&admin.access_token),
            &json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(error_of(resp, 409).await["code"], "invalid_transition");

    // Lending: not to oneself, at least the minimum share, not without the money.
    app.fund(&borrower, 5_000).await;
    let resp = app.lend(&borrower, id, 2_500).await;
    assert_eq!(error_of(resp, 422).await["code"], "own_loan");
    let lender = app.lender(10_000).await;
    let resp = app.lend(&lender, id, 100).await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "amount");
    let resp = app.lend(&user, id, 2_500).await;
    assert_eq!(error_of(resp, 422).await["code"], "insufficient_funds");
    let resp = app.lend(&lender, id, 10_001).await;
    assert_eq!(error_of(resp, 409).await["code"], "exceeds_remaining");
    let resp = app
        .post_json(
            &format!("/api/loans/{id}/lend"),
            Some(&lender.access_token),
            &json!({"amount": 2_500}),
        )
        .await;
    assert_eq!(
        error_of(resp, 422).await["details"]["field"],
        "Idempotency-Key"
    );
    assert_eq!(app.lend(&lender, id, 10_000).await.status().as_u16(), 201);

    // Only the borrower repays.
    for other in [&lender, &user, &admin] {
        let resp = app.repay(other, id, 1_000).await;
        assert_eq!(error_of(resp, 403).await["code"], "forbidden");
    }
    let resp = app.repay(&borrower, id, 0).await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "amount");
    let resp = app.repay(&borrower, Uuid::new_v4(), 1_000).await;
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(app.repay(&borrower, id, 1_000).await.status().as_u16(), 201);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn documents_are_stored_with_their_type_and_size_checked() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let user = app.register().await;
    let id = id_of(
        &app.apply_loan(&borrower, 10_000, 6)
            .await
            .json()
            .await
            .expect("json"),
    );
    let upload = |token: String, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("statement.pdf"),
        );
        app.client
            .post(app.url(&format!("/api/loans/{id}/documents")))
            .bearer_auth(token)
            .multipart(form)
            .send()
    };
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\n".to_vec();
    let resp = upload(borrower.access_token.clone(), pdf.clone())
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 201);
    let doc: Value = resp.json().await.expect("json");
    assert_eq!(doc["contentType"], "application/pdf");
    let resp = upload(
        borrower.access_token.clone(),
        b"#!/bin/sh\nrm -rf /".to_vec(),
    )
    .await
    .expect("request");
    assert_eq!(error_of(resp, 422).await["details"]["field"], "file");
    let resp = upload(user.access_token.clone(), pdf)
        .await
        .expect("request");
    assert_eq!(error_of(resp, 403).await["code"], "forbidden");
    let detail = app.loan_as(&borrower, id).await;
    let docs = detail["documents"].as_array().expect("documents");
    assert_eq!(docs.len(), 1);
    let stored = reqwest::get(docs[0]["url"].as_str().expect("url"))
        .await
        .expect("download");
    assert_eq!(stored.status().as_u16(), 200);
    assert!(stored.bytes().await.expect("bytes").starts_with(b"%PDF-"));
}

#[tokio::test]
async fn an_application_rejected_before_scoring_stays_rejected_when_the_job_runs_late() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let id = id_of(
        &app.apply_loan(&borrower, 10_000, 6)
            .await
            .json()
            .await
            .expect("json"),
    );
    let resp = app
        .post_json(
            &format!("/api/admin/loans/{id}/reject"),
            Some(&admin.access_token),
            &json!({"reason": "duplicate of an earlier request"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let score = app.app.loans().score(id).await.expect("no-op");
    assert!(score.is_none());
    let detail = app.loan_as(&borrower, id).await;
    assert_eq!(detail["status"], "rejected");
    let last = detail["transitions"][2].clone();
    assert_eq!(last["reason"], "duplicate of an earlier request");
    assert_eq!(last["actorId"], admin.id.to_string());
    assert_eq!(
        app.apply_loan(&borrower, 10_000, 6).await.status().as_u16(),
        201,
        "a closed application does not block a new one"
    );
}

#[tokio::test]
async fn a_loan_whose_scoring_was_lost_is_queued_again_once_per_period() {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let resp = app.apply_loan(&borrower, 50_000, 6).await;
    assert_eq!(resp.status().as_u16(), 201);
    let loan: Uuid = resp.json::<Value>().await.expect("json")["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let submitted = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from outbox where kind = 'loan.submitted'")
            .fetch_one(&app.app.infra.db.write)
            .await
            .expect("count")
    };
    let loans = app.app.loans();
    let now = chrono::Utc::now();
    // A fresh application is left to its job.
    assert!(
        loans
            .requeue_stale_scoring(now)
            .await
            .expect("sweep")
            .is_empty()
    );
    // Its job lost: queued again once, then not again until another period has passed.
    let later = now + chrono::Duration::minutes(11);
    assert_eq!(
        loans.requeue_stale_scoring(later).await.expect("sweep"),
        [loan]
    );
    assert!(
        loans
            .requeue_stale_scoring(later)
            .await
            .expect("again")
            .is_empty()
    );
    assert_eq!(submitted().await, 2);
    // Once scored it is no longer waiting.
    loans.score(loan).await.expect("score");
    let much_later = now + chrono::Duration::hours(1);
    assert!(
        loans
            .requeue_stale_scoring(much_later)
            .await
            .expect("sweep")
            .is_empty()
    );
    assert_eq!(submitted().await, 2);
}
