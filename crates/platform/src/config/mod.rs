//! Typed configuration, read once from the environment at start.
//!
//! Every variable is documented here and in the README's table. Required variables that are
//! missing or malformed fail start-up with one line naming the variable (`ConfigError`).

mod loan_policy;
mod payout_policy;
mod rate_limits;
mod secret;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

pub use loan_policy::LoanPolicy;
use loan_policy::loan_policy;
pub use payout_policy::PayoutPolicy;
use payout_policy::payout_policy;
pub use rate_limits::{RateLimit, RateLimits};
pub use secret::Secret;
use secret::refuse_example_secrets;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {var} {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Object storage: MinIO/S3 in production, a local S3-compatible server in development.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// `S3_ENDPOINT`: custom endpoint (MinIO, local server). Unset → AWS's default endpoint.
    pub endpoint: Option<String>,
    /// `S3_BUCKET` (default `commonpot`).
    pub bucket: String,
    /// `S3_REGION` (default `us-east-1`).
    pub region: String,
    /// `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY`.
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// `S3_PUBLIC_ENDPOINT`: endpoint used in presigned URLs (defaults to `S3_ENDPOINT`).
    pub public_endpoint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `APP_ENV`: `development` (default) or `production`.
    pub environment: Environment,
    /// `BIND_ADDR` (default `0.0.0.0:8080`).
    pub bind_addr: SocketAddr,
    /// `PUBLIC_URL` (default `http://localhost:8080`): how users reach the api, for links.
    pub public_url: String,
    /// `DATABASE_URL` (required).
    pub database_url: Secret,
    /// `DATABASE_READ_URL`: read replica for reads that tolerate lag (public lists, search,
    /// dashboards); defaults to the primary. Whatever decides access or money reads the primary.
    pub database_read_url: Option<Secret>,
    /// `DATABASE_DIRECT_URL`: the primary without a pooler in between, for migrations and
    /// `pg_dump`; defaults to `DATABASE_URL`. Set it when `DATABASE_URL` goes through PgBouncer.
    pub database_direct_url: Option<Secret>,
    /// `DATABASE_MAX_CONNECTIONS` (default 20) per pool, per process.
    pub database_max_connections: u32,
    /// `REDIS_URL` (required).
    pub redis_url: Secret,
    /// `REDIS_KEY_PREFIX` (default `cp:`): every key and channel starts with it, so several
    /// deployments (or tests) can share one Redis.
    pub redis_prefix: String,
    pub s3: S3Config,
    /// `SMTP_URL`: e.g. `smtps://user:pass@smtp.example.com`. Unset → mail is written as files
    /// under `MAIL_DIR` (default `.dev/mail`).
    pub smtp_url: Option<Secret>,
    pub mail_dir: String,
    /// `MAIL_FROM` (default `Commonpot <no-reply@commonpot.local>`).
    pub mail_from: String,
    /// `JWT_SECRET` (required, at least 32 characters).
    pub jwt_secret: Secret,
    /// `SENTRY_DSN` (optional): errors are reported to Sentry when set.
    pub sentry_dsn: Option<Secret>,
    /// `LOG_FORMAT`: `pretty` (default in development) or `json` (default in production).
    pub log_format: LogFormat,
    /// `ADMIN_EMAIL` + `ADMIN_PASSWORD`: the first admin, created or promoted at api start.
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub rate_limits: RateLimits,
    /// `TRUST_PROXY` (default false): set to true only when the api is reachable solely through
    /// one reverse proxy (deploy/nginx.conf) that appends the client address to
    /// `X-Forwarded-For`; the anonymous rate limit then keys on that last entry instead of the
    /// TCP peer (which would be the proxy). Left false, the header is ignored, so clients cannot
    /// spoof it.
    pub trust_proxy: bool,
    /// `PAYMENTS_SANDBOX` (default true in development, false in production): deposits are
    /// confirmed at once by the sandbox provider instead of waiting for a webhook.
    pub payments_sandbox: bool,
    /// `PAYMENTS_WEBHOOK_SECRET` (required in production): HMAC key of the payment provider.
    pub payments_webhook_secret: Secret,
    /// `CURRENCY` (default `USD`): the one currency wallets and campaigns use.
    pub currency: String,
    /// `PLATFORM_ADDRESS` (default `Commonpot, 1 Commons Square, Springfield`): the postal
    /// address line printed under the platform's name on receipts and giving statements.
    pub platform_address: String,
    /// `LOAN_*`: see [`LoanPolicy`].
    pub loans: LoanPolicy,
    /// `PAYOUT_*` and the provider's fees: see [`PayoutPolicy`].
    pub payouts: PayoutPolicy,
    /// `WEBHOOKS_ALLOW_HTTP` (default true in development, false in production): outgoing
    /// webhook endpoints may use plain http (for tests and local receivers); otherwise https
    /// only.
    pub webhooks_allow_http: bool,
    /// `WEBHOOKS_ALLOW_PRIVATE` (default true in development, false in production): outgoing
    /// webhooks may reach loopback, private, link-local and other non-public addresses (for
    /// tests and local receivers). Off, every address a host resolves to is checked when the
    /// worker connects (see `webhooks::destination`).
    pub webhooks_allow_private: bool,
    /// `REQUIRE_VERIFIED_EMAIL` (default true): creating campaigns, lending and payouts need a
    /// verified email. Only black-box tools (Schemathesis, the fault and bench runs), which
    /// cannot read mail, turn it off.
    pub require_verified_email: bool,
    /// `CORS_ORIGINS` (comma-separated; default: the origin of `PUBLIC_URL`): web origins other
    /// than the api's own that may call it from a browser.
    pub cors_origins: Vec<String>,
    /// `WEB_DIR` (default `web/dist`): the web app's production build, served at `/` when the
    /// folder exists.
    pub web_dir: String,
    /// `WORKER_METRICS_ADDR` (default `127.0.0.1:9101`): where the worker serves `GET /metrics`.
    pub worker_metrics_addr: SocketAddr,
    /// `SCHEDULER_METRICS_ADDR` (default `127.0.0.1:9102`): where the scheduler serves
    /// `GET /metrics`.
    pub scheduler_metrics_addr: SocketAddr,
    /// `INSTANCE_ID` (default `<hostname>-<pid>`): names this process in the `X-Instance-Id`
    /// response header and in logs, to tell instances behind a load balancer apart.
    pub instance_id: String,
}

