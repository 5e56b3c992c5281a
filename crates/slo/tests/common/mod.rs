//! Helpers shared by the integration tests: a seeded random generator, the
//! latency distributions and fixed timestamps.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

/// An hour-aligned unix time (2023-11-14 22:00:00 UTC), so that windows made
/// of whole slots line up with the replayed traffic.
pub const T0: u64 = 1_699_999_200_000;

pub const SECOND: u64 = 1_000;
pub const MINUTE: u64 = 60 * SECOND;
pub const HOUR: u64 = 60 * MINUTE;
pub const DAY: u64 = 24 * HOUR;

/// SplitMix64: small, fast and good enough to draw test latencies.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal, by the Box–Muller transform.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Latency distributions used by the accuracy tests.
#[derive(Debug, Clone, Copy)]
pub enum Distribution {
    /// Uniform between 1 ms and 2 s.
    Uniform,
    /// Log-normal with median 200 ms and σ 0.6.
    LogNormal,
    /// 90 % log-normal around 40 ms, 10 % Pareto from 500 ms (α 1.2), capped
    /// at 100 s so that every sample stays inside the histogram range.
    HeavyTailedBimodal,
}

impl Distribution {
    pub const ALL: [Distribution; 3] = [
        Distribution::Uniform,
        Distribution::LogNormal,
        Distribution::HeavyTailedBimodal,
    ];

    pub fn sample(self, rng: &mut SplitMix64) -> Duration {
        let seconds = match self {
            Distribution::Uniform => 0.001 + rng.next_f64() * 1.999,
            Distribution::LogNormal => 0.2 * (0.6 * rng.normal()).exp(),
            Distribution::HeavyTailedBimodal => {
                if rng.next_f64() < 0.9 {
                    0.04 * (0.3 * rng.normal()).exp()
                } else {
                    let u = 1.0 - rng.next_f64();
                    (0.5 * u.powf(-1.0 / 1.2)).min(100.0)
                }
            }
        };
        Duration::from_secs_f64(seconds)
    }
}

/// Exact nearest-rank quantile of `sorted` samples: the ceil(q·n)-th smallest.
pub fn exact_quantile(sorted: &[Duration], q: f64) -> f64 {
    let n = sorted.len() as f64;
    let rank = ((q * n).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64()
}

/// Walks a JSON value and returns the paths of every null and non-finite
/// number.
pub fn non_finite_paths(value: &serde_json::Value, path: &str, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Null => found.push(format!("{path} is null")),
        serde_json::Value::Number(number) => match number.as_f64() {
            Some(x) if x.is_finite() => {}
            _ => found.push(format!("{path} = {number}")),
        },
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                non_finite_paths(item, &format!("{path}[{index}]"), found);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                non_finite_paths(item, &format!("{path}.{key}"), found);
            }
        }
        serde_json::Value::Bool(_) | serde_json::Value::String(_) => {}
    }
}
