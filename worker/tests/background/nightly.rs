//! The nightly tasks, called directly with a fixed clock: analytics, ledger digests, backups.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::analytics::{self, DailyTotals};
use domain::ledger::digest as ledger_digest;
use domain::ops::backup;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::support::{TestEnv, create_database};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s)
        .single()
        .expect("valid time")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

async fn set_created(pool: &PgPool, table: &str, id: Uuid, when: DateTime<Utc>) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update {table} set created_at = $2 where id = $1"
    )))
    .bind(id)
    .bind(when)
    .execute(pool)
    .await
    .expect("set created_at");
}

#[tokio::test]
async fn nightly_analytics_totals_the_previous_utc_day_and_rerunning_changes_nothing() {
    let env = TestEnv::new().await;
    let pool = env.pool();
    let creator = env.user("Cleo", true).await;
    let (ann, ben) = (env.user("Ann", true).await, env.user("Ben", true).await);
    for u in [&ann, &ben] {
        set_created(pool, "users", u.id, at(2026, 2, 1, 9, 0, 0)).await;
    }
    set_created(pool, "users", creator.id, at(2026, 3, 1, 8, 0, 0)).await;
    let campaign = env.campaign(creator.id).await;
    set_created(pool, "campaigns", campaign, at(2026, 3, 1, 8, 30, 0)).await;
    let refunded = env.donation(campaign, ann.id, 1_000).await;
    set_created(pool, "donations", refunded, at(2026, 3, 1, 10, 0, 0)).await;
    sqlx::query("update donations set status = 'refunded', refunded_at = $2 where id = $1")
        .bind(refunded)
        .bind(at(2026, 3, 1, 12, 0, 0))
        .execute(pool)
        .await
        .expect("refund");
    let late = env.donation(campaign, ben.id, 500).await;
    set_created(pool, "donations", late, at(2026, 3, 1, 23, 59, 59)).await;
    let next_day = env.donation(campaign, ann.id, 700).await;
    set_created(pool, "donations", next_day, at(2026, 3, 2, 0, 0, 0)).await;
    // Loan decisions and repayments count by the day of their status change.
    let loan = Uuid::new_v4();
    sqlx::query(
        "insert into loans (id, borrower_id, amount, term_months, purpose, description, status)
         values ($1, $2, 10000, 6, 'A loom', 'A second-hand loom for the weaving co-op.', 'rejected')",
    )
    .bind(loan)
    .bind(ann.id)
    .execute(pool)
    .await
    .expect("loan");
    for (to_status, when) in [
        ("fundraising", at(2026, 3, 1, 9, 0, 0)),
        ("rejected", at(2026, 3, 1, 9, 5, 0)),
        ("rejected", at(2026, 3, 1, 9, 6, 0)),
        ("repaid", at(2026, 3, 1, 18, 0, 0)),
        ("fundraising", at(2026, 3, 2, 9, 0, 0)),
    ] {
        sqlx::query(
            "insert into loan_transitions (loan_id, to_status, reason, created_at)
             values ($1, $2, 'test', $3)",
        )
        .bind(loan)
        .bind(to_status)
        .bind(when)
        .execute(pool)
        .await
        .expect("transition");
    }
    let now = at(2026, 3, 2, 0, 30, 0);

    let first = analytics::run_nightly(pool, now).await.expect("first");
    let second = analytics::run_nightly(pool, now).await.expect("second");

    let expected = DailyTotals {
        day: day(2026, 3, 1),
        donations_count: 2,
        donations_amount: 1_500,
        donors_count: 2,
        refunds_count: 1,
        refunds_amount: 1_000,
        new_campaigns: 1,
        new_users: 1,
        loans_approved: 1,
        loans_rejected: 2,
        loans_repaid: 1,
    };
    assert_eq!(expected.approval_rate_bp(), Some(3_333));
    assert_eq!(first, expected);
    assert_eq!(second, expected);
    let rows: i64 = sqlx::query_scalar("select count(*) from daily_analytics")
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(rows, 1);
}

async fn post(pool: &PgPool, when: DateTime<Utc>, from: &str, to: &str, amount: i64) {
    sqlx::query(
        "insert into ledger_entries (txn_id, account, amount, kind, created_at)
         values ($1, $2, $3, 'test', $5), ($1, $4, -$3, 'test', $5)",
    )
    .bind(Uuid::new_v4())
    .bind(to)
    .bind(amount)
    .bind(from)
    .bind(when)
    .execute(pool)
    .await
    .expect("post");
}

