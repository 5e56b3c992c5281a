//! Zero traffic, clocks that step backwards and young engines.

mod common;

use std::time::Duration;

use babyshield_slo::{GaugeMetric, ObjectiveKind, SloEngine, SloReport, Status, Window};
use common::{non_finite_paths, DAY, HOUR, MINUTE, SECOND, T0};

fn assert_all_numbers_finite(report: &SloReport) {
    let json = serde_json::to_value(report).expect("report serializes");
    let mut found = Vec::new();
    non_finite_paths(&json, "$", &mut found);
    assert!(found.is_empty(), "null or non-finite values: {found:?}");
    for gauge in report.gauges() {
        assert!(gauge.value.is_finite(), "{gauge:?}");
    }
}

#[test]
fn zero_traffic_reports_no_data() {
    let engine = SloEngine::with_defaults(T0);
    for now in [T0, T0 + HOUR, T0 + 40 * DAY] {
        let report = engine.evaluate(now);
        assert_all_numbers_finite(&report);
        assert_eq!(report.overall_status, Status::Ok);
        for (objective, objective_report) in report.objectives.iter() {
            assert!(objective_report.no_data, "{objective}");
            assert_eq!(objective_report.status, Status::Ok, "{objective}");
            assert_eq!(objective_report.events.thirty_days, 0);
            assert_eq!(objective_report.error_budget.remaining_ratio, 1.0);
            assert!(!objective_report.error_budget.exhausted);
            assert_eq!(objective_report.time_to_exhaustion_seconds, 2_592_000.0);
            assert!(!objective_report.exhaustion_within_period);
            assert!(objective_report.alerts.iter().all(|alert| !alert.firing));
            for (_, burn_rate) in objective_report.burn_rates.iter() {
                assert_eq!(*burn_rate, 0.0);
            }
        }
        let expected_sli = |objective| match objective {
            ObjectiveKind::ErrorRate => 0.0,
            ObjectiveKind::Availability | ObjectiveKind::Latency => 1.0,
        };
        for (objective, objective_report) in report.objectives.iter() {
            assert_eq!(objective_report.sli.five_minutes, expected_sli(objective));
        }
        let latency = report
            .objectives
            .latency
            .latency
            .as_ref()
            .expect("latency details");
        assert_eq!(latency.p95_seconds.thirty_days, 0.0);
    }
}

#[test]
fn zero_traffic_json_shape() {
    let report = SloEngine::with_defaults(T0).evaluate(T0 + 1);
    let json = serde_json::to_value(&report).expect("report serializes");
    assert_eq!(json["overall_status"], "ok");
    assert_eq!(json["evaluated_at_unix_ms"], T0 + 1);
    let availability = &json["objectives"]["availability"];
    assert_eq!(availability["target"], 0.999);
    assert_eq!(availability["period_seconds"], 2_592_000);
    assert_eq!(availability["events"]["5m"], 0);
    assert_eq!(availability["sli"]["30d"], 1.0);
    assert_eq!(availability["error_budget"]["total_minutes"], 43.2);
    assert_eq!(availability["error_budget"]["remaining_minutes"], 43.2);
    assert_eq!(availability["alerts"][0]["name"], "fast_burn");
    assert_eq!(availability["alerts"][0]["severity"], "page");
    assert_eq!(availability["alerts"][0]["long_window"], "1h");
    assert_eq!(availability["alerts"][0]["short_window"], "5m");
    assert_eq!(availability["alerts"][0]["threshold"], 14.4);
    assert_eq!(availability["alerts"][2]["severity"], "ticket");
    assert!(availability.get("p95_seconds").is_none());
    let latency = &json["objectives"]["latency"];
    assert_eq!(latency["threshold_seconds"], 0.8);
    assert_eq!(latency["p95_seconds"]["30d"], 0.0);
    assert!(latency["error_budget"].get("remaining_minutes").is_none());
    assert_eq!(json["objectives"]["error_rate"]["comparison"], "at_most");
    assert_eq!(json["objectives"]["error_rate"]["target"], 0.001);
}

#[test]
fn all_requests_failing_stay_finite() {
    let engine = SloEngine::with_defaults(T0);
    for index in 0..1_000 {
        engine.record(T0 + index * SECOND, Duration::from_secs(200), true);
    }
    let report = engine.evaluate(T0 + 1_000 * SECOND);
    assert_all_numbers_finite(&report);
    let availability = &report.objectives.availability;
    assert_eq!(availability.sli.one_hour, 0.0);
    assert_eq!(availability.burn_rates.one_hour, 1_000.0);
    assert_eq!(availability.time_to_exhaustion_seconds, 0.0);
    assert_eq!(report.overall_status, Status::Critical);
}

#[test]
fn gauges_cover_every_objective_and_window() {
    let engine = SloEngine::with_defaults(T0);
    engine.record(T0, Duration::from_millis(10), false);
    let report = engine.evaluate(T0);
    let gauges: Vec<_> = report.gauges().collect();

    let count = |metric| gauges.iter().filter(|gauge| gauge.metric == metric).count();
    assert_eq!(count(GaugeMetric::Sli), 3 * 7);
    assert_eq!(count(GaugeMetric::BurnRate), 3 * 7);
    assert_eq!(count(GaugeMetric::LatencyP95Seconds), 7);
    assert_eq!(count(GaugeMetric::ErrorBudgetRemainingRatio), 3);
    assert_eq!(count(GaugeMetric::TimeToExhaustionSeconds), 3);

    let burn_1h = gauges
        .iter()
        .find(|gauge| {
            gauge.metric == GaugeMetric::BurnRate
                && gauge.objective == ObjectiveKind::Latency
                && gauge.window == Some(Window::OneHour)
        })
        .expect("latency burn rate over 1h");
    assert_eq!(burn_1h.value, 0.0);
    assert_eq!(burn_1h.metric.name(), "slo_burn_rate");
}

