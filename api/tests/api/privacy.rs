//! A user's own data: the export of everything held about them, and account deletion that
//! erases personal data while the ledger, donations and loans stay whole.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app};

impl TestApp {
    async fn export_of(&self, user: &TestUser) -> Value {
        let resp = self
            .get_auth("/api/users/me/export", &user.access_token)
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }

    pub(crate) async fn delete_account(
        &self,
        user: &TestUser,
        password: &str,
    ) -> reqwest::Response {
        self.post_json(
            "/api/users/me/delete",
            Some(&user.access_token),
            &json!({ "password": password }),
        )
        .await
    }

    async fn give_with_message(&self, donor: &TestUser, campaign: Uuid, amount: i64) {
        let resp = self
            .post_idem(
                &format!("/api/donations/campaign/{campaign}"),
                &donor.access_token,
                &Uuid::new_v4().to_string(),
                &json!({"amount": amount, "message": "For Grandma's village"}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 201);
    }

    async fn new_api_key(&self, user: &TestUser) -> String {
        let resp = self
            .post_json(
                "/api/api-keys",
                Some(&user.access_token),
                &json!({"name": "ci"}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.expect("json");
        body["key"].as_str().expect("key").to_string()
    }
}

#[tokio::test]
async fn the_export_holds_the_callers_records_and_nobody_elses() {
    let app = spawn_app().await;
    let (donor, creator, other) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&donor, 5_000).await;
    app.fund(&other, 5_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    app.give_with_message(&donor, campaign, 1_200).await;
    app.give_with_message(&other, campaign, 700).await;
    app.new_api_key(&donor).await;

    let data = app.export_of(&donor).await;
    assert_eq!(data["profile"]["email"], donor.email.as_str());
    assert_eq!(data["wallet"]["balance"], 3_800);
    let donations = data["donations"].as_array().expect("donations");
    assert_eq!(donations.len(), 1, "only the caller's gifts: {donations:?}");
    assert_eq!(donations[0]["amount"], 1_200);
    assert_eq!(donations[0]["message"], "For Grandma's village");
    assert_eq!(data["deposits"].as_array().expect("deposits").len(), 1);
    // Wallet lines: the deposit in, the gift out.
    assert_eq!(data["walletLedger"].as_array().expect("ledger").len(), 2);
    let keys = data["apiKeys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].get("key_hash").is_none(),
        "no secrets: {:?}",
        keys[0]
    );
    assert_eq!(data["sessions"].as_array().expect("sessions").len(), 1);
    assert!(data["campaigns"].as_array().expect("campaigns").is_empty());
    assert_eq!(
        app.export_of(&creator).await["campaigns"][0]["id"],
        campaign.to_string()
    );

    let resp = app.get("/api/users/me/export").await;
    error_of(resp, 401).await;
}

#[tokio::test]
async fn deletion_is_refused_while_money_or_a_campaign_is_in_play_and_changes_nothing() {
    let app = spawn_app().await;
    let (donor, creator) = (app.register().await, app.register().await);
    app.fund(&donor, 1_000).await;
    let err = error_of(app.delete_account(&donor, "not my password").await, 422).await;
    assert_eq!(err["details"]["field"], "password");
    let err = error_of(app.delete_account(&donor, &donor.password).await, 409).await;
    assert_eq!(err["code"], "account_not_settled");
    assert!(err["message"].as_str().expect("message").contains("wallet"));
    app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let err = error_of(app.delete_account(&creator, &creator.password).await, 409).await;
    assert!(
        err["message"]
            .as_str()
            .expect("message")
            .contains("campaign")
    );
    // Both still whole.
    for user in [&donor, &creator] {
        let me = app.get_auth("/api/users/me", &user.access_token).await;
        assert_eq!(me.status().as_u16(), 200);
    }
}

#[tokio::test]
async fn a_deleted_account_is_erased_but_its_gifts_and_the_books_stay_whole() {
    let app = spawn_app().await;
    let (donor, creator) = (app.register().await, app.register().await);
    app.fund(&donor, 1_500).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    app.give_with_message(&donor, campaign, 1_500).await;
    let key = app.new_api_key(&donor).await;
    let other_session = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": donor.email, "password": donor.password}),
        )
        .await
        .json::<Value>()
        .await
        .expect("json")["accessToken"]
        .as_str()
        .expect("token")
        .to_string();

    let resp = app.delete_account(&donor, &donor.password).await;
    assert_eq!(resp.status().as_u16(), 204);

    // Signed out everywhere, keys dead, the old password and address open nothing.
    for token in [donor.access_token.as_str(), other_session.as_str()] {
        error_of(app.get_auth("/api/users/me", token).await, 401).await;
    }
    let resp = app
        .client
        .get(app.url("/api/users/me"))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("request");
    error_of(resp, 401).await;
    let login = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": donor.email, "password": donor.password}),
        )
        .await;
    error_of(login, 401).await;
    // The row is anonymised in place.
    let (email, first, last, active): (String, String, String, bool) =
        sqlx::query_as("select email, first_name, last_name, is_active from users where id = $1")
            .bind(donor.id)
            .fetch_one(&app.app.infra.db.write)
            .await
            .expect("user");
    assert!(!email.contains(&donor.email) && email.ends_with("@deleted.invalid"));
    assert_eq!(
        (first.as_str(), last.as_str(), active),
        ("Deleted", "user", false)
    );

    // The gift still counts, without its message, and the books balance.
    let page = app.campaign(campaign).await;
    assert_eq!(page["raisedAmount"], 1_500);
    let gifts: Value = app
        .get(&format!("/api/campaigns/{campaign}/donations"))
        .await
        .json()
        .await
        .expect("json");
    let gift = &gifts["items"][0];
    assert_eq!(gift["amount"], 1_500);
    assert!(gift["message"].is_null(), "{gift}");
    app.assert_books_balance().await;

    // The address is free for a new account.
    let again = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({"email": donor.email, "password": "a fresh passphrase", "firstName": "New", "lastName": "Me"}),
        )
        .await;
    assert_eq!(again.status().as_u16(), 201);
}
