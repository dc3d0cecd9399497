//! Email verification: the link mailed at registration and after an email change, resends and
//! their limit, and the rule that creating campaigns and lending need a verified address.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app, spawn_app_with};

const SUBJECT: &str = "Confirm your email address for Commonpot";

impl TestApp {
    /// The tokens of the verification links mailed to `email` so far, oldest first.
    async fn mailed_verify_tokens(&self, email: &str) -> Vec<String> {
        self.deliver_mail().await;
        self.mails_to(email)
            .into_iter()
            .filter(|m| m.contains(SUBJECT))
            .map(|m| {
                let (_, rest) = m.split_once("/verify-email?token=").expect("link");
                rest.split_whitespace().next().expect("token").to_string()
            })
            .collect()
    }

    async fn verify(&self, token: &str) -> reqwest::Response {
        self.post_json("/api/auth/verify-email", None, &json!({ "token": token }))
            .await
    }

    async fn resend(&self, user: &TestUser) -> reqwest::Response {
        self.post_json(
            "/api/users/me/verification-email",
            Some(&user.access_token),
            &json!({}),
        )
        .await
    }

    async fn profile(&self, user: &TestUser) -> Value {
        let resp = self.get_auth("/api/users/me", &user.access_token).await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }

    async fn change_email(&self, user: &TestUser, email: &str) -> reqwest::Response {
        self.client
            .patch(self.url("/api/users/me"))
            .bearer_auth(&user.access_token)
            .json(&json!({ "email": email, "currentPassword": user.password }))
            .send()
            .await
            .expect("request")
    }

    async fn create_campaign(&self, user: &TestUser) -> reqwest::Response {
        self.post_json(
            "/api/campaigns",
            Some(&user.access_token),
            &json!({
                "title": "Clean water for the valley",
                "description": "We are building three wells for the villages in the valley.",
                "goalAmount": 100_000, "currency": "USD", "category": "community",
                "fundingModel": "keep_it_all",
            }),
        )
        .await
    }
}

#[tokio::test]
async fn registration_mails_one_link_that_verifies_the_address_once() {
    let app = spawn_app().await;
    let user = app.register_unverified().await;
    let resp = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    let login: Value = resp.json().await.expect("json");
    assert_eq!(login["user"]["emailVerified"], false);
    assert_eq!(app.profile(&user).await["emailVerified"], false);

    let tokens = app.mailed_verify_tokens(&user.email).await;
    assert_eq!(tokens.len(), 1, "one link at registration");
    assert_eq!(app.verify(&tokens[0]).await.status().as_u16(), 204);
    assert_eq!(app.profile(&user).await["emailVerified"], true);

    let err = error_of(app.verify(&tokens[0]).await, 422).await;
    assert_eq!(err["code"], "invalid_token", "a link works once");
}

#[tokio::test]
async fn forged_expired_and_foreign_links_are_refused() {
    let app = spawn_app().await;
    let user = app.register_unverified().await;
    let token = app.mailed_verify_tokens(&user.email).await.remove(0);
    let (id, tag) = token.split_once('.').expect("dot");
    let id: Uuid = id.parse().expect("id");
    let secret = app.app.infra.config.jwt_secret.expose().as_bytes();
    // Another id under the same tag, a tag cut short, and a reset link's token for this row.
    for forged in [
        format!("{}.{tag}", Uuid::new_v4().simple()),
        format!("{}.{}", id.simple(), &tag[2..]),
        domain::signed::sign(secret, "password_reset", id),
    ] {
        let err = error_of(app.verify(&forged).await, 422).await;
        assert_eq!(err["code"], "invalid_token", "{forged}");
    }
    sqlx::query("update account_tokens set expires_at = now() - interval '1 second' where id = $1")
        .bind(id)
        .execute(&app.app.infra.db.write)
        .await
        .expect("expire");
    let err = error_of(app.verify(&token).await, 422).await;
    assert_eq!(err["code"], "invalid_token");
    assert_eq!(app.profile(&user).await["emailVerified"], false);
}

