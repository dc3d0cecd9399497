//! Liveness and readiness for load balancers and orchestrators.

use domain::App;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::{Object, OpenApi};

use super::common::Json;
use serde_json::json;

use super::ApiTags;
use super::enums::{DependencyState, HealthStatus};
use super::error::{ApiError, ApiResult, ErrorCode, UNAVAILABLE};
use super::public::NoAuth;

pub struct HealthApi;

#[derive(Object)]
pub struct Live {
    pub status: HealthStatus,
}

#[derive(Object)]
pub struct Ready {
    pub status: HealthStatus,
    pub postgres: DependencyState,
    pub redis: DependencyState,
    pub storage: DependencyState,
}

fn up(ok: bool) -> DependencyState {
    if ok {
        DependencyState::Up
    } else {
        DependencyState::Down
    }
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// The process is up.
    #[oai(path = "/health/live", method = "get", operation_id = "live")]
    async fn live(&self, _auth: NoAuth) -> Json<Live> {
        Json(Live {
            status: HealthStatus::Ok,
        })
    }

    /// PostgreSQL, Redis and object storage are reachable; 503 names the one that is not.
    #[oai(path = "/health/ready", method = "get", operation_id = "ready")]
    async fn ready(&self, _auth: NoAuth, app: Data<&App>) -> ApiResult<Json<Ready>, UNAVAILABLE> {
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
                ErrorCode::NotReady,
                format!("unavailable: {}", down.join(", ")),
            )
            .with_details(json!({
                "postgres": up(r.postgres).as_str(), "redis": up(r.redis).as_str(),
                "storage": up(r.storage).as_str(),
            }))
            .into());
        }
        Ok(Json(Ready {
            status: HealthStatus::Ok,
            postgres: up(true),
            redis: up(true),
            storage: up(true),
        }))
    }
}
