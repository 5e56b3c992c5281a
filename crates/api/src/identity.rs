//! Caller identity for rate limiting: the user id of a valid `X-API-Key`,
//! otherwise the client IP address. `X-Forwarded-For` is read only when the
//! peer is a configured trusted proxy, so a client cannot pick its own
//! identity.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::ApiError;

/// Header carrying an API key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Prefix of every generated key, so leaked keys are easy to search for.
pub const KEY_PREFIX: &str = "bsk_";
/// Most API-key lookups kept in memory.
const MAX_CACHED_KEYS: usize = 10_000;

/// Identity of a request's sender, as stored in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User id of the API key, or the client IP address without one.
    pub user_id: String,
    /// Whether the identity comes from an API key.
    pub authenticated: bool,
}

/// Resolves callers; shared by every request.
pub struct Identifier {
    pool: PgPool,
    trusted_proxies: Vec<IpNet>,
    cache_for: Duration,
    /// Key hash to (user id or `None` for an unknown key, time looked up).
    cache: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl Identifier {
    /// Creates the identifier. Key lookups, found or not, are cached for
    /// `cache_for`, so a revoked key stops working within that time.
    pub fn new(pool: PgPool, trusted_proxies: Vec<IpNet>, cache_for: Duration) -> Identifier {
        Identifier {
            pool,
            trusted_proxies,
            cache_for,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the user id of an API key, or `None` for an unknown or
    /// revoked one.
    pub async fn user_for_key(&self, key: &str) -> Result<Option<String>, sqlx::Error> {
        let hash = hash_key(key);
        if let Ok(cache) = self.cache.lock() {
            if let Some((user, looked_up)) = cache.get(&hash) {
                if looked_up.elapsed() < self.cache_for {
                    return Ok(user.clone());
                }
            }
        }
        let user: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED_KEYS {
                let cache_for = self.cache_for;
                cache.retain(|_, (_, looked_up)| looked_up.elapsed() < cache_for);
            }
            if cache.len() < MAX_CACHED_KEYS {
                cache.insert(hash, (user.clone(), Instant::now()));
            }
        }
        Ok(user)
    }

    /// Returns the client address: the peer, or for a trusted proxy the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted
    /// proxy.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let Some(header) = forwarded_for else {
            return Some(peer);
        };
        header
            .rsplit(',')
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .find(|ip| !self.is_trusted(*ip))
            .or(Some(peer))
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|network| network.contains(&address))
    }
}

/// Middleware that puts a [`Caller`] in the request extensions; a request
/// with an invalid API key gets 401.
pub async fn identify(
    State(identifier): State<Arc<Identifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    let key = request
        .headers()
        .get(API_KEY_HEADER)
        .map(|value| value.to_str().unwrap_or_default().trim().to_owned());
    let caller = match key {
        Some(key) => match identifier.user_for_key(&key).await {
            Ok(Some(user_id)) => Caller {
                user_id,
                authenticated: true,
            },
            Ok(None) => {
                return ApiError::Unauthorized("the API key is invalid or revoked".into())
                    .into_response()
            }
            Err(error) => return ApiError::from(error).into_response(),
        },
        None => {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip());
            let forwarded = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|value| value.to_str().ok());
            let user_id = identifier
                .client_ip(peer, forwarded)
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
            Caller {
                user_id,
                authenticated: false,
            }
        }
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Returns the hex SHA-256 of a key, the form stored in `api_keys`.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates a key for `user_id` and returns it; only its hash is stored, so
/// this is the only time the key can be seen.
pub async fn create_key(pool: &PgPool, user_id: &str) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let key: String = format!(
        "{KEY_PREFIX}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    sqlx::query("INSERT INTO api_keys (key_hash, key_prefix, user_id) VALUES ($1, $2, $3)")
        .bind(hash_key(&key))
        .bind(&key[..KEY_PREFIX.len() + 6])
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(key)
}

/// Revokes every active key of `user_id` and returns how many.
pub async fn revoke_keys(pool: &PgPool, user_id: &str) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identifier(trusted: &[&str]) -> Identifier {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        Identifier::new(
            pool,
            trusted.iter().map(|ip| ip.parse().unwrap()).collect(),
            Duration::from_secs(60),
        )
    }

    #[tokio::test]
    async fn forwarded_for_is_ignored_from_untrusted_peer() {
        let identifier = identifier(&[]);
        let ip = identifier.client_ip(Some("203.0.113.7".parse().unwrap()), Some("198.51.100.1"));
        assert_eq!(ip, Some("203.0.113.7".parse().unwrap()));
    }

    #[tokio::test]
    async fn forwarded_for_is_read_from_trusted_proxy() {
        let identifier = identifier(&["10.0.0.1/32", "10.0.0.2/32"]);
        let ip = identifier.client_ip(
            Some("10.0.0.1".parse().unwrap()),
            Some("198.51.100.9, 198.51.100.1, 10.0.0.2"),
        );
        assert_eq!(ip, Some("198.51.100.1".parse().unwrap()));
    }

    #[tokio::test]
    async fn trusted_range_skips_every_proxy_in_it() {
        let identifier = identifier(&["10.0.0.0/16"]);
        let ip = identifier.client_ip(
            Some("10.0.3.4".parse().unwrap()),
            Some("198.51.100.20, 10.0.9.9"),
        );
        assert_eq!(ip, Some("198.51.100.20".parse().unwrap()));
        let outside =
            identifier.client_ip(Some("10.1.0.1".parse().unwrap()), Some("198.51.100.20"));
        assert_eq!(outside, Some("10.1.0.1".parse().unwrap()));
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
