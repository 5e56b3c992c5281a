//! Multiwindow burn-rate alerts fire and clear at the times the SRE Workbook
//! rules predict, replaying traffic of one request per second.

mod common;

use std::time::Duration;

use babyshield_slo::{ObjectiveKind, SloConfig, SloEngine, SloReport, Status};
use common::{DAY, HOUR, MINUTE, SECOND, T0};

/// Records one request per second in `[from, to)`; every `error_every`-th
/// request fails (0 means none).
fn replay(engine: &SloEngine, from: u64, to: u64, error_every: u64) {
    let mut time = from;
    let mut index = 0u64;
    while time < to {
        let failed = error_every != 0 && index.is_multiple_of(error_every);
        engine.record(time, Duration::from_millis(100), failed);
        time += SECOND;
        index += 1;
    }
}

fn firing(report: &SloReport, name: &str) -> bool {
    report
        .objectives
        .availability
        .alerts
        .iter()
        .find(|alert| alert.name == name)
        .map(|alert| alert.firing)
        .unwrap_or_else(|| panic!("no alert named {name}"))
}

/// Five clean days, then two hours at 5 % errors (burn rate 50), then clean
/// traffic again. Every check evaluates at the last millisecond of a minute,
/// so each window is made of whole minutes of traffic.
#[test]
fn burn_alerts_fire_and_clear_on_schedule() {
    let engine = SloEngine::with_defaults(T0);
    let incident = T0 + 5 * DAY;
    replay(&engine, T0, incident, 0);
    assert_eq!(engine.evaluate(incident - 1).overall_status, Status::Ok);

    // 10 minutes in: 1 h burn = 30 / 3,600 / 0.001 = 8.3, below 14.4.
    replay(&engine, incident, incident + 10 * MINUTE, 20);
    let report = engine.evaluate(incident + 10 * MINUTE - 1);
    assert!(!firing(&report, "fast_burn"));
    assert_eq!(report.objectives.availability.status, Status::Ok);

    // 20 minutes in: 1 h burn = 60 / 3,600 / 0.001 = 16.7, and 5 m burn 50.
    replay(&engine, incident + 10 * MINUTE, incident + 20 * MINUTE, 20);
    let report = engine.evaluate(incident + 20 * MINUTE - 1);
    assert!(firing(&report, "fast_burn"));
    assert!(!firing(&report, "medium_burn"));
    assert_eq!(report.objectives.availability.status, Status::Critical);
    assert_eq!(report.objectives.error_rate.status, Status::Critical);
    assert_eq!(report.objectives.latency.status, Status::Ok);
    assert_eq!(report.overall_status, Status::Critical);

    // 40 minutes in: 6 h burn = 120 / 21,600 / 0.001 = 5.6, below 6.
    replay(&engine, incident + 20 * MINUTE, incident + 40 * MINUTE, 20);
    assert!(!firing(
        &engine.evaluate(incident + 40 * MINUTE - 1),
        "medium_burn"
    ));

    // 50 minutes in: 6 h burn = 150 / 21,600 / 0.001 = 6.9.
    replay(&engine, incident + 40 * MINUTE, incident + 50 * MINUTE, 20);
    let report = engine.evaluate(incident + 50 * MINUTE - 1);
    assert!(firing(&report, "medium_burn"));
    assert!(!firing(&report, "slow_burn"));

    // 60 minutes in: 3 d burn = 180 / 259,200 / 0.001 = 0.69, below 1.
    replay(&engine, incident + 50 * MINUTE, incident + HOUR, 20);
    assert!(!firing(&engine.evaluate(incident + HOUR - 1), "slow_burn"));

    // 120 minutes in: 3 d burn = 360 / 259,200 / 0.001 = 1.39, 6 h burn 16.7.
    replay(&engine, incident + HOUR, incident + 2 * HOUR, 20);
    let end = incident + 2 * HOUR;
    let report = engine.evaluate(end - 1);
    assert!(firing(&report, "fast_burn"));
    assert!(firing(&report, "medium_burn"));
    assert!(firing(&report, "slow_burn"));

    // 3 clean minutes later the 5 m window contains 2 minutes at 5 % errors:
    // burn rate 20, so the page goes on.
    replay(&engine, end, end + 3 * MINUTE, 0);
    assert!(firing(&engine.evaluate(end + 3 * MINUTE - 1), "fast_burn"));

    // 4 clean minutes: one minute of errors left in the 5 m window is a burn
    // rate of 10, so the fast burn clears although the 1 h burn is still
    // 50 × 56 / 60.
    replay(&engine, end + 3 * MINUTE, end + 4 * MINUTE, 0);
    let report = engine.evaluate(end + 4 * MINUTE - 1);
    assert!(!firing(&report, "fast_burn"));
    assert!(firing(&report, "medium_burn"));
    assert_eq!(report.objectives.availability.status, Status::Critical);

    // 27 clean minutes: 3 minutes at 5 % in the 30 m window are a burn rate
    // of 5, below 6, so the medium burn clears too.
    replay(&engine, end + 4 * MINUTE, end + 26 * MINUTE, 0);
    assert!(firing(
        &engine.evaluate(end + 26 * MINUTE - 1),
        "medium_burn"
    ));
    replay(&engine, end + 26 * MINUTE, end + 27 * MINUTE, 0);
    assert!(!firing(
        &engine.evaluate(end + 27 * MINUTE - 1),
        "medium_burn"
    ));

    // 30 clean minutes: only the ticket remains.
    replay(&engine, end + 27 * MINUTE, end + 30 * MINUTE, 0);
    let report = engine.evaluate(end + 30 * MINUTE - 1);
    assert!(!firing(&report, "medium_burn"));
    assert!(firing(&report, "slow_burn"));
    assert_eq!(report.objectives.availability.status, Status::Warning);
    assert_eq!(report.overall_status, Status::Warning);

    // 6 clean hours: the 6 h window is clean and the ticket clears. The
    // 30-day budget (0.001 × 460,800 = 460.8 failures) is not exhausted by
    // the 360 failures.
    replay(&engine, end + 30 * MINUTE, end + 6 * HOUR, 0);
    let report = engine.evaluate(end + 6 * HOUR - 1);
    assert!(!firing(&report, "slow_burn"));
    assert_eq!(report.objectives.availability.events.thirty_days, 460_800);
    assert_eq!(report.objectives.availability.error_budget.consumed, 360);
    assert!(!report.objectives.availability.error_budget.exhausted);
    assert_eq!(report.overall_status, Status::Ok);
}

