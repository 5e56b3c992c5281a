//! Mergeable latency histogram with logarithmic buckets.
//!
//! Regular bucket `k` (0-based) counts latencies in
//! `[100 µs · γ^k, 100 µs · γ^(k+1))` with `γ = 1.02`, and 702 such buckets
//! reach 108.97 s. Latencies below 100 µs go to an underflow bucket and
//! latencies of 108.97 s or more to an overflow bucket, so every latency is
//! counted, but those two buckets are reported at the range limits.
//!
//! A bucket is represented by `2γL / (γ + 1)`, where `L` is its lower bound.
//! For any latency `v` in `[L, γL)` this value is within
//! `(γ − 1) / (γ + 1) ≈ 0.99 %` of `v`. So each quantile computed from the
//! histogram is within that relative error of the sample that the
//! nearest-rank definition selects, as long as that sample lies inside the
//! range.
//!
//! Histograms merge exactly: merging adds counts bucket by bucket, so the
//! merge of two histograms equals one histogram fed both sets of samples.

use std::fmt;
use std::time::Duration;

/// Lower limit of the tracked range, in seconds (100 µs).
pub const MIN_TRACKED_SECONDS: f64 = 1e-4;

/// Ratio between the upper and lower bound of every regular bucket.
pub const GAMMA: f64 = 1.02;

/// Number of regular (non-clamping) buckets.
pub const REGULAR_BUCKETS: usize = 702;

/// Number of buckets including the underflow and overflow buckets.
pub const BUCKET_COUNT: usize = REGULAR_BUCKETS + 2;

/// Index of the bucket counting latencies below [`MIN_TRACKED_SECONDS`].
pub const UNDERFLOW_BUCKET: usize = 0;

/// Index of the bucket counting latencies at or above [`max_tracked_seconds`].
pub const OVERFLOW_BUCKET: usize = BUCKET_COUNT - 1;

/// Maximum relative error of a quantile whose nearest-rank sample lies inside
/// the tracked range: `(γ − 1) / (γ + 1)`, about 0.0099.
pub const RELATIVE_ERROR_BOUND: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);

/// Lower bounds of the regular buckets: entry `k` is `100 µs · γ^k`, and the
/// last entry (`k = 702`) is the upper limit of the range. Built by repeated
/// multiplication at compile time; the rounding that adds up over 702 steps
/// stays below 1e-12 relative, far inside the error bound.
static LOWER_BOUNDS: [f64; REGULAR_BUCKETS + 1] = lower_bounds();

const fn lower_bounds() -> [f64; REGULAR_BUCKETS + 1] {
    let mut bounds = [0.0; REGULAR_BUCKETS + 1];
    let mut bound = MIN_TRACKED_SECONDS;
    let mut k = 0;
    while k <= REGULAR_BUCKETS {
        bounds[k] = bound;
        bound *= GAMMA;
        k += 1;
    }
    bounds
}

/// `1 / log2(γ)`: regular buckets per doubling of the latency.
const BUCKETS_PER_OCTAVE: f64 = 35.002_788_781_146_5;

/// `log2(100 µs)`.
const LOG2_MIN_TRACKED_SECONDS: f64 = -13.287_712_379_549_449;

/// Returns the upper limit of the tracked range in seconds, `100 µs · γ^702`
/// (about 108.97 s).
pub fn max_tracked_seconds() -> f64 {
    LOWER_BOUNDS[REGULAR_BUCKETS]
}

/// Approximates `log2(x)` for a positive normal `x` to within 0.0014: the
/// exponent bits give the integer part, and a cubic least-squares fit of
/// `log2(m)` on the mantissa `m` in `[1, 2)` gives the rest.
#[inline]
fn approximate_log2(x: f64) -> f64 {
    const MANTISSA_MASK: u64 = (1 << 52) - 1;
    const EXPONENT_OF_ONE: u64 = 1023 << 52;
    let bits = x.to_bits();
    let exponent = (bits >> 52) as i64 - 1023;
    let t = f64::from_bits((bits & MANTISSA_MASK) | EXPONENT_OF_ONE) - 1.0;
    let fraction = 0.001_334_539_239_396_261
        + t * (1.413_485_390_195_403_2
            + t * (-0.567_752_150_399_118_1 + t * 0.153_913_534_669_629_3));
    exponent as f64 + fraction
}

