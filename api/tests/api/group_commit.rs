//! Group commit: concurrent donations written in one transaction still get their own answers.
//!
//! To make a batch of known content, the tests hold a campaign row locked (as a settlement
//! would): a "plug" donation to it occupies each committer, the donations under test queue up
//! behind them, and releasing the lock lets the queue go as one batch.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use domain::money::group_commit::COMMITTERS;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app, start};

type Reply = tokio::task::JoinHandle<reqwest::Response>;

impl TestApp {
    fn donate_in_background(
        &self,
        donor: &TestUser,
        campaign: Uuid,
        body: Value,
        key: &str,
    ) -> Reply {
        let (app, token, key) = (self.clone(), donor.access_token.clone(), key.to_string());
        tokio::spawn(async move {
            app.post_idem(
                &format!("/api/donations/campaign/{campaign}"),
                &token,
                &key,
                &body,
            )
            .await
        })
    }

    async fn funded_donor(&self, amount: i64) -> TestUser {
        let donor = self.register().await;
        self.fund(&donor, amount).await;
        donor
    }

    /// Locks the campaign row and sends a donation to it that blocks each committer.
    async fn block_committers(
        &self,
        campaign: Uuid,
    ) -> (Transaction<'static, Postgres>, Vec<Reply>) {
        let mut lock = self.app.infra.db.write.begin().await.expect("begin");
        sqlx::query("select 1 from campaigns where id = $1 for update")
            .bind(campaign)
            .execute(&mut *lock)
            .await
            .expect("lock");
        let mut plugs = Vec::new();
        let before = self
            .app
            .money()
            .group_commit()
            .stats
            .batches
            .load(Ordering::Relaxed);
        for n in 0..COMMITTERS as u64 {
            let donor = self.funded_donor(1_000).await;
            plugs.push(self.donate_in_background(
                &donor,
                campaign,
                json!({"amount": 100}),
                &format!("plug-{n}"),
            ));
            self.wait_until(|s| s.batches.load(Ordering::Relaxed) == before + n + 1)
                .await;
        }
        (lock, plugs)
    }

    /// The campaign page shows at least `floor` raised: every gift answered before the read.
    async fn assert_total_at_least(&self, campaign: Uuid, floor: i64) {
        let raised = self.campaign(campaign).await["raisedAmount"]
            .as_i64()
            .expect("raised");
        assert!(
            raised >= floor,
            "page showed {raised} after {floor} was answered"
        );
    }

    async fn wait_until(
        &self,
        done: impl Fn(&domain::money::group_commit::GroupCommitStats) -> bool,
    ) {
        for _ in 0..200 {
            if done(&self.app.money().group_commit().stats) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "group commit did not get there: {:?}",
            self.app.money().group_commit().stats
        );
    }
}

async fn status_of(reply: Reply) -> (u16, reqwest::Response) {
    let resp = reply.await.expect("task");
    (resp.status().as_u16(), resp)
}

