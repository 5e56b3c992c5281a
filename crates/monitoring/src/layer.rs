//! The request layer: request id, HTTP metrics, SLO recording, and a
//! `debug` span per request.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use pin_project_lite::pin_project;
use prometheus::{Histogram, IntCounter};
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::Span;

use crate::metrics::{ErrorKind, Metrics, UNMATCHED_ROUTE};
use crate::request_id::{self, RequestContext};
use crate::slo::SloTracker;

/// Metric families and SLO engine that [`TrackRequestsLayer`] records into.
pub struct RequestTracking {
    /// HTTP metric families.
    pub metrics: Metrics,
    /// SLO engine fed with every counted request.
    pub slo: Arc<SloTracker>,
}

/// Layer that gives each request an id, records
/// `http_requests_total` and `http_request_duration_seconds` by method,
/// matched route template and status, counts `error_total{kind}` for
/// responses that carry an [`ErrorKind`] extension, and feeds the SLO
/// engine.
///
/// Add it with `Router::layer` so the matched route is known; requests that
/// match no route share the [`UNMATCHED_ROUTE`] label. It is a plain tower
/// layer rather than `axum::middleware::from_fn` because from_fn clones the
/// inner service and boxes a future on every request, which cost as much as
/// the recording itself.
#[derive(Clone)]
pub struct TrackRequestsLayer {
    tracking: Arc<RequestTracking>,
}

impl TrackRequestsLayer {
    /// Creates the layer.
    pub fn new(tracking: RequestTracking) -> TrackRequestsLayer {
        TrackRequestsLayer {
            tracking: Arc::new(tracking),
        }
    }
}

impl<S> Layer<S> for TrackRequestsLayer {
    type Service = TrackRequests<S>;

    fn layer(&self, inner: S) -> TrackRequests<S> {
        TrackRequests {
            inner,
            tracking: Arc::clone(&self.tracking),
            series: Arc::default(),
        }
    }
}

/// The service [`TrackRequestsLayer`] wraps around each route.
#[derive(Clone)]
pub struct TrackRequests<S> {
    inner: S,
    tracking: Arc<RequestTracking>,
    series: Arc<SeriesCache>,
}

/// The `http_*` series one route has used, so that a request finds its
/// histogram and counter with one short scan under one read lock instead of
/// hashing its three labels once per metric family. `Router::layer` wraps
/// each route separately, so each cache contains a handful of entries.
#[derive(Default)]
struct SeriesCache {
    entries: RwLock<Vec<Series>>,
}

/// The series of one (method, route, status).
struct Series {
    method: &'static str,
    route: Option<MatchedPath>,
    status: StatusCode,
    duration: Histogram,
    requests: IntCounter,
}

impl Series {
    fn matches(&self, method: &str, route: &str, status: StatusCode) -> bool {
        self.status == status
            && self.method == method
            && self
                .route
                .as_ref()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
                == route
    }
}

impl SeriesCache {
    /// Observes `seconds` into the request's histogram and counts it.
    fn record(
        &self,
        metrics: &Metrics,
        method: &'static str,
        route: &Option<MatchedPath>,
        status: StatusCode,
        seconds: f64,
    ) {
        let label = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        if let Ok(entries) = self.entries.read() {
            if let Some(series) = entries.iter().find(|s| s.matches(method, label, status)) {
                series.duration.observe(seconds);
                series.requests.inc();
                return;
            }
        }
        let labels = [method, label, status.as_str()];
        let series = Series {
            method,
            route: route.clone(),
            status,
            duration: metrics.http_duration.with_label_values(&labels),
            requests: metrics.http_requests.with_label_values(&labels),
        };
        series.duration.observe(seconds);
        series.requests.inc();
        // A poisoned lock only disables the cache, because the series above
        // are registered and counted either way.
        if let Ok(mut entries) = self.entries.write() {
            if !entries.iter().any(|s| s.matches(method, label, status)) {
                entries.push(series);
            }
        }
    }
}

impl<S> Service<Request> for TrackRequests<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackedResponse<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        // `MatchedPath` shares its text, so keeping it costs no allocation.
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let method = method_label(request.method());
        let id = request_id::accept_or_generate(
            request
                .headers()
                .get(request_id::HEADER)
                .map(HeaderValue::as_bytes),
        );

        // The span exists at `debug` only: a span per request at `info`
        // cost more than the metrics and SLO recording together. Error lines
        // carry the request id, method and route from the request context
        // instead.
        let span = tracing::debug_span!(
            "request",
            method,
            route = matched.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str),
            request_id = %id
        );

        let route = matched.clone();
        let context = RequestContext {
            id,
            method,
            route: matched,
        };
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };

        TrackedResponse {
            inner: request_id::scope(context, inner),
            finish: Some(Finish {
                tracking: Arc::clone(&self.tracking),
                series: Arc::clone(&self.series),
                started,
                method,
                route,
                span,
            }),
        }
    }
}

