//! Error-budget and burn-rate arithmetic against hand-computed values.

mod common;

use std::time::Duration;

use babyshield_slo::{ObjectiveKind, SloEngine, Status, Window, PERIOD};
use common::{DAY, MINUTE, SECOND, T0};

const EPSILON: f64 = 1e-9;

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= EPSILON * expected.abs().max(1.0),
        "{what}: expected {expected}, got {actual}"
    );
}

/// One request every 6 seconds for 30 days is 432,000 requests. A full
/// outage of 43.2 minutes (2,592 s) fails 432 of them, which is exactly the
/// 0.1 % that a 99.9 % target allows.
#[test]
fn outage_of_43_minutes_spends_whole_budget() {
    let engine = SloEngine::with_defaults(T0);
    let outage_start = T0 + 10 * DAY;
    let outage_end = outage_start + 2_592 * SECOND;
    let mut time = T0;
    while time < T0 + 30 * DAY {
        let failed = (outage_start..outage_end).contains(&time);
        engine.record(time, Duration::from_millis(120), failed);
        time += 6 * SECOND;
    }

    let report = engine.evaluate(T0 + 30 * DAY - 1);
    let availability = &report.objectives.availability;
    assert_eq!(availability.events.thirty_days, 432_000);
    assert_eq!(availability.bad_events.thirty_days, 432);
    assert_eq!(availability.coverage_seconds.thirty_days, 2_592_000.0);

    let budget = &availability.error_budget;
    assert_close(budget.total, 432.0, "total");
    assert_eq!(budget.consumed, 432);
    assert_eq!(budget.consumed_ratio, 1.0);
    assert_eq!(budget.remaining_ratio, 0.0);
    assert!(budget.exhausted);
    assert_close(
        budget.total_minutes.expect("availability has minutes"),
        43.2,
        "total_minutes",
    );
    assert_close(
        budget.remaining_minutes.expect("availability has minutes"),
        0.0,
        "remaining_minutes",
    );
    assert_close(*availability.sli.get(Window::ThirtyDays), 0.999, "sli");
    assert_close(
        *availability.burn_rates.get(Window::ThirtyDays),
        1.0,
        "30d burn rate",
    );

    // The outage is 20 days old, so no alert fires, but the spent budget
    // makes the objective a warning.
    assert!(availability.alerts.iter().all(|alert| !alert.firing));
    assert_eq!(availability.status, Status::Warning);
    assert_eq!(availability.time_to_exhaustion_seconds, 0.0);
    assert!(availability.exhaustion_within_period);

    // The error-rate objective counts the same failures against a 0.1 %
    // maximum, and no request was slow.
    assert_close(
        report.objectives.error_rate.error_budget.consumed_ratio,
        1.0,
        "error rate",
    );
    assert_close(
        *report.objectives.error_rate.sli.get(Window::ThirtyDays),
        0.001,
        "error ratio",
    );
    assert_eq!(report.objectives.latency.error_budget.consumed, 0);
    assert_eq!(report.objectives.latency.status, Status::Ok);
    assert_eq!(report.overall_status, Status::Warning);
}

/// Half the outage leaves half the budget: 21.6 minutes.
#[test]
fn half_outage_leaves_half_budget() {
    let engine = SloEngine::with_defaults(T0);
    let outage_start = T0 + 3 * DAY;
    let outage_end = outage_start + 1_296 * SECOND;
    let mut time = T0;
    while time < T0 + 30 * DAY {
        engine.record(
            time,
            Duration::from_millis(80),
            (outage_start..outage_end).contains(&time),
        );
        time += 6 * SECOND;
    }

    let report = engine.evaluate(T0 + 30 * DAY - 1);
    let budget = &report.objectives.availability.error_budget;
    assert_eq!(budget.consumed, 216);
    assert_close(budget.remaining_ratio, 0.5, "remaining_ratio");
    assert_close(
        budget.remaining_minutes.expect("availability has minutes"),
        21.6,
        "remaining_minutes",
    );
    assert!(!budget.exhausted);
    assert_eq!(report.objectives.availability.status, Status::Ok);
}

