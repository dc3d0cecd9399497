//! Hostile input: what an attacker sends from outside (huge and endless bodies, loose JSON,
//! control characters, absurd pages, forged and borrowed tokens, doubled headers, foreign
//! origins) gets the JSON error with the right status, writes nothing and holds no memory.

use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::helpers::{TestApp, error_of, spawn_app, spawn_app_with};

const JWT_SECRET: &str = "test-secret-that-is-long-enough-0123456789";

/// Sends `head` (request line and headers, no blank line) and then, concurrently, `body_chunks`
/// chunks of `chunk` bytes (chunked transfer encoding when `chunked`), until the server answers.
/// Returns the status line and the JSON body of the answer.
async fn raw_request(app: &TestApp, head: &str, chunked: bool, chunks: usize) -> (u16, Value) {
    let addr = app.address.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(format!("{head}\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("head");
    let writer = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..chunks {
            let sent = if chunked {
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(&chunk);
                framed.extend_from_slice(b"\r\n");
                write.write_all(&framed).await
            } else {
                write.write_all(&chunk).await
            };
            if sent.is_err() {
                break;
            }
        }
        // Keep the socket open until the test has read the answer.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if let Some(body) = body_of(&answer) {
                return Some(body);
            }
        }
        body_of(&answer)
    };
    let parsed = tokio::time::timeout(Duration::from_secs(20), read_all)
        .await
        .expect("the server answers before the body ends")
        .expect("a complete answer");
    writer.abort();
    parsed
}

/// Status and JSON body of a complete HTTP/1.1 answer with `Content-Length`.
fn body_of(answer: &[u8]) -> Option<(u16, Value)> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })?;
    (body.len() >= length).then(|| {
        (
            status,
            serde_json::from_str(&body[..length]).unwrap_or(Value::Null),
        )
    })
}

fn resident_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        / 1024
}

