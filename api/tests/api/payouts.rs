//! Money out: bank accounts, payouts confirmed by the provider's signed webhook, and the
//! provider's fees as their own ledger lines.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app, spawn_app_with};

/// The sandbox's test routing number, and an account number the sandbox bank pays.
const ROUTING: &str = "110000000";
const ACCOUNT: &str = "000123456789";

impl TestApp {
    async fn add_bank_account(&self, user: &TestUser, account_number: &str) -> reqwest::Response {
        self.post_json(
            "/api/wallet/payout-accounts",
            Some(&user.access_token),
            &json!({"accountNumber": account_number, "routingNumber": ROUTING}),
        )
        .await
    }

    async fn bank_account(&self, user: &TestUser, account_number: &str) -> Uuid {
        let resp = self.add_bank_account(user, account_number).await;
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.expect("json");
        body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("id")
    }

    async fn pay_out(
        &self,
        user: &TestUser,
        account: Uuid,
        amount: i64,
        key: &str,
    ) -> reqwest::Response {
        self.post_idem(
            "/api/wallet/payouts",
            &user.access_token,
            key,
            &json!({"payoutAccountId": account, "amount": amount}),
        )
        .await
    }

    /// Sends a payment provider event, signed as the provider signs it.
    async fn provider_event(&self, kind: &str, data: Value) -> reqwest::Response {
        let body =
            json!({"id": format!("evt_{}", Uuid::new_v4().simple()), "type": kind, "data": data})
                .to_string();
        let secret = self.app.infra.config.payments_webhook_secret.expose();
        let signature = domain::money::service::sign_payment_webhook(
            secret,
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        )
        .expect("sign");
        self.client
            .post(self.url("/api/payments/webhook"))
            .header("Payment-Signature", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send")
    }

    async fn account_balance(&self, account: &str) -> i64 {
        sqlx::query_scalar(
            "select coalesce(sum(amount), 0)::bigint from ledger_entries where account = $1",
        )
        .bind(account)
        .fetch_one(&self.app.infra.db.write)
        .await
        .expect("balance")
    }
}

async fn json_of(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn a_payout_leaves_the_wallet_at_once_and_the_provider_confirms_it_paid() {
    let app = spawn_app_with(&[
        ("PAYMENTS_DEPOSIT_FEE_BPS", "290"),
        ("PAYMENTS_DEPOSIT_FEE_FIXED", "30"),
    ])
    .await;
    let user = app.register().await;
    app.fund(&user, 10_000).await;
    // 2.9% + 0.30 of 100.00, on its own line.
    assert_eq!(app.balance(&user).await, 10_000 - 320);
    let lines = json_of(
        app.get_auth("/api/wallet/transactions", &user.access_token)
            .await,
        200,
    )
    .await;
    let kinds: Vec<(&str, i64)> = lines["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().expect("kind"),
                l["amount"].as_i64().expect("amount"),
            )
        })
        .collect();
    assert!(kinds.contains(&("deposit", 10_000)), "{kinds:?}");
    assert!(kinds.contains(&("processing_fee", -320)), "{kinds:?}");

    let added = json_of(app.add_bank_account(&user, ACCOUNT).await, 201).await;
    assert_eq!(added["last4"], "6789");
    assert_eq!(added["bankName"], "Sandbox Bank");
    assert!(!added.to_string().contains("123456789"));
    let account: Uuid = added["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    // The same account again is the same account.
    let again = json_of(app.add_bank_account(&user, ACCOUNT).await, 201).await;
    assert_eq!(again["id"], added["id"]);
    let stored: String =
        sqlx::query_scalar("select string_agg(t::text, ' ') from payout_accounts t")
            .fetch_one(&app.app.infra.db.write)
            .await
            .expect("row");
    assert!(
        !stored.contains("123456789"),
        "the number must not be stored: {stored}"
    );

    let payout = json_of(app.pay_out(&user, account, 5_000, "p1").await, 201).await;
    assert_eq!(payout["status"], "pending");
    assert_eq!(payout["fee"], 25);
    assert_eq!(payout["netAmount"], 4_975);
    assert_eq!(app.balance(&user).await, 9_680 - 5_000);
    // A retry with the same key moves nothing.
    let resp = app.pay_out(&user, account, 5_000, "p1").await;
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(resp, 201).await["id"], payout["id"]);
    assert_eq!(app.balance(&user).await, 4_680);
    assert_eq!(app.account_balance("payouts:pending").await, 5_000);
    app.assert_books_balance().await;

