//! Report types served as JSON by `GET /api/v1/monitoring/slo`, and gauge
//! samples for metric exporters.
//!
//! Every numeric field is a finite number, also without traffic: a window
//! without events has `events` 0, SLI 1 (0 for the error-rate objective,
//! whose SLI is the error ratio), burn rate 0 and latency quantiles 0.

use serde::Serialize;

use crate::config::{ObjectiveKind, Severity, SloConfig};
use crate::engine::WindowStats;
use crate::histogram::RELATIVE_ERROR_BOUND;
use crate::objective;
use crate::window::{PerWindow, Window};

/// Health of one objective or of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Neither of the other two applies. Also the status without data.
    Ok,
    /// A ticket alert fires, or the 30-day error budget is exhausted with at
    /// least `min_events_long_window` events.
    Warning,
    /// A page alert fires.
    Critical,
}

impl Status {
    /// Name used in JSON and as a metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
        }
    }

    /// Numeric form for a gauge: 0 ok, 1 warning, 2 critical.
    pub fn gauge_value(self) -> f64 {
        match self {
            Status::Ok => 0.0,
            Status::Warning => 1.0,
            Status::Critical => 2.0,
        }
    }
}

/// Direction of the comparison between SLI and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// The SLI is the share of good events and must be at least the target.
    AtLeast,
    /// The SLI is the share of bad events and must be at most the target.
    AtMost,
}

/// Error budget over the 30-day window, counted in events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBudget {
    /// Bad events the objective allows for the events counted so far:
    /// allowed bad fraction × events.
    pub total: f64,
    /// Bad events counted.
    pub consumed: u64,
    /// `consumed / total`, 0 without events. Above 1 when overspent.
    pub consumed_ratio: f64,
    /// `1 − consumed_ratio`, 1 without events and negative when overspent.
    pub remaining_ratio: f64,
    /// Whether the budget is spent (`consumed_ratio` at or above 1, with a
    /// relative tolerance of 1e-9).
    pub exhausted: bool,
    /// Availability only: the whole budget as minutes of full outage per
    /// period (43.2 at 99.9 % over 30 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_minutes: Option<f64>,
    /// Availability only: `remaining_ratio × total_minutes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_minutes: Option<f64>,
}

/// State of one burn-rate alert rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertState {
    /// Rule name, such as `fast_burn`.
    pub name: String,
    /// Urgency of the alert.
    pub severity: Severity,
    /// The rule's long window.
    pub long_window: Window,
    /// The rule's short window.
    pub short_window: Window,
    /// Burn rate both windows must reach.
    pub threshold: f64,
    /// Burn rate over the long window.
    pub long_burn_rate: f64,
    /// Burn rate over the short window.
    pub short_burn_rate: f64,
    /// Whether both windows hold the minimum number of events.
    pub min_events_met: bool,
    /// Whether the alert fires.
    pub firing: bool,
}

/// Latency details reported by the latency objective only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyDetails {
    /// Threshold of a fast request, in seconds.
    pub threshold_seconds: f64,
    /// Median latency estimate per window, in seconds.
    pub p50_seconds: PerWindow<f64>,
    /// 95th percentile latency estimate per window, in seconds.
    pub p95_seconds: PerWindow<f64>,
    /// 99th percentile latency estimate per window, in seconds.
    pub p99_seconds: PerWindow<f64>,
    /// Events below 100 µs per window, counted as 100 µs.
    pub underflow_events: PerWindow<u64>,
    /// Events at or above the histogram's upper limit (about 109 s) per
    /// window, counted as that limit.
    pub overflow_events: PerWindow<u64>,
    /// Maximum relative error of the quantile estimates for latencies inside
    /// the histogram range.
    pub quantile_relative_error_bound: f64,
}

