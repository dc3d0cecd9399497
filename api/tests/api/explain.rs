//! The read paths use indexes, not sequential scans of the big tables, checked with
//! `EXPLAIN (FORMAT JSON)` on a dataset large enough (and analysed) for the planner to choose
//! freely. The statements are the repositories' own (`campaigns::repo::page_query`,
//! `detail_sql`, `STATS_OF_PAGE`, `money::repo::PUBLIC_DONATIONS_PAGE`), not copies.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use domain::campaigns::CampaignStatus;
use domain::campaigns::repo::{self as campaigns_repo, Cursor, ListQuery, Sort};
use domain::money::repo as money_repo;

use crate::helpers::fresh_database;

const BIG_TABLES: &[&str] = &[
    "campaigns",
    "users",
    "donations",
    "ledger_entries",
    "campaign_stats_shards",
];

/// 20,000 users, 10,000 campaigns (80% active, 10% completed, 10% drafts), 100,000 donations
/// with their stats shards; then VACUUM ANALYZE (which also marks the pages all-visible, as
/// autovacuum keeps a table that is mostly read, so index-only scans are costed as they run).
async fn seeded() -> PgPool {
    let (_, url) = fresh_database().await;
    let db = PgPool::connect(&url).await.expect("connect");
    for sql in [
        "insert into users (id, email, password_hash, first_name, last_name)
         select gen_random_uuid(), 'u' || i || '@example.com', 'x', 'Ada', 'Lovelace'
         from generate_series(1, 20000) i",
        "with u as (select id, row_number() over (order by id) as rn from users)
         insert into campaigns (id, creator_id, title, description, goal_amount, currency, category,
             funding_model, status, created_at, published_at, deadline)
         select gen_random_uuid(), u.id, 'Campaign number ' || i,
             'A description long enough for campaign ' || i, 100000, 'USD',
             (array['health', 'education', 'animals', 'community'])[1 + i % 4], 'keep_it_all',
             case i % 10 when 0 then 'draft' when 1 then 'completed' else 'active' end,
             now() - i * interval '1 minute', now() - i * interval '1 minute',
             case when i % 3 = 0 then now() + i * interval '1 hour' end
         from generate_series(1, 10000) i join u on u.rn = 1 + i % 1000",
        "with c as (select id, row_number() over (order by id) as rn from campaigns),
              u as (select id, row_number() over (order by id) as rn from users)
         insert into donations (id, campaign_id, donor_id, amount, ledger_txn, shard, created_at)
         select gen_random_uuid(), c.id, u.id, 500, gen_random_uuid(), i % 16,
             now() - i * interval '1 second'
         from generate_series(1, 100000) i
         join c on c.rn = 1 + i % 10000 join u on u.rn = 1 + i % 20000",
        "insert into campaign_stats_shards (campaign_id, shard, raised_amount, donors_count, donations_count)
         select campaign_id, shard, sum(amount), count(*), count(*) from donations group by 1, 2",
        "vacuum analyze",
    ] {
        sqlx::query(sql).execute(&db).await.expect("seed");
    }
    db
}

/// One node of a plan: its type, the relation it reads and the index it reads it through.
#[derive(Debug)]
struct Node {
    kind: String,
    relation: Option<String>,
    index: Option<String>,
}

/// Every node of the plans `explain (format json)` returned.
fn plan_nodes(explained: &Value) -> Vec<Node> {
    fn walk(plan: &Value, out: &mut Vec<Node>) {
        if let Some(node) = plan.get("Plan").or(Some(plan)) {
            if let Some(kind) = node.get("Node Type").and_then(Value::as_str) {
                let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_string);
                out.push(Node {
                    kind: kind.to_string(),
                    relation: text("Relation Name"),
                    index: text("Index Name"),
                });
            }
            if let Some(children) = node.get("Plans").and_then(Value::as_array) {
                for child in children {
                    walk(child, out);
                }
            }
        }
    }
    let mut all = Vec::new();
    for top in explained.as_array().expect("explain returns an array") {
        walk(top, &mut all);
    }
    all
}

/// Asserts no sequential scan of a big table and an index scan of `main`; for pages, also that
/// the index gives the order (no sort: a page must not read and sort every matching row).
fn assert_indexed(name: &str, explained: &Value, main: &str, page: bool) {
    let all = plan_nodes(explained);
    let seq: Vec<_> = all
        .iter()
        .filter(|n| {
            n.kind == "Seq Scan"
                && n.relation
                    .as_deref()
                    .is_some_and(|r| BIG_TABLES.contains(&r))
        })
        .collect();
    assert!(
        seq.is_empty(),
        "{name}: sequential scan of {seq:?}\n{explained:#}"
    );
    let indexed = all.iter().any(|n| {
        matches!(
            n.kind.as_str(),
            "Index Scan" | "Index Only Scan" | "Bitmap Heap Scan"
        ) && n.relation.as_deref() == Some(main)
    });
    assert!(indexed, "{name}: no index scan of {main}\n{explained:#}");
    if page {
        let sorts = all.iter().any(|n| n.kind.ends_with("Sort"));
        assert!(
            !sorts,
            "{name}: the page is sorted, not read in index order\n{explained:#}"
        );
    }
}

