//! Metric families of the service, registered in one registry per
//! application instance (never the process-wide default registry, so two
//! apps built in one test process do not collide).

use std::sync::Arc;

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// Bucket bounds of `http_request_duration_seconds`, in seconds. 0.8 s is
/// the latency objective's threshold, so the fraction of requests under it
/// is exact rather than interpolated.
pub const HTTP_DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0, 10.0,
];

/// Route label of requests that match no route, so that scanners cannot
/// create new series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Failure classes counted by `error_total{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Postgres failed or was unreachable.
    Database,
    /// Redis failed or was unreachable.
    Redis,
    /// A request or a dependency call ran past its time limit.
    Timeout,
    /// The service shed a request because it was at capacity.
    Overload,
    /// A bug or an unexpected state inside the service.
    Internal,
}

impl ErrorKind {
    /// Every kind, so that each series exists at 0 from start-up and the
    /// first failure shows in `increase()`.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Database,
        ErrorKind::Redis,
        ErrorKind::Timeout,
        ErrorKind::Overload,
        ErrorKind::Internal,
    ];

    /// Returns the `kind` label value.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Database => "database",
            ErrorKind::Redis => "redis",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Overload => "overload",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Values of the `build_info` series.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Package version.
    pub version: String,
    /// Git commit the binary was built from, or `unknown`.
    pub commit: String,
}

/// Hook run before each scrape to refresh gauges that are read from
/// elsewhere, such as connection-pool sizes.
pub type ScrapeHook = Arc<dyn Fn(&Metrics) + Send + Sync>;

/// All metric families of the service.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `http_request_duration_seconds{method,route,status}`.
    pub http_duration: HistogramVec,
    /// `http_requests_total{method,route,status}`.
    pub http_requests: IntCounterVec,
    /// `error_total{kind}`.
    pub errors: IntCounterVec,
    /// `cache_hits_total{cache}`.
    pub cache_hits: IntCounterVec,
    /// `cache_misses_total{cache}`.
    pub cache_misses: IntCounterVec,
    /// `rate_limit_remaining{user_id}`, only for callers near their limit.
    pub rate_limit_remaining: IntGaugeVec,
    /// `database_connections_active`.
    pub db_active: IntGauge,
    /// `database_connections_idle`.
    pub db_idle: IntGauge,
    /// `database_connections_max`.
    pub db_max: IntGauge,
    /// `probe_success{probe}`: 1 when the last run passed.
    pub probe_success: GaugeVec,
    /// `probe_duration_seconds{probe}` of the last run.
    pub probe_duration: GaugeVec,
    build_info: Gauge,
    scrape_hooks: Arc<std::sync::RwLock<Vec<ScrapeHook>>>,
}