/// Request data kept until the response is ready to be recorded.
struct Finish {
    tracking: Arc<RequestTracking>,
    series: Arc<SeriesCache>,
    started: Instant,
    method: &'static str,
    route: Option<MatchedPath>,
    span: Span,
}

pin_project! {
    /// Response future of [`TrackRequests`].
    pub struct TrackedResponse<F> {
        #[pin]
        inner: TaskLocalFuture<RequestContext, F>,
        finish: Option<Finish>,
    }
}

impl<F, E> Future for TrackedResponse<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let polled = match this.finish.as_ref() {
            Some(finish) if !finish.span.is_disabled() => {
                let _entered = finish.span.enter();
                this.inner.as_mut().poll(cx)
            }
            _ => this.inner.as_mut().poll(cx),
        };
        let mut response = ready!(polled)?;
        // The request id moves into the response header without a copy.
        let id = this.inner.take_value().map(|context| context.id);
        if let Some(finish) = this.finish.take() {
            finish.record(&mut response, id);
        }
        Poll::Ready(Ok(response))
    }
}

impl Finish {
    fn record(self, response: &mut Response, id: Option<String>) {
        let elapsed = self.started.elapsed();
        let status = response.status();
        let metrics = &self.tracking.metrics;
        if let Some(value) = id.and_then(|id| HeaderValue::try_from(id).ok()) {
            response.headers_mut().insert(request_id::HEADER, value);
        }
        if let Some(kind) = response.extensions().get::<ErrorKind>() {
            metrics.count_error(*kind);
        }
        self.series.record(
            metrics,
            self.method,
            &self.route,
            status,
            elapsed.as_secs_f64(),
        );
        let route = self
            .route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        self.tracking
            .slo
            .record(route, elapsed, status.is_server_error());
        self.span.in_scope(|| {
            tracing::debug!(
                status = status.as_u16(),
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                "request finished"
            );
        });
    }
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use babyshield_slo::{SloConfig, SystemClock};
    use tower::ServiceExt;

    use super::*;
    use crate::metrics::BuildInfo;

    fn tracked_router(metrics: &Metrics) -> Router {
        let slo = SloTracker::new(
            SloConfig::default(),
            Vec::new(),
            Arc::new(SystemClock),
            metrics,
        )
        .unwrap();
        Router::new()
            .route("/ok", get(|| async { "ok" }).post(|| async { "posted" }))
            .route("/missing/{id}", get(|| async { StatusCode::NOT_FOUND }))
            .layer(TrackRequestsLayer::new(RequestTracking {
                metrics: metrics.clone(),
                slo: Arc::new(slo),
            }))
    }

    async fn send(router: &Router, method: Method, path: &str) -> Response {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap()
    }

    fn count(scrape: &str, labels: &str) -> Option<u64> {
        let prefix = format!("http_requests_total{{{labels}}} ");
        scrape
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .and_then(|value| value.parse().ok())
    }

    #[tokio::test]
    async fn series_counted_per_method_route_status() {
        let metrics = Metrics::new(&BuildInfo {
            version: "0.0.0".to_owned(),
            commit: "test".to_owned(),
        })
        .unwrap();
        let router = tracked_router(&metrics);
        for _ in 0..3 {
            send(&router, Method::GET, "/ok").await;
        }
        send(&router, Method::POST, "/ok").await;
        send(&router, Method::GET, "/missing/1").await;
        send(&router, Method::GET, "/missing/2").await;

        let scrape = metrics.render().unwrap();
        assert_eq!(
            count(&scrape, r#"method="GET",route="/ok",status="200""#),
            Some(3)
        );
        assert_eq!(
            count(&scrape, r#"method="POST",route="/ok",status="200""#),
            Some(1)
        );
        assert_eq!(
            count(
                &scrape,
                r#"method="GET",route="/missing/{id}",status="404""#
            ),
            Some(2)
        );
    }

    #[tokio::test]
    async fn response_carries_request_id() {
        let metrics = Metrics::new(&BuildInfo {
            version: "0.0.0".to_owned(),
            commit: "test".to_owned(),
        })
        .unwrap();
        let router = tracked_router(&metrics);
        let request = Request::builder()
            .uri("/ok")
            .header(request_id::HEADER, "from-client-7")
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.headers()[request_id::HEADER], "from-client-7");

        let generated = send(&router, Method::GET, "/ok").await;
        let id = generated.headers()[request_id::HEADER].to_str().unwrap();
        assert_eq!(id.len(), 19, "{id}");
    }
}
