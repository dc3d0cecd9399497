//! Sentry: the real `api` binary, pointed at a stand-in Sentry endpoint, reports an unexpected
//! error with the id of the request it failed.

use std::time::Duration;

use domain::testing::SentryEndpoint;
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::secrets::start_api;

#[tokio::test]
async fn an_unexpected_error_reaches_sentry_tagged_with_the_request_id() {
    let sentry = SentryEndpoint::start();
    let api = start_api(&[("SENTRY_DSN", &sentry.dsn())]).await;
    // The table registration writes goes missing under the running api: a failure no input
    // explains, so a 500 and an error event naming the cause.
    let mut db = PgConnection::connect(&api.database_url)
        .await
        .expect("connect");
    sqlx::query("alter table users rename to users_gone")
        .execute(&mut db)
        .await
        .expect("rename");
    let request_id = format!("sentry-test-{}", uuid::Uuid::new_v4().simple());

    let resp = reqwest::Client::new()
        .post(format!("{}/api/auth/register", api.address))
        .header("X-Request-Id", &request_id)
        .json(
            &json!({"email": "sentry@example.com", "password": "a long enough password 1",
                      "firstName": "Sen", "lastName": "Try"}),
        )
        .send()
        .await
        .expect("request");

    assert_eq!(resp.status().as_u16(), 500);
    let event = sentry
        .event_where(Duration::from_secs(10), |e| {
            e.to_string()
                .contains(r#"relation \"users\" does not exist"#)
        })
        .await
        .unwrap_or_else(|| panic!("no event about the missing table: {:?}", sentry.events()));
    assert_eq!(event["message"], "internal error", "{event}");
    assert_eq!(event["tags"]["request_id"], request_id.as_str(), "{event}");
}
