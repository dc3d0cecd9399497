//! Admin job overview, dead-letter retry, published ledger digests and tamper detection.

use serde_json::Value;

use crate::helpers::{error_of, spawn_app};

#[tokio::test]
async fn admins_see_queue_depths_and_dead_letters_and_can_retry_one() {
    let app = spawn_app().await;
    let (admin, user) = (app.register_admin().await, app.register().await);
    let job = domain::jobs::kinds::Job::InvalidateCache(domain::jobs::kinds::InvalidateCache {
        keys: vec!["k".into()],
        generations: vec![],
    });
    let letter = domain::jobs::dead_letter::record(
        &app.app.infra.db.write,
        job,
        "boom".into(),
        5,
        chrono::Utc::now(),
    )
    .await
    .expect("record");
    error_of(
        app.get_auth("/api/admin/jobs", &user.access_token).await,
        403,
    )
    .await;
    let overview: Value = app
        .get_auth("/api/admin/jobs", &admin.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(overview["deadLetters"][0]["error"], "boom");
    assert_eq!(overview["deadLetters"][0]["queue"], "invalidate_cache");
    assert!(overview["queues"].as_array().is_some_and(|q| !q.is_empty()));

    let path = format!("/api/admin/jobs/dead-letters/{}/retry", letter.id);
    let resp = app
        .post_json(&path, Some(&admin.access_token), &serde_json::json!({}))
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let overview: Value = app
        .get_auth("/api/admin/jobs", &admin.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(overview["deadLetters"].as_array().map(Vec::len), Some(0));
    let pending: u64 = overview["queues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|q| {
            q["queue"]
                .as_str()
                .is_some_and(|n| n.contains("invalidate_cache"))
        })
        .filter_map(|q| q["pending"].as_u64())
        .sum();
    assert_eq!(pending, 1, "{overview}");
    error_of(
        app.post_json(&path, Some(&admin.access_token), &serde_json::json!({}))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn published_digests_expose_rewritten_history_to_the_audit() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    assert_eq!(
        app.donate(&donor, campaign, 1_000, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    let today = chrono::Utc::now().date_naive();
    let digest = domain::ledger::digest::record_day(&app.app.infra.db.write, today)
        .await
        .expect("digest");
    let published: Value = app
        .get("/api/ledger/digests")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(published[0]["merkleRoot"], digest.root_hex());
    assert_eq!(published[0]["lineCount"], 4);
    app.assert_books_balance().await;

    // Rewrite history behind the application's back (the append-only trigger must be lifted).
    sqlx::raw_sql(
        "alter table ledger_entries disable trigger ledger_append_only;
         update ledger_entries set created_at = created_at - interval '1 second' where id = (select min(id) from ledger_entries);
         alter table ledger_entries enable trigger ledger_append_only;",
    )
    .execute(&app.app.infra.db.write)
    .await
    .expect("tamper");
    let report = app.app.audit().await.expect("audit");
    assert!(!report.ok);
    assert!(
        report
            .drift
            .iter()
            .any(|d| d.kind == "ledger_digest" && d.subject == today.to_string()),
        "{:?}",
        report.drift
    );
}

#[tokio::test]
async fn the_ledger_refuses_updates_and_deletes() {
    let app = spawn_app().await;
    let donor = app.register().await;
    app.fund(&donor, 1_000).await;
    for sql in [
        "update ledger_entries set amount = amount * 2",
        "delete from ledger_entries",
    ] {
        let err = sqlx::raw_sql(sql)
            .execute(&app.app.infra.db.write)
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}
