//! Sentry from the background processes: logging and Sentry set up as the `worker` and
//! `scheduler` binaries do (`telemetry::init` with `SENTRY_DSN`), pointed at a stand-in
//! endpoint; a job's last failure, a scheduled task's failure and its panic each arrive as an
//! event tagged with the job kind or the task.
//!
//! Its own test binary: the tracing subscriber and the Sentry client are process-wide.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use commonpot_scheduler::{Options, ScheduledTask};
use domain::App;
use domain::background::BackgroundJob;
use domain::config::Config;
use domain::infra::telemetry;
use domain::testing::{SentryEndpoint, create_database};
use uuid::Uuid;

/// The process's Sentry endpoint, with logging and Sentry initialised to report to it.
fn sentry() -> &'static SentryEndpoint {
    static SENTRY: OnceLock<SentryEndpoint> = OnceLock::new();
    SENTRY.get_or_init(|| {
        let endpoint = SentryEndpoint::start();
        let config = config("postgres://unused/x", &[("SENTRY_DSN", &endpoint.dsn())]);
        // The guard flushes on drop; the client must outlive every test of the process.
        std::mem::forget(telemetry::init(&config));
        endpoint
    })
}

fn config(database_url: &str, overrides: &[(&str, &str)]) -> Config {
    let id = Uuid::new_v4().simple().to_string();
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.into()),
        (
            "REDIS_URL".into(),
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ),
        ("REDIS_KEY_PREFIX".into(), format!("cp_test:{id}:")),
        (
            "JWT_SECRET".into(),
            "test-secret-that-is-long-enough-0123456789".into(),
        ),
        (
            "S3_ENDPOINT".into(),
            std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into()),
        ),
        ("S3_BUCKET".into(), format!("t{}", &id[..20])),
        ("S3_ACCESS_KEY_ID".into(), "commonpot".into()),
        ("S3_SECRET_ACCESS_KEY".into(), "commonpot-secret".into()),
        ("LOG_FORMAT".into(), "json".into()),
    ]);
    vars.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    Config::from_lookup(|k| vars.get(k).cloned()).expect("test config")
}

/// An app on a fresh database, reporting to [`sentry`].
async fn app(overrides: &[(&str, &str)]) -> App {
    let mut overrides = overrides.to_vec();
    let dsn = sentry().dsn();
    overrides.push(("SENTRY_DSN", &dsn));
    let (_, url) = create_database(true).await;
    App::connect(config(&url, &overrides))
        .await
        .expect("connect app")
}

#[tokio::test]
async fn a_job_failing_its_last_attempt_reaches_sentry_tagged_with_its_kind() {
    // Nothing listens on port 1: the welcome mail fails every attempt.
    let app = app(&[("SMTP_URL", "smtp://127.0.0.1:1")]).await;
    let user = Uuid::new_v4();
    let email = format!("ada-{}@example.test", user.simple());
    sqlx::query(
        "insert into users (id, email, password_hash, first_name, last_name)
         values ($1, $2, 'x', 'Ada', 'Tester')",
    )
    .bind(user)
    .bind(&email)
    .execute(&app.infra.db.write)
    .await
    .expect("insert user");
    let options = commonpot_worker::Options {
        relay_interval: Duration::from_millis(50),
        poll_interval: Duration::from_millis(50),
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(50),
        max_attempts: 2,
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(commonpot_worker::run(app.clone(), options, async move {
        let _ = stopped.await;
    }));
    let mut tx = app.infra.db.write.begin().await.expect("begin");
    domain::outbox::record(
        &mut tx,
        &domain::jobs::Event::UserRegistered { user_id: user },
    )
    .await
    .expect("record");
    tx.commit().await.expect("commit");

    let event = sentry()
        .event_where(Duration::from_secs(20), |e| {
            e["message"] == "job failed its last attempt; dead-lettered"
        })
        .await;
    let _ = stop.send(());
    worker.await.expect("join").expect("worker ran");
    let event = event.unwrap_or_else(|| panic!("no event: {:?}", sentry().events()));
    assert_eq!(
        event["message"],
        "job failed its last attempt; dead-lettered"
    );
    assert_eq!(event["tags"]["job_kind"], "send_notification", "{event}");
    assert_eq!(event["tags"]["job_attempt"], "2", "{event}");
}

/// A scheduled task that fails with an error naming this test.
struct FailingTask;

impl BackgroundJob for FailingTask {
    const NAME: &'static str = "sentry_failing_task";
    type Context = App;

    async fn run(&self, _app: &App) -> domain::Result<()> {
        Err(domain::Error::internal("sentry test: the task failed"))
    }
}

/// A scheduled task that panics.
struct PanickingTask;

impl BackgroundJob for PanickingTask {
    const NAME: &'static str = "sentry_panicking_task";
    type Context = App;

    async fn run(&self, _app: &App) -> domain::Result<()> {
        panic!("sentry test: the task panicked")
    }
}

#[tokio::test]
async fn a_failing_or_panicking_scheduled_task_reaches_sentry_tagged_with_its_task() {
    let app = app(&[]).await;
    let tasks = vec![
        ScheduledTask::new("* * * * * *", |_| FailingTask).expect("schedule"),
        ScheduledTask::new("* * * * * *", |_| PanickingTask).expect("schedule"),
    ];

    commonpot_scheduler::run(
        app,
        tasks,
        Options::default(),
        tokio::time::sleep(Duration::from_millis(2500)),
    )
    .await
    .expect("scheduler ran");

    let failed = sentry()
        .event_where(Duration::from_secs(5), |e| {
            e.to_string().contains("sentry test: the task failed")
        })
        .await
        .unwrap_or_else(|| panic!("no event for the failure: {:?}", sentry().events()));
    assert_eq!(failed["message"], "scheduled task failed", "{failed}");
    assert_eq!(failed["tags"]["task"], FailingTask::NAME, "{failed}");
    // The panic itself, not the scheduler's later report of a task that ended in one.
    let panicked = sentry()
        .event_where(Duration::from_secs(5), |e| {
            e["exception"]["values"][0]["mechanism"]["type"] == "panic"
                && e.to_string().contains("sentry test: the task panicked")
        })
        .await
        .unwrap_or_else(|| panic!("no event for the panic: {:?}", sentry().events()));
    assert_eq!(panicked["level"], "fatal", "{panicked}");
    assert_eq!(panicked["tags"]["task"], PanickingTask::NAME, "{panicked}");
}
