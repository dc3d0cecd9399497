//! Each job handler, run twice, leaves the same state as run once; notifications land in the
//! mail folder; failing jobs end in the dead-letter list and can be retried.

use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, Timelike, Utc};
use domain::background::{BackgroundJob, DonationDigest};
use domain::campaigns::cache::{CacheStats, PageCache};
use domain::campaigns::repo::StatTotals as Totals;
use domain::infra::mail::Mailer;
use domain::jobs::{InvalidateCache, Job, Queues, cache, dead_letter};
use domain::money::stats as campaign_stats;
use domain::notifications::{self, Notification, Outcome};
use redis::AsyncCommands;
use uuid::Uuid;

use crate::support::{RunningWorker, TestEnv, eventually, fast_worker};

type Snapshot = (Vec<(i16, i64, i32, i32)>, Vec<(Uuid, i32)>);

async fn stats_rows(env: &TestEnv, campaign: Uuid) -> Snapshot {
    let shards = sqlx::query_as(
        "select shard, raised_amount, donors_count, donations_count from campaign_stats_shards
         where campaign_id = $1 order by shard",
    )
    .bind(campaign)
    .fetch_all(env.pool())
    .await
    .expect("shards");
    let donors = sqlx::query_as(
        "select donor_id, standing_donations from campaign_donors
         where campaign_id = $1 order by donor_id",
    )
    .bind(campaign)
    .fetch_all(env.pool())
    .await
    .expect("donors");
    (shards, donors)
}

#[tokio::test]
async fn recompute_corrects_drifted_stats_once_and_then_finds_nothing_to_do() {
    let env = TestEnv::new().await;
    let creator = env.user("Cleo", true).await;
    let (a, b, c) = (
        env.user("Ann", true).await,
        env.user("Ben", true).await,
        env.user("Cal", true).await,
    );
    let campaign = env.campaign(creator.id).await;
    env.donation(campaign, a.id, 1_000).await;
    env.donation(campaign, a.id, 2_500).await;
    env.donation(campaign, b.id, 400).await;
    let expected = Totals {
        raised_amount: 3_900,
        donations_count: 3,
        donors_count: 2,
    };
    let pool = env.pool();
    let clean = campaign_stats::recompute(pool, campaign)
        .await
        .expect("check");
    assert!(!clean.drifted(), "{clean:?}");

    // Drift: an inflated shard, a stray extra shard and a donor who never gave.
    sqlx::query("update campaign_stats_shards set raised_amount = raised_amount + 999 where campaign_id = $1")
        .bind(campaign)
        .execute(pool)
        .await
        .expect("inflate");
    sqlx::query("insert into campaign_stats_shards values ($1, 7, 50, 1, 1)")
        .bind(campaign)
        .execute(pool)
        .await
        .expect("stray shard");
    sqlx::query("insert into campaign_donors values ($1, $2, 2)")
        .bind(campaign)
        .bind(c.id)
        .execute(pool)
        .await
        .expect("stray donor");

    let first = campaign_stats::recompute(pool, campaign)
        .await
        .expect("first");
    assert!(first.drifted() && first.corrected);
    assert_eq!(first.expected, expected);
    assert_eq!(first.recorded.raised_amount, 3_900 + 999 + 50);
    assert_eq!(first.donor_rows_off, 1);
    let after_first = stats_rows(&env, campaign).await;

    let second = campaign_stats::recompute(pool, campaign)
        .await
        .expect("second");
    assert!(!second.drifted() && !second.corrected, "{second:?}");
    assert_eq!(second.recorded, expected);
    assert_eq!(stats_rows(&env, campaign).await, after_first);
}

