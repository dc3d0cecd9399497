//! Secrets never reach the logs: the real `api` binary runs with production-style JSON logs
//! (and debug level for our own crates) through a full flow that handles every kind of secret,
//! and its output is searched for each one.

use std::process::{Child, Command};
use std::time::Duration;

use serde_json::{Value, json};

/// The api as its own process; killed on drop.
pub struct ApiProcess {
    child: Child,
    log: std::path::PathBuf,
    pub address: String,
    /// Its database, for a test that changes it under the running api.
    pub database_url: String,
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test's log stays behind to be read.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

const JWT_SECRET: &str = "jwt-secret-for-the-log-test-0123456789abcdef";
const PROVIDER_SECRET: &str = "provider-secret-for-the-log-test";
const S3_SECRET: &str = "commonpot-secret";

/// Starts the real `api` binary on a fresh database with JSON logs, `extra` added to (or
/// replacing) its environment.
pub async fn start_api(extra: &[(&str, &str)]) -> ApiProcess {
    let (_, database_url) = domain::testing::create_database(true).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let log = std::env::temp_dir().join(format!("commonpot-log-test-{id}.jsonl"));
    let out = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_api"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs([
            ("APP_ENV", "development"),
            ("LOG_FORMAT", "json"),
            (
                "RUST_LOG",
                "info,domain=debug,commonpot_api=debug,poem=debug",
            ),
            ("BIND_ADDR", &format!("127.0.0.1:{port}")),
            ("DATABASE_URL", &database_url),
            (
                "REDIS_URL",
                &std::env::var("TEST_REDIS_URL")
                    .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            ),
            ("REDIS_KEY_PREFIX", &format!("cp_test:{id}:")),
            (
                "S3_ENDPOINT",
                &std::env::var("TEST_S3_ENDPOINT")
                    .unwrap_or_else(|_| "http://127.0.0.1:9000".into()),
            ),
            ("S3_BUCKET", &format!("t{}", &id[..20])),
            ("S3_ACCESS_KEY_ID", "commonpot"),
            ("S3_SECRET_ACCESS_KEY", S3_SECRET),
            ("JWT_SECRET", JWT_SECRET),
            ("PAYMENTS_SANDBOX", "false"),
            ("PAYMENTS_WEBHOOK_SECRET", PROVIDER_SECRET),
            (
                "MAIL_DIR",
                &std::env::temp_dir()
                    .join(format!("commonpot-mail-{id}"))
                    .display()
                    .to_string(),
            ),
            ("RATE_LIMIT_ANONYMOUS", "100000/60"),
            ("RATE_LIMIT_AUTHENTICATED", "100000/60"),
        ])
        .envs(extra.iter().copied())
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("start the api binary");
    let api = ApiProcess {
        child,
        log,
        address: format!("http://127.0.0.1:{port}"),
        database_url,
    };
    for _ in 0..120 {
        if reqwest::get(format!("{}/health/live", api.address))
            .await
            .is_ok()
        {
            return api;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "the api did not start: {}",
        std::fs::read_to_string(&api.log).unwrap_or_default()
    );
}

