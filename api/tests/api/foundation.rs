//! Health, error shape, request ids and the checked-in OpenAPI spec.

use crate::helpers::{error_of, fresh_database, spawn_app, start, test_config};

#[tokio::test]
async fn liveness_answers_ok() {
    let app = spawn_app().await;
    let resp = app.get("/health/live").await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn readiness_is_200_when_postgres_redis_and_storage_are_up() {
    let app = spawn_app().await;
    let resp = app.get("/health/ready").await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["postgres"], "up");
    assert_eq!(body["redis"], "up");
    assert_eq!(body["storage"], "up");
}

#[tokio::test]
async fn readiness_names_object_storage_when_it_is_down() {
    let (db, url) = fresh_database().await;
    // Nothing listens on port 1.
    let config = test_config(&url, &[("S3_ENDPOINT", "http://127.0.0.1:1")]);
    let app = start(domain::App::connect(config).await.expect("connect"), db).await;
    let error = error_of(app.get("/health/ready").await, 503).await;
    assert_eq!(error["code"], "not_ready");
    assert_eq!(error["details"]["storage"], "down");
    assert_eq!(error["details"]["postgres"], "up");
    assert_eq!(error["details"]["redis"], "up");
}

#[tokio::test]
async fn readiness_names_postgres_when_its_database_goes_away() {
    use sqlx::{Connection, Executor};
    let app = spawn_app().await;
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
    conn.execute(sqlx::AssertSqlSafe(format!(
        r#"drop database "{}" with (force)"#,
        app.db_name
    )))
    .await
    .expect("drop");
    let error = error_of(app.get("/health/ready").await, 503).await;
    assert_eq!(error["details"]["postgres"], "down");
    assert_eq!(error["details"]["redis"], "up");
}

#[tokio::test]
async fn readiness_names_redis_when_it_stops() {
    let redis = crate::helpers::PrivateRedis::start();
    let (db, url) = fresh_database().await;
    let config = test_config(&url, &[("REDIS_URL", &redis.url())]);
    let app = start(domain::App::connect(config).await.expect("connect"), db).await;
    app.app.infra.storage.ensure_bucket().await.expect("bucket");
    assert_eq!(app.get("/health/ready").await.status().as_u16(), 200);
    drop(redis);
    let error = error_of(app.get("/health/ready").await, 503).await;
    assert_eq!(error["details"]["redis"], "down");
    assert_eq!(error["details"]["postgres"], "up");
}

#[tokio::test]
async fn unknown_routes_get_the_json_error_shape() {
    let app = spawn_app().await;
    let error = error_of(app.get("/api/nope").await, 404).await;
    assert_eq!(error["code"], "not_found");
}

#[tokio::test]
async fn a_request_id_is_echoed_or_generated() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/health/live"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = app.get("/health/live").await;
    let generated = resp.headers()["x-request-id"].to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(generated).is_ok());
}

#[tokio::test]
async fn the_checked_in_openapi_spec_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.yaml");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == commonpot_api::startup::spec_yaml(),
        "openapi/openapi.yaml is stale: run `cargo run -p commonpot-api --bin export-spec > openapi/openapi.yaml`"
    );
}

#[tokio::test]
async fn demo_data_loads_once_with_balanced_books_and_the_demo_login_works() {
    let app = spawn_app().await;
    assert!(domain::demo::seed(&app.app).await.expect("seed"));
    assert!(
        !domain::demo::seed(&app.app)
            .await
            .expect("second seed is a no-op")
    );
    let resp = app
        .post_json(
            "/api/auth/login",
            None,
            &serde_json::json!({"email": domain::demo::DEMO_EMAIL, "password": domain::demo::DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let list: serde_json::Value = app.get("/api/campaigns").await.json().await.expect("json");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(list["hasMore"], false);
    assert!(app.app.audit().await.expect("audit").ok);
}
