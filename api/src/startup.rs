//! Building and running the server, so `main` and the tests start it the same way.

use domain::App;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt, Route, Server};
use poem_openapi::OpenApiService;

use crate::http::{self, middleware, security};

const TITLE: &str = "Commonpot API";

/// The OpenAPI service with every route group.
pub fn api_service() -> OpenApiService<http::Apis, ()> {
    OpenApiService::new(http::apis(), TITLE, env!("CARGO_PKG_VERSION"))
        .description("Crowdfunding and microloans. Money is in integer minor units (cents).")
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
    Route::new()
        .nest("/", service)
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .around(security::identify)
        .data(app)
        .around(middleware::observe)
}

pub struct Application {
    acceptor: poem::listener::TcpAcceptor,
    port: u16,
    app: App,
}

impl Application {
    /// Binds the configured address (port 0 picks a free one, as tests do).
    pub async fn build(app: App) -> std::io::Result<Self> {
        let acceptor = TcpListener::bind(app.config.bind_addr)
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

    /// Serves until SIGINT/SIGTERM, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                endpoint(self.app),
                domain::infra::shutdown::signal(),
                Some(std::time::Duration::from_secs(10)),
            )
            .await
    }
}
