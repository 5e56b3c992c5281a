//! Writes normalised recalls to `recalls_enhanced` and rebuilds the search
//! word dictionary.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::import::record::Recall;

/// Records per `INSERT` statement: large enough to amortise the round trip,
/// small enough to keep each statement's JSON parameter a few MB.
const BATCH_SIZE: usize = 1000;

/// What an upsert changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpsertCounts {
    /// New recalls.
    pub inserted: u64,
    /// Recalls whose stored version changed.
    pub updated: u64,
    /// Recalls already stored as they are, or stored from a feed of higher
    /// priority.
    pub unchanged: u64,
}

/// One row as the insert statement reads it from `jsonb_to_recordset`.
#[derive(Serialize)]
struct Row<'a> {
    source: &'static str,
    source_id: &'a str,
    feed: &'static str,
    feed_priority: i16,
    recall_date: Option<chrono::NaiveDate>,
    title: &'a str,
    product_names: &'a [String],
    description: Option<&'a str>,
    brands: &'a [String],
    manufacturers: &'a [String],
    hazard: Option<&'a str>,
    remedy: Option<&'a str>,
    category: Option<&'a str>,
    country: Option<&'a str>,
    url: Option<&'a str>,
    image_urls: &'a [String],
    upcs: &'a [String],
    is_child_product: bool,
    content_hash: String,
}

impl<'a> Row<'a> {
    fn new(recall: &'a Recall) -> Row<'a> {
        Row {
            source: recall.source.code(),
            source_id: &recall.source_id,
            feed: recall.feed.name(),
            feed_priority: recall.feed.priority(),
            recall_date: recall.recall_date,
            title: &recall.title,
            product_names: &recall.product_names,
            description: recall.description.as_deref(),
            brands: &recall.brands,
            manufacturers: &recall.manufacturers,
            hazard: recall.hazard.as_deref(),
            remedy: recall.remedy.as_deref(),
            category: recall.category.as_deref(),
            country: recall.country.as_deref(),
            url: recall.url.as_deref(),
            image_urls: &recall.image_urls,
            upcs: &recall.upcs,
            is_child_product: recall.is_child_product,
            content_hash: content_hash(recall),
        }
    }
}

/// Hashes the whole normalised record, so that any change of content is an
/// update and an identical re-import is not.
fn content_hash(recall: &Recall) -> String {
    let json = serde_json::to_vec(recall).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Inserts new recalls and updates changed ones, in batches. A stored
/// recall is only replaced by a version from a feed of equal or higher
/// priority, so overlapping data sets give the same table in any order.
/// `recalls` must hold each (source, source id) once.
pub async fn upsert(pool: &PgPool, recalls: &[Recall]) -> Result<UpsertCounts, sqlx::Error> {
    let mut counts = UpsertCounts::default();
    for batch in recalls.chunks(BATCH_SIZE) {
        let rows: Vec<Row<'_>> = batch.iter().map(Row::new).collect();
        let json = serde_json::to_value(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let written: Vec<bool> = sqlx::query_scalar(UPSERT_SQL)
            .bind(json)
            .fetch_all(pool)
            .await?;
        let inserted = written.iter().filter(|inserted| **inserted).count() as u64;
        let updated = written.len() as u64 - inserted;
        counts.inserted += inserted;
        counts.updated += updated;
        counts.unchanged += batch.len() as u64 - inserted - updated;
    }
    Ok(counts)
}

const UPSERT_SQL: &str = "
WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
        source text, source_id text, feed text, feed_priority smallint, recall_date date,
        title text, product_names text[], description text, brands text[], manufacturers text[],
        hazard text, remedy text, category text, country text, url text, image_urls text[],
        upcs text[], is_child_product boolean, content_hash text)
)
INSERT INTO recalls_enhanced AS t (
    source, source_id, feed, feed_priority, recall_date, title, product_names, description,
    brands, manufacturers, hazard, remedy, category, country, url, image_urls, upcs,
    is_child_product, content_hash, search_vector)
SELECT source, source_id, feed, feed_priority, recall_date, title, product_names, description,
       brands, manufacturers, hazard, remedy, category, country, url, image_urls, upcs,
       is_child_product, content_hash,
       setweight(to_tsvector('english', title || ' ' || array_to_string(product_names, ' ')), 'A')
       || setweight(to_tsvector('english', array_to_string(brands, ' ') || ' ' || array_to_string(manufacturers, ' ')), 'B')
       || setweight(to_tsvector('english', coalesce(hazard, '') || ' ' || coalesce(category, '')), 'C')
       || setweight(to_tsvector('english', coalesce(description, '')), 'D')
FROM input
ON CONFLICT (source, source_id) DO UPDATE SET
    feed = EXCLUDED.feed, feed_priority = EXCLUDED.feed_priority,
    recall_date = EXCLUDED.recall_date, title = EXCLUDED.title,
    product_names = EXCLUDED.product_names, description = EXCLUDED.description,
    brands = EXCLUDED.brands, manufacturers = EXCLUDED.manufacturers,
    hazard = EXCLUDED.hazard, remedy = EXCLUDED.remedy, category = EXCLUDED.category,
    country = EXCLUDED.country, url = EXCLUDED.url, image_urls = EXCLUDED.image_urls,
    upcs = EXCLUDED.upcs, is_child_product = EXCLUDED.is_child_product,
    content_hash = EXCLUDED.content_hash, search_vector = EXCLUDED.search_vector,
    updated_at = now()
WHERE t.content_hash <> EXCLUDED.content_hash
  AND EXCLUDED.feed_priority >= t.feed_priority
RETURNING (xmax = 0) AS inserted";

/// Rebuilds `search_terms` from the words of titles, product names, brands,
/// hazards and categories, in one transaction so searches never see it
/// empty, then refreshes the planner's statistics of both tables.
pub async fn rebuild_search_terms(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM search_terms")
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO search_terms (word, frequency)
         SELECT word, ndoc FROM ts_stat($$
             SELECT to_tsvector('simple',
                 title || ' ' || array_to_string(product_names, ' ') || ' ' ||
                 array_to_string(brands, ' ') || ' ' || coalesce(hazard, '') || ' ' ||
                 coalesce(category, ''))
             FROM recalls_enhanced $$)
         WHERE length(word) >= 3 AND word !~ '[0-9]'",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    // Fresh statistics at once: until autovacuum gets to the new rows, the
    // planner's estimates for a common word are far off and searches take
    // several times longer.
    sqlx::query("ANALYZE recalls_enhanced, search_terms")
        .execute(pool)
        .await?;
    Ok(inserted)
}

/// Returns the number of stored recalls.
pub async fn count_recalls(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM recalls_enhanced")
        .fetch_one(pool)
        .await
}
