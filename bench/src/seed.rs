//! Seeding with COPY: users with funded wallets (each a confirmed deposit with its two ledger
//! lines), active campaigns, and donations already present, kept consistent with the stats
//! shards, `campaign_donors`, the wallets and the ledger so the audit stays clean.
//!
//! The seeding connection sets `session_replication_role = replica`, which skips triggers and
//! foreign-key checks while loading (the ledger-balance trigger would otherwise collect and
//! sum every loaded line once more). The audit afterwards checks everything those would have.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, Result};
use argon2::Argon2;
use argon2::password_hash::PasswordHasher;
use chrono::{DateTime, Duration, Utc};
use domain::campaigns::model::CATEGORIES;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

/// Every seeded user deposited this much (minor units) before anything else.
pub const DEPOSIT: i64 = 5_000_000;
/// The one password of every seeded user (hashed once, the hash reused for all).
pub const PASSWORD: &str = "bench-password-123";
/// Donations are applied in chunks of this many rows, each chunk one transaction.
const DONATION_CHUNK: usize = 100_000;

/// Words in campaign titles and descriptions; searches pick from them.
pub const WORDS: &[&str] = &[
    "water",
    "school",
    "garden",
    "library",
    "clinic",
    "shelter",
    "bicycles",
    "books",
    "music",
    "solar",
    "bakery",
    "theatre",
    "playground",
    "kitchen",
    "forest",
    "river",
    "robotics",
    "painting",
    "football",
    "wheelchair",
];
const PLACES: &[&str] = &[
    "Riverside",
    "Hillview",
    "Oakwood",
    "Lakeside",
    "Brookfield",
    "Fairhaven",
    "Maplewood",
    "Stonebridge",
];
const FIRST: &[&str] = &[
    "Ada", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Jo",
];
const LAST: &[&str] = &[
    "Okafor", "Silva", "Novak", "Tanaka", "Berg", "Haddad", "Kowalski", "Moreau",
];

pub fn email(i: usize) -> String {
    format!("bench{i}@bench.commonpot.local")
}

/// What was seeded, for the load phases.
pub struct Seeded {
    pub users: Vec<Uuid>,
    pub campaigns: Vec<Uuid>,
    pub oldest: DateTime<Utc>,
    pub newest: DateTime<Utc>,
    pub donations: usize,
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "   {msg:<22} [{bar:30}] {pos:>9}/{len:9} {per_sec:>12} {elapsed}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    pb
}

