//! Bounded HTTP load for the BabyShield benchmarks.
//!
//! Two modes, both bounded by `--duration-s`:
//!
//! - open loop (`--rate N`): request i is due at `start + i / N`, whatever
//!   the earlier requests are doing, and its latency is counted from the due
//!   time, so a slow server cannot hide its queueing by slowing the
//!   generator down (no coordinated omission). The summary reports how late
//!   the generator sent (`send_lag_ms`), which shows whether it kept up;
//! - closed loop (`--concurrency N`): N workers each send the next request
//!   when the previous one has finished, like `wrk -cN`.
//!
//! With `--poll-ms`, each target's `/api/v1/monitoring/readyz` is polled at
//! that interval and every poll is logged. With `--balance` as well, requests
//! go round-robin only to targets whose latest poll returned 200 less than
//! three intervals ago, as a load balancer with a short health-check
//! interval would route; with no ready target a request fails at once as
//! `no_target`.
//!
//! Only loopback targets are accepted.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "Bounded HTTP load generator for the BabyShield benchmarks")]
struct Options {
    /// Base URL of a service instance, e.g. http://127.0.0.1:18080;
    /// repeat for several instances.
    #[arg(long = "target", required = true)]
    targets: Vec<String>,

    /// Request path.
    #[arg(long, default_value = "/api/v1/search/advanced")]
    path: String,

    /// File of JSON request bodies, one per line, sent as POST in turn;
    /// without it requests are GET.
    #[arg(long)]
    bodies: Option<std::path::PathBuf>,

    /// Open loop: requests per second.
    #[arg(long, conflicts_with = "concurrency")]
    rate: Option<f64>,

    /// Closed loop: number of workers, each with one request in flight.
    #[arg(long)]
    concurrency: Option<usize>,

    /// Length of the run, in seconds.
    #[arg(long)]
    duration_s: f64,

    /// Client time limit of each request, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,

    /// Open loop: maximum requests in flight; a due request beyond it is
    /// not sent and is counted as `skipped`.
    #[arg(long, default_value_t = 2_000)]
    max_in_flight: usize,

    /// Poll interval of each target's readiness endpoint, in milliseconds;
    /// 0 disables polling.
    #[arg(long, default_value_t = 0)]
    poll_ms: u64,

    /// Client time limit of each readiness poll, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    poll_timeout_ms: u64,

    /// Route only to targets whose latest readiness poll returned 200
    /// (needs --poll-ms).
    #[arg(long, requires = "poll_ms")]
    balance: bool,

    /// Requests to send before the measured run, at most 50 per second,
    /// e.g. to fill a cache; they are not counted.
    #[arg(long, default_value_t = 0)]
    warmup_requests: usize,

    /// CSV of every request:
    /// due_unix_ms,latency_ms,status,target,retry_after,error.
    #[arg(long)]
    requests_log: Option<std::path::PathBuf>,

    /// CSV of every readiness poll: unix_ms,target,status,latency_ms,body.
    #[arg(long)]
    poll_log: Option<std::path::PathBuf>,

    /// Write the JSON summary here as well as to standard output.
    #[arg(long)]
    summary: Option<std::path::PathBuf>,
}

/// Outcome of one request.
#[derive(Clone)]
struct Record {
    due_unix_ms: f64,
    /// From the due time (open loop) or the send time (closed loop).
    latency: Duration,
    /// How late the request was sent after its due time (open loop).
    send_lag: Duration,
    /// HTTP status, or 0 when no response arrived.
    status: u16,
    target: usize,
    retry_after: bool,
    error: &'static str,
}

/// Outcome of one readiness poll.
struct Poll {
    unix_ms: f64,
    target: usize,
    status: u16,
    latency: Duration,
    body: String,
}

/// Latest readiness of one target, for the balancer.
#[derive(Clone, Copy)]
struct TargetState {
    ready: bool,
    answered: Option<Instant>,
}

struct Shared {
    client: reqwest::Client,
    urls: Vec<String>,
    bodies: Vec<Body>,
    timeout: Duration,
    balance_stale_after: Option<Duration>,
    states: Mutex<Vec<TargetState>>,
    next_target: AtomicUsize,
    records: Mutex<Vec<Record>>,
}

