//! Serves `GET /hello` (a 5-byte body) in one of three variants, so that the
//! per-request cost of the HTTP metrics layers can be compared:
//!
//! - `bare`: plain axum;
//! - `tracked`: behind `babyshield_monitoring::TrackRequestsLayer` with the
//!   service's `Metrics` and `SloTracker`, added with `Router::layer` as
//!   `crates/api/src/app.rs` adds it;
//! - `axum-prometheus`: behind `axum_prometheus::PrometheusMetricLayer`.
//!
//! Usage: `http-overhead VARIANT ADDRESS`, e.g.
//! `http-overhead tracked 127.0.0.1:18102`. The runtime has one worker
//! thread; bench/http_overhead.sh pins the process to one core.
//!
//! Every variant installs the service's log subscriber (JSON lines at
//! `info`, written to standard error), so the `tracked` variant pays for its
//! request span exactly as the service does; nothing is logged per request
//! at `info`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use babyshield_monitoring::{BuildInfo, Metrics, RequestTracking, SloTracker, TrackRequestsLayer};
use babyshield_slo::{SloConfig, SystemClock};

async fn hello() -> &'static str {
    "hello"
}

fn bare() -> Router {
    Router::new().route("/hello", get(hello))
}

/// Wraps the route in the service's metrics and SLO stack. The SLO tracker
/// counts `/hello` because it is not under an excluded prefix, so every
/// request also reaches `SloEngine::record`, as a search request does.
fn tracked() -> Result<Router, String> {
    let build = BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        commit: "bench".to_owned(),
    };
    let metrics = Metrics::new(&build).map_err(|e| format!("registering metrics failed: {e}"))?;
    let excluded = babyshield_monitoring::DEFAULT_EXCLUDED_ROUTES
        .iter()
        .map(|prefix| (*prefix).to_owned())
        .collect();
    let slo = SloTracker::new(
        SloConfig::default(),
        excluded,
        Arc::new(SystemClock),
        &metrics,
    )
    .map_err(|e| format!("creating the SLO tracker failed: {e}"))?;
    let tracking = RequestTracking {
        metrics,
        slo: Arc::new(slo),
    };
    Ok(bare().layer(TrackRequestsLayer::new(tracking)))
}

/// axum-prometheus with its default settings; `pair` installs the global
/// `metrics` recorder, so this variant must be alone in its process.
fn axum_prometheus() -> Router {
    let (layer, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
    bare().layer(layer)
}

/// Installs the subscriber that `babyshield-api serve` installs with its
/// default settings (`LOG_FORMAT=json`, `LOG_LEVEL=info`).
fn install_subscriber() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let installed = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(std::io::stderr),
        )
        .try_init();
    if let Err(error) = installed {
        eprintln!("installing the log subscriber failed: {error}");
    }
}

fn main() -> ExitCode {
    install_subscriber();
    let args: Vec<String> = std::env::args().collect();
    let (Some(variant), Some(address)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: http-overhead bare|tracked|axum-prometheus ADDRESS");
        return ExitCode::FAILURE;
    };
    let address: SocketAddr = match address.parse() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("invalid ADDRESS {address:?}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("starting the tokio runtime failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    // axum-prometheus spawns its upkeep task when the layer is built, so
    // every variant is built inside the runtime.
    let served = runtime.block_on(async move {
        let app = match variant.as_str() {
            "bare" => bare(),
            "tracked" => tracked()?,
            "axum-prometheus" => axum_prometheus(),
            other => {
                return Err(format!(
                    "unknown variant {other:?}: expected bare, tracked or axum-prometheus"
                ))
            }
        };
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("binding {address} failed: {e}"))?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| format!("serving on {address} failed: {e}"))
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