    let data = json!({"payoutId": payout["id"], "amount": 5_000});
    let ack = json_of(app.provider_event("payout.paid", data.clone()).await, 200).await;
    assert_eq!(ack["status"], "applied");
    let error = error_of(app.provider_event("payout.failed", data).await, 409).await;
    assert_eq!(error["code"], "payout_settled");
    assert_eq!(app.balance(&user).await, 4_680);
    assert_eq!(app.account_balance("payouts:pending").await, 0);
    assert_eq!(app.account_balance("fees:processing").await, 320 + 25);
    let list = json_of(
        app.get_auth("/api/wallet/payouts", &user.access_token)
            .await,
        200,
    )
    .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["status"], "paid");
    assert!(list["items"][0]["settledAt"].is_string());
    app.assert_books_balance().await;

    app.deliver_mail().await;
    let mail = app.mails_to(&user.email).join("\n");
    assert!(
        mail.contains("Your payout of 50.00 USD is on its way"),
        "{mail}"
    );
    assert!(
        mail.contains("49.75 USD reaches your bank account"),
        "{mail}"
    );

    // The audit notices a payout whose status disagrees with the ledger.
    sqlx::query("update payouts set status = 'pending'")
        .execute(&app.app.infra.db.write)
        .await
        .expect("tamper");
    let report = app.app.audit().await.expect("audit");
    let kinds: Vec<&str> = report.drift.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["payouts_pending", "fees_processing"],
        "{:?}",
        report.drift
    );
}