/// A single failure among five requests in an hour has a burn rate of 200,
/// but 5 events are below the minimum of 100 in the long window.
#[test]
fn one_error_in_quiet_hour_does_not_page() {
    let engine = SloEngine::with_defaults(T0);
    for index in 0..5 {
        engine.record(
            T0 + index * 10 * SECOND,
            Duration::from_millis(90),
            index == 4,
        );
    }

    let report = engine.evaluate(T0 + MINUTE - 1);
    let availability = report.objectives.get(ObjectiveKind::Availability);
    let fast = &availability.alerts[0];
    assert_eq!(fast.name, "fast_burn");
    assert_eq!(fast.long_burn_rate, 200.0);
    assert!(!fast.min_events_met);
    assert!(!fast.firing);
    // The budget is overspent, but 5 events are too few to change the status.
    assert!(availability.error_budget.exhausted);
    assert_eq!(availability.status, Status::Ok);
    assert_eq!(report.overall_status, Status::Ok);
}

/// The same traffic pages once the minimums are lowered, which shows that
/// the minimums alone kept it quiet.
#[test]
fn lowered_minimum_lets_quiet_hour_page() {
    let config = SloConfig {
        min_events_long_window: 5,
        min_events_short_window: 1,
        ..SloConfig::default()
    };
    let engine = SloEngine::new(config, T0).expect("valid config");
    for index in 0..5 {
        engine.record(
            T0 + index * 10 * SECOND,
            Duration::from_millis(90),
            index == 4,
        );
    }

    let report = engine.evaluate(T0 + MINUTE - 1);
    let fast = &report.objectives.availability.alerts[0];
    assert!(fast.min_events_met);
    assert!(fast.firing);
    assert_eq!(report.overall_status, Status::Critical);
}

/// The short window needs its own minimum: 100 events in the hour but only
/// 3 in the last 5 minutes keep the page quiet.
#[test]
fn short_window_minimum_gates_page() {
    let engine = SloEngine::with_defaults(T0);
    for index in 0..100 {
        engine.record(
            T0 + index * 10 * SECOND,
            Duration::from_millis(90),
            index % 2 == 0,
        );
    }
    // 100 events over 1,000 seconds; the last 5-minute window from
    // T0 + 55 min contains none of them, so add 3 failures there.
    for index in 0..3 {
        engine.record(
            T0 + 55 * MINUTE + index * SECOND,
            Duration::from_millis(90),
            true,
        );
    }

    let report = engine.evaluate(T0 + HOUR - 1);
    let fast = &report.objectives.availability.alerts[0];
    assert_eq!(report.objectives.availability.events.five_minutes, 3);
    assert_eq!(report.objectives.availability.events.one_hour, 103);
    assert!(!fast.min_events_met);
    assert!(!fast.firing);
}

/// 144 failures in 10,000 requests is a burn rate of exactly 14.4 against a
/// 0.1 % budget, although `0.0144 / 0.001` rounds to 14.399999999999999.
#[test]
fn burn_rate_equal_to_threshold_fires() {
    let engine = SloEngine::with_defaults(T0);
    for index in 0..10_000u64 {
        engine.record(T0 + index * 30, Duration::from_millis(90), index < 144);
    }

    let report = engine.evaluate(T0 + 5 * MINUTE - 1);
    let fast = &report.objectives.availability.alerts[0];
    assert_eq!(fast.long_burn_rate, 14.399_999_999_999_999);
    assert_eq!(fast.short_burn_rate, 14.399_999_999_999_999);
    assert!(fast.firing);
}
