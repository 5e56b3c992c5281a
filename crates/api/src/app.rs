//! Start-up and the application router.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Uri;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use babyshield_monitoring::{
    BuildInfo, DependencyCheck, Metrics, MonitoringState, Probe, Prober, Readiness,
    RequestTracking, SloTracker, TrackRequestsLayer,
};
use babyshield_slo::SystemClock;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower::ServiceBuilder;

use crate::cache::SearchCache;
use crate::checks::{redis_pool, PostgresCheck, RedisCheck};
use crate::config::{mask_url, Config};
use crate::error::ApiError;
use crate::identity::{identify, Identifier};
use crate::probes::{HealthzProbe, SearchProbe};
use crate::ratelimit::{limit_requests, RateLimiter};
use crate::redis_link::RedisLink;
use crate::search::SearchState;
use crate::{admin, db, import, openapi, search};

/// Everything the router and the background tasks share.
#[derive(Clone)]
pub struct AppState {
    /// Main Postgres pool of request traffic.
    pub pool: PgPool,
    /// Metric families.
    pub metrics: Metrics,
    /// Dependency checks and the shutdown flag.
    pub readiness: Arc<Readiness>,
    /// Redis pool of request traffic; `None` without Redis.
    pub redis: Option<deadpool_redis::Pool>,
    /// Synthetic probes.
    pub prober: Arc<Prober>,
    /// Address the listener bound, once serving.
    pub local_address: Arc<OnceLock<SocketAddr>>,
    /// SLO engine.
    pub slo: Arc<SloTracker>,
    /// Per-caller rate limiter.
    pub limiter: Arc<RateLimiter>,
    /// Search result cache.
    pub cache: Arc<SearchCache>,
    /// Caller identification.
    pub identifier: Arc<Identifier>,
}

/// Build facts reported by `/healthz` and `build_info`.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        commit: option_env!("BABYSHIELD_COMMIT")
            .unwrap_or("unknown")
            .to_owned(),
    }
}

/// Prepares the database and dependencies, logging one line per step:
/// create the database if missing, migrate, load the bundled sample into an
/// empty table, connect Redis.
pub async fn prepare(config: &Config) -> anyhow::Result<AppState> {
    db::ensure_database(config).await?;
    let pool = db::connect_pool(config).await?;
    tracing::info!(database_url = %mask_url(&config.database_url), "database connected");

    db::migrate(&pool).await?;
    tracing::info!(
        migrations = db::MIGRATOR.iter().count(),
        "migrations applied"
    );

    let stored = import::store::count_recalls(&pool).await?;
    if stored == 0 && config.load_sample {
        let summary = import::import_bundled_sample(&pool).await?;
        tracing::info!(
            inserted = summary.counts.inserted,
            "bundled recall sample loaded"
        );
    } else {
        tracing::info!(recalls = stored, "recall table ready");
    }
    crate::probes::ensure_canary(&pool).await?;

    let redis = if config.redis_enabled() {
        let timeout = config.readiness_check_timeout();
        let pool = redis_pool(&config.redis_url, 16, timeout)?;
        crate::checks::ping(&pool)
            .await
            .map_err(|error| db::unreachable_error("Redis", &config.redis_url, &error))?;
        tracing::info!(redis_url = %mask_url(&config.redis_url), "redis connected");
        Some(pool)
    } else {
        tracing::info!("redis disabled: REDIS_URL is empty");
        None
    };

    let metrics = Metrics::new(&build_info()).context("registering metrics failed")?;
    let checks: Vec<Arc<dyn DependencyCheck>> = vec![
        Arc::new(PostgresCheck {
            pool: db::connect_check_pool(config)?,
            metrics: metrics.clone(),
        }),
        Arc::new(RedisCheck {
            pool: match config.redis_enabled() {
                true => Some(redis_pool(
                    &config.redis_url,
                    1,
                    config.readiness_check_timeout(),
                )?),
                false => None,
            },
            metrics: metrics.clone(),
        }),
    ];
    let readiness = Arc::new(Readiness::new(
        checks,
        config.readiness_check_timeout(),
        Duration::from_millis(config.readiness_cache_ms),
    ));

    let local_address = Arc::new(OnceLock::new());
    let probes: Vec<Arc<dyn Probe>> = vec![
        Arc::new(HealthzProbe {
            address: Arc::clone(&local_address),
        }),
        Arc::new(SearchProbe { pool: pool.clone() }),
    ];
    let prober = Arc::new(Prober::new(probes, metrics.clone(), config.probe_timeout()));

    let slo = Arc::new(SloTracker::new(
        config.slo_config(),
        config.slo_excluded_routes.clone(),
        Arc::new(SystemClock),
        &metrics,
    )?);
    let slo_for_gauges = Arc::clone(&slo);
    metrics.on_scrape(Arc::new(move |_: &Metrics| {
        slo_for_gauges.export(&slo_for_gauges.report());
    }));

    let redis_link = redis.clone().map(|pool| {
        RedisLink::new(
            pool,
            Duration::from_millis(config.redis_timeout_ms),
            Duration::from_millis(config.redis_retry_interval_ms),
            metrics.clone(),
        )
    });
    let limiter = Arc::new(RateLimiter::new(
        redis_link.clone(),
        u64::from(config.rate_limit_requests),
        Duration::from_secs(config.rate_limit_window_seconds.max(1)),
        config.rate_limit_report_below,
        &metrics,
    ));
    let limiter_for_gauges = Arc::clone(&limiter);
    metrics.on_scrape(Arc::new(move |_: &Metrics| {
        limiter_for_gauges.prune_gauge()
    }));
    let cache = Arc::new(SearchCache::new(
        redis_link,
        Duration::from_secs(config.search_cache_ttl_seconds),
        metrics.clone(),
    ));
    let identifier = Arc::new(Identifier::new(
        pool.clone(),
        config.trusted_proxies.clone(),
        Duration::from_secs(config.api_key_cache_seconds),
    ));

    let pool_for_gauges = pool.clone();
    let max_connections = i64::from(config.database_max_connections);
    metrics.on_scrape(Arc::new(move |metrics: &Metrics| {
        let size = i64::from(pool_for_gauges.size());
        let idle = pool_for_gauges.num_idle() as i64;
        metrics.db_active.set(size - idle);
        metrics.db_idle.set(idle);
        metrics.db_max.set(max_connections);
    }));

    Ok(AppState {
        pool,
        metrics,
        readiness,
        redis,
        prober,
        local_address,
        slo,
        limiter,
        cache,
        identifier,
    })
}