/// 1 % of requests failing is ten times the 0.1 % allowance.
#[test]
fn one_percent_errors_burn_at_ten() {
    let engine = SloEngine::with_defaults(T0);
    for index in 0..6_000u64 {
        let time = T0 + index * (MINUTE / 100);
        engine.record(time, Duration::from_millis(50), index % 100 == 0);
    }

    let report = engine.evaluate(T0 + 60 * MINUTE - 1);
    let availability = &report.objectives.availability;
    for window in [Window::FiveMinutes, Window::ThirtyMinutes, Window::OneHour] {
        assert_eq!(*availability.burn_rates.get(window), 10.0, "{window}");
        assert_close(*availability.sli.get(window), 0.99, window.label());
    }
    assert_eq!(*availability.events.get(Window::FiveMinutes), 500);
    assert_eq!(*availability.bad_events.get(Window::FiveMinutes), 5);

    // At burn rate 10 a full budget lasts 3 days; 6,000 requests with 60
    // failures have spent 10 times their allowance of 6 already.
    assert_close(
        availability.error_budget.consumed_ratio,
        10.0,
        "consumed_ratio",
    );
    assert!(availability.error_budget.exhausted);
    assert_eq!(availability.time_to_exhaustion_seconds, 0.0);
}

/// With budget left, time to exhaustion is remaining ratio × period ÷ burn
/// rate.
#[test]
fn time_to_exhaustion_extrapolates_hourly_burn() {
    let engine = SloEngine::with_defaults(T0);
    // 29 clean days at one request per second...
    let mut time = T0;
    while time < T0 + 29 * DAY {
        engine.record(time, Duration::from_millis(50), false);
        time += SECOND;
    }
    // ...then an hour with 2 % errors: burn rate 20.
    let mut index = 0u64;
    while time < T0 + 29 * DAY + 60 * MINUTE {
        engine.record(time, Duration::from_millis(50), index.is_multiple_of(50));
        time += SECOND;
        index += 1;
    }

    let report = engine.evaluate(time - 1);
    let availability = &report.objectives.availability;
    assert_close(
        *availability.burn_rates.get(Window::OneHour),
        20.0,
        "1h burn",
    );
    let events = 29 * 86_400 + 3_600;
    assert_eq!(availability.events.thirty_days, events);
    assert_eq!(availability.bad_events.thirty_days, 72);
    let remaining = 1.0 - (72.0 / events as f64) / 0.001;
    assert_close(
        availability.error_budget.remaining_ratio,
        remaining,
        "remaining",
    );
    let expected = remaining * PERIOD.as_secs_f64() / 20.0;
    assert_close(
        availability.time_to_exhaustion_seconds,
        expected,
        "time to exhaustion",
    );
    assert!(availability.exhaustion_within_period);
}

/// The latency objective counts requests above 800 ms as bad, against a 5 %
/// allowance.
#[test]
fn slow_requests_spend_latency_budget() {
    let engine = SloEngine::with_defaults(T0);
    for index in 0..1_000u64 {
        let latency = match index % 100 {
            0..=2 => Duration::from_millis(801),
            3 => Duration::from_millis(800),
            _ => Duration::from_millis(200),
        };
        engine.record(T0 + index, latency, false);
    }

    let report = engine.evaluate(T0 + 1_000);
    let latency = report.objectives.get(ObjectiveKind::Latency);
    assert_eq!(*latency.bad_events.get(Window::OneHour), 30);
    assert_close(*latency.sli.get(Window::OneHour), 0.97, "latency sli");
    assert_close(
        *latency.burn_rates.get(Window::OneHour),
        0.6,
        "latency burn",
    );
    assert_close(latency.error_budget.total, 50.0, "allowed slow requests");
    assert_close(latency.error_budget.remaining_ratio, 0.4, "remaining");
    assert!(latency.error_budget.total_minutes.is_none());
    assert_eq!(latency.status, Status::Ok);
}
