//! Merging engines, and recording from several threads.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use babyshield_slo::{MergeError, SloConfig, SloEngine};
use common::{Distribution, SplitMix64, DAY, HOUR, MINUTE, T0};
use proptest::prelude::*;

/// One request: time, latency and server-error flag.
type Request = (u64, Duration, bool);

/// Draws a time-ordered stream of requests over `span_ms` from `T0` on.
fn stream(seed: u64, count: usize, span_ms: u64) -> Vec<Request> {
    let mut rng = SplitMix64::new(seed);
    let mut requests: Vec<Request> = (0..count)
        .map(|_| {
            let time = T0 + rng.next_u64() % span_ms;
            let latency = Distribution::HeavyTailedBimodal.sample(&mut rng);
            let failed = rng.next_f64() < 0.02;
            (time, latency, failed)
        })
        .collect();
    requests.sort_by_key(|request| request.0);
    requests
}

fn feed(engine: &SloEngine, requests: &[Request]) {
    for (time, latency, failed) in requests {
        engine.record(*time, *latency, *failed);
    }
}

fn merged_and_combined(first: &[Request], second: &[Request]) -> (SloEngine, SloEngine) {
    let merged = SloEngine::with_defaults(T0);
    let other = SloEngine::with_defaults(T0);
    feed(&merged, first);
    feed(&other, second);
    merged.merge_from(&other).expect("same configuration");

    let combined = SloEngine::with_defaults(T0);
    let mut both: Vec<Request> = first.iter().chain(second).copied().collect();
    both.sort_by_key(|request| request.0);
    feed(&combined, &both);
    (merged, combined)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Streams over 40 days wrap both rings, so the merge also has to pick
    /// the newer period of each reused slot.
    #[test]
    fn merge_equals_engine_fed_both_streams(seed: u64, first_count in 0usize..3_000, second_count in 0usize..3_000) {
        let span = 40 * DAY;
        let first = stream(seed, first_count, span);
        let second = stream(seed ^ 0x5555, second_count, span);
        let (merged, combined) = merged_and_combined(&first, &second);
        for now in [T0 + 2 * HOUR, T0 + 10 * DAY + 5 * MINUTE, T0 + span] {
            prop_assert_eq!(merged.evaluate(now), combined.evaluate(now));
        }
    }
}

/// Dense traffic within one day: every slot of the minute ring is shared by
/// both engines.
#[test]
fn merge_of_overlapping_day_is_exact() {
    let first = stream(1, 20_000, DAY);
    let second = stream(2, 20_000, DAY);
    let (merged, combined) = merged_and_combined(&first, &second);
    let now = T0 + DAY - 1;
    let report = merged.evaluate(now);
    assert_eq!(report, combined.evaluate(now));
    assert_eq!(report.objectives.availability.events.one_day, 40_000);
}

#[test]
fn merge_keeps_earlier_start() {
    let engine = SloEngine::with_defaults(T0 + HOUR);
    let older = SloEngine::with_defaults(T0);
    engine.merge_from(&older).expect("same configuration");
    assert_eq!(engine.start_unix_ms(), T0);
}

#[test]
fn merge_rejects_different_threshold() {
    let engine = SloEngine::with_defaults(T0);
    let config = SloConfig {
        latency_threshold: Duration::from_millis(500),
        ..SloConfig::default()
    };
    let other = SloEngine::new(config, T0).expect("valid config");
    assert_eq!(
        engine.merge_from(&other),
        Err(MergeError::LatencyThresholdMismatch {
            ours: Duration::from_millis(800),
            theirs: Duration::from_millis(500),
        })
    );
}

#[test]
fn merge_into_itself_is_rejected() {
    let engine = SloEngine::with_defaults(T0);
    assert_eq!(engine.merge_from(&engine), Err(MergeError::SameEngine));
}

/// Two threads hammer the same slots, then cross many minute boundaries
/// together; no count may be lost or moved.
#[test]
fn concurrent_records_are_all_counted() {
    const PER_THREAD: u64 = 50_000;
    let engine = Arc::new(SloEngine::with_defaults(T0));
    let handles: Vec<_> = (0..2u64)
        .map(|thread_index| {
            let engine = Arc::clone(&engine);
            thread::spawn(move || {
                for index in 0..PER_THREAD {
                    // 50,000 requests over 100 minutes: both threads rotate
                    // through the same 100 minute slots at about the same pace.
                    let time = T0 + index * 120;
                    let latency = Duration::from_millis(100 + (index % 7) * 200);
                    engine.record(time, latency, (index + thread_index) % 10 == 0);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("recording thread panicked");
    }

    let report = engine.evaluate(T0 + 100 * MINUTE - 1);
    let availability = &report.objectives.availability;
    assert_eq!(availability.events.six_hours, 2 * PER_THREAD);
    assert_eq!(availability.events.one_day, 2 * PER_THREAD);
    assert_eq!(availability.bad_events.six_hours, 2 * PER_THREAD / 10);
    // Latencies 900 ms, 1,100 ms and 1,300 ms are slow: 3 of every 7.
    let slow_per_thread = (0..PER_THREAD).filter(|index| index % 7 >= 4).count() as u64;
    assert_eq!(
        report.objectives.latency.bad_events.one_day,
        2 * slow_per_thread
    );
    assert_eq!(report.late_events_dropped.minute_ring, 0);
}
