//! Search result cache.
//!
//! With Redis, results are stored under `search_cache:<hash of the
//! normalised request>` with a TTL, shared by every instance; while Redis
//! fails, searches go to Postgres uncached. Without Redis (empty
//! `REDIS_URL`), a bounded in-memory map with the same TTL is used. Entries
//! never outlive the TTL; an import clears the Redis entries at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use babyshield_monitoring::Metrics;
use deadpool_redis::redis;
use sha2::{Digest, Sha256};

use crate::redis_link::RedisLink;
use crate::search::request::SearchQuery;

/// Prefix of every cache key; clearing the cache deletes only these keys.
pub const KEY_PREFIX: &str = "search_cache:";
/// Most entries of the in-memory cache.
const MAX_LOCAL_ENTRIES: usize = 1_000;
/// Keys asked for per `SCAN` step when clearing.
const SCAN_COUNT: usize = 500;

/// In-memory entries: key to (value, time stored).
type LocalEntries = Mutex<HashMap<String, (Vec<u8>, Instant)>>;

/// The search cache of one instance.
pub struct SearchCache {
    redis: Option<RedisLink>,
    local: Option<LocalEntries>,
    ttl: Duration,
    metrics: Metrics,
}

impl SearchCache {
    /// Creates a cache in Redis, or in memory when `redis` is `None`.
    pub fn new(redis: Option<RedisLink>, ttl: Duration, metrics: Metrics) -> SearchCache {
        let local = redis.is_none().then(|| Mutex::new(HashMap::new()));
        SearchCache {
            redis,
            local,
            ttl,
            metrics,
        }
    }

    /// Returns the cache key of a validated search, page included.
    pub fn key(query: &SearchQuery) -> String {
        let mut hasher = Sha256::new();
        hasher.update(query.fingerprint().to_be_bytes());
        hasher.update(query.limit.to_be_bytes());
        hasher.update(query.offset.to_be_bytes());
        if let Some(cursor) = &query.cursor {
            hasher.update(cursor.encode().as_bytes());
        }
        let digest = hasher.finalize();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("{KEY_PREFIX}{hex}")
    }

    /// Looks a key up and counts the hit or miss.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let found = self.lookup(key).await;
        let counter = match found {
            Some(_) => &self.metrics.cache_hits,
            None => &self.metrics.cache_misses,
        };
        counter.with_label_values(&["search"]).inc();
        found
    }

    async fn lookup(&self, key: &str) -> Option<Vec<u8>> {
        if self.ttl.is_zero() {
            return None;
        }
        if let Some(redis) = &self.redis {
            let key = key.to_owned();
            return redis
                .run(|mut connection| async move {
                    redis::cmd("GET")
                        .arg(&key)
                        .query_async::<Option<Vec<u8>>>(&mut connection)
                        .await
                })
                .await
                .flatten();
        }
        // NOTE: an import run by another process cannot clear this map, so
        // without Redis a new import shows in searches only once the cached
        // pages expire, within the TTL.
        let local = self.local.as_ref()?.lock().ok()?;
        match local.get(key) {
            Some((bytes, stored)) if stored.elapsed() < self.ttl => Some(bytes.clone()),
            _ => None,
        }
    }

    /// Stores a value under `key` for the TTL.
    pub async fn put(&self, key: &str, value: Vec<u8>) {
        // A zero TTL turns the cache off; Redis would also reject `PX 0`.
        if self.ttl.is_zero() {
            return;
        }
        if let Some(redis) = &self.redis {
            let key = key.to_owned();
            let ttl_ms = self.ttl.as_millis() as u64;
            redis
                .run(|mut connection| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(value)
                        .arg("PX")
                        .arg(ttl_ms)
                        .query_async::<()>(&mut connection)
                        .await
                })
                .await;
            return;
        }
        let Some(Ok(mut local)) = self.local.as_ref().map(Mutex::lock) else {
            return;
        };
        if local.len() >= MAX_LOCAL_ENTRIES {
            let ttl = self.ttl;
            local.retain(|_, (_, stored)| stored.elapsed() < ttl);
        }
        if local.len() < MAX_LOCAL_ENTRIES {
            local.insert(key.to_owned(), (value, Instant::now()));
        }
    }

    /// Deletes every cache entry and returns how many were removed; other
    /// keys (rate limits, the blocklist) are left alone.
    pub async fn clear(&self) -> Result<u64, String> {
        match &self.redis {
            Some(redis) => clear_redis(redis.pool()).await,
            None => {
                let Some(Ok(mut local)) = self.local.as_ref().map(Mutex::lock) else {
                    return Ok(0);
                };
                let removed = local.len() as u64;
                local.clear();
                Ok(removed)
            }
        }
    }
}

/// Deletes the `search_cache:*` keys with `SCAN` and `UNLINK`, never
/// `FLUSHDB`, and returns how many were removed.
pub async fn clear_redis(pool: &deadpool_redis::Pool) -> Result<u64, String> {
    let mut connection = pool.get().await.map_err(|e| e.to_string())?;
    let pattern = format!("{KEY_PREFIX}*");
    let mut cursor: u64 = 0;
    let mut removed = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        if !keys.is_empty() {
            let unlinked: u64 = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(&mut connection)
                .await
                .map_err(|e| e.to_string())?;
            removed += unlinked;
        }
        if next == 0 {
            return Ok(removed);
        }
        cursor = next;
    }
}
