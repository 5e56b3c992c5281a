//! Quantile estimates against exact nearest-rank quantiles of the same
//! samples.

mod common;

use std::time::Duration;

use babyshield_slo::histogram::RELATIVE_ERROR_BOUND;
use babyshield_slo::{LatencyHistogram, SloEngine, Window};
use common::{exact_quantile, Distribution, SplitMix64, T0};
use proptest::prelude::*;

const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

fn draw(distribution: Distribution, seed: u64, count: usize) -> Vec<Duration> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| distribution.sample(&mut rng)).collect()
}

fn relative_error(estimate: f64, exact: f64) -> f64 {
    (estimate - exact).abs() / exact
}

fn check_histogram(distribution: Distribution, samples: &[Duration]) -> Result<(), TestCaseError> {
    let mut histogram = LatencyHistogram::new();
    for latency in samples {
        histogram.record(*latency);
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();

    prop_assert_eq!(histogram.underflow(), 0);
    prop_assert_eq!(histogram.overflow(), 0);
    for q in QUANTILES {
        let exact = exact_quantile(&sorted, q);
        let estimate = histogram
            .quantile_seconds(q)
            .expect("histogram has samples");
        let error = relative_error(estimate, exact);
        prop_assert!(
            error <= 0.01,
            "{:?} q={} exact={} estimate={} relative error={}",
            distribution,
            q,
            exact,
            estimate,
            error
        );
        prop_assert!(
            error <= RELATIVE_ERROR_BOUND + 1e-12,
            "{:?} q={}",
            distribution,
            q
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn uniform_quantiles_within_one_percent(seed: u64, count in 1usize..4_000) {
        let samples = draw(Distribution::Uniform, seed, count);
        check_histogram(Distribution::Uniform, &samples)?;
    }

    #[test]
    fn log_normal_quantiles_within_one_percent(seed: u64, count in 1usize..4_000) {
        let samples = draw(Distribution::LogNormal, seed, count);
        check_histogram(Distribution::LogNormal, &samples)?;
    }

    #[test]
    fn bimodal_quantiles_within_one_percent(seed: u64, count in 1usize..4_000) {
        let samples = draw(Distribution::HeavyTailedBimodal, seed, count);
        check_histogram(Distribution::HeavyTailedBimodal, &samples)?;
    }

    #[test]
    fn any_latency_in_range_within_bound(micros in 100u64..100_000_000) {
        let latency = Duration::from_micros(micros);
        let mut histogram = LatencyHistogram::new();
        histogram.record(latency);
        let estimate = histogram.quantile_seconds(0.5).expect("one sample");
        let error = relative_error(estimate, latency.as_secs_f64());
        prop_assert!(error <= RELATIVE_ERROR_BOUND + 1e-12, "{:?}: {}", latency, error);
    }

    #[test]
    fn merged_histograms_equal_combined(seed: u64, split in 0usize..2_000) {
        let samples = draw(Distribution::HeavyTailedBimodal, seed, 2_000);
        let (left, right) = samples.split_at(split);
        let mut merged = LatencyHistogram::new();
        let mut other = LatencyHistogram::new();
        let mut combined = LatencyHistogram::new();
        for latency in left {
            merged.record(*latency);
        }
        for latency in right {
            other.record(*latency);
        }
        for latency in &samples {
            combined.record(*latency);
        }
        merged.merge(&other);
        prop_assert_eq!(merged, combined);
    }
}

/// The engine's report uses the same histogram, so its quantiles must meet
/// the same bound.
#[test]
fn engine_quantiles_within_one_percent() {
    for (seed, distribution) in Distribution::ALL.into_iter().enumerate() {
        let samples = draw(distribution, seed as u64 + 11, 5_000);
        let engine = SloEngine::with_defaults(T0);
        for (index, latency) in samples.iter().enumerate() {
            engine.record(T0 + index as u64, *latency, false);
        }
        let mut sorted = samples.clone();
        sorted.sort_unstable();

        let report = engine.evaluate(T0 + 10_000);
        let latency = report.objectives.latency.latency.expect("latency details");
        for window in Window::ALL {
            for (q, estimates) in [
                (0.5, &latency.p50_seconds),
                (0.95, &latency.p95_seconds),
                (0.99, &latency.p99_seconds),
            ] {
                let exact = exact_quantile(&sorted, q);
                let error = relative_error(*estimates.get(window), exact);
                assert!(
                    error <= 0.01,
                    "{distribution:?} {window} q={q}: relative error {error}"
                );
            }
        }
    }
}

#[test]
fn out_of_range_latencies_are_clamped_and_counted() {
    let engine = SloEngine::with_defaults(T0);
    engine.record(T0, Duration::from_micros(20), false);
    engine.record(T0, Duration::ZERO, false);
    engine.record(T0, Duration::from_secs(600), false);
    engine.record(T0, Duration::from_millis(300), false);

    let report = engine.evaluate(T0);
    let latency = report.objectives.latency.latency.expect("latency details");
    assert_eq!(*latency.underflow_events.get(Window::FiveMinutes), 2);
    assert_eq!(*latency.overflow_events.get(Window::FiveMinutes), 1);
    assert_eq!(*latency.overflow_events.get(Window::ThirtyDays), 1);
    assert_eq!(*latency.p50_seconds.get(Window::FiveMinutes), 0.0001);
    assert!(*latency.p99_seconds.get(Window::FiveMinutes) > 108.9);
    assert_eq!(
        *report.objectives.latency.bad_events.get(Window::OneHour),
        1
    );
}