impl Metrics {
    /// Creates and registers every family in a new registry.
    pub fn new(build: &BuildInfo) -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let http_labels = &["method", "route", "status"];

        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request received to response headers sent, by matched route.",
            )
            .buckets(HTTP_DURATION_BUCKETS.to_vec()),
            http_labels,
        )?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by matched route.",
            ),
            http_labels,
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "error_total",
                "Failures by class (database, redis, timeout, ...).",
            ),
            &["kind"],
        )?;
        for kind in ErrorKind::ALL {
            errors.with_label_values(&[kind.label()]);
        }
        let cache_hits = IntCounterVec::new(
            Opts::new("cache_hits_total", "Cache lookups answered from the cache."),
            &["cache"],
        )?;
        let cache_misses = IntCounterVec::new(
            Opts::new("cache_misses_total", "Cache lookups that missed."),
            &["cache"],
        )?;
        cache_hits.with_label_values(&["search"]);
        cache_misses.with_label_values(&["search"]);
        let rate_limit_remaining = IntGaugeVec::new(
            Opts::new(
                "rate_limit_remaining",
                "Requests left in the current window, only for callers near their limit.",
            ),
            &["user_id"],
        )?;
        let db_active = IntGauge::new(
            "database_connections_active",
            "Postgres pool connections in use.",
        )?;
        let db_idle = IntGauge::new(
            "database_connections_idle",
            "Idle Postgres pool connections.",
        )?;
        let db_max = IntGauge::new(
            "database_connections_max",
            "Maximum size of the Postgres pool.",
        )?;
        let probe_success = GaugeVec::new(
            Opts::new(
                "probe_success",
                "1 when the last synthetic probe run passed, else 0.",
            ),
            &["probe"],
        )?;
        let probe_duration = GaugeVec::new(
            Opts::new(
                "probe_duration_seconds",
                "Duration of the last synthetic probe run.",
            ),
            &["probe"],
        )?;
        let build_info = Gauge::with_opts(
            Opts::new("build_info", "Always 1; labels give the running build.")
                .const_label("version", &build.version)
                .const_label("commit", &build.commit),
        )?;
        build_info.set(1.0);

        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(cache_hits.clone()))?;
        registry.register(Box::new(cache_misses.clone()))?;
        registry.register(Box::new(rate_limit_remaining.clone()))?;
        registry.register(Box::new(db_active.clone()))?;
        registry.register(Box::new(db_idle.clone()))?;
        registry.register(Box::new(db_max.clone()))?;
        registry.register(Box::new(probe_success.clone()))?;
        registry.register(Box::new(probe_duration.clone()))?;
        registry.register(Box::new(build_info.clone()))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        Ok(Metrics {
            registry,
            http_duration,
            http_requests,
            errors,
            cache_hits,
            cache_misses,
            rate_limit_remaining,
            db_active,
            db_idle,
            db_max,
            probe_success,
            probe_duration,
            build_info,
            scrape_hooks: Arc::default(),
        })
    }

    /// Counts one failure of `kind`.
    pub fn count_error(&self, kind: ErrorKind) {
        self.errors.with_label_values(&[kind.label()]).inc();
    }

    /// Registers another gauge family in this instance's registry.
    pub fn register_gauge_vec(
        &self,
        opts: Opts,
        labels: &[&str],
    ) -> Result<GaugeVec, prometheus::Error> {
        let gauge = GaugeVec::new(opts, labels)?;
        self.registry.register(Box::new(gauge.clone()))?;
        Ok(gauge)
    }

    /// Adds a hook that runs before every scrape.
    pub fn on_scrape(&self, hook: ScrapeHook) {
        if let Ok(mut hooks) = self.scrape_hooks.write() {
            hooks.push(hook);
        }
    }

    /// Runs the scrape hooks and renders every family in the text exposition
    /// format (version 0.0.4).
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let hooks = self
            .scrape_hooks
            .read()
            .map(|hooks| hooks.clone())
            .unwrap_or_default();
        for hook in hooks {
            hook(self);
        }
        let mut buffer = Vec::with_capacity(16 * 1024);
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }

    /// Returns the `build_info` gauge, for tests.
    pub fn build_info(&self) -> &Gauge {
        &self.build_info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build() -> BuildInfo {
        BuildInfo {
            version: "1.2.3".into(),
            commit: "abc\"def".into(),
        }
    }

    #[test]
    fn two_instances_register_without_conflict() {
        let first = Metrics::new(&build()).unwrap();
        let second = Metrics::new(&build()).unwrap();
        first.count_error(ErrorKind::Redis);
        assert_eq!(first.errors.with_label_values(&["redis"]).get(), 1);
        assert_eq!(second.errors.with_label_values(&["redis"]).get(), 0);
    }

    #[test]
    fn render_lists_every_error_kind_at_zero() {
        let text = Metrics::new(&build()).unwrap().render().unwrap();
        for kind in ErrorKind::ALL {
            let line = format!("error_total{{kind=\"{}\"}} 0", kind.label());
            assert!(text.contains(&line), "missing {line}");
        }
        assert!(text.contains("cache_hits_total{cache=\"search\"} 0"));
        assert!(text.contains("build_info{commit=\"abc\\\"def\",version=\"1.2.3\"} 1"));
    }
}