/// Returns the bucket index (`0..BUCKET_COUNT`) that counts `latency`.
///
/// Runs on the recording hot path, so it avoids `f64::ln`: an approximate
/// logarithm (off by less than 0.05 bucket) picks a bucket, and comparisons
/// with the
/// table of bucket bounds correct it to the exact one.
#[inline]
pub fn bucket_index(latency: Duration) -> usize {
    let seconds = latency.as_secs_f64();
    if seconds < MIN_TRACKED_SECONDS {
        return UNDERFLOW_BUCKET;
    }
    if seconds >= LOWER_BOUNDS[REGULAR_BUCKETS] {
        return OVERFLOW_BUCKET;
    }
    let estimate = (approximate_log2(seconds) - LOG2_MIN_TRACKED_SECONDS) * BUCKETS_PER_OCTAVE;
    // The saturating `as` conversion maps a slightly negative estimate to 0.
    let mut k = (estimate as usize).min(REGULAR_BUCKETS - 1);
    // Both loops stop inside the table: LOWER_BOUNDS[0] <= seconds <
    // LOWER_BOUNDS[REGULAR_BUCKETS].
    while seconds < LOWER_BOUNDS[k] {
        k -= 1;
    }
    while seconds >= LOWER_BOUNDS[k + 1] {
        k += 1;
    }
    k + 1
}

/// Returns the value, in seconds, that stands for every latency counted in
/// bucket `index`: the harmonic mean `2LU / (L + U)` of its bounds, which is
/// within [`RELATIVE_ERROR_BOUND`] of every value in `[L, U)`.
///
/// The underflow bucket returns [`MIN_TRACKED_SECONDS`] and the overflow
/// bucket [`max_tracked_seconds`], because the latencies they count were
/// clamped to the range.
///
/// # Panics
///
/// Panics if `index >= BUCKET_COUNT`.
pub fn bucket_value_seconds(index: usize) -> f64 {
    assert!(
        index < BUCKET_COUNT,
        "bucket index {index} is out of range 0..{BUCKET_COUNT}"
    );
    match index {
        UNDERFLOW_BUCKET => MIN_TRACKED_SECONDS,
        OVERFLOW_BUCKET => max_tracked_seconds(),
        _ => {
            let lower = LOWER_BOUNDS[index - 1];
            let upper = LOWER_BOUNDS[index];
            2.0 * lower * upper / (lower + upper)
        }
    }
}

/// Returns the 1-based nearest rank of quantile `q` among `count` samples:
/// `ceil(q · count)`, clamped to `1..=count`.
///
/// `q` is clamped to `[0, 1]` and NaN counts as 0. Returns 0 only when
/// `count` is 0.
pub fn nearest_rank(q: f64, count: u64) -> u64 {
    if count == 0 {
        return 0;
    }
    let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
    // The product is at most `count`, so the conversion back cannot overflow.
    let rank = (q * count as f64).ceil() as u64;
    rank.clamp(1, count)
}

/// Latency histogram with [`BUCKET_COUNT`] logarithmic buckets.
///
/// Not thread-safe on its own: the engine keeps atomic copies of these
/// buckets per time slot and builds a `LatencyHistogram` when it evaluates.
#[derive(Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: [u64; BUCKET_COUNT],
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Printing 704 mostly-zero counts hides the data, so print the
        // non-empty buckets only.
        let non_empty: Vec<(usize, u64)> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(index, count)| (index, *count))
            .collect();
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count())
            .field("non_empty_buckets", &non_empty)
            .finish()
    }
}

impl LatencyHistogram {
    /// Creates an empty histogram.
    pub fn new() -> Self {
        Self {
            counts: [0; BUCKET_COUNT],
        }
    }

    /// Counts one latency.
    pub fn record(&mut self, latency: Duration) {
        self.add_to_bucket(bucket_index(latency), 1);
    }

    /// Adds `count` samples to bucket `index`, saturating at `u64::MAX`.
    ///
    /// # Panics
    ///
    /// Panics if `index >= BUCKET_COUNT`.
    pub fn add_to_bucket(&mut self, index: usize, count: u64) {
        self.counts[index] = self.counts[index].saturating_add(count);
    }

