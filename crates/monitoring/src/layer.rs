//! The request layer: request id, HTTP metrics, SLO recording, and a
//! `debug` span per request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::Span;

use crate::metrics::{ErrorKind, Metrics, UNMATCHED_ROUTE};
use crate::request_id::{self, RequestContext};
use crate::slo::SloTracker;

/// What [`TrackRequestsLayer`] records into.
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
        }
    }
}

/// The service [`TrackRequestsLayer`] wraps around each route.
#[derive(Clone)]
pub struct TrackRequests<S> {
    inner: S,
    tracking: Arc<RequestTracking>,
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
        let id_header = HeaderValue::from_str(&id).ok();
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
                started,
                method,
                route,
                id_header,
                span,
            }),
        }
    }
}

/// What is needed to record a request once its response is ready.
struct Finish {
    tracking: Arc<RequestTracking>,
    started: Instant,
    method: &'static str,
    route: Option<MatchedPath>,
    id_header: Option<HeaderValue>,
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
        let this = self.project();
        let polled = match this.finish.as_ref() {
            Some(finish) if !finish.span.is_disabled() => {
                let _entered = finish.span.enter();
                this.inner.poll(cx)
            }
            _ => this.inner.poll(cx),
        };
        let mut response = ready!(polled)?;
        if let Some(finish) = this.finish.take() {
            finish.record(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}

impl Finish {
    fn record(self, response: &mut Response) {
        let elapsed = self.started.elapsed();
        let status = response.status();
        let metrics = &self.tracking.metrics;
        if let Some(value) = self.id_header {
            response.headers_mut().insert(request_id::HEADER, value);
        }
        if let Some(kind) = response.extensions().get::<ErrorKind>() {
            metrics.count_error(*kind);
        }
        let route = self
            .route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        let labels = [self.method, route, status.as_str()];
        metrics
            .http_duration
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
        metrics.http_requests.with_label_values(&labels).inc();
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
