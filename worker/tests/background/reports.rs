//! CSV reports: requested with an outbox event, built by the worker into object storage, the
//! same on a rerun; giving statements and the loan book read right.

use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use domain::accounts::{Principal, Role, Tier};
use domain::reports::{Report, ReportStatus};
use uuid::Uuid;

use crate::support::{RunningWorker, TestEnv, eventually, fast_worker};

fn principal(user_id: Uuid, role: Role) -> Principal {
    Principal {
        user_id,
        role,
        tier: Tier::Standard,
        session_id: None,
        request_id: None,
    }
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// The CSV's records, header first.
fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect()
}

async fn set_created(env: &TestEnv, table: &str, id: Uuid, at: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update {table} set created_at = $2::timestamptz where id = $1"
    )))
    .bind(id)
    .bind(at)
    .execute(env.pool())
    .await
    .expect("backdate");
}

async fn file_of(env: &TestEnv, report: &Report) -> Vec<Vec<String>> {
    let key = report.object_key.as_deref().expect("object key");
    records(&env.app.infra.storage.get(key).await.expect("download"))
}

#[tokio::test]
async fn the_worker_builds_a_donations_report_with_refunds_and_tricky_titles() {
    let env = TestEnv::new().await;
    let admin = env.user("Ada", true).await;
    let creator = env.user("Cleo", true).await;
    let (a, b) = (env.user("Ann", true).await, env.user("Ben", true).await);
    let water = env.campaign(creator.id).await;
    let tricky = env.campaign(creator.id).await;
    sqlx::query("update campaigns set title = $2 where id = $1")
        .bind(tricky)
        .bind("=cmd, \"the\" school\nroof")
        .execute(env.pool())
        .await
        .expect("title");
    let d1 = env.donation(water, a.id, 1_000).await;
    let d2 = env.donation(water, b.id, 2_550).await;
    let d3 = env.donation(tricky, a.id, 700).await;
    let outside = env.donation(water, b.id, 9_900).await;
    for (id, at) in [
        (d1, "2026-03-02T10:00:00Z"),
        (d2, "2026-03-15T23:59:59Z"),
        (d3, "2026-03-31T12:00:00Z"),
        (outside, "2026-04-01T00:00:00Z"),
    ] {
        set_created(&env, "donations", id, at).await;
    }
    // d2 refunded inside the period.
    sqlx::query(
        "update donations set status = 'refunded', refunded_at = '2026-03-20T08:00:00Z' where id = $1",
    )
    .bind(d2)
    .execute(env.pool())
    .await
    .expect("refund");

    let report = env
        .app
        .reports()
        .request(
            &principal(admin.id, Role::Admin),
            Some("donations_by_campaign"),
            Some(date("2026-03-01")),
            Some(date("2026-03-31")),
        )
        .await
        .expect("request");
    assert_eq!(report.status, ReportStatus::Queued);
    let worker = RunningWorker::start(&env.app, fast_worker());
    let done = eventually(Duration::from_secs(20), || async {
        let view = env
            .app
            .reports()
            .get(&principal(admin.id, Role::Admin), report.id)
            .await
            .expect("get");
        view.report.status == ReportStatus::Done && view.download_url.is_some()
    })
    .await;
    worker.stop().await;
    assert!(done, "the report is built");

    let view = env
        .app
        .reports()
        .get(&principal(admin.id, Role::Admin), report.id)
        .await
        .expect("get");
    assert_eq!(view.report.row_count, Some(2));
    let rows = file_of(&env, &view.report).await;
    assert_eq!(
        rows[0],
        [
            "campaign_id",
            "campaign_title",
            "currency",
            "period_from",
            "period_to",
            "donations_count",
            "donations_amount",
            "refunds_count",
            "refunds_amount",
            "net_amount"
        ]
    );
    let water_row = rows
        .iter()
        .find(|r| r[0] == water.to_string())
        .expect("water");
    assert_eq!(
        water_row[1..],
        [
            "Clean water for Lakeside",
            "USD",
            "2026-03-01",
            "2026-03-31",
            "2",
            "35.50",
            "1",
            "25.50",
            "10.00"
        ]
    );
    let tricky_row = rows
        .iter()
        .find(|r| r[0] == tricky.to_string())
        .expect("tricky");
    assert_eq!(
        tricky_row[1], "'=cmd, \"the\" school\nroof",
        "escaped and defused"
    );
    assert_eq!(tricky_row[5..7], ["1", "7.00"]);
}

#[tokio::test]
async fn generating_a_report_again_changes_nothing() {
    let env = TestEnv::new().await;
    let admin = principal(env.user("Ada", true).await.id, Role::Admin);
    let report = env
        .app
        .reports()
        .request(
            &admin,
            Some("donations_by_campaign"),
            Some(date("2026-01-01")),
            Some(date("2026-12-31")),
        )
        .await
        .expect("request");

    let first = domain::reports::generate(&env.app.infra, report.id)
        .await
        .expect("first")
        .expect("built");
    let bytes = env
        .app
        .infra
        .storage
        .get(first.object_key.as_deref().expect("key"))
        .await
        .expect("get");
    let second = domain::reports::generate(&env.app.infra, report.id)
        .await
        .expect("second");

    assert!(second.is_none(), "a done report is left alone");
    let after = env.app.reports().get(&admin, report.id).await.expect("get");
    assert_eq!(after.report, first);
    assert_eq!(records(&bytes).len(), 1, "just the header: no donations");
    let objects = env.app.infra.storage.list("reports/").await.expect("list");
    assert_eq!(objects.len(), 1);
}

