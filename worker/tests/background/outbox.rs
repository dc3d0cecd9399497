//! The outbox relay: nothing for rolled-back changes, everything committed, even across a Redis
//! outage.

use std::time::Duration;

use domain::jobs::relay::relay_batch;
use domain::jobs::{Event, Queues};
use domain::outbox::record;

use crate::support::{PrivateRedis, RunningWorker, TestEnv, eventually, fast_worker};

fn pending(depths: &[domain::jobs::queue::QueueDepth], queue: &str) -> u64 {
    depths
        .iter()
        .find(|d| d.queue == queue)
        .map(|d| d.pending)
        .expect("queue listed")
}

#[tokio::test]
async fn a_change_whose_transaction_rolls_back_enqueues_nothing() {
    let env = TestEnv::new().await;
    let user = env.user("Ada", true).await;
    let queues = Queues::new(&env.app.infra.kv);

    let mut tx = env.pool().begin().await.expect("begin");
    record(&mut tx, &Event::UserRegistered { user_id: user.id })
        .await
        .expect("record");
    tx.rollback().await.expect("rollback");

    assert_eq!(
        relay_batch(env.pool(), &queues, 100).await.expect("relay"),
        0
    );
    let depths = queues.depths().await.expect("depths");
    assert!(
        depths.iter().all(|d| d.pending == 0 && d.scheduled == 0),
        "{depths:?}"
    );
}

#[tokio::test]
async fn committed_events_become_jobs_once_and_their_rows_are_marked_sent() {
    let env = TestEnv::new().await;
    let user = env.user("Ada", true).await;
    let queues = Queues::new(&env.app.infra.kv);
    env.commit_event(&Event::UserRegistered { user_id: user.id })
        .await;
    env.commit_event(&Event::CampaignChanged {
        campaign_id: uuid::Uuid::new_v4(),
    })
    .await;

    assert_eq!(
        relay_batch(env.pool(), &queues, 100).await.expect("relay"),
        2
    );
    assert_eq!(
        relay_batch(env.pool(), &queues, 100).await.expect("relay"),
        0
    );

    assert_eq!(env.unsent_outbox_rows().await, 0);
    let depths = queues.depths().await.expect("depths");
    assert_eq!(pending(&depths, "send_notification"), 1);
    assert_eq!(pending(&depths, "invalidate_cache"), 1);
    assert_eq!(pending(&depths, "recompute_campaign_stats"), 0);
}

#[tokio::test]
async fn the_emails_of_many_events_ride_in_one_job_a_hundred_events_to_a_job() {
    let env = TestEnv::new().await;
    let queues = Queues::new(&env.app.infra.kv);
    for _ in 0..101 {
        let user = env.user("Ada", true).await;
        env.commit_event(&Event::UserRegistered { user_id: user.id })
            .await;
    }

    assert_eq!(
        relay_batch(env.pool(), &queues, 500).await.expect("relay"),
        101
    );

    let depths = queues.depths().await.expect("depths");
    assert_eq!(pending(&depths, "send_notification"), 2);
    let worker = RunningWorker::start(&env.app, fast_worker());
    let all_sent = eventually(Duration::from_secs(20), || async {
        env.mails().len() == 101
    })
    .await;
    worker.stop().await;
    assert!(all_sent, "{} mails", env.mails().len());
}

#[tokio::test]
async fn a_row_relayed_again_after_a_lost_commit_is_not_queued_twice() {
    let env = TestEnv::new().await;
    let user = env.user("Ada", true).await;
    let queues = Queues::new(&env.app.infra.kv);
    env.commit_event(&Event::UserRegistered { user_id: user.id })
        .await;
    relay_batch(env.pool(), &queues, 100).await.expect("relay");
    // As if the commit after the push had been lost: the row is unsent again.
    sqlx::query("update outbox set sent_at = null")
        .execute(env.pool())
        .await
        .expect("reset");

    assert_eq!(
        relay_batch(env.pool(), &queues, 100).await.expect("relay"),
        1
    );
    let depths = queues.depths().await.expect("depths");
    assert_eq!(pending(&depths, "send_notification"), 1);
}

#[tokio::test]
async fn events_committed_while_redis_is_down_are_delivered_when_it_returns() {
    let mut redis = PrivateRedis::start();
    let env = TestEnv::with(&redis.url(), &[]).await;
    let user = env.user("Grace", true).await;
    let worker = RunningWorker::start(&env.app, fast_worker());

    redis.stop();
    env.commit_event(&Event::UserRegistered { user_id: user.id })
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        env.unsent_outbox_rows().await,
        1,
        "the event waits in the outbox"
    );
    assert!(env.mails().is_empty());

    redis.restart();
    let delivered = eventually(Duration::from_secs(30), || async {
        !env.mails_to(&user.email).is_empty()
    })
    .await;
    assert!(delivered, "the welcome mail arrives once Redis is back");
    // The relay marks the row sent in the transaction that pushed the job, so the job can
    // finish a moment before that commit.
    let marked = eventually(Duration::from_secs(5), || async {
        env.unsent_outbox_rows().await == 0
    })
    .await;
    assert!(marked, "the relayed event is marked sent");
    worker.stop().await;
    assert_eq!(env.mails_to(&user.email).len(), 1);
}

#[tokio::test]
async fn events_fan_out_to_webhooks_only_once_an_endpoint_subscribes_to_their_kind() {
    let env = TestEnv::new().await;
    let user = env.user("Ada", true).await;
    let queues = Queues::new(&env.app.infra.kv);
    let donation = || Event::DonationCreated {
        donation_id: uuid::Uuid::new_v4(),
        campaign_id: uuid::Uuid::new_v4(),
        donor_id: user.id,
        amount: 500,
    };
    env.commit_event(&donation()).await;
    relay_batch(env.pool(), &queues, 100).await.expect("relay");
    let depths = queues.depths().await.expect("depths");
    // The receipt only: creators hear in the hourly digest.
    assert_eq!(pending(&depths, "send_notification"), 1);
    assert_eq!(
        pending(&depths, "dispatch_webhooks"),
        0,
        "nobody listens yet"
    );

    sqlx::query(
        "insert into webhook_endpoints (id, owner_id, created_by, url, kinds, secret)
         values ($1, null, $2, 'https://hooks.example.org/in', array['donation.created'], 's')",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(user.id)
    .execute(env.pool())
    .await
    .expect("endpoint");
    env.commit_event(&donation()).await;
    env.commit_event(&Event::UserRegistered { user_id: user.id })
        .await;
    relay_batch(env.pool(), &queues, 100).await.expect("relay");
    let depths = queues.depths().await.expect("depths");
    assert_eq!(pending(&depths, "dispatch_webhooks"), 1);
}