/// Evaluation of one objective.
///
/// Burn rate is the bad fraction divided by the allowed bad fraction, so 1
/// spends the budget in exactly one period. `status` is `critical` while a
/// page alert fires, otherwise `warning` while a ticket alert fires or the
/// budget is exhausted with at least `min_events_long_window` events in the
/// 30-day window, and `ok` otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveReport {
    /// Target of the SLI: a minimum share of good events, or for the
    /// error-rate objective a maximum share of bad events.
    pub target: f64,
    /// Direction of the comparison between `sli` and `target`.
    pub comparison: Comparison,
    /// Period of the error budget, in seconds (30 days).
    pub period_seconds: u64,
    /// Status derived from the alerts and the budget.
    pub status: Status,
    /// Whether the 30-day window has no events at all.
    pub no_data: bool,
    /// SLI per window.
    pub sli: PerWindow<f64>,
    /// Events per window.
    pub events: PerWindow<u64>,
    /// Bad events per window.
    pub bad_events: PerWindow<u64>,
    /// Seconds of each window that the counted slots cover since the engine
    /// started; less than the window while the engine is young.
    pub coverage_seconds: PerWindow<f64>,
    /// Error budget over the 30-day window.
    pub error_budget: ErrorBudget,
    /// Bad fraction divided by the allowed bad fraction, per window.
    pub burn_rates: PerWindow<f64>,
    /// State of every configured alert rule.
    pub alerts: Vec<AlertState>,
    /// Seconds until the remaining budget is spent at the current 1-hour burn
    /// rate, capped at the period: 0 when already exhausted, the period when
    /// the burn rate is 0.
    pub time_to_exhaustion_seconds: f64,
    /// Whether that extrapolated exhaustion comes before the end of one
    /// period; false whenever `time_to_exhaustion_seconds` is capped.
    pub exhaustion_within_period: bool,
    /// Latency quantiles, present for the latency objective only.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyDetails>,
}

/// One report per objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Objectives {
    /// Share of requests without a server error.
    pub availability: ObjectiveReport,
    /// Share of requests within the latency threshold, plus quantiles.
    pub latency: ObjectiveReport,
    /// Share of requests with a server error.
    pub error_rate: ObjectiveReport,
}

impl Objectives {
    /// Returns the report of `objective`.
    pub fn get(&self, objective: ObjectiveKind) -> &ObjectiveReport {
        match objective {
            ObjectiveKind::Availability => &self.availability,
            ObjectiveKind::Latency => &self.latency,
            ObjectiveKind::ErrorRate => &self.error_rate,
        }
    }

    /// Iterates over `(objective, report)` pairs in report order.
    pub fn iter(&self) -> impl Iterator<Item = (ObjectiveKind, &ObjectiveReport)> + '_ {
        ObjectiveKind::ALL
            .into_iter()
            .map(move |objective| (objective, self.get(objective)))
    }
}

/// Events dropped because their time slot already held a later period, which
/// happens when the clock steps back by more than a ring's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LateEventsDropped {
    /// Drops from the ring of one-minute slots (windows up to 6 h).
    pub minute_ring: u64,
    /// Drops from the ring of one-hour slots (windows from 1 d).
    pub hour_ring: u64,
}

/// The SLO report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloReport {
    /// Worst status of all objectives.
    pub overall_status: Status,
    /// Evaluation time, in unix milliseconds.
    pub evaluated_at_unix_ms: u64,
    /// Time the engine started counting, in unix milliseconds.
    pub started_at_unix_ms: u64,
    /// One report per objective.
    pub objectives: Objectives,
    /// Events dropped because the clock stepped back too far.
    pub late_events_dropped: LateEventsDropped,
}

/// Kind of value a [`GaugeSample`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GaugeMetric {
    /// SLI of an objective over a window.
    Sli,
    /// Burn rate of an objective over a window.
    BurnRate,
    /// Events counted over a window.
    Events,
    /// Seconds of a window covered since the engine started.
    CoverageSeconds,
    /// Remaining error-budget ratio of an objective (no window).
    ErrorBudgetRemainingRatio,
    /// Time to budget exhaustion of an objective, in seconds (no window).
    TimeToExhaustionSeconds,
    /// Status of an objective as 0, 1 or 2 (no window).
    Status,
    /// Median latency estimate over a window, in seconds.
    LatencyP50Seconds,
    /// 95th percentile latency estimate over a window, in seconds.
    LatencyP95Seconds,
    /// 99th percentile latency estimate over a window, in seconds.
    LatencyP99Seconds,
}