#[tokio::test]
async fn invalidate_cache_retires_the_campaign_pages_and_is_harmless_twice() {
    let env = TestEnv::new().await;
    let kv = &env.app.infra.kv;
    let stats = CacheStats::default();
    let pages = PageCache { kv, stats: &stats };
    let generation = || async {
        let g: Option<u64> = kv
            .conn()
            .get(kv.key(cache::CAMPAIGN_PAGES_GENERATION))
            .await
            .expect("redis up");
        g.unwrap_or(0)
    };
    let before = generation().await;
    let (missing, page) = pages.lookup::<String>("list:newest").await;
    assert_eq!(missing, None);
    let page = page.expect("redis up");
    pages.put(&page, &"cached page").await;
    let (cached, _) = pages.lookup::<String>("list:newest").await;
    assert_eq!(cached.as_deref(), Some("cached page"));
    let _: () = kv
        .conn()
        .set(kv.key("dashboard"), "cached")
        .await
        .expect("set");
    let job = InvalidateCache {
        keys: vec!["dashboard".into()],
        generations: vec![cache::CAMPAIGN_PAGES_GENERATION.into()],
    };

    cache::invalidate(kv, &job).await.expect("first");
    let after_first = generation().await;
    cache::invalidate(kv, &job).await.expect("second");
    let after_second = generation().await;

    assert!(after_first > before && after_second > before);
    let (retired, key) = pages.lookup::<String>("list:newest").await;
    assert_eq!(retired, None, "the old page is unreachable");
    assert_ne!(key.as_deref(), Some(page.as_str()));
    let dashboard: Option<String> = kv.conn().get(kv.key("dashboard")).await.expect("get");
    assert_eq!(dashboard, None);
}

#[tokio::test]
async fn a_notification_handled_twice_sends_one_email() {
    let env = TestEnv::new().await;
    let user = env.user("Ada", true).await;
    let mailer = Mailer::new(&env.app.infra.config).expect("mailer");
    let welcome = Notification::Welcome { user_id: user.id };
    let config = &env.app.infra.config;

    let first = notifications::send(env.pool(), &mailer, config, &welcome).await;
    let second = notifications::send(env.pool(), &mailer, config, &welcome).await;

    assert_eq!(first.expect("first"), Outcome::Sent);
    assert_eq!(second.expect("second"), Outcome::AlreadyHandled);
    let mails = env.mails_to(&user.email);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Subject: Welcome to Commonpot, Ada"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("https://commonpot.test"));
}

async fn set_email(env: &TestEnv, user: Uuid, email: &str) {
    sqlx::query("update users set email = $2 where id = $1")
        .bind(user)
        .bind(email)
        .execute(env.pool())
        .await
        .expect("email");
}

#[tokio::test]
async fn a_batch_whose_send_fails_midway_keeps_what_was_sent_and_retries_only_the_rest() {
    let env = TestEnv::new().await;
    let creator = env.user("Cleo", true).await;
    let (ann, ben, cal) = (
        env.user("Ann", true).await,
        env.user("Ben", true).await,
        env.user("Cal", true).await,
    );
    let quiet = env.user("Quinn", false).await;
    let campaign = env.campaign(creator.id).await;
    let gifts = [
        env.donation(campaign, ann.id, 100).await,
        env.donation(campaign, ben.id, 200).await,
        env.donation(campaign, cal.id, 300).await,
    ];
    let receipt = |donation_id| Notification::DonationReceipt { donation_id };
    // Cal's receipt twice: the same email listed twice in a batch goes out once.
    let batch = [
        receipt(gifts[0]),
        Notification::Welcome { user_id: quiet.id },
        receipt(gifts[1]),
        receipt(gifts[2]),
        receipt(gifts[2]),
    ];
    // An address the mailer refuses: Ben's receipt fails to send.
    set_email(&env, ben.id, "no address").await;
    let mailer = Mailer::new(&env.app.infra.config).expect("mailer");
    let config = &env.app.infra.config;

    let failed = notifications::send_all(env.pool(), &mailer, config, &batch).await;

    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(env.mails_to(&ann.email).len(), 1);
    assert!(env.mails_to(&cal.email).is_empty());
    let handled: Vec<(String, String)> = sqlx::query_as(
        "select template, outcome from notifications_sent order by template, outcome",
    )
    .fetch_all(env.pool())
    .await
    .expect("handled");
    assert_eq!(
        handled,
        [
            ("donation_receipt".to_string(), "sent".to_string()),
            ("welcome".to_string(), "skipped".to_string()),
        ],
        "what was handled before the failure stays handled, the rest is given back"
    );

    set_email(&env, ben.id, &ben.email).await;
    let retried = notifications::send_all(env.pool(), &mailer, config, &batch)
        .await
        .expect("retry");

    use Outcome::{AlreadyHandled, Sent};
    assert_eq!(
        retried,
        [AlreadyHandled, AlreadyHandled, Sent, Sent, AlreadyHandled]
    );
    for user in [&ann, &ben, &cal] {
        assert_eq!(env.mails_to(&user.email).len(), 1, "{}", user.email);
    }
    assert!(env.mails_to(&quiet.email).is_empty());
}

