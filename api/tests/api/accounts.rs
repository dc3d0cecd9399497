//! Account recovery and session management: password reset by emailed single-use link, and
//! the caller's list of signed-in sessions with revocation.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, error_of, spawn_app};

impl TestApp {
    async fn login_as(&self, user: &TestUser, device: &str) -> Value {
        let resp = self
            .client
            .post(self.url("/api/auth/login"))
            .header("user-agent", device)
            .json(&json!({"email": user.email, "password": user.password}))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }

    async fn ask_reset(&self, email: &str) -> reqwest::Response {
        self.post_json("/api/auth/password-reset", None, &json!({ "email": email }))
            .await
    }

    async fn confirm_reset(&self, token: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/password-reset/confirm",
            None,
            &json!({ "token": token, "password": password }),
        )
        .await
    }

    /// The tokens of the reset links mailed to `user` so far, oldest first.
    async fn mailed_reset_tokens(&self, user: &TestUser) -> Vec<String> {
        self.deliver_mail().await;
        self.mails_to(&user.email)
            .into_iter()
            .filter(|m| m.contains("Reset your Commonpot password"))
            .map(|m| {
                let (_, rest) = m.split_once("/reset-password?token=").expect("link");
                rest.split_whitespace().next().expect("token").to_string()
            })
            .collect()
    }
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let user = app.register().await;
    let other_device = app.login_as(&user, "Phone").await;

    assert_eq!(
        app.ask_reset(&user.email.to_uppercase())
            .await
            .status()
            .as_u16(),
        202
    );
    let tokens = app.mailed_reset_tokens(&user).await;
    assert_eq!(tokens.len(), 1, "one link mailed");
    let token = &tokens[0];

    // A weak password is refused and leaves the link usable.
    let err = error_of(app.confirm_reset(token, "short").await, 422).await;
    assert_eq!(err["details"]["field"], "password");
    let new_password = "a brand new passphrase";
    assert_eq!(
        app.confirm_reset(token, new_password)
            .await
            .status()
            .as_u16(),
        204
    );

    // Every earlier session is over; the old password is gone, the new one works.
    for access in [
        user.access_token.as_str(),
        other_device["accessToken"].as_str().expect("token"),
    ] {
        assert_eq!(
            app.get_auth("/api/users/me", access)
                .await
                .status()
                .as_u16(),
            401
        );
    }
    let old = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(old.status().as_u16(), 401);
    let new = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": user.email, "password": new_password}),
        )
        .await;
    assert_eq!(new.status().as_u16(), 200);

    // The link works once.
    let err = error_of(
        app.confirm_reset(token, "yet another passphrase").await,
        422,
    )
    .await;
    assert_eq!(err["code"], "invalid_token");
}

#[tokio::test]
async fn unknown_emails_get_the_same_answer_and_no_mail() {
    let app = spawn_app().await;
    let user = app.register().await;
    let resp = app.ask_reset("nobody-here@example.com").await;
    assert_eq!(resp.status().as_u16(), 202);
    assert_eq!(resp.text().await.expect("body"), "");
    // A deactivated account is treated like an unknown one.
    sqlx::query("update users set is_active = false where id = $1")
        .bind(user.id)
        .execute(&app.app.infra.db.write)
        .await
        .expect("deactivate");
    assert_eq!(app.ask_reset(&user.email).await.status().as_u16(), 202);
    let rows: i64 =
        sqlx::query_scalar("select count(*) from account_tokens where purpose = 'password_reset'")
            .fetch_one(&app.app.infra.db.write)
            .await
            .expect("count");
    assert_eq!(rows, 0);
    assert!(app.mailed_reset_tokens(&user).await.is_empty());
}

#[tokio::test]
async fn forged_expired_and_superseded_links_are_refused() {
    let app = spawn_app().await;
    let user = app.register().await;
    app.ask_reset(&user.email).await;
    app.ask_reset(&user.email).await;
    let tokens = app.mailed_reset_tokens(&user).await;
    assert_eq!(tokens.len(), 2);
    let (first, second) = (&tokens[0], &tokens[1]);

    // Another id under the same tag, a tag cut short, and a token for another purpose.
    let (id, tag) = first.split_once('.').expect("dot");
    let other_id = uuid::Uuid::new_v4().simple().to_string();
    let secret = app.app.infra.config.jwt_secret.expose().as_bytes();
    let foreign = domain::signed::sign(secret, "email_verification", id.parse().expect("id"));
    for forged in [
        format!("{other_id}.{tag}"),
        format!("{id}.{}", &tag[2..]),
        foreign,
    ] {
        let err = error_of(
            app.confirm_reset(&forged, "a brand new passphrase").await,
            422,
        )
        .await;
        assert_eq!(err["code"], "invalid_token", "{forged}");
    }

    // An expired link is refused; using the other spends it too.
    sqlx::query("update account_tokens set expires_at = now() - interval '1 second' where id = $1")
        .bind(uuid::Uuid::parse_str(id).expect("id"))
        .execute(&app.app.infra.db.write)
        .await
        .expect("expire");
    let err = error_of(
        app.confirm_reset(first, "a brand new passphrase").await,
        422,
    )
    .await;
    assert_eq!(err["code"], "invalid_token");
    assert_eq!(
        app.confirm_reset(second, "a brand new passphrase")
            .await
            .status()
            .as_u16(),
        204
    );
    let open: i64 = sqlx::query_scalar("select count(*) from account_tokens where used_at is null")
        .fetch_one(&app.app.infra.db.write)
        .await
        .expect("count");
    assert_eq!(open, 0);
}