#[tokio::test]
async fn an_email_change_unverifies_and_mails_the_new_address_while_old_links_stop_working() {
    let app = spawn_app().await;
    let user = app.register().await;
    let fresh = app.register_unverified().await;
    let first = app.mailed_verify_tokens(&fresh.email).await.remove(0);
    let new_email = format!("new{}@example.com", Uuid::new_v4().simple());
    let resp = app.change_email(&fresh, &new_email).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["email"], new_email.as_str());
    assert_eq!(body["emailVerified"], false);
    let err = error_of(app.verify(&first).await, 422).await;
    assert_eq!(err["code"], "invalid_token", "a link to the old address");
    let tokens = app.mailed_verify_tokens(&new_email).await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(app.verify(&tokens[0]).await.status().as_u16(), 204);
    assert_eq!(app.profile(&fresh).await["emailVerified"], true);

    // A verified user changing address is unverified again; a change of case is no change.
    let resp = app.change_email(&user, &user.email.to_uppercase()).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(app.profile(&user).await["emailVerified"], true);
    let moved = format!("moved{}@example.com", Uuid::new_v4().simple());
    assert_eq!(app.change_email(&user, &moved).await.status().as_u16(), 200);
    assert_eq!(app.profile(&user).await["emailVerified"], false);
    assert_eq!(app.mailed_verify_tokens(&moved).await.len(), 1);
    assert!(app.mailed_verify_tokens(&user.email).await.is_empty());

    // Another account's address, and a change without the current password, are refused.
    let err = error_of(app.change_email(&user, &new_email).await, 409).await;
    assert_eq!(err["code"], "email_taken");
    let resp = app
        .client
        .patch(app.url("/api/users/me"))
        .bearer_auth(&user.access_token)
        .json(&json!({ "email": "elsewhere@example.com" }))
        .send()
        .await
        .expect("request");
    let err = error_of(resp, 422).await;
    assert_eq!(err["details"]["field"], "currentPassword");
}

#[tokio::test]
async fn an_unverified_user_cannot_create_campaigns_or_lend_until_they_verify() {
    let app = spawn_app().await;
    let admin = app.register_admin().await;
    let borrower = app.register().await;
    let user = app.register_unverified().await;
    app.fund(&user, 50_000).await;
    let loan = app.fundraising_loan(&borrower, &admin, 20_000, 3).await;

    let err = error_of(app.create_campaign(&user).await, 403).await;
    assert_eq!(err["code"], "email_not_verified");
    assert_eq!(err["message"], "verify your email address first");
    let err = error_of(app.lend(&user, loan, 5_000).await, 403).await;
    assert_eq!(err["code"], "email_not_verified");
    assert_eq!(app.balance(&user).await, 50_000, "nothing moved");

    let token = app.mailed_verify_tokens(&user.email).await.remove(0);
    assert_eq!(app.verify(&token).await.status().as_u16(), 204);
    assert_eq!(app.create_campaign(&user).await.status().as_u16(), 201);
    assert_eq!(app.lend(&user, loan, 5_000).await.status().as_u16(), 201);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_rule_is_off_when_require_verified_email_is_false() {
    let app = spawn_app_with(&[("REQUIRE_VERIFIED_EMAIL", "false")]).await;
    let user = app.register_unverified().await;
    assert_eq!(app.create_campaign(&user).await.status().as_u16(), 201);
}

#[tokio::test]
async fn resends_are_limited_to_three_links_an_hour_and_refused_once_verified() {
    let app = spawn_app().await;
    let user = app.register_unverified().await;
    // The registration's link counts: two more fit in the hour.
    for _ in 0..2 {
        assert_eq!(app.resend(&user).await.status().as_u16(), 202);
    }
    let resp = app.resend(&user).await;
    let retry: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=3600).contains(&retry), "{retry}");
    let err = error_of(resp, 429).await;
    assert_eq!(err["code"], "rate_limited");

    let tokens = app.mailed_verify_tokens(&user.email).await;
    assert_eq!(tokens.len(), 3);
    // Any of them verifies, and spends the others.
    assert_eq!(app.verify(&tokens[1]).await.status().as_u16(), 204);
    assert_eq!(
        error_of(app.verify(&tokens[2]).await, 422).await["code"],
        "invalid_token"
    );

    let verified = app.register().await;
    let err = error_of(app.resend(&verified).await, 409).await;
    assert_eq!(err["code"], "already_verified");
    assert!(app.mailed_verify_tokens(&verified.email).await.is_empty());
}

#[tokio::test]
async fn confirmations_are_limited_per_client_address() {
    let app = spawn_app().await;
    for _ in 0..10 {
        let err = error_of(app.verify("not-a-token").await, 422).await;
        assert_eq!(err["code"], "invalid_token");
    }
    let err = error_of(app.verify("not-a-token").await, 429).await;
    assert_eq!(err["code"], "rate_limited");
}
