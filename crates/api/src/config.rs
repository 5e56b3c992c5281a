//! Command line and configuration: every setting is a flag and an
//! environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// BabyShield API: search of baby and children's product recalls.
#[derive(Parser)]
#[command(name = "babyshield-api", version, about, long_about = None)]
pub struct Cli {
    /// What to run; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
}

/// Subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Create the database if missing, run migrations, load the bundled
    /// sample when the recall table is empty, and serve HTTP.
    Serve,
    /// Create the database if missing and run the migrations, then exit.
    Migrate,
    /// Import recall data files or folders into `recalls_enhanced`.
    Import(ImportArgs),
    /// Exit 0 when the local `/api/v1/monitoring/healthz` answers 200
    /// (container health checks without curl).
    Healthcheck,
    /// Create or revoke API keys, which identify callers for rate limiting.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

/// Subcommands of `api-key`.
#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for a user and print it; only its hash is stored.
    Create {
        /// User id the key identifies, as rate limits and the blocklist name
        /// it.
        #[arg(long)]
        user_id: String,
    },
    /// Revoke every key of a user.
    Revoke {
        /// User id whose keys stop working.
        #[arg(long)]
        user_id: String,
    },
}

/// Arguments of `import`.
#[derive(Args)]
pub struct ImportArgs {
    /// Files or folders (searched recursively) of CPSC JSON or CSV, TinySafe
    /// JSON lines, Health Canada JSON, EU Safety Gate XML or OECD JSON lines;
    /// `.gz` files are read as they are.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,

    /// Instead of writing to the database, write the baby and child recalls
    /// read from PATHS to this gzip JSON-lines file (the bundled sample's
    /// format).
    #[arg(long, value_name = "FILE")]
    pub write_sample: Option<PathBuf>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines for a terminal.
    Pretty,
}

/// Service settings. Not `Debug`, so that a stray `{:?}` cannot log the
/// database password or the admin token.
#[derive(Clone, Args)]
pub struct Config {
    /// Listen address (use 0.0.0.0:8080 in containers).
    #[arg(
        long,
        env = "BIND_ADDRESS",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind_address: SocketAddr,

    /// Postgres URL; the database is created if missing.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/babyshield",
        hide_env_values = true,
        global = true
    )]
    pub database_url: String,

    /// Redis URL; empty runs without Redis (in-memory cache and limiter, for a
    /// single instance only).
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true,
        global = true
    )]
    pub redis_url: String,

    /// Bearer token for /admin/*; unset disables those routes.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true, global = true)]
    pub admin_token: Option<String>,

    /// Requests per rate-limit window per caller.
    #[arg(
        long,
        env = "RATE_LIMIT_REQUESTS",
        default_value_t = 100,
        global = true
    )]
    pub rate_limit_requests: u32,

    /// Rate-limit window, in seconds.
    #[arg(
        long,
        env = "RATE_LIMIT_WINDOW_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub rate_limit_window_seconds: u64,

    /// Remaining-request count under which a caller appears in the
    /// `rate_limit_remaining` gauge.
    #[arg(
        long,
        env = "RATE_LIMIT_REPORT_BELOW",
        default_value_t = 10,
        global = true
    )]
    pub rate_limit_report_below: u64,

    /// Addresses or CIDR ranges of proxies whose `X-Forwarded-For` is
    /// trusted, comma-separated (e.g. `10.0.0.0/16` for a load balancer's
    /// subnets); empty trusts none.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network, global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// How long an API-key lookup is reused, in seconds; a revoked key stops
    /// working within this time.
    #[arg(
        long,
        env = "API_KEY_CACHE_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub api_key_cache_seconds: u64,

    /// Time-to-live of cached search results, in seconds; 0 turns the
    /// search cache off.
    #[arg(
        long,
        env = "SEARCH_CACHE_TTL_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub search_cache_ttl_seconds: u64,

    /// Time limit of each Redis command on the request path, in
    /// milliseconds.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 250, global = true)]
    pub redis_timeout_ms: u64,

    /// After a Redis failure, how long requests use the in-memory fallbacks
    /// before Redis is tried again, in milliseconds.
    #[arg(
        long,
        env = "REDIS_RETRY_INTERVAL_MS",
        default_value_t = 2000,
        global = true
    )]
    pub redis_retry_interval_ms: u64,

    /// Log format: json or pretty.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "json",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info` or
    /// `babyshield_api=debug,info`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,

    /// Maximum connections of the main Postgres pool. Near the core count is
    /// fastest for CPU-bound search queries.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub database_max_connections: u32,

    /// Time to wait for a free pool connection before a request fails, in
    /// milliseconds.
    #[arg(
        long,
        env = "DATABASE_ACQUIRE_TIMEOUT_MS",
        default_value_t = 2000,
        global = true
    )]
    pub database_acquire_timeout_ms: u64,

    /// Postgres statement timeout for request queries, in milliseconds.
    #[arg(
        long,
        env = "DATABASE_STATEMENT_TIMEOUT_MS",
        default_value_t = 5000,
        global = true
    )]
    pub database_statement_timeout_ms: u64,

    /// Time limit of each readiness check (Postgres, Redis), in milliseconds.
    #[arg(
        long,
        env = "READINESS_CHECK_TIMEOUT_MS",
        default_value_t = 500,
        global = true
    )]
    pub readiness_check_timeout_ms: u64,

    /// How long a readiness result is shared between callers, in
    /// milliseconds.
    #[arg(
        long,
        env = "READINESS_CACHE_MS",
        default_value_t = 1000,
        global = true
    )]
    pub readiness_cache_ms: u64,

    /// Whole-request time limit, in milliseconds; a request past it answers
    /// 503 problem+json.
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub request_timeout_ms: u64,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Time limit for receiving a request body, in milliseconds; a slower
    /// client gets 408.
    #[arg(long, env = "BODY_TIMEOUT_MS", default_value_t = 5000, global = true)]
    pub body_timeout_ms: u64,

    /// Searches in flight at once; beyond it, searches are shed at once with
    /// 503 and `Retry-After` instead of queueing until every request is
    /// slow.
    #[arg(
        long,
        env = "MAX_CONCURRENT_SEARCHES",
        default_value_t = 32,
        global = true
    )]
    pub max_concurrent_searches: usize,

    /// After SIGTERM or Ctrl-C: how long readiness answers 503 while new
    /// requests are still accepted, so the load balancer stops routing first,
    /// in seconds.
    #[arg(
        long,
        env = "SHUTDOWN_DRAIN_DELAY_SECONDS",
        default_value_t = 5,
        global = true
    )]
    pub shutdown_drain_delay_seconds: u64,

    /// After SIGTERM or Ctrl-C: the time by which the process exits, whatever
    /// is still in flight, in seconds. Keep it under the container stop
    /// timeout (30 s on ECS by default).
    #[arg(
        long,
        env = "SHUTDOWN_DEADLINE_SECONDS",
        default_value_t = 25,
        global = true
    )]
    pub shutdown_deadline_seconds: u64,

    /// Interval of the background synthetic probes, in milliseconds.
    #[arg(long, env = "PROBE_INTERVAL_MS", default_value_t = 5000, global = true)]
    pub probe_interval_ms: u64,

    /// Time limit of each synthetic probe run, in milliseconds.
    #[arg(long, env = "PROBE_TIMEOUT_MS", default_value_t = 2000, global = true)]
    pub probe_timeout_ms: u64,

    /// Availability objective: minimum share of requests without a 5xx over
    /// a rolling 30 days (0.999 allows 43.2 minutes of outage a month).
    #[arg(
        long,
        env = "SLO_AVAILABILITY_TARGET",
        default_value_t = 0.999,
        global = true
    )]
    pub slo_availability_target: f64,

    /// Latency objective: minimum share of requests at or under the latency
    /// threshold.
    #[arg(
        long,
        env = "SLO_LATENCY_TARGET",
        default_value_t = 0.95,
        global = true
    )]
    pub slo_latency_target: f64,

    /// Latency objective threshold, in milliseconds.
    #[arg(
        long,
        env = "SLO_LATENCY_THRESHOLD_MS",
        default_value_t = 800,
        global = true
    )]
    pub slo_latency_threshold_ms: u64,

    /// Error-rate objective: maximum share of requests with a 5xx.
    #[arg(
        long,
        env = "SLO_MAX_ERROR_RATE",
        default_value_t = 0.001,
        global = true
    )]
    pub slo_max_error_rate: f64,

    /// Route-template prefixes left out of the SLIs, comma-separated.
    /// Requests that match no route never count.
    #[arg(
        long,
        env = "SLO_EXCLUDED_ROUTES",
        value_delimiter = ',',
        default_value = "/api/v1/monitoring/,/metrics,/api/v1/openapi.json",
        global = true
    )]
    pub slo_excluded_routes: Vec<String>,

    /// Load the bundled recall sample at start-up when `recalls_enhanced` is
    /// empty.
    #[arg(
        long,
        env = "LOAD_SAMPLE",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub load_sample: bool,
}