    /// Adds every bucket of `other` to this histogram.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (ours, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *ours = ours.saturating_add(*theirs);
        }
    }

    /// Per-bucket counts, indexed as [`bucket_index`] returns.
    pub fn counts(&self) -> &[u64; BUCKET_COUNT] {
        &self.counts
    }

    /// Mutable per-bucket counts, for accumulating without per-sample calls.
    pub(crate) fn counts_mut(&mut self) -> &mut [u64; BUCKET_COUNT] {
        &mut self.counts
    }

    /// Total number of samples, including clamped ones.
    pub fn count(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |total, count| total.saturating_add(*count))
    }

    /// Number of samples below [`MIN_TRACKED_SECONDS`], counted as that value.
    pub fn underflow(&self) -> u64 {
        self.counts[UNDERFLOW_BUCKET]
    }

    /// Number of samples at or above [`max_tracked_seconds`], counted as that
    /// value.
    pub fn overflow(&self) -> u64 {
        self.counts[OVERFLOW_BUCKET]
    }

    /// Estimates quantile `q` in seconds with the nearest-rank definition
    /// (see [`nearest_rank`]). Returns `None` for an empty histogram.
    ///
    /// The estimate is within [`RELATIVE_ERROR_BOUND`] of the exact
    /// nearest-rank sample when that sample lies inside the tracked range.
    pub fn quantile_seconds(&self, q: f64) -> Option<f64> {
        let rank = nearest_rank(q, self.count());
        if rank == 0 {
            return None;
        }
        let mut cumulative = 0u64;
        for (index, count) in self.counts.iter().enumerate() {
            cumulative = cumulative.saturating_add(*count);
            if cumulative >= rank {
                return Some(bucket_value_seconds(index));
            }
        }
        // The cumulative count reaches count() >= rank in the last bucket.
        Some(bucket_value_seconds(OVERFLOW_BUCKET))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logarithm_constants_match() {
        assert!((BUCKETS_PER_OCTAVE - 1.0 / GAMMA.log2()).abs() < 1e-12);
        assert!((LOG2_MIN_TRACKED_SECONDS - MIN_TRACKED_SECONDS.log2()).abs() < 1e-12);
    }

    #[test]
    fn approximate_log2_error_is_small() {
        let mut x = MIN_TRACKED_SECONDS;
        while x < 200.0 {
            assert!((approximate_log2(x) - x.log2()).abs() < 0.0014, "{x}");
            x *= 1.001;
        }
    }

    #[test]
    fn bounds_grow_by_gamma() {
        for (k, bound) in LOWER_BOUNDS.iter().enumerate() {
            let expected = MIN_TRACKED_SECONDS * GAMMA.powi(k as i32);
            assert!((bound - expected).abs() / expected < 1e-12, "{k}");
        }
    }

    #[test]
    fn range_covers_100_microseconds_to_60_seconds() {
        assert_eq!(bucket_index(Duration::from_micros(100)), 1);
        assert_eq!(bucket_index(Duration::from_micros(99)), UNDERFLOW_BUCKET);
        assert!(bucket_index(Duration::from_secs(60)) < OVERFLOW_BUCKET);
        assert_eq!(bucket_index(Duration::from_secs(109)), OVERFLOW_BUCKET);
        assert!((max_tracked_seconds() - 108.973_418_982_284_4).abs() < 1e-9);
    }

    #[test]
    fn bucket_values_are_within_bound_of_their_range() {
        for k in 0..REGULAR_BUCKETS {
            let lower = LOWER_BOUNDS[k];
            let upper = LOWER_BOUNDS[k + 1];
            let value = bucket_value_seconds(k + 1);
            assert!((value - lower) / lower <= RELATIVE_ERROR_BOUND + 1e-12);
            assert!((upper - value) / upper <= RELATIVE_ERROR_BOUND + 1e-12);
        }
    }

    #[test]
    fn index_matches_bucket_bounds() {
        for k in 0..REGULAR_BUCKETS {
            let lower = LOWER_BOUNDS[k];
            let upper = LOWER_BOUNDS[k + 1];
            for seconds in [lower, lower * 1.01, upper - upper * 1e-12] {
                // Durations have nanosecond resolution, so check values that
                // survive the round trip.
                let latency = Duration::from_secs_f64(seconds);
                let exact = latency.as_secs_f64();
                let expected = if exact < lower {
                    k
                } else if exact >= upper {
                    k + 2
                } else {
                    k + 1
                };
                assert_eq!(bucket_index(latency), expected, "bucket {k}, {exact} s");
            }
        }
    }

    #[test]
    fn nearest_rank_definition() {
        assert_eq!(nearest_rank(0.95, 0), 0);
        assert_eq!(nearest_rank(0.0, 10), 1);
        assert_eq!(nearest_rank(0.5, 10), 5);
        assert_eq!(nearest_rank(0.95, 10), 10);
        assert_eq!(nearest_rank(0.99, 1000), 990);
        assert_eq!(nearest_rank(1.0, 7), 7);
        assert_eq!(nearest_rank(f64::NAN, 7), 1);
    }

    #[test]
    fn empty_histogram_has_no_quantile() {
        assert_eq!(LatencyHistogram::new().quantile_seconds(0.5), None);
    }
}
