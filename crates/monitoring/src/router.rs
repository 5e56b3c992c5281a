//! Routes of the monitoring surface: liveness, readiness, SLO status,
//! synthetic probes and the Prometheus scrape.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::metrics::{ErrorKind, Metrics};
use crate::probes::Prober;
use crate::readiness::Readiness;
use crate::slo::SloTracker;
use babyshield_slo::SloReport;

/// Content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Shared state of the monitoring routes.
#[derive(Clone)]
pub struct MonitoringState {
    /// Metric families of this instance.
    pub metrics: Metrics,
    /// Dependency checks and shutdown flag.
    pub readiness: Arc<Readiness>,
    /// Process start, for `uptime_seconds`.
    pub started: Instant,
    /// Service version reported by `/healthz`.
    pub version: &'static str,
    /// Synthetic probes served under `/api/v1/monitoring/probe/{name}`.
    pub prober: Arc<Prober>,
    /// SLO engine.
    pub slo: Arc<SloTracker>,
}

/// Body of `GET /api/v1/monitoring/healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`: the process is serving.
    pub status: &'static str,
    /// Service version.
    pub version: &'static str,
    /// Seconds since the process started.
    pub uptime_seconds: u64,
}

/// Builds the monitoring router: `/api/v1/monitoring/healthz`,
/// `/api/v1/monitoring/readyz`, `/api/v1/monitoring/slo`, one `/api/v1/monitoring/probe/{name}` route
/// per probe, and `/metrics`.
pub fn router(state: MonitoringState) -> Router {
    let mut router = Router::new()
        .route("/api/v1/monitoring/healthz", get(healthz))
        .route("/api/v1/monitoring/readyz", get(readyz))
        .route("/api/v1/monitoring/slo", get(slo))
        .route("/metrics", get(metrics));
    for name in state.prober.names() {
        router = router.route(
            &format!("/api/v1/monitoring/probe/{name}"),
            get(move |state: State<MonitoringState>| probe(state, name)),
        );
    }
    router.with_state(state)
}

/// Names of the probes the service registers, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ProbeName {
    /// `/api/v1/monitoring/healthz` over the service's own listener.
    Healthz,
    /// A search for the canary recall.
    Search,
}

/// Runs one synthetic probe now: 200 with `success: true`, or 503 with
/// `success: false` and the error.
#[utoipa::path(
    get,
    path = "/api/v1/monitoring/probe/{name}",
    tag = "monitoring",
    params(("name" = ProbeName, Path, description = "Probe to run")),
    responses(
        (status = 200, description = "The probe passed", body = crate::probes::ProbeResult),
        (status = 503, description = "The probe failed", body = crate::probes::ProbeResult)
    )
)]
pub async fn probe(State(state): State<MonitoringState>, name: &'static str) -> Response {
    match state.prober.run(name).await {
        Some(result) if result.success => (StatusCode::OK, Json(result)).into_response(),
        Some(result) => (StatusCode::SERVICE_UNAVAILABLE, Json(result)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Liveness: 200 while the process can serve; touches no dependency.
#[utoipa::path(
    get,
    path = "/api/v1/monitoring/healthz",
    tag = "monitoring",
    responses((status = 200, description = "The process is serving", body = Health))
)]
pub async fn healthz(State(state): State<MonitoringState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: state.version,
        uptime_seconds: state.started.elapsed().as_secs(),
    })
}

/// Readiness: 200 when the service can take traffic, 503 when the database
/// is down or the process is shutting down.
#[utoipa::path(
    get,
    path = "/api/v1/monitoring/readyz",
    tag = "monitoring",
    responses(
        (status = 200, description = "Ready (Redis may be degraded or disabled)", body = crate::readiness::ReadinessReport),
        (status = 503, description = "Not ready: database down or shutting down", body = crate::readiness::ReadinessReport)
    )
)]
pub async fn readyz(State(state): State<MonitoringState>) -> Response {
    let report = state.readiness.report().await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

/// SLO status: per objective the SLI and burn rate per window, the error
/// budget, burn-rate alert conditions, time to exhaustion and status.
#[utoipa::path(
    get,
    path = "/api/v1/monitoring/slo",
    tag = "monitoring",
    responses((status = 200, description = "SLO report; every number is finite, also with no traffic", content_type = "application/json"))
)]
pub async fn slo(State(state): State<MonitoringState>) -> Json<SloReport> {
    Json(state.slo.report())
}

/// Prometheus scrape in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "monitoring",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String))
)]
pub async fn metrics(State(state): State<MonitoringState>) -> Response {
    match state.metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            state.metrics.count_error(ErrorKind::Internal);
            tracing::error!(%error, "rendering metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
