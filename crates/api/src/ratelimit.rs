//! Per-caller rate limiting.
//!
//! With Redis, one Lua script per request checks the blocklist
//! (`SADD blocked_users <user_id>`), reads a temporary override
//! (`HSET rate_limit:<user_id> limit <n>`, lapsing with its key), and counts
//! the request in `rate_limit_count:<user_id>`, setting the counter's expiry
//! in the same script so no counter is ever left without a TTL. The window
//! is fixed and starts at the caller's first request.
//!
//! Without Redis (empty `REDIS_URL`), or while Redis fails, each instance
//! counts in memory with the default limit only: limits then hold per
//! instance, not across the fleet, and overrides and the blocklist are not
//! read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use babyshield_monitoring::Metrics;
use deadpool_redis::redis;

use crate::error::ApiError;
use crate::identity::Caller;
use crate::redis_link::RedisLink;

/// Most callers tracked by the in-memory limiter and by the
/// `rate_limit_remaining` gauge; beyond it, expired entries are pruned and
/// new gauge series are not created.
const MAX_TRACKED: usize = 10_000;
/// Most `rate_limit_remaining` series at once.
const MAX_GAUGE_SERIES: usize = 1_000;

const SCRIPT: &str = r"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return {-1, 0, 0}
end
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit')) or tonumber(ARGV[2])
local count = redis.call('INCR', KEYS[3])
local ttl = redis.call('PTTL', KEYS[3])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {count, limit, ttl}
";

/// Outcome of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The request may proceed.
    Allowed(Quota),
    /// The caller used up the window.
    Limited(Quota),
    /// The caller is on the blocklist.
    Blocked,
}

/// State of a caller's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed in the window.
    pub limit: u64,
    /// Requests left in the window.
    pub remaining: u64,
    /// Time until the window resets.
    pub reset_in: Duration,
}

impl Quota {
    /// Whole seconds until the reset, rounded up and at least 1, so a
    /// request sent exactly then finds a new window.
    pub fn reset_seconds(&self) -> u64 {
        self.reset_in.as_millis().div_ceil(1000).max(1) as u64
    }
}

/// The rate limiter of one instance.
pub struct RateLimiter {
    redis: Option<RedisLink>,
    default_limit: u64,
    window: Duration,
    local: Mutex<HashMap<String, (u64, Instant)>>,
    gauge: RemainingGauge,
    script: redis::Script,
}

impl RateLimiter {
    /// Creates a limiter of `default_limit` requests per `window`;
    /// `report_below` is the remaining count under which a caller appears
    /// in `rate_limit_remaining`.
    pub fn new(
        redis: Option<RedisLink>,
        default_limit: u64,
        window: Duration,
        report_below: u64,
        metrics: &Metrics,
    ) -> RateLimiter {
        RateLimiter {
            redis,
            default_limit,
            window,
            local: Mutex::new(HashMap::new()),
            gauge: RemainingGauge::new(metrics, report_below),
            script: redis::Script::new(SCRIPT),
        }
    }

    /// Counts one request of `user_id` and decides.
    pub async fn check(&self, user_id: &str) -> Decision {
        let decision = match self.check_redis(user_id).await {
            Some(decision) => decision,
            None => self.check_local(user_id),
        };
        match decision {
            Decision::Allowed(quota) | Decision::Limited(quota) => {
                self.gauge.observe(user_id, quota)
            }
            Decision::Blocked => {}
        }
        decision
    }