/// One request body, or none for GET.
type Body = Option<Arc<[u8]>>;

fn unix_ms_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Rejects any target that is not a loopback address.
fn check_loopback(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid target {url:?}: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("target {url:?} has no host"))?;
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!("target {url:?} is not a loopback address"))
    }
}

impl Shared {
    /// Picks the next target round-robin, among ready ones when balancing.
    fn pick_target(&self) -> Option<usize> {
        let n = self.urls.len();
        let start = self.next_target.fetch_add(1, Ordering::Relaxed);
        let Some(stale_after) = self.balance_stale_after else {
            return Some(start % n);
        };
        let states = self.states.lock().ok()?;
        (0..n).map(|k| (start + k) % n).find(|&i| {
            let state = states[i];
            state.ready && state.answered.is_some_and(|t| t.elapsed() < stale_after)
        })
    }

    async fn send(&self, index: usize, due: Instant, due_unix_ms: f64) -> Record {
        let sent = Instant::now();
        let send_lag = sent.saturating_duration_since(due);
        let Some(target) = self.pick_target() else {
            return Record {
                due_unix_ms,
                latency: Duration::ZERO,
                send_lag,
                status: 0,
                target: usize::MAX,
                retry_after: false,
                error: "no_target",
            };
        };
        let url = &self.urls[target];
        let body = &self.bodies[index % self.bodies.len()];
        let request = match body {
            Some(bytes) => self
                .client
                .post(url)
                .header("content-type", "application/json")
                .body(bytes.to_vec()),
            None => self.client.get(url),
        };
        let outcome = request.timeout(self.timeout).send().await;
        let (status, retry_after, error) = match outcome {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                // Read the whole body so the connection can be reused and
                // the latency includes the transfer.
                match response.bytes().await {
                    Ok(_) => (status, retry_after, ""),
                    Err(e) if e.is_timeout() => (0, false, "timeout"),
                    Err(_) => (0, false, "body"),
                }
            }
            Err(e) if e.is_timeout() => (0, false, "timeout"),
            Err(e) if e.is_connect() => (0, false, "connect"),
            Err(_) => (0, false, "other"),
        };
        Record {
            due_unix_ms,
            latency: due.elapsed(),
            send_lag,
            status,
            target,
            retry_after,
            error,
        }
    }
}

async fn poll_loop(
    shared: Arc<Shared>,
    bases: Vec<String>,
    interval: Duration,
    timeout: Duration,
    until: Instant,
    polls: Arc<Mutex<Vec<Poll>>>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < until {
        ticker.tick().await;
        let mut handles = Vec::new();
        for (target, base) in bases.iter().enumerate() {
            let shared = Arc::clone(&shared);
            let polls = Arc::clone(&polls);
            let url = format!("{base}/api/v1/monitoring/readyz");
            handles.push(tokio::spawn(async move {
                let unix_ms = unix_ms_now();
                let started = Instant::now();
                let outcome = shared.client.get(&url).timeout(timeout).send().await;
                let (status, body) = match outcome {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        (status, response.text().await.unwrap_or_default())
                    }
                    Err(e) if e.is_timeout() => (0, "timeout".to_owned()),
                    Err(e) if e.is_connect() => (0, "connect".to_owned()),
                    Err(_) => (0, "error".to_owned()),
                };
                let latency = started.elapsed();
                if let Ok(mut states) = shared.states.lock() {
                    states[target] = TargetState {
                        ready: status == 200,
                        answered: Some(Instant::now()),
                    };
                }
                if let Ok(mut polls) = polls.lock() {
                    polls.push(Poll {
                        unix_ms,
                        target,
                        status,
                        latency,
                        body,
                    });
                }
            }));
        }
        for handle in handles {
            let _ = handle.await;
        }
    }
}