#[tokio::test]
async fn oversized_bodies_are_413_before_they_are_read_declared_or_streamed() {
    let app = spawn_app().await;
    // Declared: refused on the headers alone, while the client is still sending.
    let (status, body) = raw_request(
        &app,
        "POST /api/auth/login HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 104857600",
        false,
        4,
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");

    // Streamed without a length: refused once the body passes the limit, in parallel, and the
    // process does not grow by what the clients would have sent (4 × 150 MiB).
    let before = resident_mib();
    let endless = (0..4).map(|_| {
        raw_request(
            &app,
            "POST /api/auth/login HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked",
            true,
            2_400,
        )
    });
    for (status, body) in futures::future::join_all(endless).await {
        assert_eq!(status, 413);
        assert_eq!(body["error"]["code"], "payload_too_large");
    }
    let grown = resident_mib().saturating_sub(before);
    assert!(grown < 64, "resident memory grew by {grown} MiB");

    // The payment webhook reads no more than any other JSON route before its signature check.
    let (status, _) = raw_request(
        &app,
        "POST /api/payments/webhook HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 10485760",
        false,
        1,
    )
    .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn uploads_over_their_limit_are_413_by_declared_streamed_or_spooled_size() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let (status, body) = raw_request(
        &app,
        &format!(
            "POST /api/campaigns/{campaign}/images HTTP/1.1\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 209715200",
            creator.access_token
        ),
        false,
        2,
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");

    let upload = |bytes: Vec<u8>, path: String| {
        let app = app.clone();
        let token = creator.access_token.clone();
        async move {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("x.png"),
            );
            app.client
                .post(app.url(&path))
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
                .expect("upload")
        }
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    // Just over 5 MiB: inside the body allowance, refused by the spooled file's size.
    png.resize(domain::campaigns::MAX_IMAGE_BYTES + 1, 0);
    let images = format!("/api/campaigns/{campaign}/images");
    let error = error_of(upload(png.clone(), images.clone()).await, 413).await;
    assert_eq!(error["details"]["field"], "file");
    // Well over: the body stops at the route's limit.
    png.resize(8 * 1024 * 1024, 0);
    error_of(upload(png, images).await, 413).await;
    assert_eq!(app.count("select count(*) from campaign_images").await, 0);

    // The client's file name is never part of where the file is stored.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"\x89PNG\r\n\x1a\nsmall".to_vec())
            .file_name("../../../etc/passwd%00.png"),
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
    let url = resp.json::<Value>().await.expect("json")["url"]
        .as_str()
        .expect("url")
        .to_string();
    let path = url.split('?').next().expect("path");
    assert!(!path.contains("..") && !path.contains("passwd"), "{path}");
}

#[tokio::test]
async fn loose_json_is_refused_and_moves_no_money() {
    let app = spawn_app().await;
    let user = app.register().await;
    let deposit = |content_type: &'static str, body: String| {
        let app = app.clone();
        let token = user.access_token.clone();
        async move {
            app.client
                .post(app.url("/api/wallet/deposits"))
                .bearer_auth(token)
                .header("Idempotency-Key", Uuid::new_v4().to_string())
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .expect("request")
        }
    };
    let json = |body: &str| deposit("application/json", body.to_string());
    for trailing in [r#"{"amount":100} xyz"#, r#"{"amount":100}{"amount":100}"#] {
        let error = error_of(json(trailing).await, 400).await;
        assert_eq!(error["code"], "malformed_json", "{trailing}");
    }
    for wrong_type in ["[100]", "100", r#""amount""#, "null"] {
        error_of(json(wrong_type).await, 422).await;
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    error_of(json(&deep).await, 400).await;
    let overflowing = [
        r#"{"amount":99999999999999999999999}"#.to_string(),
        format!(r#"{{"amount":{}}}"#, i64::MAX),
    ];
    for amount in &overflowing {
        error_of(json(amount).await, 422).await;
    }
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let resp = deposit(content_type, r#"{"amount":100}"#.to_string()).await;
        assert_eq!(error_of(resp, 415).await["code"], "unsupported_media_type");
    }
    assert_eq!(app.balance(&user).await, 0);
    assert_eq!(app.count("select count(*) from ledger_entries").await, 0);
}

#[tokio::test]
async fn control_and_invisible_characters_are_422_naming_the_field() {
    let app = spawn_app().await;
    let register = |first: &str| {
        json!({"email": format!("u{}@example.com", Uuid::new_v4().simple()),
               "password": "correct horse battery", "firstName": first, "lastName": "User"})
    };
    for (name, bad) in [
        ("nul", "Ann\u{0}"),
        ("bidi override", "Ann\u{202E}nimda"),
        ("zero width", "A\u{200B}nn"),
        ("newline", "Ann\nAdmin"),
    ] {
        let resp = app
            .post_json("/api/auth/register", None, &register(bad))
            .await;
        let error = error_of(resp, 422).await;
        assert_eq!(error["details"]["field"], "firstName", "{name}");
    }
    assert_eq!(app.count("select count(*) from users").await, 0);

    let creator = app.register().await;
    let deadline = chrono::Utc::now() + chrono::Duration::days(30);
    let campaign = |title: &str, description: &str| {
        json!({"title": title, "description": description, "goalAmount": 10_000,
               "currency": "USD", "category": "community", "fundingModel": "keep_it_all",
               "deadline": deadline})
    };
    let long_text = "Line one of a long description.\n\tAnd an indented second line.";
    let resp = app
        .post_json(
            "/api/campaigns",
            Some(&creator.access_token),
            &campaign("Wells\u{0}", long_text),
        )
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "title");
    let resp = app
        .post_json(
            "/api/campaigns",
            Some(&creator.access_token),
            &campaign(
                "Wells for the valley",
                "NUL in \u{0} the middle of a long text",
            ),
        )
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "description");
    // Newlines and tabs are fine in long text.
    let resp = app
        .post_json(
            "/api/campaigns",
            Some(&creator.access_token),
            &campaign("Wells for the valley", long_text),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);

    for q in ["%00", "water%00", "a%1Bb", "%E2%80%AE"] {
        let error = error_of(app.get(&format!("/api/campaigns?q={q}")).await, 422).await;
        assert_eq!(error["details"]["field"], "q", "{q}");
    }
    assert_eq!(
        app.get("/api/campaigns?q=caf%C3%A9")
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn page_and_limit_are_bounded_on_every_list() {
    let app = spawn_app().await;
    let admin = app.register_admin().await;
    let id = Uuid::new_v4();
    let lists = [
        "/api/campaigns".to_string(),
        format!("/api/campaigns/{id}/donations"),
        format!("/api/campaigns/{id}/ledger"),
        "/api/loans".to_string(),
        "/api/loans/me".to_string(),
        "/api/wallet/transactions".to_string(),
        "/api/donations/me".to_string(),
        "/api/admin/users".to_string(),
        "/api/admin/loans".to_string(),
        format!("/api/webhooks/{id}/deliveries"),
    ];
    for list in &lists {
        for (query, field) in [
            ("page=461168601842738792", "page"),
            ("page=10001", "page"),
            ("page=0", "page"),
            ("limit=101", "limit"),
            ("limit=9223372036854775807", "limit"),
        ] {
            let resp = app
                .get_auth(&format!("{list}?{query}"), &admin.access_token)
                .await;
            let error = error_of(resp, 422).await;
            assert_eq!(error["details"]["field"], field, "{list}?{query}");
        }
        let last = app
            .get_auth(&format!("{list}?page=10000&limit=100"), &admin.access_token)
            .await;
        assert!(
            matches!(last.status().as_u16(), 200 | 404),
            "{list}: {}",
            last.status()
        );
    }
}

fn session_id(refresh_token: &str) -> &str {
    refresh_token.split_once('.').expect("sid.secret").0
}

#[tokio::test]
async fn knowing_a_session_id_is_not_enough_to_end_the_session() {
    let app = spawn_app().await;
    let user = app.register().await;
    let sid = session_id(&user.refresh_token);
    for garbage in [
        format!("{sid}.garbage"),
        format!("{sid}."),
        format!("{sid}.{}", "A".repeat(43)),
    ] {
        let resp = app
            .post_json("/api/auth/refresh", None, &json!({"refreshToken": garbage}))
            .await;
        error_of(resp, 401).await;
    }
    assert_eq!(
        app.get_auth("/api/users/me", &user.access_token)
            .await
            .status()
            .as_u16(),
        200
    );
    let resp = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refreshToken": user.refresh_token}),
        )
        .await;
    assert_eq!(
        resp.status().as_u16(),
        200,
        "the real refresh token still works"
    );
    let rotated: Value = resp.json().await.expect("json");

    // A secret that was valid once, replayed, still ends the session (someone has a copy).
    let resp = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refreshToken": user.refresh_token}),
        )
        .await;
    error_of(resp, 401).await;
    let resp = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refreshToken": rotated["refreshToken"]}),
        )
        .await;
    error_of(resp, 401).await;
}

