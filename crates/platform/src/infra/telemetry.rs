//! Structured logs (pretty in development, JSON in production) and optional Sentry, set up the
//! same way by the api, the worker and the scheduler.

use std::future::Future;
use std::sync::Arc;

use sentry::SentryFutureExt;
use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{Config, LogFormat};

/// Installs the global subscriber. Keep the returned guard alive: it flushes Sentry on drop.
pub fn init(config: &Config) -> Option<sentry::ClientInitGuard> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,aws=warn,hyper=warn,reqwest=warn"));
    let sentry_guard = config.sentry_dsn.as_ref().map(|dsn| {
        sentry::init(
            sentry::ClientOptions::new()
                .dsn(dsn.expose())
                .maybe_release(sentry::release_name!())
                .environment(format!("{:?}", config.environment).to_lowercase()),
        )
    });
    // Error events become Sentry issues; info and above ride along as breadcrumbs.
    let sentry_layers = sentry_guard.as_ref().map(|_| {
        ErrorLayer::new()
            .with_filter(LevelFilter::ERROR)
            .and_then(BreadcrumbLayer::new().with_filter(LevelFilter::INFO))
    });
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(sentry_layers);
    let result = match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    // The span list carries the outer `request` span, so its `request_id`
                    // is on every line of the request, whatever span is current.
                    .with_current_span(true)
                    .with_span_list(true),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer()).try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging already initialised: {e}");
    }
    sentry_guard
}

/// Runs `work` (a request, a job run, a scheduled task) under its own Sentry scope carrying
/// `tags`, so a panic or an error event inside it says which request or job it belongs to.
pub fn with_sentry_tags<F: Future>(
    tags: &[(&str, &str)],
    work: F,
) -> impl Future<Output = F::Output> {
    let hub = Arc::new(sentry::Hub::new_from_top(sentry::Hub::current()));
    hub.configure_scope(|scope| {
        for (key, value) in tags {
            scope.set_tag(key, value);
        }
    });
    work.bind_hub(hub)
}
