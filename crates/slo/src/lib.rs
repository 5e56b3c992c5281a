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
//! # Design
//!
//! - Time slots: a ring of 360 one-minute slots (6 hours) serves the 5 m,
//!   30 m, 1 h and 6 h windows. A ring of 720 one-hour slots (30 days)
//!   serves the 1 d, 3 d and 30 d windows. A window is made of whole slots,
//!   and `coverage_seconds` reports the span it covered.
//! - Every slot contains a full latency histogram plus error and slow-request
//!   counters: 707 atomic words, 5,656 bytes. Both rings take 6,108,480
//!   bytes, allocated once when the engine is created; traffic does not
//!   change that.
//! - Recording costs one `fetch_add` per ring in the common case, plus one
//!   per ring for an error or a slow request. It takes no lock and does not
//!   allocate.
//! - Slots are reused without a reset step: each counter word carries the
//!   lap of the period it counts, so a stale word reads as zero and the next
//!   write replaces it. The `ring` module documents how concurrent writers
//!   of different periods are kept apart.
//! - The histogram ([`histogram`]) has logarithmic buckets with ratio 1.02
//!   from 100 µs to 109 s, so quantiles are within 0.99 % of the exact
//!   nearest-rank value, and histograms merge exactly.
//! - Budget and alert arithmetic, including the rules for `status` and the
//!   cap on `time_to_exhaustion_seconds`, is described on [`ObjectiveReport`]
//!   and [`Status`].

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
