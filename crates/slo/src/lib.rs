//! SLO engine for BabyShield API: rolling windows of request outcomes in
//! fixed memory, mergeable latency histograms with a stated relative error,
//! and error-budget and burn-rate evaluation.
//!
//! It is a pure library: no I/O, no async runtime, and time is passed in by
//! the caller, so tests can replay 30 days in milliseconds.
//!
//! # Objectives
//!
//! Defaults ([`SloConfig::default`]), all over a rolling 30-day period and
//! counted per request:
//!
//! - availability: at least 99.9 % of requests without a server error (5xx);
//! - latency: at least 95 % of requests at or under 800 ms, reported with
//!   p50, p95 and p99 estimates;
//! - error rate: at most 0.1 % of requests with a server error.
//!
//! Availability and error rate count the same server-error flag, so with the
//! defaults they carry the same information from two sides. They stay two
//! objectives so that each can get its own target. Which routes count is up
//! to the caller.
//!
//! # Use
//!
//! ```
//! use std::time::Duration;
//! use babyshield_slo::{ObjectiveKind, SloEngine, Window};
//!
//! let start = 1_700_000_000_000;
//! let engine = SloEngine::with_defaults(start);
//! engine.record(start + 5, Duration::from_millis(120), false);
//! engine.record(start + 9, Duration::from_millis(950), true);
//!
//! let report = engine.evaluate(start + 10);
//! let availability = report.objectives.get(ObjectiveKind::Availability);
//! assert_eq!(*availability.events.get(Window::FiveMinutes), 2);
//! assert_eq!(*availability.sli.get(Window::FiveMinutes), 0.5);
//! for gauge in report.gauges() {
//!     let _ = (gauge.metric.name(), gauge.objective.as_str(), gauge.window, gauge.value);
//! }
//! ```
//!
//! The design of the time slots and their memory is described in the
//! `engine` module, the lock-free rotation of slots in the `ring` module, the
//! histogram in [`histogram`] and the budget arithmetic in the `objective`
//! module.

mod clock;
mod config;
mod engine;
pub mod histogram;
mod objective;
mod report;
mod ring;
mod window;

pub use clock::{Clock, SystemClock};
pub use config::{
    AlertRule, ConfigError, ObjectiveKind, Severity, SloConfig, MIN_ALLOWED_BAD_FRACTION, PERIOD,
};
pub use engine::{MergeError, SloEngine};
pub use histogram::LatencyHistogram;
pub use report::{
    AlertState, Comparison, ErrorBudget, GaugeMetric, GaugeSample, LateEventsDropped,
    LatencyDetails, ObjectiveReport, Objectives, SloReport, Status,
};
pub use window::{PerWindow, Window};
