//! `GET /metrics` of the worker (the real binary) and the scheduler: the job series move when
//! a job or a tick runs or fails, and the sampled gauges (outbox lag, queue depths) are there
//! and follow the outbox.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::Duration;

use commonpot_scheduler::{Options, ScheduledTask};
use domain::App;
use domain::background::BackgroundJob;
use domain::infra::metrics;
use domain::jobs::Event;
use domain::testing::metric_sample as sample;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::support::TestEnv;

/// `GET /metrics` at `addr`, the body of a 200.
async fn scrape(addr: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("receive");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain"), "{head}");
    body.to_string()
}

/// Scrapes `addr` until `wanted` accepts the text (`Ok`), or ten seconds pass (`Err` with the
/// last text): the sampled gauges are read every five seconds.
async fn scrape_until(addr: SocketAddr, wanted: impl Fn(&str) -> bool) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(addr).await;
        if wanted(&text) {
            return Ok(text);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(text);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `worker` binary as its own process, logging JSON to a file; killed on drop.
struct WorkerProcess {
    child: Child,
    log: std::path::PathBuf,
}

impl WorkerProcess {
    fn start(env: &TestEnv, extra: &[(&str, &str)]) -> Self {
        let log = std::env::temp_dir().join(format!("commonpot-worker-{}.jsonl", Uuid::new_v4()));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_worker"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&env.vars)
            .envs([("LOG_FORMAT", "json"), ("RUST_LOG", "info")])
            .envs(extra.iter().copied())
            .stdout(out.try_clone().expect("clone"))
            .stderr(out)
            .spawn()
            .expect("start the worker binary");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The address the binary reports serving `/metrics` on (it was given port 0).
    async fn metrics_addr(&self) -> SocketAddr {
        for _ in 0..200 {
            let found = self.log().lines().find_map(|line| {
                let line: serde_json::Value = serde_json::from_str(line).ok()?;
                let fields = &line["fields"];
                (fields["message"] == "metrics listening")
                    .then(|| fields["addr"].as_str()?.parse().ok())
                    .flatten()
            });
            if let Some(addr) = found {
                return addr;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the worker did not start: {}", self.log());
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test's log stays behind to be read.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

#[tokio::test]
async fn the_worker_binary_serves_job_and_outbox_series_that_move() {
    let env = TestEnv::new().await;
    let user = env.user("Ada", true).await;
    // Nothing listens on port 1: every mail fails, so the welcome job fails.
    let worker = WorkerProcess::start(
        &env,
        &[
            ("WORKER_METRICS_ADDR", "127.0.0.1:0"),
            ("SMTP_URL", "smtp://127.0.0.1:1"),
        ],
    );
    let addr = worker.metrics_addr().await;
    // The sampler reads the gauges once at start.
    let before = scrape_until(addr, |text| text.contains("commonpot_outbox_lag_seconds "))
        .await
        .unwrap_or_else(|text| panic!("no outbox lag sampled: {text}\n{}", worker.log()));
    assert_eq!(sample(&before, "commonpot_outbox_lag_seconds", &[]), 0.0);
    for queue in [
        "recompute_campaign_stats",
        "invalidate_cache",
        "send_notification",
        "score_loan",
        "generate_report",
        "dispatch_webhooks",
        "deliver_webhook",
    ] {
        let series = format!("commonpot_queue_depth{{queue=\"{queue}\"}} ");
        assert!(before.contains(&series), "{series} missing: {before}");
    }

    // One job that succeeds, one that fails, and an event the relay cannot read, which
    // stays unsent and ages: the lag an operator is alerted on.
    env.commit_event(&Event::CampaignChanged {
        campaign_id: Uuid::new_v4(),
    })
    .await;
    env.commit_event(&Event::UserRegistered { user_id: user.id })
        .await;
    sqlx::query("insert into outbox (kind, payload) values ('user.registered', '{\"type\": \"user_registered\"}')")
        .execute(env.pool())
        .await
        .expect("insert a malformed event");

    let after = scrape_until(addr, |text| {
        sample(text, "commonpot_outbox_lag_seconds", &[]) > 0.0
            && sample(
                text,
                "commonpot_job_failures_total",
                &[("kind", "send_notification")],
            ) >= 1.0
            && sample(
                text,
                "commonpot_job_duration_seconds_count",
                &[("kind", "invalidate_cache"), ("outcome", "ok")],
            ) >= 1.0
    })
    .await
    .unwrap_or_else(|text| panic!("the series did not move: {text}\n{}", worker.log()));
    assert!(
        sample(
            &after,
            "commonpot_job_duration_seconds_count",
            &[("kind", "send_notification"), ("outcome", "failed")]
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            "commonpot_job_duration_seconds_bucket",
            &[("kind", "invalidate_cache"), ("le", "+Inf")]
        ) >= 1.0,
        "job durations are a histogram: {after}"
    );
    assert!(after.contains("commonpot_db_pool_connections{pool=\"write\",state=\"idle\"} "));
}

/// A scheduled task that succeeds.
struct FineTick;

impl BackgroundJob for FineTick {
    const NAME: &'static str = "metrics_fine_tick";
    type Context = App;

    async fn run(&self, _app: &App) -> domain::Result<()> {
        Ok(())
    }
}

/// A scheduled task that fails.
struct FailingTick;

impl BackgroundJob for FailingTick {
    const NAME: &'static str = "metrics_failing_tick";
    type Context = App;

    async fn run(&self, _app: &App) -> domain::Result<()> {
        Err(domain::Error::internal("the tick went wrong"))
    }
}

#[tokio::test]
async fn the_scheduler_serves_task_series_that_move_with_each_tick() {
    let env = TestEnv::new().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // What the binary does with SCHEDULER_METRICS_ADDR, on a free port.
    let (addr, server) = metrics::serve("127.0.0.1:0".parse().expect("addr"), async move {
        let _ = stopped.await;
    })
    .await
    .expect("serve metrics");
    let before = scrape(addr).await;
    let tasks = vec![
        ScheduledTask::new("* * * * * *", |_| FineTick).expect("schedule"),
        ScheduledTask::new("* * * * * *", |_| FailingTick).expect("schedule"),
    ];

    commonpot_scheduler::run(
        env.app.clone(),
        tasks,
        Options::default(),
        tokio::time::sleep(Duration::from_millis(2500)),
    )
    .await
    .expect("scheduler ran");

    let after = scrape(addr).await;
    let _ = stop.send(());
    server.await.expect("join").expect("server ran");
    let moved = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    let fine = [("kind", FineTick::NAME), ("outcome", "ok")];
    assert!(
        moved("commonpot_job_duration_seconds_count", &fine) >= 1.0,
        "{after}"
    );
    let failed = [("kind", FailingTick::NAME), ("outcome", "failed")];
    assert!(
        moved("commonpot_job_duration_seconds_count", &failed) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "commonpot_job_failures_total",
            &[("kind", FailingTick::NAME)]
        ) >= 1.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "commonpot_job_failures_total",
            &[("kind", FineTick::NAME)]
        ),
        0.0
    );
}
