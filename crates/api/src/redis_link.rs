//! Request-path access to Redis with a time limit per command and a circuit
//! breaker: after a failure, callers skip Redis for a retry interval and use
//! their in-memory fallbacks, so a hung Redis costs one timeout per
//! interval instead of one per request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use babyshield_monitoring::{ErrorKind, Metrics};
use deadpool_redis::redis;

/// Shared handle to Redis for the rate limiter and the search cache.
#[derive(Clone)]
pub struct RedisLink {
    inner: Arc<Inner>,
}

struct Inner {
    pool: deadpool_redis::Pool,
    timeout: Duration,
    retry_interval: Duration,
    started: Instant,
    /// Milliseconds since `started` before which Redis is not tried again.
    skip_until_ms: AtomicU64,
    down: AtomicBool,
    metrics: Metrics,
}

impl RedisLink {
    /// Wraps a pool; each command is bounded by `timeout`, and after a
    /// failure Redis is skipped for `retry_interval`.
    pub fn new(
        pool: deadpool_redis::Pool,
        timeout: Duration,
        retry_interval: Duration,
        metrics: Metrics,
    ) -> RedisLink {
        RedisLink {
            inner: Arc::new(Inner {
                pool,
                timeout,
                retry_interval,
                started: Instant::now(),
                skip_until_ms: AtomicU64::new(0),
                down: AtomicBool::new(false),
                metrics,
            }),
        }
    }

    /// Returns whether callers should use their fallback without trying
    /// Redis.
    pub fn skipping(&self) -> bool {
        let now = self.inner.started.elapsed().as_millis() as u64;
        now < self.inner.skip_until_ms.load(Ordering::Relaxed)
    }

    /// Runs `command` on a pooled connection within the time limit. On
    /// failure it counts `error_total{kind="redis"}`, opens the breaker and
    /// logs the switch to the fallback once; on the first success after a
    /// failure it logs the recovery.
    pub async fn run<T, F, Fut>(&self, command: F) -> Option<T>
    where
        F: FnOnce(deadpool_redis::Connection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if self.skipping() {
            return None;
        }
        let attempt = async {
            let connection = self.inner.pool.get().await.map_err(|e| e.to_string())?;
            command(connection).await.map_err(|e| e.to_string())
        };
        let outcome = match tokio::time::timeout(self.inner.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "timed out after {} ms",
                self.inner.timeout.as_millis()
            )),
        };
        match outcome {
            Ok(value) => {
                if self.inner.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis is back, rate limiting and caching use it again");
                }
                Some(value)
            }
            Err(error) => {
                self.inner.metrics.count_error(ErrorKind::Redis);
                let now = self.inner.started.elapsed().as_millis() as u64;
                let retry = self.inner.retry_interval.as_millis() as u64;
                self.inner
                    .skip_until_ms
                    .store(now + retry, Ordering::Relaxed);
                if !self.inner.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        %error,
                        retry_interval_ms = retry,
                        "redis failed, falling back to the per-instance rate limiter and no shared cache"
                    );
                }
                None
            }
        }
    }

    /// Returns the pool, for commands outside the request path.
    pub fn pool(&self) -> &deadpool_redis::Pool {
        &self.inner.pool
    }
}
