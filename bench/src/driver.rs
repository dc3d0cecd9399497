//! Closed-loop load: N clients, each running one operation after another for a fixed time,
//! every latency recorded in a histogram. Also the HTTP client and the real login.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt, stream};
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde::Deserialize;
use uuid::Uuid;

/// Latencies are recorded in microseconds, up to a minute.
const MAX_MICROS: u64 = 60_000_000;

pub struct Measured {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub hist: Histogram<u64>,
    pub first_error: Option<String>,
}

fn histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).context("histogram bounds")
}

/// Runs `op(client, seq)` in a loop on `clients` tasks until `duration` has passed.
pub async fn measure<F, Fut>(clients: usize, duration: Duration, op: F) -> Result<Measured>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                let mut hist = histogram()?;
                let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
                let mut seq = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match op(client, seq).await {
                        Ok(()) => {
                            let micros = t.elapsed().as_micros() as u64;
                            hist.saturating_record(micros.clamp(1, MAX_MICROS));
                            ok += 1;
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                    seq += 1;
                }
                anyhow::Ok((hist, ok, errors, first_error))
            })
        })
        .collect();
    let mut total = Measured {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        hist: histogram()?,
        first_error: None,
    };
    for task in tasks {
        let (hist, ok, errors, first_error) = task.await??;
        total.hist.add(&hist).context("merging histograms")?;
        total.ok += ok;
        total.errors += errors;
        if total.first_error.is_none() {
            total.first_error = first_error;
        }
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// Keep-alive HTTP client sized for the largest client count.
pub fn http_client(max_clients: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(max_clients * 2)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// A seeded user signed in through the real api.
#[derive(Clone)]
pub struct Driver {
    pub user_id: Uuid,
    pub token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    access_token: String,
}

/// Signs in the first `n` seeded users with `POST /api/auth/login` (a few at a time: each
/// login verifies an argon2 hash).
pub async fn login(
    client: &reqwest::Client,
    base: &str,
    users: &[Uuid],
    n: usize,
) -> Result<Vec<Driver>> {
    println!("== signing in {n} driving users through the api");
    let pb = ProgressBar::new(n as u64);
    let url = format!("{base}/api/auth/login");
    let drivers: Vec<Driver> = stream::iter(0..n)
        .map(|i| {
            let (client, url, pb) = (client.clone(), url.clone(), pb.clone());
            let user_id = users[i];
            async move {
                let resp = client
                    .post(&url)
                    .json(&serde_json::json!({
                        "email": crate::seed::email(i),
                        "password": crate::seed::PASSWORD,
                    }))
                    .send()
                    .await?;
                if !resp.status().is_success() {
                    bail!("login of seeded user {i} failed: {}", resp.status());
                }
                let body: LoginResponse = resp.json().await?;
                pb.inc(1);
                Ok(Driver {
                    user_id,
                    token: body.access_token,
                })
            }
        })
        .buffered(4)
        .try_collect()
        .await?;
    pb.finish_and_clear();
    Ok(drivers)
}

/// Fails unless the response has the expected status; the body is read either way so the
/// connection goes back to the pool.
pub async fn expect_status(resp: reqwest::Response, want: u16) -> Result<()> {
    let status = resp.status().as_u16();
    let body = resp.bytes().await?;
    if status != want {
        bail!(
            "HTTP {status} (wanted {want}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    Ok(())
}