#[tokio::test]
async fn a_giving_statement_lists_the_years_standing_gifts_and_their_total() {
    let env = TestEnv::new().await;
    let creator = env.user("Cleo", true).await;
    let (donor, other) = (env.user("Dan", true).await, env.user("Oli", true).await);
    let campaign = env.campaign(creator.id).await;
    let year = Utc::now().year() - 1;
    let gifts = [
        (
            env.donation(campaign, donor.id, 1_000).await,
            format!("{year}-02-01T09:00:00Z"),
        ),
        (
            env.donation(campaign, donor.id, 250).await,
            format!("{year}-12-31T23:00:00Z"),
        ),
        (
            env.donation(campaign, donor.id, 5_000).await,
            format!("{year}-06-01T09:00:00Z"),
        ),
        (
            env.donation(campaign, donor.id, 777).await,
            format!("{}-01-01T00:00:00Z", year + 1),
        ),
        (
            env.donation(campaign, other.id, 4_000).await,
            format!("{year}-03-01T09:00:00Z"),
        ),
    ];
    for (id, at) in &gifts {
        set_created(&env, "donations", *id, at).await;
    }
    sqlx::query("update donations set status = 'refunded', refunded_at = now() where id = $1")
        .bind(gifts[2].0)
        .execute(env.pool())
        .await
        .expect("refund");
    let me = principal(donor.id, Role::User);
    let statement = env
        .app
        .reports()
        .request_statement(&me, year)
        .await
        .expect("request");
    assert_eq!(
        statement.period_from,
        NaiveDate::from_ymd_opt(year, 1, 1).expect("date")
    );

    domain::reports::generate(&env.app.infra, statement.id)
        .await
        .expect("generate");

    let view = env
        .app
        .reports()
        .statement(&me, statement.id)
        .await
        .expect("own");
    assert!(view.download_url.is_some());
    let rows = file_of(&env, &view.report).await;
    assert_eq!(
        rows[0],
        ["date", "campaign", "amount", "currency", "donation_id"]
    );
    assert_eq!(
        rows[1],
        [
            format!("{year}-02-01"),
            "Clean water for Lakeside".into(),
            "10.00".into(),
            "USD".into(),
            gifts[0].0.to_string()
        ]
    );
    assert_eq!(rows[2][0], format!("{year}-12-31"));
    assert_eq!(rows[2][2], "2.50");
    assert_eq!(rows[3], ["", "Total", "12.50", "USD", ""]);
    assert_eq!(rows.len(), 4);
    let stranger = principal(other.id, Role::User);
    assert!(matches!(
        env.app.reports().statement(&stranger, statement.id).await,
        Err(domain::Error::NotFound(_))
    ));
}

#[tokio::test]
async fn the_loan_book_shows_status_outstanding_and_arrears() {
    let env = TestEnv::new().await;
    let admin = principal(env.user("Ada", true).await.id, Role::Admin);
    let borrower = env.user("Bo", true).await;
    let (late, closed_early) = (Uuid::new_v4(), Uuid::new_v4());
    let now = Utc::now();
    for (id, status, created, closed) in [
        (late, "late", "2026-01-10T00:00:00Z", None),
        (
            closed_early,
            "repaid",
            "2025-01-10T00:00:00Z",
            Some("2025-06-01T00:00:00Z"),
        ),
    ] {
        sqlx::query(
            "insert into loans (id, borrower_id, amount, term_months, purpose, description, status,
                                funded_amount, total_due, repaid_amount, disbursed_at, closed_at,
                                created_at)
             values ($1, $2, 30000, 3, 'Sewing machine', 'A second machine for the tailoring shop.',
                     $3, 30000, 30000, $4, $5::timestamptz, $6::timestamptz, $5::timestamptz)",
        )
        .bind(id)
        .bind(borrower.id)
        .bind(status)
        .bind(if closed.is_some() { 30_000 } else { 10_000 })
        .bind(created)
        .bind(closed)
        .execute(env.pool())
        .await
        .expect("loan");
    }
    // Installment 1 paid, 2 overdue by ten days with 40.00 of 100.00 paid, 3 due next month.
    for (seq, due, paid) in [
        (1, now - chrono::Duration::days(40), 10_000),
        (2, now - chrono::Duration::days(10), 4_000),
        (3, now + chrono::Duration::days(20), 0),
    ] {
        sqlx::query(
            "insert into loan_installments (loan_id, seq, due_at, principal, interest, amount, paid_amount)
             values ($1, $2, $3, 10000, 0, 10000, $4)",
        )
        .bind(late)
        .bind(seq)
        .bind(due)
        .bind(paid)
        .execute(env.pool())
        .await
        .expect("installment");
    }
    let report = env
        .app
        .reports()
        .request(
            &admin,
            Some("loan_book"),
            Some(date("2026-01-01")),
            Some(date("2026-12-31")),
        )
        .await
        .expect("request");

    let done = domain::reports::generate(&env.app.infra, report.id)
        .await
        .expect("generate")
        .expect("built");

    let rows = file_of(&env, &done).await;
    assert_eq!(
        rows.len(),
        2,
        "the loan closed before the period is not on the book"
    );
    let header = &rows[0];
    let row: std::collections::HashMap<&str, &str> = header
        .iter()
        .map(String::as_str)
        .zip(rows[1].iter().map(String::as_str))
        .collect();
    assert_eq!(row["loan_id"], late.to_string());
    assert_eq!(row["status"], "late");
    assert_eq!(row["amount"], "300.00");
    assert_eq!(row["repaid_amount"], "100.00");
    assert_eq!(row["outstanding"], "200.00");
    assert_eq!(row["arrears_amount"], "60.00");
    assert_eq!(row["days_past_due"], "10");
    assert!(!row["next_due_at"].is_empty());
}