#[tokio::test]
async fn a_failed_payout_returns_everything_to_the_wallet_and_does_not_count_today() {
    let app = spawn_app_with(&[("PAYOUT_DAILY_LIMIT", "6000")]).await;
    let user = app.register().await;
    app.fund(&user, 10_000).await;
    let account = app.bank_account(&user, ACCOUNT).await;
    let payout = json_of(app.pay_out(&user, account, 6_000, "a").await, 201).await;
    let error = error_of(app.pay_out(&user, account, 1_000, "b").await, 422).await;
    assert_eq!(error["code"], "payout_limit_exceeded");

    // The provider's amount must match.
    let error = error_of(
        app.provider_event(
            "payout.failed",
            json!({"payoutId": payout["id"], "amount": 5_999}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error["code"], "amount_mismatch");
    let data = json!({"payoutId": payout["id"], "amount": 6_000, "reason": "account_closed"});
    json_of(app.provider_event("payout.failed", data).await, 200).await;
    assert_eq!(app.balance(&user).await, 10_000);
    let list = json_of(
        app.get_auth("/api/wallet/payouts", &user.access_token)
            .await,
        200,
    )
    .await;
    assert_eq!(list["items"][0]["status"], "failed");
    assert_eq!(list["items"][0]["failureReason"], "account_closed");
    assert_eq!(app.account_balance("fees:processing").await, 0);
    // A failed payout frees its share of the daily limit.
    json_of(app.pay_out(&user, account, 6_000, "c").await, 201).await;
    app.assert_books_balance().await;

    app.deliver_mail().await;
    let mail = app.mails_to(&user.email).join("\n");
    assert!(mail.contains("could not be sent"), "{mail}");
    assert!(mail.contains("(account_closed)"), "{mail}");
}

#[tokio::test]
async fn payouts_are_refused_clearly_and_write_nothing() {
    let app = spawn_app().await;
    let (user, other) = (app.register().await, app.register().await);
    app.fund(&user, 5_000).await;
    let account = app.bank_account(&user, ACCOUNT).await;
    let others = app.bank_account(&other, "987654321").await;

    let error = error_of(app.pay_out(&user, account, 999, "min").await, 422).await;
    assert_eq!(error["code"], "validation_failed");
    assert_eq!(error["details"]["field"], "amount");
    let error = error_of(app.pay_out(&user, account, 5_001, "more").await, 422).await;
    assert_eq!(error["code"], "insufficient_funds");
    error_of(app.pay_out(&user, others, 1_000, "theirs").await, 404).await;
    error_of(app.pay_out(&user, Uuid::new_v4(), 1_000, "none").await, 404).await;
    let resp = app
        .post_json(
            "/api/wallet/payouts",
            Some(&user.access_token),
            &json!({"payoutAccountId": account, "amount": 1_000}),
        )
        .await;
    let error = error_of(resp, 422).await;
    assert_eq!(error["details"]["field"], "Idempotency-Key");
    for (number, routing, field) in [
        ("12", ROUTING, "accountNumber"),
        ("0001234x", ROUTING, "accountNumber"),
        (ACCOUNT, "110000001", "routingNumber"),
        (ACCOUNT, "1100", "routingNumber"),
    ] {
        let resp = app
            .post_json(
                "/api/wallet/payout-accounts",
                Some(&user.access_token),
                &json!({"accountNumber": number, "routingNumber": routing}),
            )
            .await;
        let error = error_of(resp, 422).await;
        assert_eq!(error["details"]["field"], field, "{number} {routing}");
    }
    // A removed account takes no payouts.
    let resp = app
        .client
        .delete(app.url(&format!("/api/wallet/payout-accounts/{account}")))
        .bearer_auth(&user.access_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status().as_u16(), 204);
    error_of(app.pay_out(&user, account, 1_000, "removed").await, 404).await;

    let unverified = app.register_unverified().await;
    let error = error_of(app.add_bank_account(&unverified, ACCOUNT).await, 403).await;
    assert_eq!(error["code"], "email_not_verified");
    let error = error_of(app.pay_out(&unverified, account, 1_000, "u").await, 403).await;
    assert_eq!(error["code"], "email_not_verified");

    assert_eq!(app.balance(&user).await, 5_000);
    assert_eq!(app.count("select count(*) from payouts").await, 0);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn parallel_payouts_never_exceed_the_daily_limit_or_the_wallet() {
    let app = spawn_app_with(&[("PAYOUT_DAILY_LIMIT", "5000")]).await;
    let user = app.register().await;
    app.fund(&user, 20_000).await;
    let account = app.bank_account(&user, ACCOUNT).await;
    let attempts = (0..12).map(|i| {
        let (app, user) = (app.clone(), user.clone());
        async move {
            app.pay_out(&user, account, 1_000, &format!("k{i}"))
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(app.balance(&user).await, 15_000);
    assert_eq!(app.account_balance("payouts:pending").await, 5_000);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_sandbox_settles_payouts_and_an_account_cannot_be_deleted_while_one_is_on_its_way() {
    let app = spawn_app().await;
    let (user, unlucky) = (app.register().await, app.register().await);
    app.fund(&user, 3_000).await;
    app.fund(&unlucky, 3_000).await;
    let account = app.bank_account(&user, ACCOUNT).await;
    // The sandbox bank refuses accounts ending in 0002.
    let closed = app.bank_account(&unlucky, "55550002").await;
    json_of(app.pay_out(&user, account, 3_000, "all").await, 201).await;
    json_of(app.pay_out(&unlucky, closed, 2_000, "x").await, 201).await;

    let error = error_of(app.delete_account(&user, &user.password).await, 409).await;
    assert_eq!(error["code"], "account_not_settled");

    let money = app.app.money();
    // Not yet: the sandbox takes its time.
    assert_eq!(
        money
            .settle_sandbox_payouts(chrono::Utc::now())
            .await
            .expect("settle"),
        0
    );
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(
        money.settle_sandbox_payouts(later).await.expect("settle"),
        2
    );
    assert_eq!(
        money.settle_sandbox_payouts(later).await.expect("settle"),
        0
    );
    assert_eq!(app.balance(&unlucky).await, 3_000);
    assert_eq!(app.balance(&user).await, 0);
    app.assert_books_balance().await;

    assert_eq!(
        app.delete_account(&user, &user.password)
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        app.count("select count(*) from payout_accounts").await,
        1,
        "the deleted user's bank account is gone, the other user's stays"
    );
    assert_eq!(
        app.count("select count(*) from payouts where payout_account_id is null")
            .await,
        1
    );
    app.assert_books_balance().await;
}
