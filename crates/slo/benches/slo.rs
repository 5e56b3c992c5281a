//! Benchmarks of the SLO engine: `record` on one and two threads next to a
//! Prometheus `HistogramVec` observe, a full evaluation over 30 days of
//! data, and the engine's memory (printed before the benchmarks run).
//!
//! Run with `cargo bench -p babyshield-slo --bench slo -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use babyshield_slo::histogram::bucket_index;
use babyshield_slo::SloEngine;
use criterion::Criterion;
use prometheus::{HistogramOpts, HistogramVec};

/// An hour-aligned unix time in milliseconds.
const T0: u64 = 1_699_999_200_000;

/// Upper bounds, in seconds, of a common HTTP latency histogram.
const HTTP_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0, 10.0,
];

const LABELS: [&str; 3] = ["GET", "/api/v1/recalls/search", "200"];

/// 1,024 log-normal latencies (median 200 ms, σ 0.6) from a fixed seed, so
/// every run records the same bucket pattern.
fn latencies() -> Vec<Duration> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..1024)
        .map(|_| {
            let u1 = 1.0 - uniform();
            let u2 = uniform();
            let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            Duration::from_secs_f64(0.2 * (0.6 * normal).exp())
        })
        .collect()
}

fn http_histogram() -> HistogramVec {
    let opts = HistogramOpts::new("http_request_duration_seconds", "Request latency")
        .buckets(HTTP_BUCKETS.to_vec());
    HistogramVec::new(opts, &["method", "route", "status"]).expect("valid histogram options")
}

/// Runs `work(thread_index, iterations)` on two threads at once and returns
/// the longer of their two run times, which is the wall time of `iterations`
/// calls per thread under contention.
fn run_on_two_threads<F>(iterations: u64, work: F) -> Duration
where
    F: Fn(u64, u64) + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|thread_index| {
            let work = Arc::clone(&work);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let started = Instant::now();
                work(thread_index, iterations);
                started.elapsed()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("benchmark thread panicked"))
        .max()
        .unwrap_or_default()
}

fn bench_record(c: &mut Criterion) {
    let latencies = Arc::new(latencies());
    let mut group = c.benchmark_group("record");

    let mut call = 0usize;
    group.bench_function("histogram_bucket_index", |b| {
        b.iter(|| {
            call += 1;
            black_box(bucket_index(black_box(latencies[call % 1024])))
        })
    });

    let engine = SloEngine::with_defaults(T0);
    let mut call = 0u64;
    group.bench_function("slo_engine/1_thread", |b| {
        b.iter(|| {
            // Time advances 1 ms per call, so slots rotate as in production.
            call += 1;
            let latency = latencies[(call % 1024) as usize];
            engine.record(
                black_box(T0 + call),
                black_box(latency),
                call.is_multiple_of(500),
            );
        })
    });

    let engine = Arc::new(SloEngine::with_defaults(T0));
    // Shared across samples so that time never runs backwards between them.
    let clock = Arc::new(AtomicU64::new(T0));
    group.bench_function("slo_engine/2_threads", |b| {
        b.iter_custom(|iterations| {
            let engine = Arc::clone(&engine);
            let latencies = Arc::clone(&latencies);
            let start = clock.fetch_add(iterations, Ordering::Relaxed);
            run_on_two_threads(iterations, move |thread_index, iterations| {
                for call in 0..iterations {
                    let latency = latencies[((call + thread_index * 512) % 1024) as usize];
                    engine.record(
                        black_box(start + call),
                        black_box(latency),
                        call.is_multiple_of(500),
                    );
                }
            })
        })
    });

    let histogram = http_histogram();
    let mut call = 0usize;
    group.bench_function("prometheus_histogram_vec/with_label_values", |b| {
        b.iter(|| {
            call += 1;
            let seconds = latencies[call % 1024].as_secs_f64();
            histogram
                .with_label_values(black_box(&LABELS))
                .observe(black_box(seconds));
        })
    });

    let cached = http_histogram().with_label_values(&LABELS);
    let mut call = 0usize;
    group.bench_function("prometheus_histogram_vec/cached_handle", |b| {
        b.iter(|| {
            call += 1;
            cached.observe(black_box(latencies[call % 1024].as_secs_f64()));
        })
    });

    let histogram = http_histogram();
    group.bench_function(
        "prometheus_histogram_vec/with_label_values_2_threads",
        |b| {
            b.iter_custom(|iterations| {
                let histogram = histogram.clone();
                let latencies = Arc::clone(&latencies);
                run_on_two_threads(iterations, move |thread_index, iterations| {
                    for call in 0..iterations {
                        let seconds =
                            latencies[((call + thread_index * 512) % 1024) as usize].as_secs_f64();
                        histogram
                            .with_label_values(black_box(&LABELS))
                            .observe(black_box(seconds));
                    }
                })
            })
        },
    );

    let cached = http_histogram().with_label_values(&LABELS);
    group.bench_function("prometheus_histogram_vec/cached_handle_2_threads", |b| {
        b.iter_custom(|iterations| {
            let cached = cached.clone();
            let latencies = Arc::clone(&latencies);
            run_on_two_threads(iterations, move |thread_index, iterations| {
                for call in 0..iterations {
                    let seconds =
                        latencies[((call + thread_index * 512) % 1024) as usize].as_secs_f64();
                    cached.observe(black_box(seconds));
                }
            })
        })
    });
    group.finish();
}

/// Builds an engine with one request every 10 seconds for 30 days, so that
/// every slot of both rings contains data.
fn filled_engine() -> (SloEngine, u64) {
    let latencies = latencies();
    let engine = SloEngine::with_defaults(T0);
    let end = T0 + 30 * 86_400_000;
    let mut time = T0;
    let mut call = 0usize;
    while time < end {
        engine.record(time, latencies[call % 1024], call.is_multiple_of(700));
        time += 10_000;
        call += 1;
    }
    (engine, end - 1)
}

fn bench_evaluate(c: &mut Criterion) {
    let (engine, now) = filled_engine();
    let mut group = c.benchmark_group("evaluate");
    group.bench_function("all_objectives_30_days", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(now))))
    });
    group.bench_function("all_objectives_30_days_to_json", |b| {
        b.iter(|| {
            let report = engine.evaluate(black_box(now));
            black_box(serde_json::to_string(&report).expect("report serializes"))
        })
    });
    group.finish();
}

fn print_memory() {
    let engine = SloEngine::with_defaults(T0);
    println!(
        "memory: size_of::<SloEngine>() = {} bytes, memory_bytes() = {} bytes ({:.2} MiB)",
        std::mem::size_of::<SloEngine>(),
        engine.memory_bytes(),
        engine.memory_bytes() as f64 / (1024.0 * 1024.0)
    );
}

fn main() {
    print_memory();
    let mut criterion = Criterion::default().configure_from_args();
    bench_record(&mut criterion);
    bench_evaluate(&mut criterion);
    criterion.final_summary();
}
