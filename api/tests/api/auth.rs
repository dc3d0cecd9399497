//! Accounts, authentication, API keys, rate limits and the authorization matrix (issue 4),
//! against real PostgreSQL and Redis. Password hashing is real, so each test creates only the
//! users it needs.

use std::collections::BTreeSet;

use domain::accounts::sessions::Sessions;
use domain::accounts::{Role, Tier};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{PrivateRedis, TestApp, TestUser, error_of, fresh_database, spawn_app};
use crate::helpers::{spawn_app_with, start, test_config};

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Cred<'a> {
    None,
    Bearer(&'a str),
    Key(&'a str),
}

impl TestApp {
    async fn call(
        &self,
        method: Method,
        path: &str,
        cred: Cred<'_>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        req = match cred {
            Cred::None => req,
            Cred::Bearer(token) => req.bearer_auth(token),
            Cred::Key(key) => req.header("X-API-Key", key),
        };
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request")
    }

    async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Signs in and returns the new access token.
    async fn access_token(&self, email: &str, password: &str) -> String {
        let resp = self.login(email, password).await;
        assert_eq!(resp.status().as_u16(), 200, "login failed");
        let body: Value = resp.json().await.expect("json");
        body["accessToken"].as_str().expect("token").to_string()
    }

    async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/api/auth/refresh",
            None,
            &json!({"refreshToken": refresh_token}),
        )
        .await
    }

    async fn get_as(&self, path: &str, cred: Cred<'_>) -> Response {
        self.call(Method::GET, path, cred, None).await
    }

    async fn me(&self, cred: Cred<'_>) -> Response {
        self.call(Method::GET, "/api/users/me", cred, None).await
    }

    async fn admin_patch_user(&self, admin: &TestUser, id: uuid::Uuid, body: Value) -> Response {
        self.call(
            Method::PATCH,
            &format!("/api/admin/users/{id}"),
            Cred::Bearer(&admin.access_token),
            Some(body),
        )
        .await
    }

    async fn create_api_key(&self, token: &str) -> Value {
        let resp = self
            .post_json("/api/api-keys", Some(token), &json!({"name": "ci"}))
            .await;
        assert_eq!(resp.status().as_u16(), 201);
        resp.json().await.expect("json")
    }
}

fn status(resp: &Response) -> u16 {
    resp.status().as_u16()
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii").to_string())
}

fn remaining(resp: &Response) -> Option<u64> {
    header(resp, "ratelimit-remaining").map(|v| v.parse().expect("number"))
}

// ---------------------------------------------------------------------------------------------
// Registration and login

#[tokio::test]
async fn registering_the_same_email_again_in_another_case_is_409() {
    let app = spawn_app().await;
    let user = app.register().await;
    let resp = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({"email": user.email.to_uppercase(), "password": "another password",
                    "firstName": "A", "lastName": "B"}),
        )
        .await;
    let error = error_of(resp, 409).await;
    assert_eq!(error["code"], "email_taken");
    // Emails are case-insensitive at login too.
    let resp = app.login(&user.email.to_uppercase(), &user.password).await;
    assert_eq!(status(&resp), 200);
}

#[tokio::test]
async fn weak_passwords_bad_emails_and_empty_names_are_422_naming_the_field() {
    let app = spawn_app().await;
    let good = json!({"email": "ok@example.com", "password": "long enough pw",
                      "firstName": "Ada", "lastName": "Lovelace"});
    for (field, value, named) in [
        ("password", json!("short"), "password"),
        ("password", json!("123456789"), "password"),
        ("email", json!("not-an-email"), "email"),
        ("email", json!("a@b"), "email"),
        ("firstName", json!("  "), "firstName"),
    ] {
        let mut body = good.clone();
        body[field] = value;
        let error = error_of(app.post_json("/api/auth/register", None, &body).await, 422).await;
        assert_eq!(error["code"], "validation_failed");
        assert_eq!(error["details"]["field"], named, "{body}");
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let user = app.register().await;
    let wrong = app.login(&user.email, "not the password").await;
    let unknown = app.login("nobody@example.com", &user.password).await;
    let wrong = error_of(wrong, 401).await;
    let unknown = error_of(unknown, 401).await;
    assert_eq!(wrong, unknown, "the two failures must be indistinguishable");
}

// ---------------------------------------------------------------------------------------------
// Tokens and sessions

#[tokio::test]
async fn refresh_rotates_the_pair_and_the_used_refresh_token_is_dead() {
    let app = spawn_app().await;
    let user = app.register().await;
    let resp = app.refresh(&user.refresh_token).await;
    assert_eq!(status(&resp), 200);
    let pair: Value = resp.json().await.expect("json");
    let new_access = pair["accessToken"].as_str().expect("access");
    let new_refresh = pair["refreshToken"].as_str().expect("refresh");
    assert_ne!(new_refresh, user.refresh_token);
    assert_eq!(status(&app.me(Cred::Bearer(new_access)).await), 200);
    // The second rotation works with the new token.
    let resp = app.refresh(new_refresh).await;
    assert_eq!(status(&resp), 200);
    let latest: Value = resp.json().await.expect("json");
    // Garbage is simply refused.
    error_of(app.refresh("no-such.token").await, 401).await;
    error_of(app.refresh("garbage").await, 401).await;

    // Presenting a used refresh token means someone else has a copy: the whole session ends,
    // including the pair the legitimate holder got last.
    let error = error_of(app.refresh(&user.refresh_token).await, 401).await;
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("revoked")
    );
    let latest_access = latest["accessToken"].as_str().expect("access");
    let latest_refresh = latest["refreshToken"].as_str().expect("refresh");
    error_of(app.me(Cred::Bearer(latest_access)).await, 401).await;
    error_of(app.refresh(latest_refresh).await, 401).await;
}

