//! Synthetic probes: named checks of the service's own user paths, run on
//! demand by `/api/v1/monitoring/probe/{name}` and every few seconds by a
//! background task that exports `probe_success` and
//! `probe_duration_seconds`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::metrics::Metrics;

/// A synthetic check of one user path.
pub trait Probe: Send + Sync + 'static {
    /// Name used in the route and the `probe` label, e.g. `search`.
    fn name(&self) -> &'static str;

    /// Runs the probe once; the error describes the failure.
    fn run(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// Body of a probe route.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProbeResult {
    /// Probe name.
    pub probe: &'static str,
    /// Whether the probe passed.
    pub success: bool,
    /// Run time, in seconds.
    pub duration_seconds: f64,
    /// Error text of a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Runs probes with a time limit and records their outcome.
pub struct Prober {
    probes: Vec<Arc<dyn Probe>>,
    metrics: Metrics,
    timeout: Duration,
}

impl Prober {
    /// Creates a prober; each run is bounded by `timeout`.
    pub fn new(probes: Vec<Arc<dyn Probe>>, metrics: Metrics, timeout: Duration) -> Prober {
        for probe in &probes {
            // Series exist from start-up, at "failed" until the first run.
            metrics
                .probe_success
                .with_label_values(&[probe.name()])
                .set(0.0);
            metrics
                .probe_duration
                .with_label_values(&[probe.name()])
                .set(0.0);
        }
        Prober {
            probes,
            metrics,
            timeout,
        }
    }

    /// Names of the registered probes.
    pub fn names(&self) -> Vec<&'static str> {
        self.probes.iter().map(|p| p.name()).collect()
    }

    /// Runs the named probe now and records the result; `None` for an
    /// unknown name.
    pub async fn run(&self, name: &str) -> Option<ProbeResult> {
        let probe = self.probes.iter().find(|p| p.name() == name)?;
        Some(self.run_probe(probe.as_ref()).await)
    }

    async fn run_probe(&self, probe: &dyn Probe) -> ProbeResult {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(self.timeout, probe.run()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("timed out after {} ms", self.timeout.as_millis())),
        };
        let duration_seconds = started.elapsed().as_secs_f64();
        let success = outcome.is_ok();
        self.metrics
            .probe_success
            .with_label_values(&[probe.name()])
            .set(if success { 1.0 } else { 0.0 });
        self.metrics
            .probe_duration
            .with_label_values(&[probe.name()])
            .set(duration_seconds);
        ProbeResult {
            probe: probe.name(),
            success,
            duration_seconds,
            error: outcome.err(),
        }
    }

    /// Runs every probe each `interval` until the returned handle is
    /// aborted; a failure is logged once when it starts and once when the
    /// probe recovers, not on every run.
    pub fn spawn(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut failing = vec![false; self.probes.len()];
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                for (index, probe) in self.probes.iter().enumerate() {
                    let result = self.run_probe(probe.as_ref()).await;
                    match (&result.error, failing[index]) {
                        (Some(error), false) => {
                            tracing::warn!(probe = result.probe, %error, "synthetic probe failing");
                        }
                        (None, true) => {
                            tracing::info!(probe = result.probe, "synthetic probe recovered")
                        }
                        _ => {}
                    }
                    failing[index] = !result.success;
                }
            }
        })
    }
}
