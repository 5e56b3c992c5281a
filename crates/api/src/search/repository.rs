//! Search queries against `recalls_enhanced`.
//!
//! User text only ever reaches Postgres as a bound parameter of
//! `websearch_to_tsquery`, which accepts any string (quotes, `or`, `-`) and
//! never raises a syntax error, unlike `to_tsquery`.

use chrono::NaiveDate;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::search::cursor::Cursor;
use crate::search::request::SearchQuery;

/// Shortest word that spelling correction looks up; trigram similarity of
/// shorter words is too coarse to pick the right replacement.
const MIN_CORRECTED_CHARS: usize = 4;

/// Recalls a word must occur in to be taken as spelt right whatever similar
/// words exist.
const MIN_TRUSTED_FREQUENCY: i32 = 5;

/// One recall of a result page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecallRow {
    /// Row id, the final sort key.
    pub row_id: i64,
    /// Agency code.
    pub source: String,
    /// The agency's recall id.
    pub source_id: String,
    /// Recall date.
    pub recall_date: Option<NaiveDate>,
    /// Headline.
    pub title: String,
    /// Product names.
    pub product_names: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// Brands.
    pub brands: Vec<String>,
    /// Manufacturers, importers and distributors.
    pub manufacturers: Vec<String>,
    /// Hazard.
    pub hazard: Option<String>,
    /// Remedy.
    pub remedy: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Country code.
    pub country: Option<String>,
    /// Notice URL.
    pub url: Option<String>,
    /// Image URLs.
    pub image_urls: Vec<String>,
    /// Barcodes.
    pub upcs: Vec<String>,
    /// Baby or child product.
    pub is_child_product: bool,
    /// Relevance, 0 without product text.
    pub rank: f32,
    /// Recall date as days since 1970-01-01, for the cursor.
    pub date_key: i32,
    /// Matches of the whole search, before paging.
    pub total: i64,
}

/// One page of results.
#[derive(Debug)]
pub struct SearchPage {
    /// The page's recalls in result order.
    pub rows: Vec<RecallRow>,
    /// Matches of the whole search.
    pub total: i64,
}

/// Replaces each word of `text` that no recall contains, or that is rare
/// next to a similar common word, by the best similar word of
/// `search_terms` (trigram similarity), keeping every other character
/// (quotes, `-`, spaces) in place. An unknown word that splits into two
/// common words becomes those two words instead ("carseat" becomes
/// "car seat", where the nearest single word would be "car"). Returns the
/// text unchanged when no word needs a correction.
pub async fn correct_spelling(pool: &PgPool, text: &str) -> Result<String, sqlx::Error> {
    let words = words_to_check(text);
    if words.is_empty() {
        return Ok(text.to_owned());
    }
    // A word known from at least `MIN_TRUSTED_FREQUENCY` recalls is kept as
    // it is, which also skips the trigram lookup for most words. Otherwise a
    // candidate replaces it when the candidate is at least ten times as
    // frequent: an unknown word (frequency 0) takes any similar word, while
    // a rare one, often a typo in the source data itself ("pacifer"), gives
    // way only to a much more common and closely similar word. Among
    // candidates, similarity weighted by the log of the frequency wins, so
    // "strollr" becomes "stroller", not the rarer "stroll".
    // A split needs both halves to be trusted words (dictionary words have
    // at least 3 letters), and the split whose rarer half is most frequent
    // wins. The halves are looked up by key one by one: as a join, the
    // planner hashed the whole dictionary for every word.
    let corrections: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT w.word, coalesce(split.words, s.word)
         FROM unnest($1::text[]) AS w(word)
         CROSS JOIN LATERAL (
             SELECT coalesce((SELECT k.frequency FROM search_terms k WHERE k.word = w.word), 0) AS frequency
         ) known
         LEFT JOIN LATERAL (
             SELECT left(w.word, cut.position) || ' ' || substr(w.word, cut.position + 1) AS words
             FROM generate_series(3, length(w.word) - 3) AS cut(position)
             CROSS JOIN LATERAL (
                 SELECT (SELECT a.frequency FROM search_terms a
                         WHERE a.word = left(w.word, cut.position)) AS head,
                        (SELECT b.frequency FROM search_terms b
                         WHERE b.word = substr(w.word, cut.position + 1)) AS tail
             ) halves
             WHERE known.frequency = 0 AND halves.head >= $2 AND halves.tail >= $2
             ORDER BY least(halves.head, halves.tail) DESC
             LIMIT 1
         ) split ON true
         LEFT JOIN LATERAL (
             SELECT t.word FROM search_terms t
             WHERE known.frequency < $2
               AND split.words IS NULL
               AND t.word % w.word
               AND t.frequency > 10 * known.frequency
               AND (known.frequency = 0 OR similarity(t.word, w.word) >= 0.5)
             ORDER BY similarity(t.word, w.word) * ln(t.frequency + 1.0) DESC, t.word
             LIMIT 1
         ) s ON true",
    )
    .bind(&words)
    .bind(MIN_TRUSTED_FREQUENCY)
    .fetch_all(pool)
    .await?;

    let mut corrected = String::with_capacity(text.len());
    for (is_word, piece) in split_words(text) {
        let replacement = is_word
            .then(|| piece.to_lowercase())
            .and_then(|lower| corrections.iter().find(|(word, _)| *word == lower))
            .and_then(|(_, suggestion)| suggestion.as_deref());
        corrected.push_str(replacement.unwrap_or(piece));
    }
    Ok(corrected)
}