/// `<hostname>-<pid>`: unique per process on a machine and readable in a header.
fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}-{}", std::process::id())
}

impl Config {
    /// The primary without a pooler: `DATABASE_DIRECT_URL`, else `DATABASE_URL`.
    pub fn direct_database_url(&self) -> &Secret {
        self.database_direct_url
            .as_ref()
            .unwrap_or(&self.database_url)
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let environment = match env.get("APP_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError {
                    var: "APP_ENV",
                    reason: format!("must be development or production, got {other:?}"),
                });
            }
        };
        let production = environment == Environment::Production;
        if production {
            refuse_example_secrets(&env)?;
        }
        let jwt_secret = env.required("JWT_SECRET")?;
        if jwt_secret.len() < 32 {
            return Err(ConfigError {
                var: "JWT_SECRET",
                reason: "must be at least 32 characters".into(),
            });
        }
        let database_url = env.required("DATABASE_URL")?;
        if !database_url.starts_with("postgres://") && !database_url.starts_with("postgresql://") {
            return Err(ConfigError {
                var: "DATABASE_URL",
                reason: "must be a postgres:// URL".into(),
            });
        }
        let redis_url = env.required("REDIS_URL")?;
        if !redis_url.starts_with("redis://") && !redis_url.starts_with("rediss://") {
            return Err(ConfigError {
                var: "REDIS_URL",
                reason: "must be a redis:// URL".into(),
            });
        }
        let log_format = match env.get("LOG_FORMAT").as_deref() {
            None if production => LogFormat::Json,
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    var: "LOG_FORMAT",
                    reason: format!("must be pretty or json, got {other:?}"),
                });
            }
        };
        let payments_sandbox = env.parse("PAYMENTS_SANDBOX", !production)?;
        let payments_webhook_secret = match env.get("PAYMENTS_WEBHOOK_SECRET") {
            Some(s) => s,
            None if production => return Err(env.missing("PAYMENTS_WEBHOOK_SECRET")),
            None => "dev-payments-webhook-secret".into(),
        };
        let s3_endpoint = env.get("S3_ENDPOINT");
        let loans = loan_policy(&env)?;
        let payouts = payout_policy(&env)?;
        let public_url = env.or("PUBLIC_URL", "http://localhost:8080");
        Ok(Self {
            environment,
            bind_addr: env.parse("BIND_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            database_url: Secret::new(database_url),
            database_read_url: env.get("DATABASE_READ_URL").map(Secret::new),
            database_direct_url: env.get("DATABASE_DIRECT_URL").map(Secret::new),
            database_max_connections: env.parse("DATABASE_MAX_CONNECTIONS", 20)?,
            redis_url: Secret::new(redis_url),
            redis_prefix: env.or("REDIS_KEY_PREFIX", "cp:"),
            s3: S3Config {
                public_endpoint: env
                    .get("S3_PUBLIC_ENDPOINT")
                    .or_else(|| s3_endpoint.clone()),
                endpoint: s3_endpoint,
                bucket: env.or("S3_BUCKET", "commonpot"),
                region: env.or("S3_REGION", "us-east-1"),
                access_key_id: env.required("S3_ACCESS_KEY_ID")?,
                secret_access_key: Secret::new(env.required("S3_SECRET_ACCESS_KEY")?),
            },
            smtp_url: env.get("SMTP_URL").map(Secret::new),
            mail_dir: env.or("MAIL_DIR", ".dev/mail"),
            mail_from: env.or("MAIL_FROM", "Commonpot <no-reply@commonpot.local>"),
            jwt_secret: Secret::new(jwt_secret),
            sentry_dsn: env.get("SENTRY_DSN").map(Secret::new),
            log_format,
            admin_email: env.get("ADMIN_EMAIL"),
            admin_password: env.get("ADMIN_PASSWORD").map(Secret::new),
            rate_limits: RateLimits {
                anonymous: env.parse("RATE_LIMIT_ANONYMOUS", RateLimit::new(30, 60))?,
                authenticated: env.parse("RATE_LIMIT_AUTHENTICATED", RateLimit::new(100, 300))?,
                premium: env.parse("RATE_LIMIT_PREMIUM", RateLimit::new(500, 300))?,
            },
            trust_proxy: env.parse("TRUST_PROXY", false)?,
            payments_sandbox,
            payments_webhook_secret: Secret::new(payments_webhook_secret),
            currency: env.or("CURRENCY", "USD"),
            platform_address: env.or(
                "PLATFORM_ADDRESS",
                "Commonpot, 1 Commons Square, Springfield",
            ),
            loans,
            payouts,
            webhooks_allow_http: env.parse("WEBHOOKS_ALLOW_HTTP", !production)?,
            webhooks_allow_private: env.parse("WEBHOOKS_ALLOW_PRIVATE", !production)?,
            require_verified_email: env.parse("REQUIRE_VERIFIED_EMAIL", true)?,
            cors_origins: match env.get("CORS_ORIGINS") {
                Some(list) => list
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .collect(),
                None => vec![origin_of(&public_url)],
            },
            web_dir: env.or("WEB_DIR", "web/dist"),
            worker_metrics_addr: env.parse(
                "WORKER_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9101)),
            )?,
            scheduler_metrics_addr: env.parse(
                "SCHEDULER_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9102)),
            )?,
            instance_id: env.get("INSTANCE_ID").unwrap_or_else(default_instance_id),
            public_url,
        })
    }
}