#[tokio::test]
async fn racing_confirmations_of_one_link_let_exactly_one_through() {
    let app = spawn_app().await;
    let user = app.register().await;
    app.ask_reset(&user.email).await;
    let token = app.mailed_reset_tokens(&user).await.remove(0);
    let attempts = (0..6).map(|i| {
        let (app, token) = (&app, &token);
        async move {
            app.confirm_reset(token, &format!("racing passphrase {i}"))
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = join_all(attempts).await;
    statuses.sort();
    assert_eq!(statuses, [204, 422, 422, 422, 422, 422]);
}

#[tokio::test]
async fn requests_are_limited_per_account_silently_and_per_address_with_429() {
    let app = spawn_app().await;
    let user = app.register().await;
    for _ in 0..5 {
        assert_eq!(app.ask_reset(&user.email).await.status().as_u16(), 202);
    }
    // Three links an hour per account; the other requests looked the same and sent nothing.
    assert_eq!(app.mailed_reset_tokens(&user).await.len(), 3);
    for _ in 5..10 {
        assert_eq!(
            app.ask_reset("someone-else@example.com")
                .await
                .status()
                .as_u16(),
            202
        );
    }
    let resp = app.ask_reset(&user.email).await;
    let retry_after = resp.headers().get("retry-after").cloned();
    let err = error_of(resp, 429).await;
    assert_eq!(err["code"], "rate_limited");
    assert!(retry_after.is_some());
}

#[tokio::test]
async fn users_list_their_sessions_and_end_one_or_all_the_others() {
    let app = spawn_app().await;
    let user = app.register().await;
    let phone = app.login_as(&user, "Phone/1.0").await;
    let laptop = app.login_as(&user, "Laptop/2.0").await;
    let laptop_token = laptop["accessToken"].as_str().expect("token");

    let list = |token: String| {
        let app = &app;
        async move {
            let resp = app.get_auth("/api/users/me/sessions", &token).await;
            assert_eq!(resp.status().as_u16(), 200);
            resp.json::<Vec<Value>>().await.expect("json")
        }
    };
    let sessions = list(laptop_token.to_string()).await;
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!(sessions[0]["device"], "Laptop/2.0");
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[1]["device"], "Phone/1.0");
    assert!(sessions[1..].iter().all(|s| s["current"] == false));
    assert!(
        sessions
            .iter()
            .all(|s| s["createdAt"].is_string() && s["lastUsedAt"].is_string())
    );

    // Ending the phone's session stops its token at once.
    let phone_id = sessions[1]["id"].as_str().expect("id");
    let resp = app
        .client
        .delete(app.url(&format!("/api/users/me/sessions/{phone_id}")))
        .bearer_auth(laptop_token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 204);
    let phone_token = phone["accessToken"].as_str().expect("token");
    assert_eq!(
        app.get_auth("/api/users/me", phone_token)
            .await
            .status()
            .as_u16(),
        401
    );

    // Someone else's session, or one already ended, is not found.
    let stranger = app.register().await;
    let stranger_sid = list(stranger.access_token.clone()).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    for sid in [stranger_sid.as_str(), phone_id] {
        let resp = app
            .client
            .delete(app.url(&format!("/api/users/me/sessions/{sid}")))
            .bearer_auth(laptop_token)
            .send()
            .await
            .expect("request");
        error_of(resp, 404).await;
    }
    assert_eq!(
        app.get_auth("/api/users/me", &stranger.access_token)
            .await
            .status()
            .as_u16(),
        200
    );

    // "Sign out everywhere else" ends the registration session and keeps the laptop's.
    let resp = app
        .client
        .delete(app.url("/api/users/me/sessions"))
        .bearer_auth(laptop_token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.expect("json")["ended"], 1);
    assert_eq!(
        app.get_auth("/api/users/me", &user.access_token)
            .await
            .status()
            .as_u16(),
        401
    );
    let left = list(laptop_token.to_string()).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
}

#[tokio::test]
async fn a_refresh_moves_a_sessions_last_use() {
    let app = spawn_app().await;
    let user = app.register().await;
    // Times are kept to the millisecond.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let resp = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refreshToken": user.refresh_token}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let access = resp.json::<Value>().await.expect("json")["accessToken"]
        .as_str()
        .expect("token")
        .to_string();
    let sessions: Vec<Value> = app
        .get_auth("/api/users/me/sessions", &access)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(sessions.len(), 1);
    assert!(
        sessions[0]["lastUsedAt"].as_str() > sessions[0]["createdAt"].as_str(),
        "{sessions:?}"
    );
}

#[tokio::test]
async fn a_user_with_no_live_session_can_have_their_tier_changed_and_list_no_sessions() {
    let app = spawn_app().await;
    let admin = app.register_admin().await;
    let user = app.register().await;
    let key: Value = app
        .post_json(
            "/api/api-keys",
            Some(&user.access_token),
            &json!({"name": "ci"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let key = key["key"].as_str().expect("key").to_string();
    // Deactivating ends every session; reactivating starts none.
    let patch = |body: Value| {
        let (app, token) = (&app, admin.access_token.clone());
        async move {
            app.client
                .patch(app.url(&format!("/api/admin/users/{}", user.id)))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    assert_eq!(patch(json!({"isActive": false})).await, 200);
    assert_eq!(patch(json!({"isActive": true})).await, 200);
    assert_eq!(patch(json!({"tier": "premium"})).await, 200);
    // Through the API key: the sessions list is simply empty, and "end the others" ends none.
    let resp = app
        .client
        .get(app.url("/api/users/me/sessions"))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Vec<Value>>().await.expect("json").len(), 0);
    let resp = app
        .client
        .delete(app.url("/api/users/me/sessions"))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.json::<Value>().await.expect("json")["ended"], 0);
}