fn forge(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test]
async fn role_and_subject_come_from_the_session_not_the_token() {
    let app = spawn_app().await;
    let (user, other) = (app.register().await, app.register().await);
    let sid = session_id(&user.refresh_token);
    let now = chrono::Utc::now().timestamp();
    let claims = |sub: Uuid, role: &str| json!({"sub": sub, "sid": sid, "role": role, "tier": "standard", "iat": now, "exp": now + 600});
    // A well-signed token for the right session and user works…
    let genuine = forge(claims(user.id, "user"));
    assert_eq!(
        app.get_auth("/api/users/me", &genuine)
            .await
            .status()
            .as_u16(),
        200
    );
    // …but claiming admin in it, or borrowing the session for another user, does not.
    error_of(
        app.get_auth("/api/admin/users", &forge(claims(user.id, "admin")))
            .await,
        401,
    )
    .await;
    error_of(
        app.get_auth("/api/users/me", &forge(claims(other.id, "user")))
            .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn admin_edits_end_sessions_only_on_deactivation_or_a_role_change() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_AUTHENTICATED", "1000/60"),
        ("RATE_LIMIT_PREMIUM", "5000/60"),
    ])
    .await;
    let admin = app.register_admin().await;
    let target = app.register().await;
    let patch = |id: Uuid, body: Value| {
        let app = app.clone();
        let token = admin.access_token.clone();
        async move {
            app.client
                .patch(app.url(&format!("/api/admin/users/{id}")))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("patch")
        }
    };
    let alive = |token: String| {
        let app = app.clone();
        async move {
            app.get_auth("/api/users/me", &token)
                .await
                .status()
                .as_u16()
                == 200
        }
    };
    let other = app.register().await;
    for (who, body, keeps, what) in [
        (&target, json!({}), true, "an empty patch"),
        (&target, json!({"tier": "premium"}), true, "a tier change"),
        (
            &admin,
            json!({"tier": "premium"}),
            true,
            "an admin's own tier change",
        ),
        (&target, json!({"role": "admin"}), false, "a role change"),
        (&other, json!({"isActive": false}), false, "deactivation"),
    ] {
        assert_eq!(patch(who.id, body).await.status().as_u16(), 200, "{what}");
        assert_eq!(alive(who.access_token.clone()).await, keeps, "{what}");
        if what == "a tier change" {
            // The new tier applies to the live session at once (premium limits).
            let me = app.get_auth("/api/users/me", &target.access_token).await;
            assert_eq!(me.headers()["ratelimit-limit"], "5000", "the premium limit");
        }
    }
}