#[tokio::test]
async fn the_ledger_digest_is_deterministic_and_exposes_a_rewritten_day() {
    let env = TestEnv::new().await;
    let pool = env.pool();
    post(
        pool,
        at(2026, 3, 1, 9, 0, 0),
        "external:payments",
        "wallet:a",
        5_000,
    )
    .await;
    post(
        pool,
        at(2026, 3, 1, 18, 0, 0),
        "wallet:a",
        "campaign:x",
        1_200,
    )
    .await;
    post(pool, at(2026, 3, 2, 0, 0, 1), "wallet:a", "campaign:x", 300).await;
    let d = day(2026, 3, 1);

    let recorded = ledger_digest::run_nightly(pool, at(2026, 3, 2, 0, 45, 0))
        .await
        .expect("record");
    assert_eq!(recorded.day, d);
    assert_eq!(recorded.line_count, 4);
    assert_eq!(
        ledger_digest::compute(pool, d).await.expect("again"),
        recorded
    );
    assert!(
        ledger_digest::verify(pool, d)
            .await
            .expect("verify")
            .intact()
    );
    ledger_digest::record_day(pool, d)
        .await
        .expect("recording again only checks");

    // Someone with database access rewrites history.
    sqlx::query("alter table ledger_entries disable trigger ledger_append_only")
        .execute(pool)
        .await
        .expect("disable");
    sqlx::query("update ledger_entries set amount = amount * 10 where id = $1")
        .bind(recorded.first_id)
        .execute(pool)
        .await
        .expect("tamper");

    let check = ledger_digest::verify(pool, d).await.expect("verify");
    assert!(!check.intact());
    assert_eq!(
        check.stored.as_ref(),
        Some(&recorded),
        "the stored root is untouched"
    );
    assert!(ledger_digest::record_day(pool, d).await.is_err());
    let empty = ledger_digest::compute(pool, day(2026, 1, 1))
        .await
        .expect("empty");
    assert_eq!(empty.line_count, 0);
    assert_eq!(
        empty.root_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

/// Row counts of every table, and the money totals, of the database at `url`.
async fn fingerprint(url: &str) -> Vec<(String, i64)> {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'public' order by tablename",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut out = Vec::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            r#"select count(*) from "{table}""#
        )))
        .fetch_one(&mut conn)
        .await
        .expect("count");
        out.push((table, n));
    }
    for (name, sql) in [
        (
            "sum:wallets",
            "select coalesce(sum(balance), 0)::bigint from wallets",
        ),
        (
            "sum:donations",
            "select coalesce(sum(amount), 0)::bigint from donations",
        ),
        (
            "sum:ledger_abs",
            "select coalesce(sum(abs(amount)), 0)::bigint from ledger_entries",
        ),
    ] {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect("sum");
        out.push((name.to_string(), n));
    }
    out
}

#[tokio::test]
async fn a_backup_restored_into_a_new_database_has_the_same_rows_and_balances() {
    let env = TestEnv::new().await;
    let pool = env.pool();
    env.app.infra.storage.ensure_bucket().await.expect("bucket");
    let creator = env.user("Cleo", true).await;
    let donor = env.user("Dan", true).await;
    sqlx::query("insert into wallets (user_id, balance) values ($1, 4200)")
        .bind(donor.id)
        .execute(pool)
        .await
        .expect("wallet");
    let campaign = env.campaign(creator.id).await;
    env.donation(campaign, donor.id, 800).await;
    post(pool, Utc::now(), "wallet:d", "campaign:c", 800).await;
    env.commit_event(&domain::jobs::Event::CampaignChanged {
        campaign_id: campaign,
    })
    .await;
    let source_url = env.app.infra.config.database_url.expose().to_string();
    let storage = &env.app.infra.storage;

    let mut keys = Vec::new();
    for hour in [1, 2, 3] {
        let done = backup::run(storage, &source_url, at(2026, 3, 1, hour, 0, 0), 2)
            .await
            .expect("backup");
        assert!(done.size_bytes > 0);
        keys.push(done.key);
    }
    assert_eq!(
        backup::list(storage).await.expect("list"),
        keys[1..].to_vec(),
        "keeps the newest 2"
    );
    let (_, target_url) = create_database(false).await;
    backup::restore(storage, &keys[2], &target_url)
        .await
        .expect("restore");

    let source = fingerprint(&source_url).await;
    assert!(source.iter().any(|(t, n)| t == "donations" && *n == 1));
    assert_eq!(fingerprint(&target_url).await, source);
}

