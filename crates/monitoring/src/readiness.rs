//! Readiness: dependency checks run concurrently, each under its own time
//! limit, and their result is shared for a short interval with one check in
//! flight at a time, so any number of load-balancer calls cost each
//! dependency at most one check per interval.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Mutex;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Result of one dependency check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The dependency responded.
    Ok,
    /// The dependency failed; the text describes how (never a secret).
    Failed(String),
    /// The dependency is switched off by configuration.
    Disabled,
}

/// A dependency the service reports on in `/readyz`.
pub trait DependencyCheck: Send + Sync + 'static {
    /// Key under `checks` in the readiness body, e.g. `database`.
    fn name(&self) -> &'static str;

    /// Whether the service cannot serve without it: a failed required check
    /// makes readiness 503 (`down`); a failed optional one reports
    /// `degraded` with 200.
    fn required(&self) -> bool;

    /// Runs the check once. It must not wait on a pool that request traffic
    /// uses, or a busy pool would make the service look down.
    fn check(&self) -> Pin<Box<dyn Future<Output = CheckOutcome> + Send + '_>>;
}

/// Body of `GET /api/v1/monitoring/readyz`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReadinessReport {
    /// `ok`, `degraded` (an optional dependency failed), `unavailable` (a
    /// required dependency failed) or `shutting_down`.
    pub status: &'static str,
    /// Per dependency: `ok`, `down`, `degraded` or `disabled`.
    pub checks: BTreeMap<&'static str, &'static str>,
    /// Per dependency: latency and error text of the last check.
    pub details: BTreeMap<&'static str, CheckDetail>,
    /// Age of the shared check result, in milliseconds.
    pub age_ms: u64,
}

/// Detail of one dependency check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckDetail {
    /// Same value as under `checks`.
    pub status: &'static str,
    /// Time the check took, in milliseconds.
    pub latency_ms: f64,
    /// Error text of a failed check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ReadinessReport {
    /// Returns whether the service should receive traffic.
    pub fn is_ready(&self) -> bool {
        matches!(self.status, "ok" | "degraded")
    }
}

struct Snapshot {
    taken: Instant,
    report: ReadinessReport,
}

/// Shared readiness state of one service instance.
pub struct Readiness {
    checks: Vec<Arc<dyn DependencyCheck>>,
    check_timeout: Duration,
    share_for: Duration,
    last: Mutex<Option<Snapshot>>,
    shutting_down: AtomicBool,
}

impl Readiness {
    /// Creates the readiness state; `check_timeout` bounds each check and
    /// `share_for` is how long a result is reused.
    pub fn new(
        checks: Vec<Arc<dyn DependencyCheck>>,
        check_timeout: Duration,
        share_for: Duration,
    ) -> Readiness {
        Readiness {
            checks,
            check_timeout,
            share_for,
            last: Mutex::new(None),
            shutting_down: AtomicBool::new(false),
        }
    }

    /// Turns readiness to 503 for good: the process is shutting down.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Returns whether [`Readiness::begin_shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Returns the shared result, running the checks when it is older than
    /// the sharing interval. Callers that arrive while a check runs wait for
    /// its result instead of starting their own.
    pub async fn report(&self) -> ReadinessReport {
        let mut report = {
            let mut last = self.last.lock().await;
            match last.as_ref() {
                Some(snapshot) if snapshot.taken.elapsed() < self.share_for => {
                    let mut report = snapshot.report.clone();
                    report.age_ms = snapshot.taken.elapsed().as_millis() as u64;
                    report
                }
                _ => {
                    let report = self.run_checks().await;
                    *last = Some(Snapshot {
                        taken: Instant::now(),
                        report: report.clone(),
                    });
                    report
                }
            }
        };
        if self.is_shutting_down() {
            report.status = "shutting_down";
        }
        report
    }

