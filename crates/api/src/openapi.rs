//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

/// Every route, request and error body of the service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "BabyShield API",
        description = "Search of baby and children's product recalls, with health, readiness, SLO and metrics endpoints."
    ),
    paths(
        crate::search::search_advanced,
        babyshield_monitoring::router::healthz,
        babyshield_monitoring::router::readyz,
        babyshield_monitoring::router::slo,
        babyshield_monitoring::router::probe,
        babyshield_monitoring::router::metrics,
        openapi_json,
        crate::admin::clear_cache,
        crate::admin::release_memory,
    ),
    components(schemas(
        crate::error::Problem,
        crate::search::request::SearchRequest,
        crate::search::SearchResponse,
        crate::search::SearchData,
        crate::search::RecallItem,
        babyshield_monitoring::router::Health,
        babyshield_monitoring::readiness::ReadinessReport,
        babyshield_monitoring::readiness::CheckDetail,
        babyshield_monitoring::probes::ProbeResult,
        babyshield_monitoring::router::ProbeName,
        crate::admin::CacheCleared,
        crate::admin::MemoryReleased,
    )),
    tags(
        (name = "search", description = "Recall search"),
        (name = "monitoring", description = "Health, readiness and metrics"),
        (name = "admin", description = "Operator actions; bearer token required"),
    )
)]
pub struct ApiDoc;

/// Builds the router serving the document.
pub fn router() -> Router {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

/// The OpenAPI document of this service.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "monitoring",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