#[tokio::test]
async fn a_donation_mails_a_receipt_to_the_donor_and_nothing_to_the_creator() {
    let env = TestEnv::new().await;
    let creator = env.user("Cleo", true).await;
    // Receipts are essential: sent even to a donor who turned notifications off.
    let donor = env.user("Dan", false).await;
    let campaign = env.campaign(creator.id).await;
    let donation = env.donation(campaign, donor.id, 2_550).await;
    let worker = RunningWorker::start(&env.app, fast_worker());
    env.commit_event(&domain::jobs::Event::DonationCreated {
        donation_id: donation,
        campaign_id: campaign,
        donor_id: donor.id,
        amount: 2_550,
    })
    .await;

    let receipt = eventually(Duration::from_secs(20), || async {
        env.mails_to(&donor.email).len() == 1
    })
    .await;
    worker.stop().await;
    assert!(receipt, "mails: {:?}", env.mails());
    let receipt = &env.mails_to(&donor.email)[0];
    assert!(
        receipt.contains(r#"Subject: Your receipt: 25.50 USD to "Clean water for Lakeside""#),
        "{receipt}"
    );
    assert!(receipt.contains(&donation.to_string()));
    // One job per gift: the creator hears in the hourly digest instead.
    let handled: Vec<String> = sqlx::query_scalar("select template from notifications_sent")
        .fetch_all(env.pool())
        .await
        .expect("handled");
    assert_eq!(handled, ["donation_receipt"]);
    let mails = Queues::new(&env.app.infra.kv)
        .depths()
        .await
        .expect("depths")
        .into_iter()
        .find(|d| d.queue == "send_notification")
        .expect("the mail queue");
    assert_eq!(mails.pending + mails.scheduled, 0);
    assert!(env.mails_to(&creator.email).is_empty());
}

/// The hour starting three hours ago: no gift a fixture makes now falls in it.
fn past_hour() -> DateTime<Utc> {
    notifications::hour_start(Utc::now()) - ChronoDuration::hours(3)
}

/// `between 13:00 and 14:00 UTC on 2026-03-01`, as a digest of `hour` says it.
fn window(hour: DateTime<Utc>) -> String {
    format!(
        "between {} and {:02}:00 UTC on {}",
        hour.format("%H:00"),
        hour.hour() + 1,
        hour.format("%Y-%m-%d")
    )
}

#[tokio::test]
async fn creators_get_one_digest_per_hour_of_what_their_campaigns_received() {
    let env = TestEnv::new().await;
    let (cleo, cole) = (env.user("Cleo", true).await, env.user("Cole", true).await);
    let (dan, eve) = (env.user("Dan", true).await, env.user("Eve", true).await);
    let water = env.campaign_titled(cleo.id, "Clean water").await;
    let books = env.campaign_titled(cleo.id, "Library books").await;
    let garden = env.campaign_titled(cole.id, "Community garden").await;
    let hour = past_hour();
    let at = |minutes| Some(hour + ChronoDuration::minutes(minutes));
    env.donation_at(water, dan.id, 1_000, at(0)).await;
    env.donation_at(water, eve.id, 2_550, at(59)).await;
    env.donation_at(books, dan.id, 400, at(30)).await;
    env.donation_at(garden, eve.id, 700, at(10)).await;
    // Just outside the hour, on either side.
    env.donation_at(water, dan.id, 5_000, at(60)).await;
    env.donation_at(books, eve.id, 300, at(-1)).await;
    // Refunded since: counted nowhere.
    let refunded = env.donation_at(garden, dan.id, 900, at(20)).await;
    sqlx::query("update donations set status = 'refunded', refunded_at = now() where id = $1")
        .bind(refunded)
        .execute(env.pool())
        .await
        .expect("refund");
    sqlx::query(
        "update campaign_stats_shards set raised_amount = raised_amount - 900
         where campaign_id = $1",
    )
    .bind(garden)
    .execute(env.pool())
    .await
    .expect("stats");
    let mailer = Mailer::new(&env.app.infra.config).expect("mailer");
    let config = &env.app.infra.config;
    let digests = |hour| notifications::send_donation_digests(env.pool(), &mailer, config, hour);

    assert_eq!(digests(hour).await.expect("sends"), 2);
    assert_eq!(
        digests(hour + ChronoDuration::minutes(30))
            .await
            .expect("again"),
        0,
        "once per creator and hour"
    );

    let cleos = env.mails_to(&cleo.email);
    assert_eq!(cleos.len(), 1, "{cleos:?}");
    let mail = &cleos[0];
    assert!(
        mail.contains(&format!(
            "Your campaigns received 3 donations totalling 39.50 USD {}.",
            window(hour)
        )),
        "{mail}"
    );
    // Raised so far counts every standing gift, the one after the hour included.
    assert!(
        mail.contains(
            r#"- "Clean water": 2 gifts, 35.50 USD; raised so far 85.50 USD of its 1000.00 USD goal"#
        ),
        "{mail}"
    );
    assert!(mail.contains(&format!("https://commonpot.test/campaigns/{water}")));
    assert!(
        mail.contains(
            r#"- "Library books": 1 gift, 4.00 USD; raised so far 7.00 USD of its 1000.00 USD goal"#
        ),
        "{mail}"
    );
    assert!(mail.contains(&format!("https://commonpot.test/campaigns/{books}")));
    assert!(!mail.contains("Community garden"), "{mail}");
    // The digest names no donor, so anonymous gifts stay anonymous.
    assert!(!mail.contains("Dan Tester") && !mail.contains("Eve Tester"));

    let coles = env.mails_to(&cole.email);
    assert_eq!(coles.len(), 1, "{coles:?}");
    assert!(
        coles[0].contains(&format!(
            "Your campaigns received 1 donation totalling 7.00 USD {}.",
            window(hour)
        )),
        "{}",
        coles[0]
    );
    assert!(
        coles[0].contains(
            r#"- "Community garden": 1 gift, 7.00 USD; raised so far 7.00 USD of its 1000.00 USD goal"#
        ),
        "{}",
        coles[0]
    );

    // The gift at the end of the hour is the next hour's.
    let next = hour + ChronoDuration::hours(1);
    assert_eq!(digests(next).await.expect("sends"), 1);
    let cleos = env.mails_to(&cleo.email);
    assert_eq!(cleos.len(), 2);
    assert!(
        cleos[1].contains(&format!(
            "Your campaigns received 1 donation totalling 50.00 USD {}.",
            window(next)
        )),
        "{}",
        cleos[1]
    );
    assert_eq!(env.mails_to(&cole.email).len(), 1);
}

#[tokio::test]
async fn creators_who_turned_notifications_off_get_no_digest() {
    let env = TestEnv::new().await;
    let creator = env.user("Cleo", false).await;
    let donor = env.user("Dan", true).await;
    let campaign = env.campaign(creator.id).await;
    let hour = past_hour();
    env.donation_at(
        campaign,
        donor.id,
        100,
        Some(hour + ChronoDuration::minutes(5)),
    )
    .await;
    let mailer = Mailer::new(&env.app.infra.config).expect("mailer");
    let config = &env.app.infra.config;
    let digest = Notification::DonationsDigest {
        creator_id: creator.id,
        hour,
    };

    let outcome = notifications::send(env.pool(), &mailer, config, &digest).await;

    assert_eq!(outcome.expect("send"), Outcome::OptedOut);
    assert_eq!(
        notifications::send_donation_digests(env.pool(), &mailer, config, hour)
            .await
            .expect("walk"),
        0
    );
    let again = notifications::send(env.pool(), &mailer, config, &digest).await;
    assert_eq!(again.expect("again"), Outcome::AlreadyHandled);
    assert!(env.mails_to(&creator.email).is_empty());
    // An hour without gifts has nothing to say.
    let quiet = Notification::DonationsDigest {
        creator_id: creator.id,
        hour: hour - ChronoDuration::hours(1),
    };
    let outcome = notifications::send(env.pool(), &mailer, config, &quiet).await;
    assert_eq!(outcome.expect("send"), Outcome::Gone);
}

#[tokio::test]
async fn the_hourly_task_queues_the_last_hours_digests_once_for_the_worker() {
    let env = TestEnv::new().await;
    let creator = env.user("Cleo", true).await;
    let donor = env.user("Dan", true).await;
    let campaign = env.campaign(creator.id).await;
    let hour = past_hour();
    env.donation_at(
        campaign,
        donor.id,
        1_200,
        Some(hour + ChronoDuration::minutes(20)),
    )
    .await;
    // The tick at five past the next hour works on this one; a second tick for it queues
    // nothing more.
    let tick = DonationDigest {
        now: hour + ChronoDuration::minutes(65),
    };
    tick.run(&env.app).await.expect("queues");
    tick.run(&env.app).await.expect("queues");
    let depth = Queues::new(&env.app.infra.kv)
        .depths()
        .await
        .expect("depths")
        .into_iter()
        .find(|d| d.queue == "send_donation_digests")
        .expect("the digest queue");
    assert_eq!(depth.pending + depth.scheduled, 1);

    let worker = RunningWorker::start(&env.app, fast_worker());
    let sent = eventually(Duration::from_secs(20), || async {
        env.mails_to(&creator.email).len() == 1
    })
    .await;
    worker.stop().await;
    assert!(sent, "mails: {:?}", env.mails());
    let mail = &env.mails_to(&creator.email)[0];
    assert!(
        mail.contains(&format!(
            "Your campaigns received 1 donation totalling 12.00 USD {}.",
            window(hour)
        )),
        "{mail}"
    );
}

#[tokio::test]
async fn a_job_failing_every_attempt_is_dead_lettered_and_can_be_retried() {
    // Nothing listens on port 1: every send fails.
    let env = TestEnv::with(
        &crate::support::shared_redis_url(),
        &[("SMTP_URL", "smtp://127.0.0.1:1")],
    )
    .await;
    let user = env.user("Ada", true).await;
    let kv = &env.app.infra.kv;
    let options = commonpot_worker::Options {
        max_attempts: 3,
        ..fast_worker()
    };
    let worker = RunningWorker::start(&env.app, options);
    env.commit_event(&domain::jobs::Event::UserRegistered { user_id: user.id })
        .await;

    let dead = eventually(Duration::from_secs(20), || async {
        !dead_letter::list(env.pool(), 10)
            .await
            .expect("list")
            .is_empty()
    })
    .await;
    worker.stop().await;
    assert!(dead, "the job reaches the dead-letter list");
    let letters = dead_letter::list(env.pool(), 10).await.expect("list");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(letters[0].job.name(), "send_notification");
    let sent: i64 = sqlx::query_scalar("select count(*) from notifications_sent")
        .fetch_one(env.pool())
        .await
        .expect("count");
    assert_eq!(sent, 0, "a failed send leaves no dedupe row behind");

    let queues = Queues::new(kv);
    assert!(
        dead_letter::retry(env.pool(), &queues, letters[0].id)
            .await
            .expect("retry")
            .is_some()
    );
    assert!(
        dead_letter::retry(env.pool(), &queues, letters[0].id)
            .await
            .expect("again")
            .is_none()
    );
    assert!(
        dead_letter::list(env.pool(), 10)
            .await
            .expect("list")
            .is_empty()
    );
    let depths = queues.depths().await.expect("depths");
    assert!(
        depths
            .iter()
            .any(|d| d.queue == "send_notification" && d.pending == 1),
        "{depths:?}"
    );
}

#[tokio::test]
async fn a_worker_killed_mid_job_has_the_job_run_again_elsewhere_and_the_mail_sent_once() {
    let env = TestEnv::new().await;
    let user = env.user("Ada", true).await;
    // A mail server that accepts connections and never answers: the doomed worker's send hangs
    // inside the job, with its dedupe row written but not committed.
    let tarpit = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let smtp = format!(
        "smtp://127.0.0.1:{}",
        tarpit.local_addr().expect("addr").port()
    );
    let config = &env.app.infra.config;
    let doomed_config = crate::support::test_config(
        config.database_url.expose(),
        config.redis_url.expose(),
        &[
            ("REDIS_KEY_PREFIX", env.app.infra.kv.prefix()),
            ("MAIL_DIR", &config.mail_dir),
            ("SMTP_URL", &smtp),
        ],
    );
    // Its own runtime, so that shutting it down kills it like a process: no graceful stop, no
    // acknowledgement, connections dropped mid-transaction.
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    doomed.spawn(async move {
        let app = domain::App::connect(doomed_config).await.expect("connect");
        commonpot_worker::run(app, fast_worker(), std::future::pending()).await
    });
    env.commit_event(&domain::jobs::Event::UserRegistered { user_id: user.id })
        .await;
    let queues = Queues::new(&env.app.infra.kv);
    let taken = eventually(Duration::from_secs(10), || async {
        let depths = queues.depths().await.expect("depths");
        env.unsent_outbox_rows().await == 0 && depths.iter().all(|d| d.pending == 0)
    })
    .await;
    assert!(taken, "the doomed worker took the job");
    tokio::time::sleep(Duration::from_millis(500)).await;
    doomed.shutdown_background();
    assert!(env.mails().is_empty());
    // Nothing waits in the queue, yet the job is not done: the dead worker still holds it.
    let in_flight = || async {
        let depths = queues.depths().await.expect("depths");
        depths.iter().map(|d| d.in_flight).sum::<u64>()
    };
    assert_eq!(in_flight().await, 1);

    // Another worker re-queues the job once the dead one's heartbeat lapses (15 s) and runs it.
    let worker = RunningWorker::start(&env.app, fast_worker());
    let sent = eventually(Duration::from_secs(60), || async {
        !env.mails_to(&user.email).is_empty()
    })
    .await;
    worker.stop().await;
    assert!(sent, "the job ran again");
    assert_eq!(env.mails_to(&user.email).len(), 1);
    assert_eq!(in_flight().await, 0);
    let rows: i64 = sqlx::query_scalar("select count(*) from notifications_sent")
        .fetch_one(env.pool())
        .await
        .expect("count");
    assert_eq!(rows, 1);
    drop(tarpit);
}

#[tokio::test]
async fn a_backlog_of_due_scheduled_jobs_beyond_luas_unpack_limit_does_not_stop_the_queue() {
    let env = TestEnv::new().await;
    // apalis-redis parks every new job in the scheduled set until a fetch promotes it. More due
    // jobs than Redis's Lua can `unpack` at once (~8000), as after an outage or a burst the
    // worker fell behind on: unpatched, every fetch fails from then on (vendor/README.md).
    let queues = Queues::new(&env.app.infra.kv);
    let backlog: Vec<_> = (0..8_500)
        .map(|i| {
            let job = Job::InvalidateCache(InvalidateCache {
                keys: vec![format!("backlog:{i}")],
                generations: Vec::new(),
            });
            (job, None)
        })
        .collect();
    queues.push_all(backlog).await.expect("push the backlog");
    let worker = RunningWorker::start(&env.app, fast_worker());
    let drained = eventually(Duration::from_secs(120), || async {
        let depths = queues.depths().await.expect("depths");
        depths.iter().all(|d| d.pending == 0)
    })
    .await;
    worker.stop().await;
    assert!(drained, "queues: {:?}", queues.depths().await);
}

#[tokio::test]
async fn dead_letters_are_all_kept_and_two_retries_at_once_requeue_once() {
    let env = TestEnv::new().await;
    let queues = Queues::new(&env.app.infra.kv);
    let job = |n: u32| {
        Job::InvalidateCache(InvalidateCache {
            keys: vec![format!("k{n}")],
            generations: Vec::new(),
        })
    };
    // More than the 1,000 the old Redis list kept.
    for n in 0..1_005 {
        let at = chrono::Utc::now() - chrono::Duration::seconds(i64::from(2_000 - n));
        dead_letter::record(env.pool(), job(n), format!("boom {n}"), 5, at)
            .await
            .expect("record");
    }
    assert_eq!(dead_letter::count(env.pool()).await.expect("count"), 1_005);
    let newest = dead_letter::list(env.pool(), 3).await.expect("list");
    assert_eq!(newest[0].error, "boom 1004");
    assert_eq!(newest[0].job, job(1_004));

    let before = queues.depths().await.expect("depths");
    let pending = |depths: &[domain::jobs::queue::QueueDepth]| {
        depths
            .iter()
            .find(|d| d.queue == "invalidate_cache")
            .map_or(0, |d| d.pending + d.scheduled)
    };
    let id = newest[0].id;
    let (a, b) = tokio::join!(
        dead_letter::retry(env.pool(), &queues, id),
        dead_letter::retry(env.pool(), &queues, id)
    );
    let retried = [a.expect("a"), b.expect("b")];
    assert_eq!(retried.iter().filter(|r| r.is_some()).count(), 1);
    let after = queues.depths().await.expect("depths");
    assert_eq!(pending(&after), pending(&before) + 1, "pushed once");
    assert_eq!(dead_letter::count(env.pool()).await.expect("count"), 1_004);

    // The retention job prunes retried letters past their period, never waiting ones.
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    assert_eq!(
        dead_letter::prune_retried(env.pool(), later)
            .await
            .expect("prune"),
        1
    );
    assert_eq!(dead_letter::count(env.pool()).await.expect("count"), 1_004);
}
