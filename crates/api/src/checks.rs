//! Readiness checks of Postgres and Redis.

use std::future::Future;
use std::pin::Pin;

use babyshield_monitoring::{CheckOutcome, DependencyCheck, ErrorKind, Metrics};
use deadpool_redis::redis;
use sqlx::PgPool;

/// Postgres check: `SELECT 1` on a dedicated one-connection pool.
pub struct PostgresCheck {
    /// Pool used only by this check.
    pub pool: PgPool,
    /// Counts failures in `error_total{kind="database"}`.
    pub metrics: Metrics,
}

impl DependencyCheck for PostgresCheck {
    fn name(&self) -> &'static str {
        "database"
    }

    fn required(&self) -> bool {
        true
    }

    fn check(&self) -> Pin<Box<dyn Future<Output = CheckOutcome> + Send + '_>> {
        Box::pin(async move {
            match sqlx::query("SELECT 1").execute(&self.pool).await {
                Ok(_) => CheckOutcome::Ok,
                Err(error) => {
                    self.metrics.count_error(ErrorKind::Database);
                    CheckOutcome::Failed(error.to_string())
                }
            }
        })
    }
}

/// Redis check: `PING` on a dedicated pool, or `disabled` without Redis.
pub struct RedisCheck {
    /// Pool used only by this check; `None` when Redis is not configured.
    pub pool: Option<deadpool_redis::Pool>,
    /// Counts failures in `error_total{kind="redis"}`.
    pub metrics: Metrics,
}

impl DependencyCheck for RedisCheck {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn required(&self) -> bool {
        false
    }

    fn check(&self) -> Pin<Box<dyn Future<Output = CheckOutcome> + Send + '_>> {
        Box::pin(async move {
            let Some(pool) = &self.pool else {
                return CheckOutcome::Disabled;
            };
            match ping(pool).await {
                Ok(()) => CheckOutcome::Ok,
                Err(error) => {
                    self.metrics.count_error(ErrorKind::Redis);
                    CheckOutcome::Failed(error)
                }
            }
        })
    }
}

/// Sends `PING` and expects `PONG`.
pub async fn ping(pool: &deadpool_redis::Pool) -> Result<(), String> {
    let mut connection = pool.get().await.map_err(|e| e.to_string())?;
    let reply: String = redis::cmd("PING")
        .query_async(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    if reply == "PONG" {
        Ok(())
    } else {
        Err(format!("unexpected PING reply {reply:?}"))
    }
}

/// Creates a Redis pool of at most `max_size` connections whose waits and
/// connects are bounded by `timeout`.
pub fn redis_pool(
    url: &str,
    max_size: usize,
    timeout: std::time::Duration,
) -> anyhow::Result<deadpool_redis::Pool> {
    let mut config = deadpool_redis::Config::from_url(url);
    let mut pool_config = deadpool_redis::PoolConfig::new(max_size);
    pool_config.timeouts.wait = Some(timeout);
    pool_config.timeouts.create = Some(timeout);
    pool_config.timeouts.recycle = Some(timeout);
    config.pool = Some(pool_config);
    config
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .map_err(|e| anyhow::anyhow!("REDIS_URL is invalid: {e}"))
}
