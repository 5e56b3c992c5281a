//! Compares p95 estimates with the exact p95 of 1,000,000 samples per
//! latency distribution: the engine's histogram against Prometheus'
//! `histogram_quantile` over common HTTP buckets.
//!
//! Run with `cargo run --release -p babyshield-slo --example accuracy`.
//! Samples come from a fixed seed, so every run prints the same table.

use std::time::Duration;

use babyshield_slo::{SloEngine, Window};

const SAMPLES: usize = 1_000_000;

/// Upper bounds, in seconds, of the HTTP histogram that Prometheus would use;
/// an implicit `+Inf` bucket follows.
const HTTP_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0, 10.0,
];

/// An hour-aligned unix time in milliseconds.
const T0: u64 = 1_699_999_200_000;

/// SplitMix64 random generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal, by the Box–Muller transform.
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Draws one latency in seconds.
type Sampler = fn(&mut SplitMix64) -> f64;

fn log_normal(rng: &mut SplitMix64) -> f64 {
    0.2 * (0.6 * rng.normal()).exp()
}

/// 90 % log-normal around 40 ms and 10 % around 700 ms, both with σ 0.2.
fn bimodal(rng: &mut SplitMix64) -> f64 {
    let median = if rng.uniform() < 0.9 { 0.04 } else { 0.7 };
    median * (0.2 * rng.normal()).exp()
}

fn uniform(rng: &mut SplitMix64) -> f64 {
    0.05 + 0.9 * rng.uniform()
}

/// Exact nearest-rank quantile: the ceil(q·n)-th smallest sample.
fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Computes what Prometheus' `histogram_quantile(q, …)` returns for these
/// cumulative bucket counts, following its documented behaviour. It finds the
/// bucket where the cumulative count reaches `q · count` and interpolates
/// linearly between its lower and upper bound. The first bucket starts at 0,
/// and a rank in the `+Inf` bucket returns the highest finite bound.
fn prometheus_histogram_quantile(q: f64, bounds: &[f64], cumulative: &[u64], total: u64) -> f64 {
    let rank = q * total as f64;
    let mut lower = 0.0;
    let mut below = 0u64;
    for (upper, count) in bounds.iter().zip(cumulative) {
        if *count as f64 >= rank {
            let in_bucket = (*count - below) as f64;
            return lower + (upper - lower) * (rank - below as f64) / in_bucket;
        }
        lower = *upper;
        below = *count;
    }
    lower
}

fn main() {
    let distributions: [(&str, Sampler); 3] = [
        ("log-normal, median 200 ms, sigma 0.6", log_normal),
        ("bimodal, 90 % ~40 ms + 10 % ~700 ms", bimodal),
        ("uniform 50-950 ms", uniform),
    ];

    println!("samples per distribution: {SAMPLES}");
    println!(
        "| distribution | exact p95 (ms) | engine p95 (ms) | engine error | Prometheus p95 (ms) | Prometheus error |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (seed, (name, sample)) in distributions.into_iter().enumerate() {
        let mut rng = SplitMix64(0xACC0_0000 + seed as u64);
        let engine = SloEngine::with_defaults(T0);
        let mut cumulative = [0u64; HTTP_BUCKETS.len()];
        let mut samples = Vec::with_capacity(SAMPLES);

        for index in 0..SAMPLES {
            let latency = Duration::from_secs_f64(sample(&mut rng));
            // Spread the samples over 1,000 seconds, all inside the 1 h window.
            engine.record(T0 + (index / 1_000) as u64, latency, false);
            let seconds = latency.as_secs_f64();
            for (bound, count) in HTTP_BUCKETS.iter().zip(cumulative.iter_mut()) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
            samples.push(seconds);
        }

        samples.sort_unstable_by(f64::total_cmp);
        let exact = exact_quantile(&samples, 0.95);
        let report = engine.evaluate(T0 + 1_000_000);
        let latency = report
            .objectives
            .latency
            .latency
            .expect("the latency objective reports quantiles");
        let engine_p95 = *latency.p95_seconds.get(Window::OneHour);
        let prometheus_p95 =
            prometheus_histogram_quantile(0.95, &HTTP_BUCKETS, &cumulative, SAMPLES as u64);

        let relative = |estimate: f64| (estimate - exact) / exact * 100.0;
        println!(
            "| {name} | {:.2} | {:.2} | {:+.3} % | {:.2} | {:+.2} % |",
            exact * 1e3,
            engine_p95 * 1e3,
            relative(engine_p95),
            prometheus_p95 * 1e3,
            relative(prometheus_p95),
        );
    }
}