    async fn check_redis(&self, user_id: &str) -> Option<Decision> {
        let redis = self.redis.as_ref()?;
        let window_ms = self.window.as_millis() as u64;
        let script = &self.script;
        let (count, limit, ttl_ms): (i64, i64, i64) = redis
            .run(|mut connection| async move {
                script
                    .key("blocked_users")
                    .key(format!("rate_limit:{user_id}"))
                    .key(format!("rate_limit_count:{user_id}"))
                    .arg(user_id)
                    .arg(self.default_limit)
                    .arg(window_ms)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        if count < 0 {
            return Some(Decision::Blocked);
        }
        let limit = limit.max(0) as u64;
        let count = count as u64;
        let quota = Quota {
            limit,
            remaining: limit.saturating_sub(count),
            reset_in: Duration::from_millis(ttl_ms.max(0) as u64),
        };
        Some(if count <= limit {
            Decision::Allowed(quota)
        } else {
            Decision::Limited(quota)
        })
    }

    fn check_local(&self, user_id: &str) -> Decision {
        let now = Instant::now();
        let Ok(mut windows) = self.local.lock() else {
            // A poisoned lock means a panic elsewhere; admitting the request
            // keeps the service up.
            return Decision::Allowed(Quota {
                limit: self.default_limit,
                remaining: self.default_limit,
                reset_in: self.window,
            });
        };
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (_, ends)| *ends > now);
        }
        let entry = windows
            .entry(user_id.to_owned())
            .or_insert((0, now + self.window));
        if entry.1 <= now {
            *entry = (0, now + self.window);
        }
        entry.0 += 1;
        let quota = Quota {
            limit: self.default_limit,
            remaining: self.default_limit.saturating_sub(entry.0),
            reset_in: entry.1 - now,
        };
        if entry.0 <= self.default_limit {
            Decision::Allowed(quota)
        } else {
            Decision::Limited(quota)
        }
    }

    /// Removes gauge series whose window has reset; run before each scrape.
    pub fn prune_gauge(&self) {
        self.gauge.prune();
    }
}

/// `rate_limit_remaining{user_id}` for callers under the reporting
/// threshold only; a series is removed when its window resets.
struct RemainingGauge {
    gauge: prometheus::IntGaugeVec,
    report_below: u64,
    series: Mutex<HashMap<String, Instant>>,
}

impl RemainingGauge {
    fn new(metrics: &Metrics, report_below: u64) -> RemainingGauge {
        RemainingGauge {
            gauge: metrics.rate_limit_remaining.clone(),
            report_below,
            series: Mutex::new(HashMap::new()),
        }
    }

    fn observe(&self, user_id: &str, quota: Quota) {
        let Ok(mut series) = self.series.lock() else {
            return;
        };
        if quota.remaining < self.report_below {
            if series.len() >= MAX_GAUGE_SERIES && !series.contains_key(user_id) {
                return;
            }
            series.insert(user_id.to_owned(), Instant::now() + quota.reset_in);
            self.gauge
                .with_label_values(&[user_id])
                .set(quota.remaining as i64);
        } else if series.remove(user_id).is_some() {
            let _ = self.gauge.remove_label_values(&[user_id]);
        }
    }

    fn prune(&self) {
        let Ok(mut series) = self.series.lock() else {
            return;
        };
        let now = Instant::now();
        series.retain(|user_id, resets| {
            let keep = *resets > now;
            if !keep {
                let _ = self.gauge.remove_label_values(&[user_id.as_str()]);
            }
            keep
        });
    }
}

/// Middleware that rate-limits the routes it wraps and adds the
/// `X-RateLimit-*` headers to every response.
pub async fn limit_requests(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return ApiError::Internal(anyhow::anyhow!(
            "rate limiting ran before caller identification"
        ))
        .into_response();
    };
    match limiter.check(&caller.user_id).await {
        Decision::Blocked => {
            tracing::info!(user_id = %caller.user_id, "blocked caller rejected");
            ApiError::Forbidden("this caller is blocked; contact support".into()).into_response()
        }
        Decision::Limited(quota) => {
            let mut response = ApiError::RateLimited {
                retry_after_seconds: quota.reset_seconds(),
            }
            .into_response();
            set_headers(response.headers_mut(), quota);
            response
        }
        Decision::Allowed(quota) => {
            let mut response = next.run(request).await;
            set_headers(response.headers_mut(), quota);
            response
        }
    }
}

fn set_headers(headers: &mut HeaderMap, quota: Quota) {
    let pairs = [
        ("x-ratelimit-limit", quota.limit),
        ("x-ratelimit-remaining", quota.remaining),
        ("x-ratelimit-reset", quota.reset_seconds()),
    ];
    for (name, value) in pairs {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_seconds_rounds_up_to_at_least_one() {
        let quota = |ms| Quota {
            limit: 1,
            remaining: 0,
            reset_in: Duration::from_millis(ms),
        };
        assert_eq!(quota(0).reset_seconds(), 1);
        assert_eq!(quota(1).reset_seconds(), 1);
        assert_eq!(quota(1000).reset_seconds(), 1);
        assert_eq!(quota(1001).reset_seconds(), 2);
    }
}
