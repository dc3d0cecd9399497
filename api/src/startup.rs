//! Building and running the server, so `main` and the tests start it the same way.

use domain::App;
use poem::listener::{Acceptor, Listener, TcpListener};
use std::sync::Arc;

use domain::config::origin_of;
use poem::endpoint::StaticFilesEndpoint;
use poem::http::{HeaderValue, Method};
use poem::middleware::SetHeader;
use poem::{Endpoint, EndpointExt, IntoResponse, Route, Server};
use poem_openapi::{ExtraHeader, OpenApiService, ServerObject};

use crate::http::{self, middleware, security};

const TITLE: &str = "Commonpot API";

/// The OpenAPI service with every route group.
pub fn api_service() -> OpenApiService<http::Apis, ()> {
    OpenApiService::new(http::apis(), TITLE, env!("CARGO_PKG_VERSION"))
        .description("Crowdfunding and microloans. Money is in integer minor units (cents).")
        .server(ServerObject::new("/").description("The api itself (spec at /openapi.json)"))
        .extra_response_header::<Option<u64>, _>(
            ExtraHeader::new("RateLimit-Limit")
                .description("Requests allowed in the caller's window (`/api/...` routes)."),
        )
        .extra_response_header::<Option<u64>, _>(
            ExtraHeader::new("RateLimit-Remaining").description("Requests left in the window."),
        )
        .extra_response_header::<Option<u64>, _>(
            ExtraHeader::new("RateLimit-Reset").description("Seconds until the window resets."),
        )
}

/// The spec as checked in at `openapi/openapi.yaml`.
pub fn spec_yaml() -> String {
    api_service().spec_yaml()
}

/// All routes with middleware, ready to serve.
pub fn endpoint(app: App) -> impl poem::Endpoint {
    let service = api_service();
    let docs = service.swagger_ui();
    let spec = service.spec_endpoint();
    let config = &app.infra.config;
    let storage_origin = config.s3.public_endpoint.as_deref().map(origin_of);
    let security_headers = middleware::SecurityHeaders::new(
        storage_origin.as_deref(),
        config.public_url.starts_with("https://"),
    );
    let cors = middleware::cors(&config.cors_origins);
    let web = web_app(&config.web_dir);
    let instance = instance_header(&config.instance_id);
    Route::new()
        .nest("/", service)
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        // Prometheus scrapes it; outside the spec, and denied from outside by nginx.
        .at("/metrics", poem::get(domain::infra::metrics::scrape))
        .around(security::identify)
        .around(middleware::guard)
        .data(app)
        .around(move |next, req| serve_web_app(web.clone(), next, req))
        .with(cors)
        .around(middleware::same_origin_is_not_cors)
        .with(security_headers)
        .around(middleware::observe)
        .with(instance)
}

/// `X-Instance-Id` on every response, so a load balancer's spread can be seen (and tested).
fn instance_header(id: &str) -> SetHeader {
    let value = HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static("invalid-id"));
    SetHeader::new().overriding("X-Instance-Id", value)
}

/// The web app's production build, when it has been built: files as they are, any other path
/// its `index.html` (the app routes in the browser).
fn web_app(dir: &str) -> Option<Arc<StaticFilesEndpoint>> {
    std::path::Path::new(dir)
        .join("index.html")
        .is_file()
        .then(|| {
            Arc::new(
                StaticFilesEndpoint::new(dir)
                    .index_file("index.html")
                    .fallback_to_index(),
            )
        })
}

/// Paths the api answers itself; every other GET goes to the web app.
fn is_api_path(path: &str) -> bool {
    ["/api", "/health", "/docs", "/openapi.json", "/metrics"]
        .iter()
        .any(|p| {
            path == *p
                || path
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

async fn serve_web_app<E: poem::Endpoint>(
    web: Option<Arc<StaticFilesEndpoint>>,
    next: E,
    req: poem::Request,
) -> poem::Result<poem::Response> {
    match web {
        Some(web)
            if matches!(*req.method(), Method::GET | Method::HEAD)
                && !is_api_path(req.uri().path()) =>
        {
            web.call(req).await.map(IntoResponse::into_response)
        }
        _ => next.call(req).await.map(IntoResponse::into_response),
    }
}

pub struct Application {
    acceptor: poem::listener::TcpAcceptor,
    port: u16,
    app: App,
}

impl Application {
    /// Binds the configured address (port 0 picks a free one, as tests do).
    pub async fn build(app: App) -> std::io::Result<Self> {
        let acceptor = TcpListener::bind(app.infra.config.bind_addr)
            .into_acceptor()
            .await?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().map(|s| s.port()))
            .unwrap_or_default();
        Ok(Self {
            acceptor,
            port,
            app,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then lets in-flight requests finish. Samples the metric
    /// gauges (pools, outbox lag, queue depths) meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let sampler = domain::sampling::spawn(self.app.clone());
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                endpoint(self.app),
                domain::infra::shutdown::signal(),
                Some(std::time::Duration::from_secs(10)),
            )
            .await;
        sampler.abort();
        served
    }
}
