//! The engine: records finished requests into two time rings and evaluates
//! every objective over every window.
//!
//! # Buckets and memory
//!
//! - The minute ring has 360 one-minute slots (6 hours) and serves the 5 m,
//!   30 m, 1 h and 6 h windows.
//! - The hour ring has 720 one-hour slots (30 days) and serves the 1 d, 3 d
//!   and 30 d windows.
//!
//! Every slot contains a full latency histogram ([`BUCKET_COUNT`] buckets), an
//! error counter, a slow-request counter and an epoch word, all 8-byte
//! atomics: 707 words or 5,656 bytes. The rings take
//! `(360 + 720) · 5,656 = 6,108,480` bytes, allocated once when the engine
//! is created. Traffic never changes that, because a slot counts events
//! instead of storing them. The event count of a slot is the sum of its
//! histogram, so recording a typical request costs two atomic adds (one
//! histogram bucket per ring), plus one per ring for an error or a slow
//! request.
//!
//! The slow-request counter compares each latency with the configured
//! threshold exactly, so the latency SLI does not depend on the histogram's
//! bucket bounds. Storing it per slot costs one word.
//!
//! A window is made of whole slots: the slot that contains `now` and the
//! slots before it, so the 5 m window spans between 4 and 5 minutes of events
//! and the 30 d window between 719 and 720 hours. `coverage_seconds` in the
//! report gives the span each window actually covered.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::config::{ConfigError, SloConfig};
use crate::histogram::bucket_index;
use crate::report::{self, LateEventsDropped, SloReport};
use crate::ring::{PeriodTotals, Ring};
use crate::window::{PerWindow, Window};

/// Ring of one-minute slots over 6 hours.
type MinuteRing = Ring<60_000, 360>;

/// Ring of one-hour slots over 30 days.
type HourRing = Ring<3_600_000, 720>;

/// Counts of one window at evaluation time.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct WindowStats {
    /// Events counted in the window.
    pub events: u64,
    /// Events marked as server errors, at most `events`.
    pub errors: u64,
    /// Events slower than the latency threshold, at most `events`.
    pub slow: u64,
    /// Events below the histogram range.
    pub underflow: u64,
    /// Events above the histogram range.
    pub overflow: u64,
    /// Median latency estimate in seconds, 0 without events.
    pub p50_seconds: f64,
    /// 95th percentile latency estimate in seconds, 0 without events.
    pub p95_seconds: f64,
    /// 99th percentile latency estimate in seconds, 0 without events.
    pub p99_seconds: f64,
    /// Span of time the window covered, in seconds.
    pub coverage_seconds: f64,
}

impl WindowStats {
    fn from_totals(totals: &PeriodTotals, coverage_seconds: f64) -> Self {
        let histogram = &totals.histogram;
        let events = histogram.count();
        let quantile = |q| histogram.quantile_seconds(q).unwrap_or(0.0);
        Self {
            events,
            // A reader that runs alongside writers can see an error mark
            // before the histogram count of the same event.
            errors: totals.errors.min(events),
            slow: totals.slow.min(events),
            underflow: histogram.underflow(),
            overflow: histogram.overflow(),
            p50_seconds: quantile(0.5),
            p95_seconds: quantile(0.95),
            p99_seconds: quantile(0.99),
            coverage_seconds,
        }
    }
}

/// Error returned by [`SloEngine::merge_from`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// The engines count slow requests against different thresholds, so their
    /// slow counts cannot be added.
    #[error(
        "cannot merge engines with latency thresholds {ours:?} and {theirs:?}: use the same threshold on both"
    )]
    LatencyThresholdMismatch {
        /// Threshold of the engine merged into.
        ours: Duration,
        /// Threshold of the engine merged from.
        theirs: Duration,
    },
    /// The engine was asked to merge itself, which would double every count.
    #[error("cannot merge an engine into itself")]
    SameEngine,
}

/// SLO engine: record finished requests from any number of threads, evaluate
/// into an [`SloReport`].
pub struct SloEngine {
    config: SloConfig,
    start_unix_ms: AtomicU64,
    minutes: MinuteRing,
    hours: HourRing,
}

impl std::fmt::Debug for SloEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SloEngine")
            .field("config", &self.config)
            .field("start_unix_ms", &self.start_unix_ms())
            .finish_non_exhaustive()
    }
}