#[tokio::test]
async fn logout_ends_only_that_session_and_its_refresh_token() {
    let app = spawn_app().await;
    let user = app.register().await;
    let other_session = app.access_token(&user.email, &user.password).await;
    let resp = app
        .post_json("/api/auth/logout", Some(&user.access_token), &json!({}))
        .await;
    assert_eq!(status(&resp), 204);
    error_of(app.me(Cred::Bearer(&user.access_token)).await, 401).await;
    error_of(app.refresh(&user.refresh_token).await, 401).await;
    assert_eq!(status(&app.me(Cred::Bearer(&other_session)).await), 200);
}

#[tokio::test]
async fn expired_tampered_foreign_and_alg_none_tokens_are_401() {
    let app = spawn_app().await;
    let user = app.register().await;
    let secret = app.app.infra.config.jwt_secret.expose().as_bytes();
    let sessions = Sessions::new(&app.app.infra.kv, secret);
    let sid = user.refresh_token.split_once('.').expect("sid.secret").0;
    let now = chrono::Utc::now().timestamp();

    // Control: a token minted now for the live session works, so only the defect below matters.
    let fresh = sessions
        .issue_access_at(user.id, Role::User, Tier::Standard, sid, now)
        .expect("token");
    assert_eq!(status(&app.me(Cred::Bearer(&fresh)).await), 200);

    let expired = sessions
        .issue_access_at(user.id, Role::User, Tier::Standard, sid, now - 3600)
        .expect("token");
    let foreign = Sessions::new(
        &app.app.infra.kv,
        b"some-other-secret-that-is-long-enough-000",
    )
    .issue_access(user.id, Role::User, Tier::Standard, sid)
    .expect("token");
    let parts: Vec<&str> = user.access_token.split('.').collect();
    let escalated = sessions
        .issue_access(user.id, Role::Admin, Tier::Premium, sid)
        .expect("token");
    let escalated_payload = escalated.split('.').nth(1).expect("payload");
    // The user's signature on a payload that claims the admin role.
    let tampered = format!("{}.{}.{}", parts[0], escalated_payload, parts[2]);
    // {"alg":"none","typ":"JWT"} with the real payload and no signature.
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    // {"alg":"HS512","typ":"JWT"}: only HS256 is accepted.
    let other_alg = format!(
        "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.{}.{}",
        parts[1], parts[2]
    );
    for (what, token) in [
        ("expired", expired.as_str()),
        ("signed with another secret", &foreign),
        ("tampered", &tampered),
        ("alg=none", &alg_none),
        ("alg=HS512", &other_alg),
        ("garbage", "not.a.jwt"),
    ] {
        let resp = app.me(Cred::Bearer(token)).await;
        assert_eq!(status(&resp), 401, "{what} token was accepted");
        error_of(resp, 401).await;
    }
    // Neither did the tampered token reach an admin route.
    let resp = app
        .call(
            Method::GET,
            "/api/admin/users",
            Cred::Bearer(&tampered),
            None,
        )
        .await;
    assert_eq!(status(&resp), 401);
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_ends_every_session() {
    let app = spawn_app().await;
    let user = app.register().await;
    let patch = |body: Value| {
        app.call(
            Method::PATCH,
            "/api/users/me",
            Cred::Bearer(&user.access_token),
            Some(body),
        )
    };
    let resp = patch(json!({"firstName": " Grace ", "emailNotifications": false})).await;
    assert_eq!(status(&resp), 200);
    let me: Value = resp.json().await.expect("json");
    assert_eq!(me["firstName"], "Grace");
    assert_eq!(me["emailNotifications"], false);

    let error = error_of(patch(json!({"newPassword": "a new password"})).await, 422).await;
    assert_eq!(error["details"]["field"], "currentPassword");
    let error = error_of(
        patch(json!({"currentPassword": "wrong password", "newPassword": "a new password"})).await,
        422,
    )
    .await;
    assert_eq!(error["details"]["field"], "currentPassword");
    let error = error_of(
        patch(json!({"currentPassword": user.password, "newPassword": "short"})).await,
        422,
    )
    .await;
    assert_eq!(error["details"]["field"], "newPassword");

    let resp =
        patch(json!({"currentPassword": user.password, "newPassword": "a new password"})).await;
    assert_eq!(status(&resp), 200);
    error_of(app.me(Cred::Bearer(&user.access_token)).await, 401).await;
    error_of(app.login(&user.email, &user.password).await, 401).await;
    assert_eq!(status(&app.login(&user.email, "a new password").await), 200);
}

// ---------------------------------------------------------------------------------------------
// API keys

#[tokio::test]
async fn api_keys_are_shown_once_act_as_their_owner_and_stop_when_revoked() {
    let app = spawn_app().await;
    let user = app.register().await;
    let created = app.create_api_key(&user.access_token).await;
    let key = created["key"].as_str().expect("key").to_string();
    let prefix = created["prefix"].as_str().expect("prefix");
    assert!(key.contains(prefix));
    assert!(key.len() >= 64, "at least 32 random bytes");
    let id = created["id"].as_str().expect("id").to_string();

    let list = |token: &str| {
        let token = token.to_string();
        let app = &app;
        async move { app.get_as("/api/api-keys", Cred::Bearer(&token)).await }
    };
    let keys: Value = list(&user.access_token).await.json().await.expect("json");
    assert_eq!(keys.as_array().expect("array").len(), 1);
    assert!(keys[0].get("key").is_none(), "the secret is never listed");
    assert!(!keys.to_string().contains(&key[prefix.len() + 4..]));
    assert!(keys[0]["lastUsedAt"].is_null());

    // The key acts as its owner and records its use.
    let resp = app.me(Cred::Key(&key)).await;
    assert_eq!(status(&resp), 200);
    let me: Value = resp.json().await.expect("json");
    assert_eq!(me["email"], user.email.as_str());
    let keys: Value = list(&user.access_token).await.json().await.expect("json");
    assert!(keys[0]["lastUsedAt"].is_string(), "lastUsedAt set: {keys}");
    // Keys have no session to log out of.
    let resp = app
        .call(
            Method::POST,
            "/api/auth/logout",
            Cred::Key(&key),
            Some(json!({})),
        )
        .await;
    assert_eq!(error_of(resp, 422).await["code"], "not_a_session");

    // A wrong secret with a real prefix, or a malformed key, is refused.
    let wrong_secret = format!("{}{}", &key[..key.len() - 4], "0000");
    for bad in [wrong_secret.as_str(), "cp_short", "nonsense"] {
        error_of(app.me(Cred::Key(bad)).await, 401).await;
    }

    let path = format!("/api/api-keys/{id}");
    let revoke = app
        .call(
            Method::DELETE,
            &path,
            Cred::Bearer(&user.access_token),
            None,
        )
        .await;
    assert_eq!(status(&revoke), 204);
    error_of(app.me(Cred::Key(&key)).await, 401).await;
    let again = app
        .call(
            Method::DELETE,
            &path,
            Cred::Bearer(&user.access_token),
            None,
        )
        .await;
    error_of(again, 404).await;
    let keys: Value = list(&user.access_token).await.json().await.expect("json");
    assert!(keys[0]["revokedAt"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Admin moderation

#[tokio::test]
async fn deactivation_ends_the_users_tokens_and_keys_at_once() {
    let app = spawn_app().await;
    let user = app.register().await;
    let admin = app.register_admin().await;
    let key = app.create_api_key(&user.access_token).await["key"]
        .as_str()
        .expect("key")
        .to_string();
    assert_eq!(status(&app.me(Cred::Key(&key)).await), 200);

    let resp = app
        .admin_patch_user(&admin, user.id, json!({"isActive": false}))
        .await;
    assert_eq!(status(&resp), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["isActive"], false);

    error_of(app.me(Cred::Bearer(&user.access_token)).await, 401).await;
    error_of(app.me(Cred::Key(&key)).await, 401).await;
    error_of(app.refresh(&user.refresh_token).await, 401).await;
    error_of(app.login(&user.email, &user.password).await, 401).await;

    // Reactivated, the account signs in again and its key works again.
    let resp = app
        .admin_patch_user(&admin, user.id, json!({"isActive": true}))
        .await;
    assert_eq!(status(&resp), 200);
    assert_eq!(status(&app.me(Cred::Key(&key)).await), 200);
    assert_eq!(status(&app.login(&user.email, &user.password).await), 200);
}

#[tokio::test]
async fn a_role_change_takes_effect_at_once() {
    let app = spawn_app().await;
    let user = app.register().await;
    let admin = app.register_admin().await;
    let admin_users = |token: &str| {
        let token = token.to_string();
        let app = &app;
        async move { app.get_as("/api/admin/users", Cred::Bearer(&token)).await }
    };
    let error = error_of(admin_users(&user.access_token).await, 403).await;
    assert_eq!(error["code"], "forbidden");

    let resp = app
        .admin_patch_user(&admin, user.id, json!({"role": "admin"}))
        .await;
    assert_eq!(status(&resp), 200);
    // The old token carried the old role: it is dead, and a new sign-in carries the new one.
    error_of(admin_users(&user.access_token).await, 401).await;
    let promoted = app.access_token(&user.email, &user.password).await;
    assert_eq!(status(&admin_users(&promoted).await), 200);

    let resp = app
        .admin_patch_user(&admin, user.id, json!({"role": "user"}))
        .await;
    assert_eq!(status(&resp), 200);
    error_of(admin_users(&promoted).await, 401).await;
}

#[tokio::test]
async fn admins_list_and_search_users_and_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let user = app.register().await;
    let admin = app.register_admin().await;
    let get = |path: &str| {
        let path = path.to_string();
        let (app, token) = (&app, admin.access_token.as_str());
        async move { app.get_as(&path, Cred::Bearer(token)).await }
    };
    let page: Value = get("/api/admin/users?limit=1&page=2")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    let q = &user.email[..10];
    let found: Value = get(&format!("/api/admin/users?q={q}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["email"], user.email.as_str());
    error_of(get("/api/admin/users?limit=1000").await, 422).await;

    let error = error_of(
        app.admin_patch_user(&admin, user.id, json!({"role": "owner"}))
            .await,
        422,
    )
    .await;
    assert_eq!(error["details"]["field"], "role");
    let error = error_of(
        app.admin_patch_user(&admin, user.id, json!({"tier": "gold"}))
            .await,
        422,
    )
    .await;
    assert_eq!(error["details"]["field"], "tier");
    let missing = uuid::Uuid::now_v7();
    error_of(
        app.admin_patch_user(&admin, missing, json!({"tier": "premium"}))
            .await,
        404,
    )
    .await;
    for change in [json!({"isActive": false}), json!({"role": "user"})] {
        let error = error_of(app.admin_patch_user(&admin, admin.id, change).await, 422).await;
        assert_eq!(error["code"], "cannot_moderate_self");
    }
    assert_eq!(
        status(&app.me(Cred::Bearer(&admin.access_token)).await),
        200
    );
}

#[tokio::test]
async fn the_bootstrap_admin_is_created_or_an_existing_account_promoted() {
    let app = spawn_app().await;
    let accounts = app.app.accounts();
    accounts
        .ensure_admin("Boot@Example.com", "bootstrap password")
        .await
        .expect("create");
    // Running it again at the next start changes nothing.
    accounts
        .ensure_admin("boot@example.com", "bootstrap password")
        .await
        .expect("idempotent");
    let resp = app.login("boot@example.com", "bootstrap password").await;
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["user"]["role"], "admin");

    // An existing (even deactivated) account is promoted and keeps its password.
    let user = app.register().await;
    sqlx::query("update users set is_active = false where id = $1")
        .bind(user.id)
        .execute(&app.app.infra.db.write)
        .await
        .expect("deactivate");
    accounts
        .ensure_admin(&user.email, "some other password")
        .await
        .expect("promote");
    let resp = app.login(&user.email, &user.password).await;
    assert_eq!(status(&resp), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["isActive"], true);

    let weak = accounts.ensure_admin("weak@example.com", "short").await;
    assert!(weak.is_err(), "a weak ADMIN_PASSWORD is refused");
}

// ---------------------------------------------------------------------------------------------
// Rate limits

#[tokio::test]
async fn anonymous_callers_get_rate_limit_headers_and_a_429_with_retry_after() {
    let app = spawn_app_with(&[("RATE_LIMIT_ANONYMOUS", "3/60")]).await;
    for left in [2, 1, 0] {
        let resp = app.me(Cred::None).await;
        assert_eq!(status(&resp), 401);
        assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(remaining(&resp), Some(left));
        let reset: u64 = header(&resp, "ratelimit-reset")
            .expect("reset")
            .parse()
            .expect("number");
        assert!((1..=60).contains(&reset));
    }
    let resp = app.me(Cred::None).await;
    assert_eq!(status(&resp), 429);
    assert_eq!(remaining(&resp), Some(0));
    let retry: u64 = header(&resp, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    assert_eq!(error_of(resp, 429).await["code"], "rate_limited");
    // Bad credentials count as anonymous, so they cannot be used to dodge the limit.
    assert_eq!(status(&app.me(Cred::Bearer("forged")).await), 429);

    // Health checks and docs are not limited.
    for path in ["/health/live", "/openapi.json"] {
        let resp = app.get(path).await;
        assert_eq!(status(&resp), 200, "{path}");
        assert!(header(&resp, "ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn standard_premium_and_admin_callers_have_their_own_limits() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_AUTHENTICATED", "3/300"),
        ("RATE_LIMIT_PREMIUM", "5/300"),
    ])
    .await;
    let user = app.register().await;
    for left in [2, 1, 0] {
        let resp = app.me(Cred::Bearer(&user.access_token)).await;
        assert_eq!(status(&resp), 200);
        assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(remaining(&resp), Some(left));
    }
    let resp = app.me(Cred::Bearer(&user.access_token)).await;
    assert_eq!(status(&resp), 429);
    assert!(header(&resp, "retry-after").is_some());
    // An API key acts as its owner and shares the owner's counter.
    let key_resp = app
        .post_json(
            "/api/api-keys",
            Some(&user.access_token),
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(status(&key_resp), 429);

    // Premium callers get the premium allowance.
    sqlx::query("update users set tier = 'premium' where id = $1")
        .bind(user.id)
        .execute(&app.app.infra.db.write)
        .await
        .expect("premium");
    let premium = app.access_token(&user.email, &user.password).await;
    let resp = app.me(Cred::Bearer(&premium)).await;
    assert_eq!(status(&resp), 200);
    assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("5"));
    assert_eq!(remaining(&resp), Some(4));

    // Admins are not limited at all.
    let admin = app.register_admin().await;
    for _ in 0..8 {
        let resp = app.me(Cred::Bearer(&admin.access_token)).await;
        assert_eq!(status(&resp), 200);
        assert!(header(&resp, "ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn a_token_that_does_not_match_its_session_counts_as_anonymous_not_on_a_users_counter() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_ANONYMOUS", "7/60"),
        ("RATE_LIMIT_AUTHENTICATED", "5/300"),
    ])
    .await;
    let (a, b) = (app.register().await, app.register().await);
    let secret = app.app.infra.config.jwt_secret.expose().as_bytes();
    let sessions = Sessions::new(&app.app.infra.kv, secret);
    let sid = |u: &TestUser| {
        u.refresh_token
            .split_once('.')
            .expect("sid.secret")
            .0
            .to_string()
    };
    // Minted with the real secret (as if it leaked): a's token on b's session, and a's own
    // session claiming the admin role.
    let borrowed = sessions
        .issue_access(a.id, Role::User, Tier::Standard, &sid(&b))
        .expect("token");
    let escalated = sessions
        .issue_access(a.id, Role::Admin, Tier::Standard, &sid(&a))
        .expect("token");
    for (what, token) in [("borrowed", &borrowed), ("escalated", &escalated)] {
        let resp = app.me(Cred::Bearer(token)).await;
        assert_eq!(status(&resp), 401, "{what}");
        assert_eq!(
            header(&resp, "ratelimit-limit").as_deref(),
            Some("7"),
            "{what} counted as anonymous"
        );
    }
    // Neither user's counter moved: each one's first request leaves 4 of 5.
    for user in [&a, &b] {
        let resp = app.me(Cred::Bearer(&user.access_token)).await;
        assert_eq!(status(&resp), 200);
        assert_eq!(remaining(&resp), Some(4));
    }
}

#[tokio::test]
async fn anonymous_limits_key_on_the_peer_address_unless_the_proxy_is_trusted() {
    let spoof = |app: &TestApp, ip: &str| {
        app.client
            .get(app.url("/api/users/me"))
            .header("X-Forwarded-For", ip)
            .send()
    };
    // Untrusted: the header is ignored, so a client cannot dodge the limit by inventing one.
    let app = spawn_app_with(&[("RATE_LIMIT_ANONYMOUS", "2/60")]).await;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(
            spoof(&app, ip).await.expect("request").status().as_u16(),
            401
        );
    }
    assert_eq!(
        spoof(&app, "203.0.113.3")
            .await
            .expect("request")
            .status()
            .as_u16(),
        429
    );

    // Behind the trusted proxy, each client (the entry the proxy appended) has its own counter.
    let app = spawn_app_with(&[("RATE_LIMIT_ANONYMOUS", "2/60"), ("TRUST_PROXY", "true")]).await;
    for _ in 0..2 {
        let resp = spoof(&app, "198.51.100.7, 203.0.113.1")
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 401);
    }
    let resp = spoof(&app, "198.51.100.8, 203.0.113.1")
        .await
        .expect("request");
    assert_eq!(
        resp.status().as_u16(),
        429,
        "same client behind a changed first entry"
    );
    let resp = spoof(&app, "203.0.113.2").await.expect("request");
    assert_eq!(
        resp.status().as_u16(),
        401,
        "another client has its own counter"
    );
}

#[tokio::test]
async fn two_api_instances_share_logout_and_rate_limit_counters() {
    let a = spawn_app_with(&[("RATE_LIMIT_ANONYMOUS", "5/60")]).await;
    // A second server with its own connections to the same PostgreSQL and Redis (same prefix).
    let config = (*a.app.infra.config).clone();
    let b = start(
        domain::App::connect(config).await.expect("connect"),
        a.db_name.clone(),
    )
    .await;

    let user = a.register().await; // anonymous request 1 of 5

    assert_eq!(status(&a.me(Cred::Bearer(&user.access_token)).await), 200);
    assert_eq!(status(&b.me(Cred::Bearer(&user.access_token)).await), 200);
    let resp = b
        .post_json("/api/auth/logout", Some(&user.access_token), &json!({}))
        .await;
    assert_eq!(status(&resp), 204);
    // A dead token makes its bearer anonymous: requests 2 and 3.
    let resp = a.me(Cred::Bearer(&user.access_token)).await;
    assert_eq!(remaining(&resp), Some(3));
    error_of(resp, 401).await;
    error_of(b.me(Cred::Bearer(&user.access_token)).await, 401).await;

    assert_eq!(remaining(&a.me(Cred::None).await), Some(1));
    assert_eq!(remaining(&b.me(Cred::None).await), Some(0));
    assert_eq!(status(&a.me(Cred::None).await), 429);
    assert_eq!(status(&b.me(Cred::None).await), 429);
}

#[tokio::test]
async fn when_redis_is_down_requests_are_still_served_without_limits() {
    let redis = PrivateRedis::start();
    let (db, url) = fresh_database().await;
    let config = test_config(
        &url,
        &[
            ("REDIS_URL", &redis.url()),
            ("RATE_LIMIT_ANONYMOUS", "2/60"),
        ],
    );
    let app = start(domain::App::connect(config).await.expect("connect"), db).await;
    let user = app.register().await;
    let key = app.create_api_key(&user.access_token).await["key"]
        .as_str()
        .expect("key")
        .to_string();
    assert!(
        header(
            &app.me(Cred::Bearer(&user.access_token)).await,
            "ratelimit-limit"
        )
        .is_some()
    );

    drop(redis);

    // Signed-in callers keep working (tokens are checked against PostgreSQL instead of the
    // session store), unlimited rather than refused.
    let started = std::time::Instant::now();
    for cred in [Cred::Bearer(&user.access_token), Cred::Key(&key)] {
        let resp = app.me(cred).await;
        assert_eq!(status(&resp), 200);
        assert!(header(&resp, "ratelimit-limit").is_none());
    }
    // Anonymous callers past their (uncountable) limit are not turned away either.
    for _ in 0..4 {
        assert_eq!(status(&app.me(Cred::None).await), 401);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "a Redis outage must not stall requests"
    );
    // What needs the session store itself says so plainly.
    let resp = app
        .post_json("/api/auth/logout", Some(&user.access_token), &json!({}))
        .await;
    error_of(resp, 503).await;
}

// ---------------------------------------------------------------------------------------------
// The authorization matrix, over every operation in the spec

struct Operation {
    method: String,
    /// As written in the spec, e.g. `/api/admin/users/{id}`.
    path: String,
    /// With placeholders for path parameters and required query parameters.
    url: String,
    /// Placeholders for required headers (e.g. an idempotency key).
    headers: Vec<(String, String)>,
    public: bool,
}

impl Operation {
    fn label(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    fn is_admin(&self) -> bool {
        self.path.starts_with("/api/admin/") || self.path == "/api/admin"
    }

    async fn send(&self, app: &TestApp, cred: Cred<'_>) -> u16 {
        let method = Method::from_bytes(self.method.to_uppercase().as_bytes()).expect("method");
        let body = matches!(self.method.as_str(), "post" | "put" | "patch").then(|| json!({}));
        let mut req = app.client.request(method, app.url(&self.url));
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        req = match cred {
            Cred::None => req,
            Cred::Bearer(token) => req.bearer_auth(token),
            Cred::Key(key) => req.header("X-API-Key", key),
        };
        if let Some(body) = body {
            req = req.json(&body);
        }
        // Only the status is read, so streaming routes do not hold the test.
        let resp = req
            .timeout(std::time::Duration::from_secs(15))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.label()));
        resp.status().as_u16()
    }
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// A value that parses for the parameter's schema, so requests get past parameter parsing.
fn placeholder(spec: &Value, schema: &Value) -> String {
    let schema = resolve(spec, schema);
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first
            .as_str()
            .map_or_else(|| first.to_string(), str::to_string);
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("integer" | "number"), _) => "1".into(),
        (Some("boolean"), _) => "true".into(),
        (_, Some("uuid")) => "00000000-0000-4000-8000-000000000000".into(),
        (_, Some("date-time")) => "2026-01-01T00:00:00Z".into(),
        (_, Some("date")) => "2026-01-01".into(),
        _ => "placeholder".into(),
    }
}

fn operations() -> Vec<Operation> {
    let spec: Value =
        serde_json::from_str(&commonpot_api::startup::api_service().spec()).expect("spec is JSON");
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let mut url = path.clone();
            let mut query = Vec::new();
            let mut headers = Vec::new();
            for p in &params {
                let name = p["name"].as_str().expect("param name");
                let value = placeholder(&spec, &p["schema"]);
                match p["in"].as_str() {
                    Some("path") => url = url.replace(&format!("{{{name}}}"), &value),
                    Some("query") if p["required"] == true => query.push(format!("{name}={value}")),
                    Some("header") if p["required"] == true => {
                        headers.push((name.to_string(), value));
                    }
                    _ => {}
                }
            }
            if !query.is_empty() {
                url = format!("{url}?{}", query.join("&"));
            }
            // No security requirement, or an empty one (optional credentials), is public.
            let public = op["security"].as_array().is_none_or(|reqs| {
                reqs.is_empty()
                    || reqs
                        .iter()
                        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            ops.push(Operation {
                method: method.clone(),
                path: path.clone(),
                url,
                headers,
                public,
            });
        }
    }
    // Logging out ends the session the later requests use, so it goes last.
    ops.sort_by_key(|op| op.path.ends_with("/logout"));
    ops
}

#[tokio::test]
async fn the_public_route_list_matches_the_spec_exactly() {
    let ops = operations();
    let in_spec: BTreeSet<(String, String)> = ops
        .iter()
        .filter(|op| op.public)
        .map(|op| (op.method.clone(), op.path.clone()))
        .collect();
    let listed: BTreeSet<(String, String)> = commonpot_api::http::PUBLIC_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let unlisted: Vec<_> = in_spec.difference(&listed).collect();
    let secured: Vec<_> = listed.difference(&in_spec).collect();
    assert!(
        unlisted.is_empty(),
        "operations without security that are not in PUBLIC_ROUTES: {unlisted:?}"
    );
    assert!(
        secured.is_empty(),
        "PUBLIC_ROUTES entries that are not public operations in the spec: {secured:?}"
    );
    let public_admin: Vec<_> = ops.iter().filter(|o| o.public && o.is_admin()).collect();
    assert!(public_admin.is_empty(), "an admin route is public");
}

#[tokio::test]
async fn every_route_in_the_spec_enforces_authentication_and_the_admin_role() {
    let app = spawn_app().await;
    let user = app.register().await;
    let admin = app.register_admin().await;
    let ops = operations();
    assert!(ops.len() >= 10, "the spec lists the routes");
    let mut failures = Vec::new();

    for op in ops.iter().filter(|op| !op.public) {
        for (who, cred) in [
            ("no credentials", Cred::None),
            ("a forged token", Cred::Bearer("forged.token.value")),
            ("a forged key", Cred::Key("cp_000000000000_forged")),
        ] {
            let got = op.send(&app, cred).await;
            if got != 401 {
                failures.push(format!("{} with {who}: {got}, expected 401", op.label()));
            }
        }
    }
    for op in ops.iter().filter(|op| op.is_admin()) {
        let got = op.send(&app, Cred::Bearer(&user.access_token)).await;
        if got != 403 {
            failures.push(format!("{} as a user: {got}, expected 403", op.label()));
        }
    }
    for op in ops.iter().filter(|op| !op.public) {
        let got = op.send(&app, Cred::Bearer(&admin.access_token)).await;
        if got == 401 || got == 403 {
            failures.push(format!("{} as an admin: {got}", op.label()));
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

/// The id a route's path parameter names, taken from what `owner` created.
struct OwnedIds {
    draft_campaign: String,
    loan: String,
    plan: String,
    webhook: String,
    api_key: String,
}

impl OwnedIds {
    async fn create(app: &TestApp, owner: &TestUser) -> Self {
        let id_of = |v: Value| v["id"].as_str().expect("id").to_string();
        let deadline = chrono::Utc::now() + chrono::Duration::days(30);
        let campaign = |title: &str| {
            json!({"title": title, "description": "A campaign that belongs to its owner only.",
                   "goalAmount": 10_000, "currency": "USD", "category": "community",
                   "fundingModel": "keep_it_all", "deadline": deadline})
        };
        let created = |resp: Response| async move {
            assert_eq!(resp.status().as_u16(), 201, "owner's setup");
            resp.json::<Value>().await.expect("json")
        };
        let token = Some(owner.access_token.as_str());
        let draft = created(
            app.post_json("/api/campaigns", token, &campaign("A private draft"))
                .await,
        )
        .await;
        let active = id_of(
            created(
                app.post_json("/api/campaigns", token, &campaign("A live one"))
                    .await,
            )
            .await,
        );
        let published = app
            .post_json(
                &format!("/api/campaigns/{active}/publish"),
                token,
                &json!({}),
            )
            .await;
        assert_eq!(published.status().as_u16(), 200);
        let plan = app
            .post_json(
                "/api/donations/recurring",
                token,
                &json!({"campaignId": active, "amount": 1_000, "dayOfMonth": 1}),
            )
            .await;
        let loan = app
            .post_json(
                "/api/loans",
                token,
                &json!({"amount": 50_000, "termMonths": 6, "purpose": "A new sewing machine",
                        "description": "To take on more orders from the market every week."}),
            )
            .await;
        let webhook = app
            .post_json(
                "/api/webhooks",
                token,
                &json!({"url": "https://hooks.example.com/owner", "events": ["donation.created"]}),
            )
            .await;
        let key = app
            .post_json("/api/api-keys", token, &json!({"name": "owner's"}))
            .await;
        Self {
            draft_campaign: id_of(draft),
            plan: id_of(created(plan).await),
            loan: id_of(created(loan).await),
            webhook: id_of(created(webhook).await),
            api_key: id_of(created(key).await),
        }
    }

    /// The path with the owner's ids in it, if the route is about something a user owns.
    fn url_for(&self, op: &Operation) -> Option<String> {
        let id = if op.path.starts_with("/api/campaigns/{id}") {
            &self.draft_campaign
        } else if op.path.starts_with("/api/loans/{id}") {
            &self.loan
        } else if op.path.starts_with("/api/donations/recurring/{id}") {
            &self.plan
        } else if op.path.starts_with("/api/webhooks/{id}") {
            &self.webhook
        } else if op.path.starts_with("/api/api-keys/{id}") {
            &self.api_key
        } else {
            return None;
        };
        Some(
            op.path
                .replace("{id}", id)
                .replace("{action}", "pause")
                .replace("{delivery_id}", "00000000-0000-4000-8000-000000000000"),
        )
    }
}

#[tokio::test]
async fn another_user_can_neither_see_nor_change_what_a_user_owns() {
    let app = spawn_app().await;
    let (owner, intruder) = (app.register().await, app.register().await);
    let ids = OwnedIds::create(&app, &owner).await;
    // The ids are real: their owner sees each of them.
    for path in [
        format!("/api/campaigns/{}", ids.draft_campaign),
        format!("/api/loans/{}", ids.loan),
        format!("/api/webhooks/{}/deliveries", ids.webhook),
    ] {
        assert_eq!(
            app.get_auth(&path, &owner.access_token)
                .await
                .status()
                .as_u16(),
            200,
            "{path}"
        );
    }
    let mut failures = Vec::new();
    let mut tried = 0;
    for op in operations().iter().filter(|op| !op.is_admin()) {
        let Some(url) = ids.url_for(op) else { continue };
        let op = Operation {
            method: op.method.clone(),
            path: op.path.clone(),
            url,
            headers: op.headers.clone(),
            public: op.public,
        };
        tried += 1;
        // Public pages of a draft or an unapproved loan are as hidden as the private routes;
        // 409/415/422 are a body (`{}`, JSON where a file is expected) refused before anything
        // is looked up; uploads by another user are checked in the upload tests.
        let got = op.send(&app, Cred::Bearer(&intruder.access_token)).await;
        if !matches!(got, 403 | 404 | 409 | 415 | 422) {
            failures.push(format!("{} as another user: {got}", op.label()));
        }
    }
    assert!(tried >= 15, "routes with the owner's ids: {tried}");
    assert!(
        failures.is_empty(),
        "another user:\n{}",
        failures.join("\n")
    );
    // Nothing of the owner's changed.
    let plans: Value = app
        .get_auth("/api/donations/recurring", &owner.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(plans[0]["status"], "active", "{plans}");
    let keys: Value = app
        .get_auth("/api/api-keys", &owner.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert!(keys[0]["revokedAt"].is_null(), "{keys}");
    let draft = app
        .get_auth(
            &format!("/api/campaigns/{}", ids.draft_campaign),
            &owner.access_token,
        )
        .await;
    assert_eq!(
        draft.json::<Value>().await.expect("json")["status"],
        "draft"
    );
}
