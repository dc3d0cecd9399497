//! The api and worker processes under test: release binaries started on a free port against
//! the benchmark database, with rate limits out of the way, and stopped at the end (SIGTERM,
//! then SIGKILL; dropping a handle kills its process too).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::Args;

pub const JWT_SECRET: &str = "bench-only-jwt-secret-0123456789abcdef-0123";
/// Far above anything the bench sends, so the limiter (still consulted) never refuses.
const NO_LIMIT: &str = "1000000000/1";

pub struct Service {
    name: &'static str,
    child: Child,
}

pub struct Services {
    pub base_url: String,
    pub redis_prefix: String,
    pub worker: bool,
    list: Vec<Service>,
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn command(bin: &Path, env: &[(&str, String)], log: PathBuf) -> Result<Command> {
    let log = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = Command::new(bin);
    for var in [
        "DATABASE_READ_URL",
        "SMTP_URL",
        "SENTRY_DSN",
        "ADMIN_EMAIL",
        "ADMIN_PASSWORD",
        "S3_PUBLIC_ENDPOINT",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    Ok(cmd)
}

impl Services {
    pub async fn start(args: &Args, database_url: &str) -> Result<Self> {
        let port = free_port()?;
        let id = Uuid::new_v4().simple().to_string();
        let redis_prefix = format!("cp_bench:{id}:");
        let base: Vec<(&str, String)> = vec![
            ("APP_ENV", "development".into()),
            ("DATABASE_URL", database_url.into()),
            ("REDIS_URL", args.redis_url.clone()),
            ("REDIS_KEY_PREFIX", redis_prefix.clone()),
            ("JWT_SECRET", JWT_SECRET.into()),
            ("S3_ENDPOINT", args.s3_endpoint.clone()),
            ("S3_BUCKET", format!("cpbench{}", &id[..12])),
            ("S3_ACCESS_KEY_ID", "commonpot".into()),
            ("S3_SECRET_ACCESS_KEY", "commonpot-secret".into()),
            ("MAIL_DIR", args.out.join("mail").display().to_string()),
            ("LOG_FORMAT", "json".into()),
            ("PAYMENTS_SANDBOX", "true".into()),
            ("RATE_LIMIT_ANONYMOUS", NO_LIMIT.into()),
            ("RATE_LIMIT_AUTHENTICATED", NO_LIMIT.into()),
            ("RATE_LIMIT_PREMIUM", NO_LIMIT.into()),
            // Seeded users have no verified address and nobody reads their mail.
            ("REQUIRE_VERIFIED_EMAIL", "false".into()),
        ];
        let mut list = Vec::new();
        let mut api_env = base.clone();
        api_env.push(("BIND_ADDR", format!("127.0.0.1:{port}")));
        api_env.push(("PUBLIC_URL", format!("http://127.0.0.1:{port}")));
        api_env.push((
            "DATABASE_MAX_CONNECTIONS",
            args.api_db_connections.to_string(),
        ));
        let child = command(&args.api_bin, &api_env, args.out.join("api.log"))?
            .spawn()
            .with_context(|| format!("starting {}", args.api_bin.display()))?;
        list.push(Service { name: "api", child });

        let mut worker = false;
        if let Some(bin) = args.worker_bin.as_ref().filter(|b| b.exists()) {
            let mut env = base.clone();
            env.push(("DATABASE_MAX_CONNECTIONS", "5".into()));
            let child = command(bin, &env, args.out.join("worker.log"))?
                .spawn()
                .with_context(|| format!("starting {}", bin.display()))?;
            list.push(Service {
                name: "worker",
                child,
            });
            worker = true;
        }
        let mut services = Self {
            base_url: format!("http://127.0.0.1:{port}"),
            redis_prefix,
            worker,
            list,
        };
        services.wait_until_live().await?;
        Ok(services)
    }

    async fn wait_until_live(&mut self) -> Result<()> {
        let client = reqwest::Client::new();
        let url = format!("{}/health/live", self.base_url);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            self.check_alive()?;
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("the api did not come up within 60 s")
    }

    /// Fails if the api died, or the worker died with an error; a worker that ends at once
    /// with success (a placeholder binary) is dropped and the run goes on without it.
    pub fn check_alive(&mut self) -> Result<()> {
        let mut finished = None;
        for (i, s) in self.list.iter_mut().enumerate() {
            if let Some(status) = s.child.try_wait()? {
                if s.name == "worker" && status.success() {
                    finished = Some(i);
                } else {
                    bail!(
                        "the {} exited ({status}); see {}.log in the results folder",
                        s.name,
                        s.name
                    );
                }
            }
        }
        if let Some(i) = finished {
            println!("   (the worker binary exited at once: running without a worker)");
            self.list.remove(i);
            self.worker = false;
        }
        Ok(())
    }

    /// Sends `signal` (`STOP`, `CONT`) to the worker.
    pub async fn signal_worker(&self, signal: &str) -> Result<()> {
        let pid = self
            .list
            .iter()
            .find(|s| s.name == "worker")
            .and_then(|s| s.child.id())
            .context("the worker is not running")?;
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .await?;
        if !status.success() {
            bail!("kill -{signal} {pid} failed");
        }
        Ok(())
    }

    /// SIGTERM (graceful), then SIGKILL after 10 s.
    pub async fn stop(mut self) {
        for s in &mut self.list {
            if let Some(pid) = s.child.id() {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await;
            }
        }
        for s in &mut self.list {
            if tokio::time::timeout(Duration::from_secs(10), s.child.wait())
                .await
                .is_err()
            {
                let _ = s.child.kill().await;
            }
        }
    }
}