impl SloEngine {
    /// Creates an engine with a validated configuration. `start_unix_ms` is
    /// the time the engine starts counting; windows report coverage from it.
    pub fn new(config: SloConfig, start_unix_ms: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            start_unix_ms: AtomicU64::new(start_unix_ms),
            minutes: MinuteRing::new(),
            hours: HourRing::new(),
        })
    }

    /// Creates an engine with [`SloConfig::default`].
    pub fn with_defaults(start_unix_ms: u64) -> Self {
        Self {
            config: SloConfig::default(),
            start_unix_ms: AtomicU64::new(start_unix_ms),
            minutes: MinuteRing::new(),
            hours: HourRing::new(),
        }
    }

    /// Configuration the engine evaluates against.
    pub fn config(&self) -> &SloConfig {
        &self.config
    }

    /// Time the engine started counting, in unix milliseconds. After a merge
    /// it is the earlier start of the two engines.
    pub fn start_unix_ms(&self) -> u64 {
        self.start_unix_ms.load(Relaxed)
    }

    /// Records one finished request. Lock-free and allocation-free, so it may
    /// be called from any thread on every request.
    ///
    /// `now_unix_ms` may be older than earlier calls: the event goes into the
    /// slot of its own time if that slot still belongs to its period, and is
    /// dropped and counted in [`SloReport::late_events_dropped`] otherwise.
    ///
    /// NOTE: a timestamp more than a ring span (6 hours, 30 days) ahead of
    /// the real time claims its slot for that future period, so events for
    /// that one slot are dropped until the real time reaches it. There is no
    /// trusted clock here to reject such timestamps.
    #[inline]
    pub fn record(&self, now_unix_ms: u64, latency: Duration, server_error: bool) {
        let bucket = bucket_index(latency);
        let slow = latency > self.config.latency_threshold;
        self.minutes.record(now_unix_ms, bucket, server_error, slow);
        self.hours.record(now_unix_ms, bucket, server_error, slow);
    }

    /// Adds the counts of `other` to this engine, so that it evaluates exactly
    /// like one engine fed both streams of requests in time order. The
    /// late-event drop counters are summed.
    ///
    /// Both engines may keep recording meanwhile, but then events recorded
    /// during the merge may or may not be included.
    pub fn merge_from(&self, other: &SloEngine) -> Result<(), MergeError> {
        if std::ptr::eq(self, other) {
            return Err(MergeError::SameEngine);
        }
        let ours = self.config.latency_threshold;
        let theirs = other.config.latency_threshold;
        if ours != theirs {
            return Err(MergeError::LatencyThresholdMismatch { ours, theirs });
        }
        self.minutes.merge_from(&other.minutes);
        self.hours.merge_from(&other.hours);
        self.start_unix_ms.fetch_min(other.start_unix_ms(), Relaxed);
        Ok(())
    }

    /// Bytes the engine occupies: the struct itself plus its heap
    /// allocations (the ring slots and the alert rules).
    pub fn memory_bytes(&self) -> usize {
        let rules = self.config.alert_rules.capacity()
            * std::mem::size_of::<crate::config::AlertRule>()
            + self
                .config
                .alert_rules
                .iter()
                .map(|rule| rule.name.capacity())
                .sum::<usize>();
        std::mem::size_of::<Self>() + self.minutes.heap_bytes() + self.hours.heap_bytes() + rules
    }

    /// Evaluates every objective over every window as of `now_unix_ms`.
    ///
    /// An evaluation time older than recorded events is allowed: periods
    /// after `now_unix_ms` are ignored, and periods whose slots have been
    /// reused for later periods read as empty.
    pub fn evaluate(&self, now_unix_ms: u64) -> SloReport {
        let windows = self.window_stats(now_unix_ms);
        let dropped = LateEventsDropped {
            minute_ring: self.minutes.late_events_dropped(),
            hour_ring: self.hours.late_events_dropped(),
        };
        report::build(
            &self.config,
            now_unix_ms,
            self.start_unix_ms(),
            &windows,
            dropped,
        )
    }

    pub(crate) fn window_stats(&self, now_unix_ms: u64) -> PerWindow<WindowStats> {
        let start = self.start_unix_ms();
        let mut stats = PerWindow::<WindowStats>::default();
        collect(
            &self.minutes,
            now_unix_ms,
            start,
            &[
                (Window::FiveMinutes, 5),
                (Window::ThirtyMinutes, 30),
                (Window::OneHour, 60),
                (Window::SixHours, 360),
            ],
            &mut stats,
        );
        collect(
            &self.hours,
            now_unix_ms,
            start,
            &[
                (Window::OneDay, 24),
                (Window::ThreeDays, 72),
                (Window::ThirtyDays, 720),
            ],
            &mut stats,
        );
        stats
    }
}

/// Walks `ring` from the period containing `now_unix_ms` backwards and fills
/// `stats` for each `(window, slot count)` pair, which must be sorted by slot
/// count. Nested windows share one pass.
fn collect<const SLOT_MS: u64, const SLOTS: usize>(
    ring: &Ring<SLOT_MS, SLOTS>,
    now_unix_ms: u64,
    start_unix_ms: u64,
    windows: &[(Window, u64)],
    stats: &mut PerWindow<WindowStats>,
) {
    let now_period = Ring::<SLOT_MS, SLOTS>::period_of(now_unix_ms);
    let mut totals = PeriodTotals::default();
    let mut periods_added = 0u64;
    for &(window, slots) in windows {
        while periods_added < slots && periods_added <= now_period {
            ring.add_period_to(now_period - periods_added, &mut totals);
            periods_added += 1;
        }
        // The window spans its oldest slot's start through the end of the
        // millisecond `now_unix_ms`, but nothing before the engine started.
        let window_start = (now_period + 1).saturating_sub(slots) * SLOT_MS;
        let covered_from = window_start.max(start_unix_ms);
        let coverage_ms = now_unix_ms.saturating_add(1).saturating_sub(covered_from);
        *stats.get_mut(window) = WindowStats::from_totals(&totals, coverage_ms as f64 / 1000.0);
    }
}