/// Builds the application router with its middleware.
pub fn router(state: &AppState, config: &Config) -> Router {
    let monitoring = babyshield_monitoring::router(MonitoringState {
        metrics: state.metrics.clone(),
        readiness: Arc::clone(&state.readiness),
        started: Instant::now(),
        version: env!("CARGO_PKG_VERSION"),
        prober: Arc::clone(&state.prober),
        slo: Arc::clone(&state.slo),
    });
    let request_timeout = config.request_timeout();
    let body_limits = BodyLimits {
        max_bytes: config.max_body_bytes,
        timeout: Duration::from_millis(config.body_timeout_ms),
    };

    let identify = middleware::from_fn_with_state(Arc::clone(&state.identifier), identify);
    // Shedding is outermost, so a request past capacity costs neither a
    // key lookup nor a rate-limit round trip.
    let shed_over_capacity = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: BoxError| async {
            ApiError::Overloaded
        }))
        .load_shed()
        .concurrency_limit(config.max_concurrent_searches.max(1));
    let search = search::router(SearchState {
        pool: state.pool.clone(),
        cache: Arc::clone(&state.cache),
    })
    .route_layer(middleware::from_fn_with_state(
        Arc::clone(&state.limiter),
        limit_requests,
    ))
    .route_layer(identify.clone())
    .route_layer(shed_over_capacity);

    let mut app = Router::new()
        .merge(monitoring)
        .merge(search)
        .merge(openapi::router());
    if let Some(admin) = admin::router(config.admin_token.as_deref(), Arc::clone(&state.cache)) {
        app = app.merge(admin.route_layer(identify));
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            enforce_timeout(request_timeout, request, next)
        }))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            buffer_body(body_limits, request, next)
        }))
        .layer(TrackRequestsLayer::new(RequestTracking {
            metrics: state.metrics.clone(),
            slo: Arc::clone(&state.slo),
        }))
}

/// Returns 503 problem+json when a request runs past `limit`; the request's
/// future is dropped, which cancels its database query.
async fn enforce_timeout(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Size and time limits of request bodies.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    max_bytes: usize,
    timeout: Duration,
}

/// Reads the whole request body before routing, within the size and time
/// limits: a body trickled byte by byte gets 408 when its time is up
/// instead of holding the request open, and an oversized one 413 as soon as
/// it passes the limit.
async fn buffer_body(limits: BodyLimits, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, limits.max_bytes);
    let bytes = match tokio::time::timeout(limits.timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            return match too_large {
                true => ApiError::InvalidJson {
                    status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    detail: format!(
                        "The request body is larger than {} bytes.",
                        limits.max_bytes
                    ),
                },
                false => ApiError::BadRequest("the request body could not be read".into()),
            }
            .into_response();
        }
        Err(_) => return ApiError::BodyTimeout(limits.timeout.as_millis() as u64).into_response(),
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

async fn not_found(uri: Uri) -> ApiError {
    let mut path = uri.path().to_owned();
    path.truncate(path.floor_char_boundary(200));
    ApiError::NotFound(path)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Prepares, binds and serves until SIGTERM or Ctrl-C, then shuts down
/// gracefully: readiness returns 503 at once, new requests are still
/// accepted for the drain delay, in-flight requests finish, and the process
/// exits by the shutdown deadline at the latest.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = prepare(&config).await?;
    let app = router(&state, &config);
    let listener = TcpListener::bind(config.bind_address)
        .await
        .with_context(|| format!("binding {} failed", config.bind_address))?;
    let address = listener.local_addr()?;
    let _ = state.local_address.set(address);
    tracing::info!(%address, "listening");
    let prober = Arc::clone(&state.prober).spawn(config.probe_interval());

    let served = crate::shutdown::run(listener, app, state.readiness.clone(), &config).await;
    prober.abort();
    served
}