fn explain(sql: &str) -> String {
    format!("explain (format json) {sql}")
}

#[tokio::test]
async fn campaign_reads_and_the_donations_page_use_indexes_not_sequential_scans() {
    let db = seeded().await;
    let (campaign, at): (Uuid, DateTime<Utc>) = sqlx::query_as(
        "select id, created_at from campaigns where status = 'active'
         order by created_at desc, id desc offset 500 limit 1",
    )
    .fetch_one(&db)
    .await
    .expect("a campaign");

    let page = |status, cursor| ListQuery {
        status,
        category: None,
        creator_id: None,
        q: None,
        sort: Sort::Newest,
        limit: 20,
        offset: 0,
        cursor,
        featured: false,
        viewer: None,
        viewer_is_admin: false,
    };
    let pages = [
        ("newest by status", page(Some(CampaignStatus::Active), None)),
        ("newest, all public", page(None, None)),
        (
            "featured only",
            ListQuery {
                featured: true,
                ..page(None, None)
            },
        ),
        (
            "featured first",
            ListQuery {
                sort: Sort::Featured,
                ..page(None, None)
            },
        ),
        (
            "ending soon in a category",
            ListQuery {
                sort: Sort::EndingSoon,
                category: Some("health".into()),
                offset: 200,
                ..page(Some(CampaignStatus::Active), None)
            },
        ),
        (
            "newest in a category, deep",
            ListQuery {
                category: Some("education".into()),
                offset: 600,
                ..page(Some(CampaignStatus::Active), None)
            },
        ),
        (
            "keyset cursor page",
            page(
                Some(CampaignStatus::Active),
                Some(Cursor { at, id: campaign }),
            ),
        ),
    ];
    for (name, query) in &pages {
        let plan = campaigns_repo::page_query("explain (format json) ", query)
            .build_query_scalar::<Value>()
            .fetch_one(&db)
            .await
            .expect("explain");
        assert_indexed(name, &plan, "campaigns", true);
        // A category's page reads that category's index: an index led by a status nearly every
        // row shares looks ordered to the planner, and read it would filter out the others.
        if query.category.is_some() {
            let used: Vec<String> = plan_nodes(&plan)
                .into_iter()
                .filter_map(|n| n.index)
                .filter(|index| index.starts_with("idx_campaign"))
                .collect();
            let expected = match query.sort {
                Sort::EndingSoon => "idx_campaign_status_category_deadline",
                _ => "idx_campaign_status_category",
            };
            assert_eq!(used, [expected], "{name}\n{plan:#}");
            // Rows the offset skips are read from the index alone, not from the table.
            let cut = plan_nodes(&plan)
                .into_iter()
                .find(|n| n.index.as_deref() == Some(expected))
                .map(|n| n.kind);
            assert_eq!(cut.as_deref(), Some("Index Only Scan"), "{name}\n{plan:#}");
        }
    }

    // A browse's page is planned once per connection (a generic plan), not at every request.
    let mut conn = db.acquire().await.expect("connection");
    for (name, query) in [
        ("first page", &pages[1].1),
        ("keyset cursor page", &pages[6].1),
        ("ending soon in a category", &pages[4].1),
        ("newest in a category, deep", &pages[5].1),
    ] {
        for _ in 0..8 {
            campaigns_repo::list(&mut *conn, query).await.expect("page");
        }
        let sql = campaigns_repo::page_query("", query).into_sql();
        let (generic_plans, custom_plans): (i64, i64) = sqlx::query_as(
            "select generic_plans, custom_plans from pg_prepared_statements where statement = $1",
        )
        .bind(sql.as_str())
        .fetch_one(&mut *conn)
        .await
        .expect("the page statement is prepared");
        assert!(
            generic_plans >= 3,
            "{name}: {custom_plans} custom plans, {generic_plans} generic"
        );
    }
    drop(conn);

    let detail = explain(&campaigns_repo::detail_sql());
    let q = sqlx::query_scalar::<_, Value>(sqlx::AssertSqlSafe(detail)).bind(campaign);
    assert_indexed(
        "detail",
        &q.fetch_one(&db).await.expect("explain"),
        "campaigns",
        false,
    );

    let stats = explain(campaigns_repo::STATS_OF_PAGE);
    let q = sqlx::query_scalar::<_, Value>(sqlx::AssertSqlSafe(stats)).bind(vec![campaign]);
    assert_indexed(
        "stats of a page",
        &q.fetch_one(&db).await.expect("explain"),
        "campaign_stats_shards",
        false,
    );

    let donations_page = explain(money_repo::PUBLIC_DONATIONS_PAGE);
    let q = sqlx::query_scalar::<_, Value>(sqlx::AssertSqlSafe(donations_page))
        .bind(campaign)
        .bind(20i64)
        .bind(0i64);
    assert_indexed(
        "campaign donations page",
        &q.fetch_one(&db).await.expect("explain"),
        "donations",
        true,
    );
}