#[tokio::test]
async fn retention_prunes_only_what_is_past_its_period_and_never_money() {
    use domain::retention;
    let env = TestEnv::new().await;
    let pool = env.pool();
    let now = Utc::now();
    let old = now - chrono::Duration::days(400);
    let user = env.user("Rita", true).await;
    let exec = |sql: &'static str| async move {
        sqlx::query(sql).execute(pool).await.expect(sql);
    };
    // More idempotency keys than one pruning batch, so the batches loop; and one fresh key.
    sqlx::query(
        "insert into idempotency_keys (user_id, key, request_hash, response_status, response, created_at)
         select $1, 'old-' || n, 'h', 201, '{}', $2 from generate_series(1, 5003) n",
    )
    .bind(user.id)
    .bind(old)
    .execute(pool)
    .await
    .expect("old keys");
    sqlx::query(
        "insert into idempotency_keys (user_id, key, request_hash, response_status, response)
         values ($1, 'fresh', 'h', 201, '{}')",
    )
    .bind(user.id)
    .execute(pool)
    .await
    .expect("fresh key");
    // Outbox: old and sent (pruned), old and unsent (kept), fresh and sent (kept).
    for (created, sent) in [(old, Some(old)), (old, None), (now, Some(now))] {
        sqlx::query("insert into outbox (kind, payload, created_at, sent_at) values ('campaign.changed', '{}', $1, $2)")
            .bind(created)
            .bind(sent)
            .execute(pool)
            .await
            .expect("outbox");
    }
    for (key, at) in [("old", old), ("fresh", now)] {
        sqlx::query("insert into notifications_sent (dedupe_key, user_id, template, outcome, created_at) values ($1, $2, 'welcome', 'sent', $3)")
            .bind(key)
            .bind(user.id)
            .bind(at)
            .execute(pool)
            .await
            .expect("notification");
    }
    // Scheduler runs: old and finished (pruned), old and still claimed (kept).
    for (task, finished) in [("old_done", Some(old)), ("old_claimed", None)] {
        sqlx::query("insert into scheduler_runs (task, scheduled_for, started_at, finished_at) values ($1, $2, $2, $3)")
            .bind(task)
            .bind(old)
            .bind(finished)
            .execute(pool)
            .await
            .expect("run");
    }
    exec(
        "with t as (select gen_random_uuid() as id)
          insert into ledger_entries (txn_id, account, amount, kind, created_at)
          select id, 'external:payments', -100, 'deposit', now() - interval '400 days' from t
          union all
          select id, 'external:payments', 100, 'deposit', now() - interval '400 days' from t",
    )
    .await;
    let ledger_before: i64 = sqlx::query_scalar("select count(*) from ledger_entries")
        .fetch_one(pool)
        .await
        .expect("ledger");

    let pruned = retention::run(&env.app, now).await.expect("retention");
    assert_eq!(pruned.idempotency_keys, 5_003);
    assert_eq!(pruned.outbox_rows, 1);
    assert_eq!(pruned.notification_records, 1);
    assert_eq!(pruned.scheduler_runs, 1);
    let left = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .expect(sql)
    };
    assert_eq!(left("select count(*) from idempotency_keys").await, 1);
    assert_eq!(left("select count(*) from outbox").await, 2);
    assert_eq!(
        left("select count(*) from outbox where sent_at is null").await,
        1
    );
    assert_eq!(left("select count(*) from notifications_sent").await, 1);
    assert_eq!(
        left("select count(*) from scheduler_runs where task like 'old_%'").await,
        1
    );
    assert_eq!(
        left("select count(*) from ledger_entries").await,
        ledger_before
    );

    // Again: nothing left to prune.
    let again = retention::run(&env.app, now).await.expect("again");
    assert_eq!(again, retention::Pruned::default());
}