/// `scheme://host[:port]` of a URL (what browsers send as `Origin`).
pub fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            format!("{scheme}://{authority}")
        }
        None => url.trim_end_matches('/').to_string(),
    }
}

struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    /// Empty values count as unset, so `FOO=` in an env file does not surprise anyone.
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }
    fn or(&self, var: &str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_string())
    }
    fn missing(&self, var: &'static str) -> ConfigError {
        ConfigError {
            var,
            reason: "is required but not set".into(),
        }
    }
    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var).ok_or_else(|| self.missing(var))
    }
    fn parse<T: FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|e| ConfigError {
                var,
                reason: format!("is malformed ({raw:?}): {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::secret::{SECRET_VARS, example_values};
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            ("DATABASE_URL", "postgres://localhost/x".to_string()),
            ("REDIS_URL", "redis://127.0.0.1/".to_string()),
            ("JWT_SECRET", "x".repeat(40)),
            ("S3_ACCESS_KEY_ID", "k".to_string()),
            ("S3_SECRET_ACCESS_KEY", "s".to_string()),
        ])
    }

    fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn a_complete_environment_loads_with_documented_defaults() {
        let cfg = load(&base()).expect("loads");
        assert_eq!(cfg.environment, Environment::Development);
        assert_eq!(cfg.bind_addr.port(), 8080);
        assert_eq!(cfg.rate_limits.anonymous.requests, 30);
        assert_eq!(cfg.rate_limits.premium.window, Duration::from_secs(300));
        assert!(cfg.payments_sandbox);
        assert!(cfg.database_read_url.is_none());
        assert!(!cfg.trust_proxy);
        assert!(cfg.webhooks_allow_http);
        assert!(cfg.webhooks_allow_private);
        assert!(cfg.require_verified_email);
        assert_eq!(cfg.loans, LoanPolicy::default());
        assert_eq!(cfg.loans.default_days, 90);
        assert_eq!(cfg.loans.annual_rate_bp, 0);
        assert_eq!(cfg.worker_metrics_addr.to_string(), "127.0.0.1:9101");
        assert_eq!(cfg.scheduler_metrics_addr.to_string(), "127.0.0.1:9102");
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for var in [
            "DATABASE_URL",
            "REDIS_URL",
            "JWT_SECRET",
            "S3_ACCESS_KEY_ID",
            "S3_SECRET_ACCESS_KEY",
        ] {
            let mut vars = base();
            vars.remove(var);
            let err = load(&vars).expect_err("must fail");
            assert_eq!(err.var, var);
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn malformed_values_are_rejected_with_the_variable_name() {
        for (var, value) in [
            ("JWT_SECRET", "short"),
            ("DATABASE_URL", "mysql://x"),
            ("BIND_ADDR", "not-an-address"),
            ("RATE_LIMIT_PREMIUM", "lots"),
            ("LOG_FORMAT", "xml"),
            ("DATABASE_MAX_CONNECTIONS", "-3"),
            ("TRUST_PROXY", "yes please"),
            ("LOAN_MIN_SHARE", "0"),
            ("LOAN_ANNUAL_RATE_BP", "20000"),
            ("LOAN_SCORE_THRESHOLD", "1001"),
            ("LOAN_DEFAULT_DAYS", "soon"),
            ("WORKER_METRICS_ADDR", "9101"),
            ("SCHEDULER_METRICS_ADDR", "localhost"),
        ] {
            let mut vars = base();
            vars.insert(var, value.to_string());
            assert_eq!(load(&vars).expect_err(var).var, var);
        }
    }

    #[test]
    fn production_requires_a_webhook_secret_and_disables_the_sandbox() {
        let mut vars = base();
        vars.insert("APP_ENV", "production".into());
        assert_eq!(
            load(&vars).expect_err("fails").var,
            "PAYMENTS_WEBHOOK_SECRET"
        );
        vars.insert("PAYMENTS_WEBHOOK_SECRET", "whsec".into());
        let cfg = load(&vars).expect("loads");
        assert!(!cfg.payments_sandbox);
        assert!(!cfg.webhooks_allow_http);
        assert!(!cfg.webhooks_allow_private);
        assert_eq!(cfg.log_format, LogFormat::Json);
    }

    #[test]
    fn production_refuses_every_secret_committed_in_the_example_env() {
        let mut prod = base();
        prod.insert("APP_ENV", "production".into());
        prod.insert("PAYMENTS_WEBHOOK_SECRET", "whsec".into());
        for (var, value) in [
            (
                "JWT_SECRET",
                "dev-only-jwt-secret-change-me-0123456789abcdef",
            ),
            ("PAYMENTS_WEBHOOK_SECRET", "dev-payments-webhook-secret"),
            ("S3_SECRET_ACCESS_KEY", "commonpot-secret"),
            ("ADMIN_PASSWORD", "admin-password-123"),
        ] {
            let mut vars = prod.clone();
            vars.insert(var, value.into());
            assert_eq!(load(&vars).expect_err(var).var, var);
            // Development keeps accepting them.
            let mut dev = base();
            dev.insert(var, value.into());
            load(&dev).expect("development accepts the example values");
        }
    }

    #[test]
    fn cors_origins_default_to_the_public_url_origin() {
        let mut vars = base();
        vars.insert("PUBLIC_URL", "https://commonpot.example/app/".into());
        assert_eq!(
            load(&vars).expect("loads").cors_origins,
            ["https://commonpot.example"]
        );
        vars.insert("CORS_ORIGINS", "https://a.test, https://b.test/".into());
        assert_eq!(
            load(&vars).expect("loads").cors_origins,
            ["https://a.test", "https://b.test"]
        );
    }

    #[test]
    fn every_secret_in_the_example_env_is_checked_in_production() {
        for (var, _) in example_values() {
            if var.contains("SECRET") || var.contains("PASSWORD") {
                assert!(
                    SECRET_VARS.contains(&var),
                    "{var} is missing from SECRET_VARS"
                );
            }
        }
    }

    #[test]
    fn loan_limits_are_read_from_the_environment_and_checked_together() {
        let mut vars = base();
        vars.insert("LOAN_MIN_AMOUNT", "5000".into());
        vars.insert("LOAN_ANNUAL_RATE_BP", "750".into());
        let cfg = load(&vars).expect("loads");
        assert_eq!(cfg.loans.min_amount, 5_000);
        assert_eq!(cfg.loans.annual_rate_bp, 750);
        vars.insert("LOAN_MAX_AMOUNT", "4000".into());
        assert_eq!(load(&vars).expect_err("max < min").var, "LOAN_MAX_AMOUNT");
    }

    #[test]
    fn secrets_do_not_print() {
        let cfg = load(&base()).expect("loads");
        assert!(!format!("{cfg:?}").contains(&"x".repeat(40)));
    }
}
