//! Admin routes: `POST /admin/cache/clear` and `POST /admin/gc`, behind a
//! bearer token. Without `ADMIN_TOKEN` the routes do not exist (404).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cache::SearchCache;
use crate::error::ApiError;
use crate::identity::Caller;

/// Body of `POST /admin/cache/clear`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CacheCleared {
    /// Cache entries deleted.
    pub removed: u64,
}

/// Body of `POST /admin/gc`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemoryReleased {
    /// Resident memory before the trim, in bytes.
    pub rss_before_bytes: u64,
    /// Resident memory after the trim, in bytes.
    pub rss_after_bytes: u64,
    /// Difference, in bytes (0 when memory grew meanwhile).
    pub released_bytes: u64,
}

/// Builds the admin router; `None` without an admin token.
pub fn router(token: Option<&str>, cache: Arc<SearchCache>) -> Option<Router> {
    let token = token.filter(|t| !t.is_empty())?;
    let expected = Arc::new(Sha256::digest(token.as_bytes()).to_vec());
    Some(
        Router::new()
            .route("/admin/cache/clear", post(clear_cache))
            .route("/admin/gc", post(release_memory))
            .with_state(cache)
            .route_layer(middleware::from_fn(move |request: Request, next: Next| {
                let expected = Arc::clone(&expected);
                async move { authorize(&expected, request, next).await }
            })),
    )
}

/// Checks `Authorization: Bearer <token>`: 401 without it, 403 with a wrong
/// one. Digests of equal length are compared in constant time, so the
/// response time does not reveal how much of the token matched.
async fn authorize(expected: &[u8], request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let caller = request
        .extensions()
        .get::<Caller>()
        .map_or_else(|| "unknown".to_owned(), |c| c.user_id.clone());
    let path = request.uri().path().to_owned();
    let Some(presented) = presented else {
        tracing::warn!(%caller, path, "admin call without a bearer token");
        return ApiError::Unauthorized("an admin bearer token is required".into()).into_response();
    };
    let digest = Sha256::digest(presented.as_bytes());
    let difference = digest
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if difference != 0 {
        tracing::warn!(%caller, path, "admin call with a wrong bearer token");
        return ApiError::Forbidden("the admin token is wrong".into()).into_response();
    }
    tracing::info!(%caller, path, "admin call");
    next.run(request).await
}

/// Deletes every search cache entry, and nothing else.
#[utoipa::path(
    post,
    path = "/admin/cache/clear",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Entries deleted", body = CacheCleared),
        (status = 401, description = "No bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Redis unavailable", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn clear_cache(
    State(cache): State<Arc<SearchCache>>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<CacheCleared>, ApiError> {
    let removed = cache.clear().await.map_err(ApiError::RedisUnavailable)?;
    let caller = caller.map_or_else(|| "unknown".to_owned(), |Extension(c)| c.user_id);
    tracing::info!(%caller, removed, "search cache cleared");
    Ok(Json(CacheCleared { removed }))
}

/// Returns freed heap memory to the operating system (`malloc_trim`) and
/// reports resident memory before and after.
#[utoipa::path(
    post,
    path = "/admin/gc",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Memory trimmed", body = MemoryReleased),
        (status = 401, description = "No bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong bearer token", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn release_memory() -> Result<Json<MemoryReleased>, ApiError> {
    let before = resident_bytes().map_err(|e| ApiError::Internal(e.into()))?;
    trim_heap();
    let after = resident_bytes().map_err(|e| ApiError::Internal(e.into()))?;
    tracing::info!(
        rss_before_bytes = before,
        rss_after_bytes = after,
        "heap trimmed"
    );
    Ok(Json(MemoryReleased {
        rss_before_bytes: before,
        rss_after_bytes: after,
        released_bytes: before.saturating_sub(after),
    }))
}

/// Returns the resident set size from `/proc/self/status`.
pub fn resident_bytes() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| std::io::Error::other("VmRSS missing from /proc/self/status"))
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim_heap() {
    // SAFETY: malloc_trim only walks glibc's own allocator state under its
    // locks; it takes no pointers from us and is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {
    // NOTE: only glibc has malloc_trim; elsewhere the route reports memory
    // without releasing any.
}