    async fn run_checks(&self) -> ReadinessReport {
        let mut tasks = JoinSet::new();
        for check in &self.checks {
            let check = Arc::clone(check);
            let limit = self.check_timeout;
            tasks.spawn(async move {
                let started = Instant::now();
                let outcome = match tokio::time::timeout(limit, check.check()).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        CheckOutcome::Failed(format!("timed out after {} ms", limit.as_millis()))
                    }
                };
                (check.name(), check.required(), outcome, started.elapsed())
            });
        }

        let mut checks = BTreeMap::new();
        let mut details = BTreeMap::new();
        let mut required_failed = false;
        let mut optional_failed = false;
        while let Some(joined) = tasks.join_next().await {
            let Ok((name, required, outcome, took)) = joined else {
                // A panicking check counts as a failed required dependency
                // because its name is lost with the task.
                required_failed = true;
                continue;
            };
            let (status, error) = match outcome {
                CheckOutcome::Ok => ("ok", None),
                CheckOutcome::Disabled => ("disabled", None),
                CheckOutcome::Failed(error) if required => {
                    required_failed = true;
                    ("down", Some(error))
                }
                CheckOutcome::Failed(error) => {
                    optional_failed = true;
                    ("degraded", Some(error))
                }
            };
            checks.insert(name, status);
            details.insert(
                name,
                CheckDetail {
                    status,
                    latency_ms: took.as_secs_f64() * 1000.0,
                    error,
                },
            );
        }

        let status = if required_failed {
            "unavailable"
        } else if optional_failed {
            "degraded"
        } else {
            "ok"
        };
        ReadinessReport {
            status,
            checks,
            details,
            age_ms: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Fixed {
        name: &'static str,
        required: bool,
        outcome: CheckOutcome,
        delay: Duration,
        calls: AtomicUsize,
    }

    impl DependencyCheck for Fixed {
        fn name(&self) -> &'static str {
            self.name
        }
        fn required(&self) -> bool {
            self.required
        }
        fn check(&self) -> Pin<Box<dyn Future<Output = CheckOutcome> + Send + '_>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                self.outcome.clone()
            })
        }
    }

    fn fixed(
        name: &'static str,
        required: bool,
        outcome: CheckOutcome,
        delay_ms: u64,
    ) -> Arc<Fixed> {
        Arc::new(Fixed {
            name,
            required,
            outcome,
            delay: Duration::from_millis(delay_ms),
            calls: AtomicUsize::new(0),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_check() {
        let db = fixed("database", true, CheckOutcome::Ok, 50);
        let readiness = Arc::new(Readiness::new(
            vec![db.clone()],
            Duration::from_millis(500),
            Duration::from_secs(1),
        ));
        let mut callers = JoinSet::new();
        for _ in 0..100 {
            let readiness = Arc::clone(&readiness);
            callers.spawn(async move { readiness.report().await.status });
        }
        while let Some(status) = callers.join_next().await {
            assert_eq!(status.unwrap(), "ok");
        }
        assert_eq!(db.calls.load(Ordering::SeqCst), 1);

        tokio::time::advance(Duration::from_millis(1100)).await;
        readiness.report().await;
        assert_eq!(db.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn hung_required_dependency_times_out_as_down() {
        let db = fixed("database", true, CheckOutcome::Ok, 60_000);
        let redis = fixed("redis", false, CheckOutcome::Ok, 1);
        let readiness = Readiness::new(
            vec![db, redis],
            Duration::from_millis(500),
            Duration::from_secs(1),
        );
        let started = tokio::time::Instant::now();
        let report = readiness.report().await;
        assert!(started.elapsed() <= Duration::from_millis(501));
        assert_eq!(report.status, "unavailable");
        assert_eq!(report.checks["database"], "down");
        assert_eq!(report.checks["redis"], "ok");
        assert_eq!(
            report.details["database"].error.as_deref(),
            Some("timed out after 500 ms")
        );
        assert!(!report.is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn failed_optional_dependency_is_degraded_but_ready() {
        let db = fixed("database", true, CheckOutcome::Ok, 1);
        let redis = fixed("redis", false, CheckOutcome::Failed("refused".into()), 1);
        let readiness = Readiness::new(vec![db, redis], Duration::from_millis(500), Duration::ZERO);
        let report = readiness.report().await;
        assert_eq!(report.status, "degraded");
        assert_eq!(report.checks["redis"], "degraded");
        assert!(report.is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_overrides_healthy_checks() {
        let db = fixed("database", true, CheckOutcome::Ok, 1);
        let readiness = Readiness::new(vec![db], Duration::from_millis(500), Duration::ZERO);
        readiness.begin_shutdown();
        let report = readiness.report().await;
        assert_eq!(report.status, "shutting_down");
        assert_eq!(report.checks["database"], "ok");
        assert!(!report.is_ready());
    }
}