/// Lower-case words of `text` long enough to correct, without numbers.
fn words_to_check(text: &str) -> Vec<String> {
    let mut words: Vec<String> = split_words(text)
        .filter(|(is_word, piece)| {
            *is_word
                && piece.chars().count() >= MIN_CORRECTED_CHARS
                && !piece.chars().any(|c| c.is_numeric())
        })
        .map(|(_, piece)| piece.to_lowercase())
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Splits text into alternating runs of word characters and the rest,
/// flagging which are words.
fn split_words(text: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let is_word = first.is_alphanumeric();
        let end = rest
            .char_indices()
            .find(|(_, c)| c.is_alphanumeric() != is_word)
            .map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some((is_word, piece))
    })
}

/// Runs the search and returns one page plus one row, in result order:
/// relevance, then newest first, then row id.
pub async fn search(
    pool: &PgPool,
    query: &SearchQuery,
    text: Option<&str>,
) -> Result<SearchPage, sqlx::Error> {
    let mut sql = QueryBuilder::<Postgres>::new("WITH q AS (SELECT ");
    match text {
        Some(text) => sql
            .push("websearch_to_tsquery('english', ")
            .push_bind(text)
            .push(")"),
        None => sql.push("NULL::tsquery"),
    };
    // `matches` is materialised so each match's rank is computed once
    // during the index scan and the window count keeps only (id, rank,
    // date) per match, not the tsvector. Only the rows of the page are then
    // joined back for their columns: joining every match first made the
    // planner scan the whole table for a common word.
    sql.push(
        " AS query), matches AS MATERIALIZED (
            SELECT r.id,
                   COALESCE(ts_rank_cd(r.search_vector, q.query), 0)::real AS rank,
                   (COALESCE(r.recall_date, DATE '0001-01-01') - DATE '1970-01-01') AS date_key
            FROM recalls_enhanced r, q
            WHERE true",
    );
    if text.is_some() {
        sql.push(" AND r.search_vector @@ q.query");
    }
    push_filters(&mut sql, query);
    sql.push(
        "), counted AS (SELECT m.*, count(*) OVER () AS total FROM matches m),
        page AS (SELECT c.* FROM counted c WHERE true",
    );
    if let Some(cursor) = &query.cursor {
        push_after_cursor(&mut sql, cursor);
    }
    sql.push(" ORDER BY c.rank DESC, c.date_key DESC, c.id ASC LIMIT ")
        .push_bind(query.limit + 1)
        .push(" OFFSET ")
        .push_bind(query.offset);
    sql.push(
        ")
        SELECT r.id AS row_id, r.source, r.source_id, r.recall_date, r.title, r.product_names,
               r.description, r.brands, r.manufacturers, r.hazard, r.remedy, r.category,
               r.country, r.url, r.image_urls, r.upcs, r.is_child_product,
               p.rank, p.date_key, p.total
        FROM page p JOIN recalls_enhanced r ON r.id = p.id
        ORDER BY p.rank DESC, p.date_key DESC, p.id ASC",
    );

    let rows: Vec<RecallRow> = sql.build_query_as().fetch_all(pool).await?;
    let total = match rows.first() {
        Some(row) => row.total,
        None if query.offset == 0 && query.cursor.is_none() => 0,
        // A page past the end has no row to carry the total.
        None => count(pool, query, text).await?,
    };
    Ok(SearchPage { rows, total })
}

/// Counts the matches of a search.
async fn count(pool: &PgPool, query: &SearchQuery, text: Option<&str>) -> Result<i64, sqlx::Error> {
    let mut sql =
        QueryBuilder::<Postgres>::new("SELECT count(*) FROM recalls_enhanced r WHERE true");
    if let Some(text) = text {
        sql.push(" AND r.search_vector @@ websearch_to_tsquery('english', ")
            .push_bind(text)
            .push(")");
    }
    push_filters(&mut sql, query);
    sql.build_query_scalar().fetch_one(pool).await
}

fn push_filters(sql: &mut QueryBuilder<'_, Postgres>, query: &SearchQuery) {
    for keyword in &query.keywords {
        sql.push(" AND r.search_vector @@ websearch_to_tsquery('english', ")
            .push_bind(keyword.clone())
            .push(")");
    }
    if let Some(id) = &query.id {
        sql.push(" AND r.source_id = ").push_bind(id.clone());
    }
    if !query.agencies.is_empty() {
        let agencies: Vec<String> = query.agencies.iter().map(|a| (*a).to_owned()).collect();
        sql.push(" AND r.source = ANY(")
            .push_bind(agencies)
            .push(")");
    }
    if let Some(brand) = &query.brand {
        sql.push(" AND EXISTS (SELECT 1 FROM unnest(r.brands || r.manufacturers) AS b(name) WHERE b.name ILIKE ")
            .push_bind(contains_pattern(brand))
            .push(")");
    }
    if let Some(hazard) = &query.hazard {
        sql.push(" AND r.hazard ILIKE ")
            .push_bind(contains_pattern(hazard));
    }
    if let Some(category) = &query.category {
        sql.push(" AND r.category ILIKE ")
            .push_bind(contains_pattern(category));
    }
    if let Some(country) = &query.country {
        sql.push(" AND r.country = ").push_bind(country.clone());
    }
    if let Some(from) = query.date_from {
        sql.push(" AND r.recall_date >= ").push_bind(from);
    }
    if let Some(to) = query.date_to {
        sql.push(" AND r.recall_date <= ").push_bind(to);
    }
}

/// Keeps rows that sort strictly after the cursor in
/// `rank DESC, date_key DESC, id ASC` order.
fn push_after_cursor(sql: &mut QueryBuilder<'_, Postgres>, cursor: &Cursor) {
    sql.push(" AND (c.rank < ")
        .push_bind(cursor.rank)
        .push(" OR (c.rank = ")
        .push_bind(cursor.rank)
        .push(" AND (c.date_key < ")
        .push_bind(cursor.date_days)
        .push(" OR (c.date_key = ")
        .push_bind(cursor.date_days)
        .push(" AND c.id > ")
        .push_bind(cursor.row_id)
        .push("))))");
}

/// Builds an ILIKE pattern matching `text` anywhere, with LIKE wildcards in
/// the user's text escaped.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_words_keeps_every_character() {
        let text = "\"baby  crib\" -toy, pousette™";
        let pieces: Vec<_> = split_words(text).collect();
        assert_eq!(pieces.iter().map(|(_, p)| *p).collect::<String>(), text);
        assert_eq!(
            pieces
                .iter()
                .filter(|(w, _)| *w)
                .map(|(_, p)| *p)
                .collect::<Vec<_>>(),
            ["baby", "crib", "toy", "pousette"]
        );
    }

    #[test]
    fn words_to_check_skips_short_and_numeric() {
        assert_eq!(
            words_to_check("Strollr 3in1 cot STROLLR model42"),
            ["strollr"]
        );
    }

    #[test]
    fn contains_pattern_escapes_wildcards() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