impl GaugeMetric {
    /// Suggested Prometheus metric name.
    pub fn name(self) -> &'static str {
        match self {
            GaugeMetric::Sli => "slo_sli",
            GaugeMetric::BurnRate => "slo_burn_rate",
            GaugeMetric::Events => "slo_events",
            GaugeMetric::CoverageSeconds => "slo_window_coverage_seconds",
            GaugeMetric::ErrorBudgetRemainingRatio => "slo_error_budget_remaining_ratio",
            GaugeMetric::TimeToExhaustionSeconds => "slo_error_budget_time_to_exhaustion_seconds",
            GaugeMetric::Status => "slo_status",
            GaugeMetric::LatencyP50Seconds => "slo_latency_p50_seconds",
            GaugeMetric::LatencyP95Seconds => "slo_latency_p95_seconds",
            GaugeMetric::LatencyP99Seconds => "slo_latency_p99_seconds",
        }
    }
}

/// One gauge value, labelled by objective and, for per-window metrics, by
/// window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaugeSample {
    /// Metric the value belongs to.
    pub metric: GaugeMetric,
    /// Objective label.
    pub objective: ObjectiveKind,
    /// Window label, `None` for per-objective metrics.
    pub window: Option<Window>,
    /// The value, always finite.
    pub value: f64,
}

impl SloReport {
    /// Lists every gauge value of the report, so an exporter can set its
    /// gauges without parsing JSON.
    pub fn gauges(&self) -> impl Iterator<Item = GaugeSample> + '_ {
        let mut samples = Vec::new();
        for (objective, report) in self.objectives.iter() {
            push_gauges(&mut samples, objective, report);
        }
        samples.into_iter()
    }
}

fn push_gauges(samples: &mut Vec<GaugeSample>, objective: ObjectiveKind, report: &ObjectiveReport) {
    let mut per_window = |metric: GaugeMetric, values: &PerWindow<f64>| {
        for (window, value) in values.iter() {
            samples.push(GaugeSample {
                metric,
                objective,
                window: Some(window),
                value: *value,
            });
        }
    };
    per_window(GaugeMetric::Sli, &report.sli);
    per_window(GaugeMetric::BurnRate, &report.burn_rates);
    per_window(GaugeMetric::Events, &report.events.map(|n| *n as f64));
    per_window(GaugeMetric::CoverageSeconds, &report.coverage_seconds);
    if let Some(latency) = &report.latency {
        per_window(GaugeMetric::LatencyP50Seconds, &latency.p50_seconds);
        per_window(GaugeMetric::LatencyP95Seconds, &latency.p95_seconds);
        per_window(GaugeMetric::LatencyP99Seconds, &latency.p99_seconds);
    }

    let per_objective = [
        (
            GaugeMetric::ErrorBudgetRemainingRatio,
            report.error_budget.remaining_ratio,
        ),
        (
            GaugeMetric::TimeToExhaustionSeconds,
            report.time_to_exhaustion_seconds,
        ),
        (GaugeMetric::Status, report.status.gauge_value()),
    ];
    for (metric, value) in per_objective {
        samples.push(GaugeSample {
            metric,
            objective,
            window: None,
            value,
        });
    }
}

/// Builds the report from the window counts.
pub(crate) fn build(
    config: &SloConfig,
    now_unix_ms: u64,
    started_at_unix_ms: u64,
    windows: &PerWindow<WindowStats>,
    late_events_dropped: LateEventsDropped,
) -> SloReport {
    let availability = objective::evaluate(ObjectiveKind::Availability, config, windows);
    let mut latency = objective::evaluate(ObjectiveKind::Latency, config, windows);
    latency.latency = Some(LatencyDetails {
        threshold_seconds: config.latency_threshold.as_secs_f64(),
        p50_seconds: windows.map(|stats| stats.p50_seconds),
        p95_seconds: windows.map(|stats| stats.p95_seconds),
        p99_seconds: windows.map(|stats| stats.p99_seconds),
        underflow_events: windows.map(|stats| stats.underflow),
        overflow_events: windows.map(|stats| stats.overflow),
        quantile_relative_error_bound: RELATIVE_ERROR_BOUND,
    });
    let error_rate = objective::evaluate(ObjectiveKind::ErrorRate, config, windows);

    let overall_status = availability
        .status
        .max(latency.status)
        .max(error_rate.status);
    SloReport {
        overall_status,
        evaluated_at_unix_ms: now_unix_ms,
        started_at_unix_ms,
        objectives: Objectives {
            availability,
            latency,
            error_rate,
        },
        late_events_dropped,
    }
}