impl Config {
    /// Returns the readiness check timeout.
    pub fn readiness_check_timeout(&self) -> Duration {
        Duration::from_millis(self.readiness_check_timeout_ms)
    }

    /// Returns the synthetic probe interval.
    pub fn probe_interval(&self) -> Duration {
        Duration::from_millis(self.probe_interval_ms)
    }

    /// Returns the synthetic probe time limit.
    pub fn probe_timeout(&self) -> Duration {
        Duration::from_millis(self.probe_timeout_ms)
    }

    /// Returns the request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// Returns the SLO objectives.
    pub fn slo_config(&self) -> babyshield_slo::SloConfig {
        babyshield_slo::SloConfig {
            availability_target: self.slo_availability_target,
            latency_target: self.slo_latency_target,
            latency_threshold: Duration::from_millis(self.slo_latency_threshold_ms),
            max_error_rate: self.slo_max_error_rate,
            ..babyshield_slo::SloConfig::default()
        }
    }

    /// Returns whether Redis is configured.
    pub fn redis_enabled(&self) -> bool {
        !self.redis_url.trim().is_empty()
    }
}

/// Parses a CIDR range, or a single address as a range of one.
fn parse_network(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{value:?} is not an IP address or CIDR range"))
}

/// Returns `url` with any password replaced by `***`, for logs and errors.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => userinfo.to_owned(),
    };
    format!("{scheme}://{user}@{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_url_hides_password() {
        assert_eq!(
            mask_url("postgres://app:s3cr%40t@db:5432/babyshield"),
            "postgres://app:***@db:5432/babyshield"
        );
        assert_eq!(
            mask_url("redis://:hunter2@cache:6379/0"),
            "redis://:***@cache:6379/0"
        );
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_ranges() {
        assert_eq!(
            parse_network("10.0.0.0/16").unwrap().to_string(),
            "10.0.0.0/16"
        );
        assert_eq!(
            parse_network(" 192.0.2.7 ").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(parse_network("::1").unwrap().to_string(), "::1/128");
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("proxy.local").is_err());
    }

    #[test]
    fn mask_url_keeps_url_without_password() {
        assert_eq!(
            mask_url("postgres://postgres@127.0.0.1:5432/babyshield"),
            "postgres://postgres@127.0.0.1:5432/babyshield"
        );
        assert_eq!(mask_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(mask_url("not a url"), "not a url");
    }
}