#[tokio::test]
async fn an_unreachable_database_is_503_with_retry_after() {
    let app = spawn_app().await;
    let user = app.register().await;
    app.app.infra.db.write.close().await;
    app.app.infra.db.read.close().await;
    let resp = app.get_auth("/api/wallet", &user.access_token).await;
    let retry = resp.headers().get("retry-after").cloned();
    let error = error_of(resp, 503).await;
    assert_eq!(error["code"], "service_unavailable");
    assert!(retry.is_some(), "Retry-After header");
}

#[tokio::test]
async fn doubled_or_unprintable_idempotency_keys_are_400() {
    let app = spawn_app().await;
    let user = app.register().await;
    let resp = app
        .client
        .post(app.url("/api/wallet/deposits"))
        .bearer_auth(&user.access_token)
        .header("Idempotency-Key", "one")
        .header("Idempotency-Key", "two")
        .json(&json!({"amount": 100}))
        .send()
        .await
        .expect("request");
    error_of(resp, 400).await;
    // Bytes outside printable ASCII (control characters never get past the HTTP parser).
    let resp = app
        .client
        .post(app.url("/api/wallet/deposits"))
        .bearer_auth(&user.access_token)
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text"),
        )
        .json(&json!({"amount": 100}))
        .send()
        .await
        .expect("request");
    let error = error_of(resp, 400).await;
    assert_eq!(error["details"]["field"], "Idempotency-Key");
    assert_eq!(app.balance(&user).await, 0);
}

#[tokio::test]
async fn browsers_get_cors_for_listed_origins_and_security_headers_everywhere() {
    let app = spawn_app_with(&[("CORS_ORIGINS", "https://app.commonpot.test")]).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/wallet/deposits"))
        .header("Origin", "https://app.commonpot.test")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, idempotency-key, content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status().as_u16(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.commonpot.test"
    );
    let foreign = app
        .client
        .get(app.url("/api/campaigns"))
        .header("Origin", "https://evil.test")
        .send()
        .await
        .expect("foreign");
    error_of(foreign, 403).await;
    // The web app served by the api itself is not a cross-origin caller.
    let own = app
        .client
        .get(app.url("/api/campaigns"))
        .header("Origin", &app.address)
        .send()
        .await
        .expect("own");
    assert_eq!(own.status().as_u16(), 200);

    let user = app.register().await;
    let login = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(login.headers()["cache-control"], "no-store");
    assert_eq!(login.headers()["x-content-type-options"], "nosniff");
    let docs = app.get("/docs").await;
    let csp = docs.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    assert!(
        docs.headers().get("strict-transport-security").is_none(),
        "no HSTS over http"
    );

    let tls = spawn_app_with(&[("PUBLIC_URL", "https://commonpot.test")]).await;
    let resp = tls.get("/health/live").await;
    assert!(resp.headers().contains_key("strict-transport-security"));
}
