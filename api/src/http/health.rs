//! Liveness and readiness for load balancers and orchestrators.

use domain::App;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};
use serde_json::json;

use super::ApiTags;
use super::error::{ApiError, ApiResult};

pub struct HealthApi;

#[derive(Object)]
pub struct Live {
    pub status: String,
}

#[derive(Object)]
pub struct Ready {
    pub status: String,
    pub postgres: String,
    pub redis: String,
    pub storage: String,
}

fn up(ok: bool) -> &'static str {
    if ok { "up" } else { "down" }
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// The process is up.
    #[oai(path = "/health/live", method = "get")]
    async fn live(&self) -> Json<Live> {
        Json(Live {
            status: "ok".into(),
        })
    }

    /// PostgreSQL, Redis and object storage are reachable; 503 names the one that is not.
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self, app: Data<&App>) -> ApiResult<Json<Ready>> {
        let r = app.readiness().await;
        if !r.all_up() {
            let down: Vec<&str> = [
                ("postgres", r.postgres),
                ("redis", r.redis),
                ("storage", r.storage),
            ]
            .into_iter()
            .filter(|(_, ok)| !ok)
            .map(|(name, _)| name)
            .collect();
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!("unavailable: {}", down.join(", ")),
            )
            .with_details(json!({
                "postgres": up(r.postgres), "redis": up(r.redis), "storage": up(r.storage),
            })));
        }
        Ok(Json(Ready {
            status: "ok".into(),
            postgres: up(true).into(),
            redis: up(true).into(),
            storage: up(true).into(),
        }))
    }
}