#[tokio::test]
async fn refusals_in_one_batch_touch_only_their_own_donations() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    let expired = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    sqlx::query("update campaigns set deadline = now() - interval '1 minute' where id = $1")
        .bind(expired)
        .execute(&app.app.infra.db.write)
        .await
        .expect("expire");
    let ok = app.funded_donor(5_000).await;
    let poor = app.funded_donor(100).await;
    let late = app.funded_donor(5_000).await;
    let lost = app.funded_donor(5_000).await;
    let again = app.funded_donor(5_000).await;
    let reuser = app.funded_donor(5_000).await;
    assert_eq!(
        app.donate(&again, campaign, 1_000, "again").await.status(),
        201
    );
    assert_eq!(
        app.donate(&reuser, campaign, 1_000, "reuse").await.status(),
        201
    );

    let (lock, plugs) = app.block_committers(campaign).await;
    let gift = json!({"amount": 1_000});
    let replies = [
        app.donate_in_background(&ok, campaign, gift.clone(), "ok"),
        app.donate_in_background(&poor, campaign, gift.clone(), "poor"),
        app.donate_in_background(&late, expired, gift.clone(), "late"),
        app.donate_in_background(&lost, Uuid::new_v4(), gift.clone(), "lost"),
        app.donate_in_background(&again, campaign, gift.clone(), "again"),
        app.donate_in_background(&reuser, campaign, json!({"amount": 2_000}), "reuse"),
    ];
    app.wait_until(|s| s.waiting.load(Ordering::Relaxed) == 6)
        .await;
    lock.rollback().await.expect("unlock");
    for plug in plugs {
        assert_eq!(status_of(plug).await.0, 201);
    }
    let [ok_r, poor_r, late_r, lost_r, again_r, reuse_r] = replies;
    assert_eq!(status_of(ok_r).await.0, 201);
    assert_eq!(
        error_of(poor_r.await.expect("task"), 422).await["code"],
        "insufficient_funds"
    );
    assert_eq!(
        error_of(late_r.await.expect("task"), 409).await["code"],
        "campaign_not_accepting"
    );
    error_of(lost_r.await.expect("task"), 404).await;
    let (status, replayed) = status_of(again_r).await;
    assert_eq!(status, 201);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(
        error_of(reuse_r.await.expect("task"), 422).await["code"],
        "idempotency_key_reused"
    );
    assert!(
        app.app
            .money()
            .group_commit()
            .stats
            .largest_batch
            .load(Ordering::Relaxed)
            >= 6,
        "the six donations were written as one batch"
    );

    for (donor, left) in [
        (&ok, 4_000),
        (&poor, 100),
        (&late, 5_000),
        (&lost, 5_000),
        (&again, 4_000),
        (&reuser, 4_000),
    ] {
        assert_eq!(app.balance(donor).await, left);
    }
    // A refused donation's key was given back: after a deposit the same request goes through.
    app.fund(&poor, 1_000).await;
    assert_eq!(
        app.donate(&poor, campaign, 1_000, "poor").await.status(),
        201
    );
    let c = app.campaign(campaign).await;
    let plugs = COMMITTERS as i64;
    assert_eq!(c["raisedAmount"], plugs * 100 + 4 * 1_000);
    assert_eq!(c["donationsCount"], plugs + 4);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_donation_that_fails_inside_a_batch_does_not_take_the_others_down() {
    let app = spawn_app().await;
    // A real database failure for one row: a trigger that refuses one message.
    for sql in [
        "create function refuse_boom() returns trigger language plpgsql as $$
         begin
             if new.message = 'boom' then raise exception 'injected failure'; end if;
             return new;
         end $$",
        "create trigger refuse_boom before insert on donations
         for each row execute function refuse_boom()",
    ] {
        sqlx::query(sql)
            .execute(&app.app.infra.db.write)
            .await
            .expect("trigger");
    }
    let creator = app.register().await;
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    let mut donors = Vec::new();
    for _ in 0..12 {
        donors.push(app.funded_donor(2_000).await);
    }

    let (lock, plugs) = app.block_committers(campaign).await;
    let replies: Vec<Reply> = donors
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let message = if n == 5 { "boom" } else { "good luck" };
            app.donate_in_background(
                d,
                campaign,
                json!({"amount": 500, "message": message}),
                "gift",
            )
        })
        .collect();
    app.wait_until(|s| s.waiting.load(Ordering::Relaxed) == 12)
        .await;
    lock.rollback().await.expect("unlock");
    for plug in plugs {
        assert_eq!(status_of(plug).await.0, 201);
    }
    for (n, reply) in replies.into_iter().enumerate() {
        let (status, _) = status_of(reply).await;
        assert_eq!(status, if n == 5 { 500 } else { 201 }, "donation {n}");
    }
    assert!(
        app.app
            .money()
            .group_commit()
            .stats
            .retried_alone
            .load(Ordering::Relaxed)
            >= 12,
        "the failed batch was written again one by one"
    );
    for (n, d) in donors.iter().enumerate() {
        assert_eq!(app.balance(d).await, if n == 5 { 2_000 } else { 1_500 });
    }
    let c = app.campaign(campaign).await;
    let plugs = COMMITTERS as i64;
    assert_eq!(c["raisedAmount"], plugs * 100 + 11 * 500);
    assert_eq!(c["donationsCount"], plugs + 11);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_cached_detail_page_never_shows_a_total_older_than_an_answered_donation() {
    use std::sync::atomic::AtomicI64;
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 10_000_000)
        .await;
    let mut donors = Vec::new();
    for _ in 0..16 {
        donors.push(app.funded_donor(10_000).await);
    }
    let answered = std::sync::Arc::new(AtomicI64::new(0));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Readers keep filling and hitting the cache while the donations go in.
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (app, answered, done) = (app.clone(), answered.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    app.assert_total_at_least(campaign, answered.load(Ordering::SeqCst))
                        .await;
                }
            })
        })
        .collect();
    let givers: Vec<_> = donors
        .into_iter()
        .map(|d| {
            let (app, answered) = (app.clone(), answered.clone());
            tokio::spawn(async move {
                for n in 0..5 {
                    let resp = app.donate(&d, campaign, 100, &format!("g{n}")).await;
                    assert_eq!(resp.status().as_u16(), 201);
                    answered.fetch_add(100, Ordering::SeqCst);
                    // Includes this donor's own gift, answered just now.
                    app.assert_total_at_least(campaign, answered.load(Ordering::SeqCst))
                        .await;
                }
            })
        })
        .collect();
    for g in givers {
        g.await.expect("giver");
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.expect("reader");
    }
    assert!(
        app.app.campaigns().cache_stats().snapshot().0 > 0,
        "reads were served from the cache"
    );
    assert_eq!(app.campaign(campaign).await["raisedAmount"], 16 * 5 * 100);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn two_batches_that_cross_the_goal_together_record_it_once() {
    let app = spawn_app().await;
    // Two api instances: each writes its own batches, so theirs can be in flight together.
    let config = (*app.app.infra.config).clone();
    let other = start(
        domain::App::connect(config).await.expect("connect"),
        app.db_name.clone(),
    )
    .await;
    let creator = app.register().await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 1_000).await;
    let (ann, ben) = (app.funded_donor(1_000).await, app.funded_donor(1_000).await);
    let goal_events = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from outbox where kind = 'campaign.goal_reached'",
        )
        .fetch_one(&app.app.infra.db.write)
        .await
        .expect("count")
    };

    // Hold every batch between its goal check and its commit: each then checks without seeing
    // the other, and both see the campaign short.
    let mut outbox_lock = app.app.infra.db.write.begin().await.expect("begin");
    sqlx::query("lock table outbox in share mode")
        .execute(&mut *outbox_lock)
        .await
        .expect("lock");
    let batches = |t: &TestApp| {
        t.app
            .money()
            .group_commit()
            .stats
            .batches
            .load(Ordering::Relaxed)
    };
    let (before, other_before) = (batches(&app), batches(&other));
    let first = app.donate_in_background(&ann, campaign, json!({"amount": 500}), "a");
    app.wait_until(|s| s.batches.load(Ordering::Relaxed) == before + 1)
        .await;
    let second = other.donate_in_background(&ben, campaign, json!({"amount": 500}), "b");
    other
        .wait_until(|s| s.batches.load(Ordering::Relaxed) == other_before + 1)
        .await;
    // Both batches are waiting on the lock once two other sessions wait on the outbox.
    for _ in 0..200 {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_locks l join pg_class c on c.oid = l.relation
             where c.relname = 'outbox' and not l.granted",
        )
        .fetch_one(&app.app.infra.db.write)
        .await
        .expect("locks");
        if waiting == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    outbox_lock.rollback().await.expect("release");
    assert_eq!(status_of(first).await.0, 201);
    assert_eq!(status_of(second).await.0, 201);

    // The batch that committed last looks again after its commit and records the goal.
    let mut recorded = false;
    for _ in 0..200 {
        if goal_events().await == 1 {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(recorded, "the goal was never recorded");
    let reached: bool =
        sqlx::query_scalar("select goal_reached_at is not null from campaigns where id = $1")
            .bind(campaign)
            .fetch_one(&app.app.infra.db.write)
            .await
            .expect("campaign");
    assert!(reached);
    // The sweep finds nothing more to do, and nothing records it twice.
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    assert!(
        app.app
            .money()
            .sweep_goals(since)
            .await
            .expect("sweep")
            .is_empty()
    );
    assert_eq!(goal_events().await, 1);
}

#[tokio::test]
async fn the_goal_sweep_records_a_goal_no_batch_looked_at_again_once() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 1_000).await;
    let donor = app.funded_donor(1_000).await;
    assert_eq!(
        app.donate(&donor, campaign, 400, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    // The gift's batch has looked at the goal again (still short) before the stats move on.
    app.wait_until(|s| s.settled.load(Ordering::Relaxed) == s.batches.load(Ordering::Relaxed))
        .await;
    // As if a batch that crossed the goal committed and its process died before looking again.
    sqlx::query(
        "update campaign_stats_shards set raised_amount = raised_amount + 600
         where campaign_id = $1 and shard = (select min(shard) from campaign_stats_shards
                                             where campaign_id = $1)",
    )
    .bind(campaign)
    .execute(&app.app.infra.db.write)
    .await
    .expect("stats");
    let money = app.app.money();
    // A window that does not reach back to the gift finds nothing.
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert!(money.sweep_goals(later).await.expect("sweep").is_empty());
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let (first, second) = tokio::join!(money.sweep_goals(since), money.sweep_goals(since));
    let marked = [first.expect("first"), second.expect("second")].concat();
    assert_eq!(
        marked,
        [campaign],
        "recorded once between two sweeps at once"
    );
    let events: i64 =
        sqlx::query_scalar("select count(*) from outbox where kind = 'campaign.goal_reached'")
            .fetch_one(&app.app.infra.db.write)
            .await
            .expect("count");
    assert_eq!(events, 1);
}
