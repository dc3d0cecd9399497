//! The scheduler: one leader at a time, and a tick runs once even when two schedulers both
//! believe they lead.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use commonpot_scheduler::{Leader, Options, ScheduledTask};
use domain::App;
use domain::background::BackgroundJob;
use domain::infra::kv::Kv;

use crate::support::{TestEnv, shared_redis_url};

type Runs = Arc<Mutex<Vec<(usize, DateTime<Utc>)>>>;

/// Records which scheduler ran it, for which tick.
struct CountTicks {
    scheduler: usize,
    runs: Runs,
    now: DateTime<Utc>,
}

impl BackgroundJob for CountTicks {
    const NAME: &'static str = "count_ticks";
    type Context = App;

    async fn run(&self, _app: &App) -> domain::Result<()> {
        self.runs
            .lock()
            .expect("lock")
            .push((self.scheduler, self.now));
        Ok(())
    }
}

/// A task due every second that records which scheduler ran it, for which tick.
fn every_second(scheduler: usize, runs: &Runs) -> ScheduledTask {
    let runs = runs.clone();
    ScheduledTask::new("* * * * * *", move |now| CountTicks {
        scheduler,
        runs: runs.clone(),
        now,
    })
    .expect("schedule")
}

/// Runs one scheduler per app for `length`, all with the same every-second task.
async fn run_schedulers(apps: Vec<App>, length: Duration) -> Vec<(usize, DateTime<Utc>)> {
    let runs: Runs = Arc::default();
    let options = Options {
        leader_ttl: Duration::from_secs(2),
        ..Options::default()
    };
    let handles: Vec<_> = apps
        .into_iter()
        .enumerate()
        .map(|(i, app)| {
            let tasks = vec![every_second(i, &runs)];
            let options = options.clone();
            tokio::spawn(async move {
                commonpot_scheduler::run(app, tasks, options, tokio::time::sleep(length)).await
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("join").expect("scheduler ran");
    }
    runs.lock().expect("lock").clone()
}

fn assert_each_tick_once(runs: &[(usize, DateTime<Utc>)]) {
    let mut ticks: Vec<_> = runs.iter().map(|(_, at)| *at).collect();
    ticks.sort();
    ticks.dedup();
    assert_eq!(ticks.len(), runs.len(), "a tick ran twice: {runs:?}");
    assert!(runs.len() >= 2, "ticks ran: {runs:?}");
}

#[tokio::test]
async fn two_schedulers_sharing_a_lease_run_each_tick_once() {
    let env = TestEnv::new().await;

    let runs = run_schedulers(
        vec![env.app.clone(), env.app.clone()],
        Duration::from_millis(4500),
    )
    .await;

    assert_each_tick_once(&runs);
    let leaders: std::collections::HashSet<_> = runs.iter().map(|(i, _)| *i).collect();
    assert_eq!(leaders.len(), 1, "one scheduler led throughout: {runs:?}");
}

#[tokio::test]
async fn two_schedulers_that_both_lead_still_run_each_tick_once() {
    let env = TestEnv::new().await;
    // Split brain: the second scheduler's lease lives under another prefix, so both lead.
    let mut infra = env.app.infra.clone();
    infra.kv = Kv::connect(
        &shared_redis_url(),
        &format!("{}split:", env.app.infra.kv.prefix()),
    )
    .await
    .expect("kv");
    let other = App::new(infra);

    let runs = run_schedulers(vec![env.app.clone(), other], Duration::from_millis(4500)).await;

    assert_each_tick_once(&runs);
    let recorded: i64 =
        sqlx::query_scalar("select count(*) from scheduler_runs where task = 'count_ticks' and finished_at is not null and error is null")
            .fetch_one(env.pool())
            .await
            .expect("count");
    assert_eq!(usize::try_from(recorded).expect("count"), runs.len());
}

#[tokio::test]
async fn the_lease_has_one_holder_and_passes_on_when_released_or_expired() {
    let env = TestEnv::new().await;
    let ttl = Duration::from_millis(600);
    let a = Leader::new(env.app.infra.kv.clone(), ttl);
    let b = Leader::new(env.app.infra.kv.clone(), ttl);

    assert!(a.try_lead().await);
    assert!(!b.try_lead().await);
    assert!(a.try_lead().await, "the holder renews");
    a.release().await;
    assert!(!a.is_leader().await);
    assert!(b.try_lead().await, "released: another takes over at once");

    // b stops renewing: its lease lapses, locally and in Redis.
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    assert!(!b.is_leader().await);
    assert!(a.try_lead().await, "expired: another takes over");
}

/// Panics whenever it runs.
struct Panics;

impl BackgroundJob for Panics {
    const NAME: &'static str = "panics";
    type Context = App;

    async fn run(&self, _app: &App) -> domain::Result<()> {
        panic!("boom")
    }
}

#[tokio::test]
async fn a_task_that_panics_finishes_its_run_with_the_panic_and_the_next_tick_runs() {
    let env = TestEnv::new().await;
    let task = ScheduledTask::new("* * * * * *", |_| Panics).expect("schedule");

    commonpot_scheduler::run(
        env.app.clone(),
        vec![task],
        Options::default(),
        tokio::time::sleep(Duration::from_millis(3500)),
    )
    .await
    .expect("scheduler ran");

    let runs: Vec<(Option<DateTime<Utc>>, Option<String>)> = sqlx::query_as(
        "select finished_at, error from scheduler_runs where task = 'panics' order by scheduled_for",
    )
    .fetch_all(env.pool())
    .await
    .expect("runs");
    assert!(runs.len() >= 2, "ticks after a panic still run: {runs:?}");
    for (finished_at, error) in &runs {
        assert!(finished_at.is_some(), "a run left claimed: {runs:?}");
        assert_eq!(
            error.as_deref(),
            Some("internal error: the task panicked: boom")
        );
    }
}