async fn open_loop(
    shared: Arc<Shared>,
    rate: f64,
    duration: Duration,
    max_in_flight: usize,
) -> usize {
    let total = (rate * duration.as_secs_f64()).round() as usize;
    let period = Duration::from_secs_f64(1.0 / rate);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    let start = Instant::now();
    let start_unix_ms = unix_ms_now();
    let mut skipped = 0;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + period * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let shared = Arc::clone(&shared);
        let due_unix_ms = start_unix_ms + (due - start).as_secs_f64() * 1000.0;
        tasks.spawn(async move {
            let record = shared.send(i, due, due_unix_ms).await;
            drop(permit);
            if let Ok(mut records) = shared.records.lock() {
                records.push(record);
            }
        });
        // Reap finished tasks so the set does not grow for the whole run.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    skipped
}

async fn closed_loop(shared: Arc<Shared>, workers: usize, duration: Duration) {
    let until = Instant::now() + duration;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let shared = Arc::clone(&shared);
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            let mut local = Vec::new();
            while Instant::now() < until {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let due = Instant::now();
                local.push(shared.send(index, due, unix_ms_now()).await);
            }
            if let Ok(mut records) = shared.records.lock() {
                records.extend(local);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Nearest-rank percentile of sorted milliseconds.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn latency_summary(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(f64::total_cmp);
    let round = |v: Option<f64>| v.map(|v| (v * 1000.0).round() / 1000.0);
    serde_json::json!({
        "count": ms.len(),
        "p50_ms": round(percentile(&ms, 50.0)),
        "p95_ms": round(percentile(&ms, 95.0)),
        "p99_ms": round(percentile(&ms, 99.0)),
        "max_ms": round(ms.last().copied()),
    })
}

fn summarize(
    records: &[Record],
    skipped: usize,
    elapsed: Duration,
    options: &Options,
) -> serde_json::Value {
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_class: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for record in records {
        let key = match record.status {
            0 => record.error.to_owned(),
            status => status.to_string(),
        };
        *by_status.entry(key.clone()).or_default() += 1;
        by_class
            .entry(key)
            .or_default()
            .push(record.latency.as_secs_f64() * 1000.0);
    }
    let all: Vec<f64> = records
        .iter()
        .map(|r| r.latency.as_secs_f64() * 1000.0)
        .collect();
    let lag: Vec<f64> = records
        .iter()
        .map(|r| r.send_lag.as_secs_f64() * 1000.0)
        .collect();
    let ok = records
        .iter()
        .filter(|r| (200..300).contains(&r.status))
        .count();
    let retry_after_503 = records
        .iter()
        .filter(|r| r.status == 503 && r.retry_after)
        .count();
    let per_status: serde_json::Map<String, serde_json::Value> = by_class
        .into_iter()
        .map(|(status, ms)| (status, latency_summary(ms)))
        .collect();
    serde_json::json!({
        "mode": if options.rate.is_some() { "open_loop" } else { "closed_loop" },
        "rate": options.rate,
        "concurrency": options.concurrency,
        "duration_s": options.duration_s,
        "elapsed_s": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "requests": records.len(),
        "skipped": skipped,
        "ok_2xx": ok,
        "failed": records.len() - ok,
        "achieved_rps": (records.len() as f64 / elapsed.as_secs_f64() * 10.0).round() / 10.0,
        "by_status": by_status,
        "with_retry_after_503": retry_after_503,
        "latency": latency_summary(all),
        "latency_by_status": per_status,
        "send_lag_ms": latency_summary(lag),
    })
}

fn write_logs(options: &Options, records: &[Record], polls: &[Poll]) -> std::io::Result<()> {
    if let Some(path) = &options.requests_log {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(
            out,
            "due_unix_ms,latency_ms,status,target,retry_after,error"
        )?;
        for r in records {
            let target = if r.target == usize::MAX {
                -1
            } else {
                r.target as i64
            };
            writeln!(
                out,
                "{:.3},{:.3},{},{},{},{}",
                r.due_unix_ms,
                r.latency.as_secs_f64() * 1000.0,
                r.status,
                target,
                u8::from(r.retry_after),
                r.error
            )?;
        }
    }
    if let Some(path) = &options.poll_log {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(out, "unix_ms,target,status,latency_ms,body")?;
        for p in polls {
            let body = p.body.replace(['\n', '\r'], " ").replace('"', "'");
            writeln!(
                out,
                "{:.3},{},{},{:.3},\"{}\"",
                p.unix_ms,
                p.target,
                p.status,
                p.latency.as_secs_f64() * 1000.0,
                body
            )?;
        }
    }
    Ok(())
}

fn read_bodies(options: &Options) -> Result<Vec<Body>, String> {
    let Some(path) = &options.bodies else {
        return Ok(vec![None]);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading {} failed: {e}", path.display()))?;
    let bodies: Vec<Body> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| Some(Arc::from(line.as_bytes())))
        .collect();
    if bodies.is_empty() {
        return Err(format!("{} contains no request body", path.display()));
    }
    Ok(bodies)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = Options::parse();
    if options.rate.is_none() == options.concurrency.is_none() {
        return Err("give exactly one of --rate and --concurrency".into());
    }
    if !(options.duration_s > 0.0 && options.duration_s <= 600.0) {
        return Err("--duration-s must be above 0 and at most 600".into());
    }
    for target in &options.targets {
        check_loopback(target)?;
    }
    let bodies = read_bodies(&options)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("building the HTTP client failed: {e}"))?;
    let bases: Vec<String> = options
        .targets
        .iter()
        .map(|t| t.trim_end_matches('/').to_owned())
        .collect();
    let poll_interval = Duration::from_millis(options.poll_ms);
    let shared = Arc::new(Shared {
        client,
        urls: bases
            .iter()
            .map(|b| format!("{b}{}", options.path))
            .collect(),
        bodies,
        timeout: Duration::from_millis(options.timeout_ms),
        balance_stale_after: options.balance.then_some(poll_interval * 3),
        states: Mutex::new(vec![
            TargetState {
                ready: false,
                answered: None,
            };
            bases.len()
        ]),
        next_target: AtomicUsize::new(0),
        records: Mutex::new(Vec::new()),
    });

    for i in 0..options.warmup_requests {
        let due = Instant::now();
        let _ = shared.send(i, due, unix_ms_now()).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Ok(mut records) = shared.records.lock() {
        records.clear();
    }

    let duration = Duration::from_secs_f64(options.duration_s);
    let polls = Arc::new(Mutex::new(Vec::new()));
    let poller = (options.poll_ms > 0).then(|| {
        tokio::spawn(poll_loop(
            Arc::clone(&shared),
            bases.clone(),
            poll_interval,
            Duration::from_millis(options.poll_timeout_ms),
            Instant::now() + duration,
            Arc::clone(&polls),
        ))
    });
    if options.balance {
        // Route nothing before the first poll of every target has returned.
        let waited = Instant::now();
        while waited.elapsed() < Duration::from_secs(5) {
            let known = shared
                .states
                .lock()
                .map(|s| s.iter().all(|t| t.answered.is_some()))
                .unwrap_or(false);
            if known {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    let started = Instant::now();
    let skipped = match (options.rate, options.concurrency) {
        (Some(rate), _) => {
            open_loop(Arc::clone(&shared), rate, duration, options.max_in_flight).await
        }
        (None, Some(workers)) => {
            closed_loop(Arc::clone(&shared), workers, duration).await;
            0
        }
        (None, None) => 0,
    };
    let elapsed = started.elapsed();
    if let Some(poller) = poller {
        let _ = poller.await;
    }

    let mut records = shared
        .records
        .lock()
        .map(|r| r.clone())
        .map_err(|_| "a request task panicked".to_owned())?;
    records.sort_by(|a, b| a.due_unix_ms.total_cmp(&b.due_unix_ms));
    let polls = std::mem::take(
        &mut *polls
            .lock()
            .map_err(|_| "a poll task panicked".to_owned())?,
    );
    let summary = summarize(&records, skipped, elapsed, &options);
    write_logs(&options, &records, &polls).map_err(|e| format!("writing logs failed: {e}"))?;
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    println!("{text}");
    if let Some(path) = &options.summary {
        std::fs::write(path, &text)
            .map_err(|e| format!("writing {} failed: {e}", path.display()))?;
    }
    Ok(())
}
