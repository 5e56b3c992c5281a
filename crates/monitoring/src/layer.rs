//! The request layer: request id, tracing span, HTTP metrics.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::{ErrorKind, Metrics, UNMATCHED_ROUTE};
use crate::request_id;
use crate::slo::SloTracker;

/// State of [`track_requests`].
#[derive(Clone)]
pub struct RequestTracking {
    /// HTTP metric families.
    pub metrics: Metrics,
    /// SLO engine fed with every counted request.
    pub slo: Arc<SloTracker>,
}

/// Middleware for `axum::middleware::from_fn_with_state`: gives the request
/// an id, runs it inside a span named by the matched route template,
/// records `http_requests_total` and `http_request_duration_seconds`,
/// counts `error_total{kind}` for responses that carry an [`ErrorKind`]
/// extension, and feeds the SLO engine.
///
/// Add it with `Router::layer` so the matched route is known; requests that
/// match no route share the [`UNMATCHED_ROUTE`] label.
pub async fn track_requests(
    State(tracking): State<RequestTracking>,
    request: Request,
    next: Next,
) -> Response {
    let metrics = &tracking.metrics;
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, |path| path.as_str())
        .to_owned();
    let method = method_label(request.method());
    let id = request_id::accept_or_generate(
        request
            .headers()
            .get(request_id::HEADER)
            .map(HeaderValue::as_bytes),
    );

    let span = tracing::info_span!("request", method, route = %route, request_id = %id);
    let mut response = request_id::scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;

    let elapsed = started.elapsed();
    let status = response.status();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(request_id::HEADER, value);
    }
    if let Some(kind) = response.extensions().get::<ErrorKind>() {
        metrics.count_error(*kind);
    }
    let labels = [method, route.as_str(), status.as_str()];
    metrics
        .http_duration
        .with_label_values(&labels)
        .observe(elapsed.as_secs_f64());
    metrics.http_requests.with_label_values(&labels).inc();
    tracking
        .slo
        .record(&route, elapsed, status.is_server_error());
    span.in_scope(|| {
        tracing::debug!(
            status = status.as_u16(),
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    response
}

/// Maps the method to a fixed set of labels, so invented methods cannot
/// create series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
