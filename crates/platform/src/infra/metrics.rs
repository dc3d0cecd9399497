//! Prometheus metrics: one recorder per process, installed when the handles connect. Every
//! series is named and described here, so the README, dashboards and code agree on them; the
//! layer that knows a fact records it with the `metrics` macros and these names.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Route, Server, get, handler};
use sqlx::PgPool;

pub const HTTP_REQUESTS: &str = "commonpot_http_requests_total";
pub const HTTP_DURATION: &str = "commonpot_http_request_duration_seconds";
pub const DB_TRANSACTION: &str = "commonpot_db_transaction_duration_seconds";
pub const DB_POOL_CONNECTIONS: &str = "commonpot_db_pool_connections";
pub const DB_POOL_ACQUIRE: &str = "commonpot_db_pool_acquire_seconds";
pub const CACHE_HITS: &str = "commonpot_cache_hits_total";
pub const CACHE_MISSES: &str = "commonpot_cache_misses_total";
pub const GROUP_COMMIT_BATCH: &str = "commonpot_group_commit_batch_size";
pub const SSE_VIEWERS: &str = "commonpot_sse_viewers";
pub const OUTBOX_LAG: &str = "commonpot_outbox_lag_seconds";
pub const QUEUE_DEPTH: &str = "commonpot_queue_depth";
pub const JOB_DURATION: &str = "commonpot_job_duration_seconds";
pub const JOB_FAILURES: &str = "commonpot_job_failures_total";
pub const REGISTRATIONS: &str = "commonpot_registrations_total";
pub const CAMPAIGNS_CREATED: &str = "commonpot_campaigns_created_total";
pub const DONATIONS: &str = "commonpot_donations_total";
pub const DONATIONS_AMOUNT: &str = "commonpot_donations_amount_minor_total";
pub const PAYMENTS_FAILED: &str = "commonpot_payments_failed_total";
pub const LOAN_DECISIONS: &str = "commonpot_loan_decisions_total";
pub const LOAN_REPAYMENTS: &str = "commonpot_loan_repayments_total";

/// Latency buckets in seconds: fine below 100 ms where requests should be, coarse above, so
/// `histogram_quantile` gives usable p50/p95/p99.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; later calls return the same handle).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(GROUP_COMMIT_BATCH.into()), BATCH_BUCKETS)
            });
        // Only an empty bucket list fails, and the lists above are constants that are not.
        let recorder = builder
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "metric buckets refused; histograms become summaries");
                PrometheusBuilder::new()
            })
            .build_recorder();
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "a metrics recorder was already installed");
        }
        describe();
        handle
    })
}

/// The current value of every series, in the Prometheus text format.
pub fn render() -> String {
    install().render()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency, by route template, method and status"
    );
    describe_histogram!(
        DB_TRANSACTION,
        Unit::Seconds,
        "Time from BEGIN to COMMIT of the money transactions, by kind"
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "PostgreSQL pool connections, by pool (write/read) and state (in_use/idle)"
    );
    describe_histogram!(
        DB_POOL_ACQUIRE,
        Unit::Seconds,
        "Wait for a pooled connection, probed periodically, by pool"
    );
    describe_counter!(CACHE_HITS, "Cache hits, by cache");
    describe_counter!(CACHE_MISSES, "Cache misses, by cache");
    describe_histogram!(
        GROUP_COMMIT_BATCH,
        "Donations committed per group-commit transaction"
    );
    describe_gauge!(SSE_VIEWERS, "Open live-totals (server-sent events) streams");
    describe_gauge!(
        OUTBOX_LAG,
        Unit::Seconds,
        "Age of the oldest outbox event not yet relayed (0 when none waits)"
    );
    describe_gauge!(QUEUE_DEPTH, "Jobs waiting in a queue (due now), by queue");
    describe_histogram!(
        JOB_DURATION,
        Unit::Seconds,
        "Job and scheduled task run time, by kind and outcome"
    );
    describe_counter!(JOB_FAILURES, "Failed job and scheduled task runs, by kind");
    describe_counter!(REGISTRATIONS, "Accounts registered");
    describe_counter!(CAMPAIGNS_CREATED, "Campaigns created");
    describe_counter!(DONATIONS, "Donations committed");
    describe_counter!(DONATIONS_AMOUNT, "Donated amount in minor units");
    describe_counter!(
        PAYMENTS_FAILED,
        "Deposits the payment provider reported failed"
    );
    describe_counter!(LOAN_DECISIONS, "Loan applications decided, by decision");
    describe_counter!(LOAN_REPAYMENTS, "Loan repayments committed");
}

/// Keeps a gauge raised while alive (an open stream, say): +1 now, −1 on drop.
#[derive(Debug)]
pub struct GaugeGuard(metrics::Gauge);

impl GaugeGuard {
    pub fn new(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Records the pool's connections and how long one takes to get right now. The acquire probe
/// holds the connection only for the measurement.
pub async fn sample_pool(name: &'static str, pool: &PgPool) {
    let size = pool.size() as usize;
    let idle = pool.num_idle();
    metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => name, "state" => "in_use")
        .set(size.saturating_sub(idle) as f64);
    metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => name, "state" => "idle").set(idle as f64);
    let started = Instant::now();
    if pool.acquire().await.is_ok() {
        metrics::histogram!(DB_POOL_ACQUIRE, "pool" => name).record(started.elapsed());
    }
}

/// Lets the recorder drop histogram samples already rendered, so a process nobody scrapes
/// does not grow; called by the periodic samplers.
pub fn upkeep() {
    install().run_upkeep();
}

/// `GET /metrics`: the Prometheus text exposition of this process's series.
#[handler]
pub fn scrape() -> poem::Response {
    poem::Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(render())
}

/// Serves `GET /metrics` on `addr` (port 0 picks a free one) until `shutdown` completes; for
/// the worker and the scheduler, which have no other HTTP server. Returns the bound address
/// and the server's task.
pub async fn serve(
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    install();
    let acceptor = TcpListener::bind(addr).into_acceptor().await?;
    let bound = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(addr);
    let app = Route::new().at("/metrics", get(scrape));
    let server = Server::new_with_acceptor(acceptor);
    let task = tokio::spawn(async move {
        server
            .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(1)))
            .await
    });
    Ok((bound, task))
}