#[tokio::test]
async fn no_password_token_key_or_signature_appears_in_the_json_logs() {
    let api = start_api(&[]).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", api.address);
    let send = |req: reqwest::RequestBuilder| async move {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    };
    let mut secrets: Vec<String> =
        vec![JWT_SECRET.into(), PROVIDER_SECRET.into(), S3_SECRET.into()];

    let email = format!("logs{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "a password nobody logs 7431";
    secrets.push(password.into());
    let (status, registered) = send(http.post(url("/api/auth/register")).json(
        &json!({"email": email, "password": password, "firstName": "Lou", "lastName": "Gs"}),
    ))
    .await;
    assert_eq!(status, 201, "{registered}");
    // The address is verified through its link (signed here as the mail job would), whose
    // token must not be logged either; campaigns below need it.
    let db = sqlx::PgPool::connect(&api.database_url)
        .await
        .expect("database");
    let token_id: uuid::Uuid = sqlx::query_scalar("select id from account_tokens")
        .fetch_one(&db)
        .await
        .expect("verification link");
    let link = domain::signed::sign(
        JWT_SECRET.as_bytes(),
        domain::accounts::verification::PURPOSE,
        token_id,
    );
    secrets.push(link.clone());
    let (status, _) = send(
        http.post(url("/api/auth/verify-email"))
            .json(&json!({"token": link})),
    )
    .await;
    assert_eq!(status, 204);
    let guess = "an attacker's wrong guess 99";
    secrets.push(guess.into());
    let (status, _) = send(
        http.post(url("/api/auth/login"))
            .json(&json!({"email": email, "password": guess})),
    )
    .await;
    assert_eq!(status, 401);
    let (status, login) = send(
        http.post(url("/api/auth/login"))
            .json(&json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(status, 200);
    let refresh = login["refreshToken"].as_str().expect("refresh").to_string();
    let (status, rotated) = send(
        http.post(url("/api/auth/refresh"))
            .json(&json!({"refreshToken": refresh})),
    )
    .await;
    assert_eq!(status, 200);
    let token = rotated["accessToken"].as_str().expect("access").to_string();
    for t in [
        &registered["accessToken"],
        &registered["refreshToken"],
        &login["accessToken"],
        &rotated["refreshToken"],
    ] {
        secrets.push(t.as_str().expect("token").into());
    }
    secrets.push(token.clone());
    secrets.push(refresh.split_once('.').expect("sid.secret").1.into());

    let (status, key) = send(
        http.post(url("/api/api-keys"))
            .bearer_auth(&token)
            .json(&json!({"name": "ci"})),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let api_key = key["key"].as_str().expect("key").to_string();
    let (status, _) = send(http.get(url("/api/users/me")).header("X-API-Key", &api_key)).await;
    assert_eq!(status, 200);
    secrets.push(api_key);

    let (status, hook) = send(http.post(url("/api/webhooks")).bearer_auth(&token).json(
        &json!({"url": "http://127.0.0.1:9/hook?token=receiver-secret-in-query",
                          "events": ["donation.created"]}),
    ))
    .await;
    assert_eq!(status, 201, "{hook}");
    secrets.push(hook["secret"].as_str().expect("webhook secret").into());

    let (status, deposit) = send(
        http.post(url("/api/wallet/deposits"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "log-test-deposit")
            .json(&json!({"amount": 5_000})),
    )
    .await;
    assert_eq!(status, 201, "{deposit}");
    let body = json!({"id": "evt_log", "type": "deposit.succeeded",
                      "data": {"depositId": deposit["id"], "amount": 5_000}})
    .to_string();
    let signature = domain::money::service::sign_payment_webhook(
        PROVIDER_SECRET,
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    )
    .expect("sign");
    let (status, _) = send(
        http.post(url("/api/payments/webhook"))
            .header("Payment-Signature", &signature)
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(status, 200);
    secrets.push(signature.rsplit("v1=").next().expect("hmac").into());

    let deadline = chrono::Utc::now() + chrono::Duration::days(30);
    let (status, campaign) = send(http.post(url("/api/campaigns")).bearer_auth(&token).json(&json!({
        "title": "Logs that keep secrets", "description": "A campaign made by the log test, with an image.",
        "goalAmount": 10_000, "currency": "USD", "category": "community",
        "fundingModel": "keep_it_all", "deadline": deadline})))
    .await;
    assert_eq!(status, 201, "{campaign}");
    let id = campaign["id"].as_str().expect("id");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"\x89PNG\r\n\x1a\nlog-test".to_vec()).file_name("x.png"),
    );
    let (status, image) = send(
        http.post(url(&format!("/api/campaigns/{id}/images")))
            .bearer_auth(&token)
            .multipart(form),
    )
    .await;
    assert_eq!(status, 201, "{image}");
    let presigned = image["url"].as_str().expect("url");
    let signature = presigned
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("X-Amz-Signature="))
        .expect("presigned signature");
    secrets.push(signature.into());

    let new_password = "the next password also unlogged";
    secrets.push(new_password.into());
    let (status, _) = send(
        http.patch(url("/api/users/me"))
            .bearer_auth(&token)
            .json(&json!({"currentPassword": password, "newPassword": new_password})),
    )
    .await;
    assert_eq!(status, 200);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = std::fs::read_to_string(&api.log).expect("logs");
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON log line: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .filter(|l| l["fields"]["message"] == "request completed")
            .count()
            >= 12,
        "the flow was logged"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret is in the logs: {secret}"
        );
    }
    assert!(
        !logs.contains("receiver-secret-in-query"),
        "a webhook URL's query is in the logs"
    );
    let _ = std::fs::remove_file(&api.log);
}
