//! Serves the SLO engine: records each finished request whose route counts,
//! evaluates it for `GET /api/v1/monitoring/slo`, and exports `slo_*`
//! gauges.

use std::sync::Arc;
use std::time::Duration;

use babyshield_slo::{Clock, ConfigError, GaugeMetric, SloConfig, SloEngine, SloReport, PERIOD};
use prometheus::{GaugeVec, Opts};

use crate::metrics::{Metrics, UNMATCHED_ROUTE};

/// Route-template prefixes left out of every SLI by default: monitoring,
/// probes, the scrape and the OpenAPI document, so that probe and scrape
/// traffic never dilutes what users see.
pub const DEFAULT_EXCLUDED_ROUTES: [&str; 3] =
    ["/api/v1/monitoring/", "/metrics", "/api/v1/openapi.json"];

/// The SLO engine as the service runs it.
pub struct SloTracker {
    engine: SloEngine,
    clock: Arc<dyn Clock + Send + Sync>,
    excluded_routes: Vec<String>,
    gauges: Vec<(GaugeMetric, GaugeVec)>,
}

impl SloTracker {
    /// Creates the engine, starting now, and registers its gauges in
    /// `metrics`. Requests whose route template starts with one of
    /// `excluded_routes`, and requests that match no route, are not counted.
    pub fn new(
        config: SloConfig,
        excluded_routes: Vec<String>,
        clock: Arc<dyn Clock + Send + Sync>,
        metrics: &Metrics,
    ) -> Result<SloTracker, SloSetupError> {
        let engine = SloEngine::new(config, clock.now_unix_ms())?;
        let mut gauges = Vec::new();
        for metric in ALL_GAUGES {
            let gauge = metrics.register_gauge_vec(
                Opts::new(metric.name(), gauge_help(metric)),
                &["objective", "window"],
            )?;
            gauges.push((metric, gauge));
        }
        let tracker = SloTracker {
            engine,
            clock,
            excluded_routes,
            gauges,
        };
        // Series exist from start-up, at their no-traffic values.
        tracker.export(&tracker.report());
        Ok(tracker)
    }

    /// Returns whether requests to `route` (a matched route template) count
    /// in the SLIs.
    pub fn counts(&self, route: &str) -> bool {
        route != UNMATCHED_ROUTE
            && !self
                .excluded_routes
                .iter()
                .any(|prefix| route.starts_with(prefix.as_str()))
    }

    /// Records one finished request; a no-op for routes that do not count.
    pub fn record(&self, route: &str, latency: Duration, server_error: bool) {
        if self.counts(route) {
            self.engine
                .record(self.clock.now_unix_ms(), latency, server_error);
        }
    }

    /// Evaluates every objective now.
    pub fn report(&self) -> SloReport {
        self.engine.evaluate(self.clock.now_unix_ms())
    }

    /// Returns the engine, e.g. to merge another instance's into it.
    pub fn engine(&self) -> &SloEngine {
        &self.engine
    }

    /// Sets the `slo_*` gauges from `report`. Objective-wide values (budget
    /// remaining, time to exhaustion, status) carry the objective's period,
    /// `30d`, as their window label.
    pub fn export(&self, report: &SloReport) {
        let period_label = period_label();
        for sample in report.gauges() {
            let Some((_, gauge)) = self
                .gauges
                .iter()
                .find(|(metric, _)| *metric == sample.metric)
            else {
                continue;
            };
            let window = sample.window.map_or(period_label, |w| w.label());
            gauge
                .with_label_values(&[sample.objective.as_str(), window])
                .set(sample.value);
        }
    }
}

/// Failure to set up the SLO tracker.
#[derive(Debug, thiserror::Error)]
pub enum SloSetupError {
    /// The objectives are invalid.
    #[error("invalid SLO configuration: {0}")]
    Config(#[from] ConfigError),
    /// A gauge could not be registered.
    #[error("registering SLO gauges failed: {0}")]
    Metrics(#[from] prometheus::Error),
}

const ALL_GAUGES: [GaugeMetric; 10] = [
    GaugeMetric::Sli,
    GaugeMetric::BurnRate,
    GaugeMetric::Events,
    GaugeMetric::CoverageSeconds,
    GaugeMetric::ErrorBudgetRemainingRatio,
    GaugeMetric::TimeToExhaustionSeconds,
    GaugeMetric::Status,
    GaugeMetric::LatencyP50Seconds,
    GaugeMetric::LatencyP95Seconds,
    GaugeMetric::LatencyP99Seconds,
];

fn gauge_help(metric: GaugeMetric) -> &'static str {
    match metric {
        GaugeMetric::Sli => "Share of good requests over the window (1 with no traffic).",
        GaugeMetric::BurnRate => {
            "Error-budget burn rate over the window; 1 spends the budget in exactly the period."
        }
        GaugeMetric::Events => "Requests counted over the window.",
        GaugeMetric::CoverageSeconds => "Seconds of the window covered since the engine started.",
        GaugeMetric::ErrorBudgetRemainingRatio => "Share of the period's error budget left.",
        GaugeMetric::TimeToExhaustionSeconds => {
            "Seconds until the budget runs out at the 1 h burn rate, capped at the period."
        }
        GaugeMetric::Status => "Objective status: 0 ok, 1 warning, 2 critical.",
        GaugeMetric::LatencyP50Seconds => "Median latency estimate over the window (within 1 %).",
        GaugeMetric::LatencyP95Seconds => {
            "95th percentile latency estimate over the window (within 1 %)."
        }
        GaugeMetric::LatencyP99Seconds => {
            "99th percentile latency estimate over the window (within 1 %)."
        }
    }
}

fn period_label() -> &'static str {
    debug_assert_eq!(PERIOD, babyshield_slo::Window::ThirtyDays.duration());
    babyshield_slo::Window::ThirtyDays.label()
}