/// Minute slot `T0 + 10 min` is still in the 6-hour ring after the clock
/// has moved on to `T0 + 20 min`, so a late event lands there.
#[test]
fn late_event_inside_ring_is_recorded() {
    let engine = SloEngine::with_defaults(T0);
    engine.record(T0 + 20 * MINUTE, Duration::from_millis(10), false);
    engine.record(T0 + 10 * MINUTE, Duration::from_millis(10), true);

    let report = engine.evaluate(T0 + 20 * MINUTE);
    let availability = &report.objectives.availability;
    assert_eq!(availability.events.five_minutes, 1);
    assert_eq!(availability.events.thirty_minutes, 2);
    assert_eq!(availability.bad_events.thirty_minutes, 1);
    assert_eq!(availability.events.one_day, 2);
    assert_eq!(report.late_events_dropped.minute_ring, 0);
    assert_eq!(report.late_events_dropped.hour_ring, 0);
}

/// An event exactly 6 hours late maps to the minute slot that the current
/// minute now uses, so it is dropped there and counted. The hour ring still
/// has room for it.
#[test]
fn event_older_than_ring_is_dropped_and_counted() {
    let engine = SloEngine::with_defaults(T0);
    let now = T0 + DAY;
    engine.record(now, Duration::from_millis(10), false);
    engine.record(now - 6 * HOUR, Duration::from_millis(10), true);

    let report = engine.evaluate(now);
    assert_eq!(report.late_events_dropped.minute_ring, 1);
    assert_eq!(report.late_events_dropped.hour_ring, 0);
    let availability = &report.objectives.availability;
    assert_eq!(availability.events.six_hours, 1);
    assert_eq!(availability.bad_events.six_hours, 0);
    assert_eq!(availability.events.one_day, 2);
    assert_eq!(availability.bad_events.one_day, 1);

    // 30 days late: dropped by the hour ring as well.
    engine.record(now - 30 * DAY, Duration::from_millis(10), true);
    let report = engine.evaluate(now);
    assert_eq!(report.late_events_dropped.hour_ring, 1);
    assert_eq!(report.objectives.availability.events.thirty_days, 2);
}

/// Evaluating at a time before recorded events ignores those events and
/// neither panics nor mixes periods.
#[test]
fn evaluation_before_recorded_events() {
    let engine = SloEngine::with_defaults(T0);
    engine.record(T0 + 2 * HOUR, Duration::from_millis(10), true);
    engine.record(T0 + 4 * HOUR, Duration::from_millis(10), false);

    let report = engine.evaluate(T0 + 3 * HOUR);
    assert_all_numbers_finite(&report);
    let availability = &report.objectives.availability;
    assert_eq!(availability.events.one_hour, 0);
    assert_eq!(availability.events.six_hours, 1);
    assert_eq!(availability.bad_events.six_hours, 1);

    let before_start = engine.evaluate(T0 - DAY);
    assert_all_numbers_finite(&before_start);
    assert_eq!(before_start.objectives.availability.events.thirty_days, 0);
    assert_eq!(
        before_start
            .objectives
            .availability
            .coverage_seconds
            .thirty_days,
        0.0
    );

    let epoch = engine.evaluate(0);
    assert_all_numbers_finite(&epoch);
}

/// Repeated steps back and forth stay consistent with the per-period counts.
#[test]
fn clock_stepping_back_and_forth() {
    let engine = SloEngine::with_defaults(T0);
    let times = [
        T0 + 30 * MINUTE,
        T0 + 29 * MINUTE,
        T0 + 31 * MINUTE,
        T0 + 2 * MINUTE,
        T0 + 31 * MINUTE,
        T0,
    ];
    for time in times {
        engine.record(time, Duration::from_millis(10), false);
    }
    let report = engine.evaluate(T0 + 31 * MINUTE);
    let availability = &report.objectives.availability;
    assert_eq!(availability.events.five_minutes, 4);
    assert_eq!(availability.events.thirty_minutes, 5);
    assert_eq!(availability.events.one_hour, 6);
    assert_eq!(report.late_events_dropped.minute_ring, 0);
}

/// An engine started 30 min 15 s into an hour reports how much of each
/// window it has seen.
#[test]
fn young_engine_reports_coverage() {
    let start = T0 + 30 * MINUTE + 15 * SECOND;
    let engine = SloEngine::with_defaults(start);

    let report = engine.evaluate(start + 2 * MINUTE - 1);
    for (window, coverage) in report.objectives.availability.coverage_seconds.iter() {
        assert_eq!(*coverage, 120.0, "{window}");
    }

    // Three days later the 5 m window spans 4 whole minutes plus the 15 s of
    // the current minute, and the 1 d window 23 whole hours plus 30 min 15 s.
    // The 3 d window starts at the hour after the start. The 30 d window
    // covers everything since the start.
    let report = engine.evaluate(start + 3 * DAY - 1);
    let coverage = &report.objectives.latency.coverage_seconds;
    assert_eq!(coverage.five_minutes, 255.0);
    assert_eq!(coverage.one_hour, 3_555.0);
    assert_eq!(coverage.one_day, 84_615.0);
    assert_eq!(coverage.three_days, 257_415.0);
    assert_eq!(coverage.thirty_days, 259_200.0);

    // Long after the start, the 30 d window is 719 whole hours plus the
    // 30 min 15 s of the current hour.
    let report = engine.evaluate(start + 60 * DAY - 1);
    assert_eq!(
        report.objectives.availability.coverage_seconds.thirty_days,
        2_590_215.0
    );
}