/// Streams `rows` CSV lines made by `row` into `statement` (a `COPY ... FROM STDIN`).
async fn copy_rows(
    conn: &mut PgConnection,
    statement: &str,
    rows: usize,
    pb: &ProgressBar,
    mut row: impl FnMut(usize, &mut String),
) -> Result<()> {
    let mut copy = conn.copy_in_raw(statement).await?;
    let mut buf = String::with_capacity(1 << 20);
    for i in 0..rows {
        row(i, &mut buf);
        if buf.len() >= 1 << 20 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
            pb.set_position(i as u64 + 1);
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

async fn loader(url: &str) -> Result<PgConnection> {
    let mut conn = PgConnection::connect(url).await?;
    conn.execute("set session_replication_role = replica")
        .await
        .context("the seeding role must be a superuser (session_replication_role)")?;
    Ok(conn)
}

pub async fn seed(url: &str, users: usize, campaigns: usize, donations: usize) -> Result<Seeded> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(20261125);
    let mut conn = loader(url).await?;
    println!("== seeding {users} users, {campaigns} campaigns, {donations} donations");
    let now = Utc::now();
    let mut seeded = Seeded {
        users: Vec::new(),
        campaigns: Vec::new(),
        oldest: now,
        newest: now,
        donations: 0,
    };
    add_users(&mut conn, &mut seeded, users).await?;
    add_campaigns(&mut conn, &mut seeded, campaigns, &mut rng).await?;
    add_donations(&mut conn, &mut seeded, donations, &mut rng).await?;
    conn.execute("vacuum (analyze)").await?;
    println!("   seeded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(seeded)
}

/// Grows the campaigns to `campaigns` and the users to `users` (existing rows are kept), as a
/// platform grows: new users with funded wallets, new active campaigns without donations yet.
pub async fn grow_platform(
    url: &str,
    seeded: &mut Seeded,
    campaigns: usize,
    users: usize,
) -> Result<()> {
    let started = Instant::now();
    println!(
        "== growing to {campaigns} campaigns and {} users",
        users.max(seeded.users.len())
    );
    let mut conn = loader(url).await?;
    let mut rng = StdRng::seed_from_u64(campaigns as u64);
    add_users(&mut conn, seeded, users.saturating_sub(seeded.users.len())).await?;
    let more = campaigns.saturating_sub(seeded.campaigns.len());
    add_campaigns(&mut conn, seeded, more, &mut rng).await?;
    conn.execute("vacuum (analyze)").await?;
    println!("   grown in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Adds `n` users, each with a wallet holding one confirmed sandbox deposit and its two ledger
/// lines. One argon2 hash is computed and shared by all of them.
async fn add_users(conn: &mut PgConnection, seeded: &mut Seeded, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let hash = Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing the seed password: {e}"))?
        .to_string();
    let first = seeded.users.len();
    let user_ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    let deposit_txns: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    // Version 7 ids grow with time: the new deposits are those from this one on.
    let first_deposit = Uuid::now_v7();
    let mut tx = conn.begin().await?;
    let pb = bar(n, "users");
    copy_rows(
        &mut tx,
        "copy users (id, email, password_hash, first_name, last_name) from stdin (format csv)",
        n,
        &pb,
        |i, b| {
            let g = first + i;
            let _ = writeln!(
                b,
                "{},{},\"{hash}\",{},{}",
                user_ids[i],
                email(g),
                FIRST[g % FIRST.len()],
                LAST[(g / FIRST.len()) % LAST.len()]
            );
        },
    )
    .await?;
    pb.finish();
    let pb = bar(n, "wallets + deposits");
    copy_rows(
        &mut tx,
        "copy wallets (user_id, balance) from stdin (format csv)",
        n,
        &pb,
        |i, b| {
            let _ = writeln!(b, "{},{DEPOSIT}", user_ids[i]);
        },
    )
    .await?;
    copy_rows(
        &mut tx,
        "copy deposits (id, user_id, amount, provider, status, ledger_txn, confirmed_at)
         from stdin (format csv)",
        n,
        &pb,
        |i, b| {
            let _ = writeln!(
                b,
                "{},{},{DEPOSIT},sandbox,confirmed,{},now",
                Uuid::now_v7(),
                user_ids[i],
                deposit_txns[i]
            );
        },
    )
    .await?;
    sqlx::query(
        "insert into ledger_entries (txn_id, account, amount, kind, created_at)
         select d.ledger_txn, v.account, v.amount, 'deposit', d.confirmed_at
         from deposits d, lateral (values ('external:payments', -d.amount),
                                         ('wallet:' || d.user_id, d.amount)) as v(account, amount)
         where d.id >= $1
         order by d.id",
    )
    .bind(first_deposit)
    .execute(&mut *tx)
    .await?;
    pb.finish();
    tx.commit().await?;
    seeded.users.extend(user_ids);
    Ok(())
}

/// Adds `n` active campaigns created at random times over the last year; titles and
/// descriptions draw on [`WORDS`], a fifth are all-or-nothing with a deadline.
async fn add_campaigns(
    conn: &mut PgConnection,
    seeded: &mut Seeded,
    n: usize,
    rng: &mut StdRng,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let now = Utc::now();
    let first = seeded.campaigns.len();
    let campaign_ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let year_micros = Duration::days(365).num_microseconds().unwrap_or(i64::MAX);
    let created: Vec<DateTime<Utc>> = (0..n)
        .map(|_| now - Duration::microseconds(rng.random_range(60_000_000..year_micros)))
        .collect();
    let creators = seeded.users.len().clamp(1, 2_000);
    let users = &seeded.users;
    let mut tx = conn.begin().await?;
    let pb = bar(n, "campaigns");
    copy_rows(
        &mut tx,
        "copy campaigns (id, creator_id, title, description, goal_amount, currency, category,
            funding_model, status, deadline, published_at, created_at, updated_at)
         from stdin (format csv)",
        n,
        &pb,
        |i, b| {
            let g = first + i;
            let w = WORDS[g % WORDS.len()];
            let w2 = WORDS[(g / WORDS.len() + 3) % WORDS.len()];
            let place = PLACES[(g / 7) % PLACES.len()];
            let all_or_nothing = g.is_multiple_of(5);
            let deadline = if all_or_nothing {
                (now + Duration::days(30 + (g % 300) as i64)).to_rfc3339()
            } else {
                String::new()
            };
            let _ = writeln!(
                b,
                "{},{},New {w} for {place} {g},Help us fund a {w} project in {place}. Every gift also supports {w2} for local families.,{},USD,{},{},active,{deadline},{c},{c},{c}",
                campaign_ids[i],
                users[g % creators],
                100_000 + (g as i64 % 50) * 10_000,
                CATEGORIES[g % CATEGORIES.len()],
                if all_or_nothing {
                    "all_or_nothing"
                } else {
                    "keep_it_all"
                },
                c = created[i].to_rfc3339(),
            );
        },
    )
    .await?;
    pb.finish();
    tx.commit().await?;
    if let Some(&min) = created.iter().min() {
        seeded.oldest = if first == 0 {
            min
        } else {
            seeded.oldest.min(min)
        };
    }
    if let Some(&max) = created.iter().max() {
        seeded.newest = if first == 0 {
            max
        } else {
            seeded.newest.max(max)
        };
    }
    seeded.campaigns.extend(campaign_ids);
    Ok(())
}

/// Grows the donations table to `target` rows (existing donations are kept).
pub async fn grow_donations(url: &str, seeded: &mut Seeded, target: usize) -> Result<()> {
    let missing = target.saturating_sub(seeded.donations);
    if missing == 0 {
        return Ok(());
    }
    let started = Instant::now();
    println!("== growing donations to {target} (+{missing})");
    let mut conn = loader(url).await?;
    let mut rng = StdRng::seed_from_u64(target as u64);
    add_donations(&mut conn, seeded, missing, &mut rng).await?;
    conn.execute("analyze").await?;
    println!("   grown in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Adds `n` donations from random users to random campaigns, with everything they imply:
/// ledger lines, wallet debits, stats shards (a donor counts once, on the shard of their first
/// gift) and `campaign_donors`. Incremental, so it works on an empty or a populated database.
async fn add_donations(
    conn: &mut PgConnection,
    seeded: &mut Seeded,
    n: usize,
    rng: &mut StdRng,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    conn.execute(
        "create temp table if not exists staged (
            id uuid, campaign_id uuid, donor_id uuid, amount bigint, anonymous boolean,
            message text, ledger_txn uuid, shard smallint, created_at timestamptz)",
    )
    .await?;
    let pb = bar(n, "donations");
    let now = Utc::now();
    let mut done = 0;
    while done < n {
        let chunk = DONATION_CHUNK.min(n - done);
        let mut tx = conn.begin().await?;
        tx.execute("truncate staged").await?;
        let rows: Vec<String> = (0..chunk)
            .map(|_| {
                let campaign = seeded.campaigns[rng.random_range(0..seeded.campaigns.len())];
                let donor = seeded.users[rng.random_range(0..seeded.users.len())];
                let amount: i64 = rng.random_range(100..=2_000);
                let anonymous = rng.random_bool(0.1);
                let message = if rng.random_bool(0.2) {
                    "Good luck!"
                } else {
                    ""
                };
                let at = now - Duration::seconds(rng.random_range(1..31_536_000));
                format!(
                    "{},{campaign},{donor},{amount},{anonymous},{message},{},{},{}\n",
                    Uuid::now_v7(),
                    Uuid::new_v4(),
                    rng.random_range(0..16),
                    at.to_rfc3339()
                )
            })
            .collect();
        let quiet = ProgressBar::hidden();
        copy_rows(
            &mut tx,
            "copy staged from stdin (format csv)",
            rows.len(),
            &quiet,
            |i, b| b.push_str(&rows[i]),
        )
        .await?;
        for statement in APPLY_STAGED {
            tx.execute(*statement).await?;
        }
        tx.commit().await?;
        done += chunk;
        pb.set_position(done as u64);
    }
    pb.finish();
    seeded.donations += n;
    Ok(())
}

/// Applies the `staged` donations; the donor-count statement must run before the
/// `campaign_donors` upsert, since it looks for donors new to each campaign.
const APPLY_STAGED: &[&str] = &[
    "insert into donations (id, campaign_id, donor_id, amount, anonymous, message, status,
        ledger_txn, shard, created_at)
     select id, campaign_id, donor_id, amount, anonymous, nullif(message, ''), 'completed',
        ledger_txn, shard, created_at from staged",
    "insert into ledger_entries (txn_id, account, amount, kind, created_at)
     select s.ledger_txn, v.account, v.amount, 'donation', s.created_at
     from staged s, lateral (values ('wallet:' || s.donor_id, -s.amount),
                                    ('campaign:' || s.campaign_id, s.amount)) as v(account, amount)
     order by s.created_at, s.id",
    "update wallets w set balance = w.balance - s.spent, updated_at = now()
     from (select donor_id, sum(amount) as spent from staged group by 1) s
     where w.user_id = s.donor_id",
    "with firsts as (
        select distinct on (campaign_id, donor_id) campaign_id, donor_id, shard
        from staged order by campaign_id, donor_id, created_at, id),
     new_donors as (
        select f.campaign_id, f.shard, count(*) as n from firsts f
        where not exists (select 1 from campaign_donors d
                          where d.campaign_id = f.campaign_id and d.donor_id = f.donor_id)
        group by 1, 2),
     gifts as (
        select campaign_id, shard, sum(amount) as raised, count(*) as n from staged group by 1, 2)
     insert into campaign_stats_shards (campaign_id, shard, raised_amount, donors_count, donations_count)
     select g.campaign_id, g.shard, g.raised, coalesce(d.n, 0), g.n
     from gifts g left join new_donors d using (campaign_id, shard)
     on conflict (campaign_id, shard) do update set
        raised_amount = campaign_stats_shards.raised_amount + excluded.raised_amount,
        donors_count = campaign_stats_shards.donors_count + excluded.donors_count,
        donations_count = campaign_stats_shards.donations_count + excluded.donations_count",
    "insert into campaign_donors (campaign_id, donor_id, standing_donations)
     select campaign_id, donor_id, count(*) from staged group by 1, 2
     on conflict (campaign_id, donor_id) do update set
        standing_donations = campaign_donors.standing_donations + excluded.standing_donations",
];
