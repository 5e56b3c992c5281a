//! Recall search: `POST /api/v1/search/advanced`.

pub mod cursor;
pub mod repository;
pub mod request;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use babyshield_monitoring::request_id;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::cache::SearchCache;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::search::cursor::Cursor;
use crate::search::repository::{RecallRow, SearchPage};
use crate::search::request::{SearchQuery, SearchRequest};

/// Response body of a search.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// Always `true` on success.
    pub ok: bool,
    /// The result page.
    pub data: SearchData,
    /// Request id, also in the `X-Request-Id` header.
    #[serde(rename = "traceId")]
    pub trace_id: String,
}

/// One page of results.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchData {
    /// Recalls in result order.
    pub items: Vec<RecallItem>,
    /// Matches of the whole search.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
    /// Cursor for the next page, `null` on the last page.
    #[serde(rename = "nextCursor")]
    pub next_cursor: Option<String>,
    /// Whether more results follow this page.
    #[serde(rename = "hasMore")]
    pub has_more: bool,
}

/// One recall as clients receive it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecallItem {
    /// The agency's recall id.
    pub id: String,
    /// Headline.
    pub title: String,
    /// Product names, joined with "; ".
    pub product_name: Option<String>,
    /// Brands, joined with ", ".
    pub brand: Option<String>,
    /// Manufacturers, importers and distributors, joined with "; ".
    pub manufacturer: Option<String>,
    /// Hazard.
    pub hazard: Option<String>,
    /// What to do.
    pub remedy: Option<String>,
    /// Recall date, `YYYY-MM-DD`.
    #[schema(value_type = Option<String>, format = Date)]
    pub recall_date: Option<chrono::NaiveDate>,
    /// Agency code, e.g. `CPSC`.
    pub agency_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Official notice.
    pub url: Option<String>,
    /// Product photos.
    pub image_urls: Vec<String>,
    /// Barcodes.
    pub upcs: Vec<String>,
    /// Category as the agency names it.
    pub product_category: Option<String>,
    /// Whether it is a baby or child product.
    pub is_child_product: bool,
    /// Relevance to the product text, 0 without text.
    pub relevance_score: f32,
}

impl From<RecallRow> for RecallItem {
    fn from(row: RecallRow) -> RecallItem {
        let joined = |values: Vec<String>, separator: &str| {
            (!values.is_empty()).then(|| values.join(separator))
        };
        RecallItem {
            id: row.source_id,
            title: row.title,
            product_name: joined(row.product_names, "; "),
            brand: joined(row.brands, ", "),
            manufacturer: joined(row.manufacturers, "; "),
            hazard: row.hazard,
            remedy: row.remedy,
            recall_date: row.recall_date,
            agency_code: row.source,
            country: row.country,
            description: row.description,
            url: row.url,
            image_urls: row.image_urls,
            upcs: row.upcs,
            product_category: row.category,
            is_child_product: row.is_child_product,
            relevance_score: row.rank,
        }
    }
}

/// State of the search routes.
#[derive(Clone)]
pub struct SearchState {
    /// Main Postgres pool.
    pub pool: PgPool,
    /// Result cache.
    pub cache: Arc<SearchCache>,
}

/// Builds the search router.
pub fn router(state: SearchState) -> Router {
    Router::new()
        .route("/api/v1/search/advanced", post(search_advanced))
        .with_state(state)
}

/// Searches recalls by product text and filters.
#[utoipa::path(
    post,
    path = "/api/v1/search/advanced",
    tag = "search",
    request_body = SearchRequest,
    responses(
        (status = 200, description = "A page of matching recalls", body = SearchResponse),
        (status = 400, description = "Invalid request", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown or revoked X-API-Key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is blocked", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within BODY_TIMEOUT_MS", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit exceeded; Retry-After gives the seconds to wait", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, timed out, or the service is at capacity (with Retry-After)", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn search_advanced(
    State(state): State<SearchState>,
    ApiJson(request): ApiJson<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    let query = request.validate()?;
    let key = SearchCache::key(&query);
    let cached = state
        .cache
        .get(&key)
        .await
        .and_then(|bytes| serde_json::from_slice::<SearchData>(&bytes).ok());
    let data = match cached {
        Some(data) => data,
        None => {
            let data = run_search(&state.pool, &query).await?;
            if let Ok(bytes) = serde_json::to_vec(&data) {
                state.cache.put(&key, bytes).await;
            }
            data
        }
    };
    Ok(Json(SearchResponse {
        ok: true,
        data,
        trace_id: request_id::current(),
    }))
}

/// Runs a validated search against Postgres: spelling correction, then the
/// page query. The synthetic search probe calls this too; it skips the
/// result cache so that a database failure shows at once.
pub async fn run_search(pool: &PgPool, query: &SearchQuery) -> Result<SearchData, ApiError> {
    let text = match &query.text {
        Some(text) => Some(repository::correct_spelling(pool, text).await?),
        None => None,
    };
    let SearchPage { mut rows, total } = repository::search(pool, query, text.as_deref()).await?;

    // The query fetches one row more than the page, so `hasMore` is exact
    // with a cursor too, where the page's position in the result is unknown.
    let has_more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    let next_cursor = match rows.last() {
        Some(last) if has_more => Some(
            Cursor {
                rank: last.rank,
                date_days: last.date_key,
                row_id: last.row_id,
                query_hash: query.fingerprint(),
            }
            .encode(),
        ),
        _ => None,
    };

    Ok(SearchData {
        items: rows.into_iter().map(RecallItem::from).collect(),
        total,
        limit: query.limit,
        offset: query.offset,
        next_cursor,
        has_more,
    })
}
