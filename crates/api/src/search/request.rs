//! The search request as clients send it, and its validation into a
//! [`SearchQuery`].

use chrono::NaiveDate;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::import::record::Agency;
use crate::search::cursor::Cursor;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;
/// Largest `offset`: deeper pages cost a scan of every row before them, so
/// clients page further with `nextCursor`.
pub const MAX_OFFSET: i64 = 10_000;
/// Length bounds of `product` and `query`, in characters after trimming.
pub const TEXT_MIN_CHARS: usize = 2;
/// See [`TEXT_MIN_CHARS`].
pub const TEXT_MAX_CHARS: usize = 200;
/// Most `keywords` and `agencies` entries accepted.
pub const MAX_LIST_ITEMS: usize = 20;

/// Body of `POST /api/v1/search/advanced`. At least one of `product`,
/// `query`, `keywords` and `id` is required; unknown members are ignored.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct SearchRequest {
    /// Product text, 2–200 characters. Quotes make a phrase, `or` an
    /// alternative, a leading `-` excludes a word; misspelt words are
    /// corrected to the nearest known word.
    #[schema(min_length = 2, max_length = 200, example = "crib")]
    pub product: Option<String>,
    /// Same as `product`; used when `product` is absent.
    #[schema(min_length = 2, max_length = 200)]
    pub query: Option<String>,
    /// Words that must all match, each 2–200 characters.
    #[schema(max_items = 20)]
    pub keywords: Option<Vec<String>>,
    /// Exact recall id as the agency publishes it, e.g. `26-342`.
    #[schema(max_length = 100, example = "26-191")]
    pub id: Option<String>,
    /// Agency codes: CPSC, FDA, NHTSA, HEALTH_CANADA, EU_SAFETY_GATE, OECD.
    #[schema(max_items = 20, inline, value_type = Option<Vec<AgencyCode>>)]
    pub agencies: Option<Vec<String>>,
    /// Brand or manufacturer, matched as a substring.
    #[schema(max_length = 200)]
    pub brand: Option<String>,
    /// Hazard text, matched as a substring.
    #[schema(max_length = 200)]
    pub hazard: Option<String>,
    /// Product category, matched as a substring.
    #[schema(max_length = 200)]
    pub product_category: Option<String>,
    /// ISO 3166-1 alpha-2 code of the country that issued the recall.
    #[schema(pattern = "^[A-Za-z]{2}$", example = "US")]
    pub country: Option<String>,
    /// Earliest recall date, `YYYY-MM-DD`.
    #[schema(format = Date, example = "2024-01-01")]
    pub date_from: Option<String>,
    /// Latest recall date, `YYYY-MM-DD`, not before `date_from`.
    #[schema(format = Date, example = "2026-12-31")]
    pub date_to: Option<String>,
    /// Page size, 1–100; default 20.
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Results to skip, 0–10000; not with `nextCursor`.
    #[schema(minimum = 0, maximum = 10000)]
    pub offset: Option<i64>,
    /// Cursor from the previous page's `nextCursor`.
    #[serde(rename = "nextCursor")]
    pub next_cursor: Option<String>,
}

/// Agency codes accepted in `agencies`, as documented in the OpenAPI
/// document; matching is case-insensitive.
#[derive(utoipa::ToSchema)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types, dead_code)]
enum AgencyCode {
    CPSC,
    FDA,
    NHTSA,
    HEALTH_CANADA,
    EU_SAFETY_GATE,
    OECD,
}

/// A validated search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Trimmed product text.
    pub text: Option<String>,
    /// Trimmed keywords.
    pub keywords: Vec<String>,
    /// Exact recall id.
    pub id: Option<String>,
    /// Agency codes.
    pub agencies: Vec<&'static str>,
    /// Brand substring.
    pub brand: Option<String>,
    /// Hazard substring.
    pub hazard: Option<String>,
    /// Category substring.
    pub category: Option<String>,
    /// Upper-case country code.
    pub country: Option<String>,
    /// Date range, inclusive.
    pub date_from: Option<NaiveDate>,
    /// See `date_from`.
    pub date_to: Option<NaiveDate>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
    /// Position after the previous page.
    pub cursor: Option<Cursor>,
}

impl SearchRequest {
    /// Validates the request; every failure names the member and the rule.
    pub fn validate(self) -> Result<SearchQuery, ApiError> {
        let text = match (self.product, self.query) {
            (Some(product), _) => Some(check_text("product", &product)?),
            (None, Some(query)) => Some(check_text("query", &query)?),
            (None, None) => None,
        };

        let keywords = self
            .keywords
            .unwrap_or_default()
            .iter()
            .map(|k| check_text("keywords", k))
            .collect::<Result<Vec<_>, _>>()?;
        check_list_len("keywords", keywords.len())?;

        let id = optional("id", self.id, 100)?;
        if text.is_none() && keywords.is_empty() && id.is_none() {
            return Err(ApiError::BadRequest(
                "at least one of product, query, keywords or id is required".into(),
            ));
        }

        let agency_codes = self.agencies.unwrap_or_default();
        check_list_len("agencies", agency_codes.len())?;
        let agencies = agency_codes
            .iter()
            .map(|code| {
                Agency::from_code(code).map(Agency::code).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "agencies: unknown agency code {code:?}; use CPSC, FDA, NHTSA, HEALTH_CANADA, EU_SAFETY_GATE or OECD"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let country = optional("country", self.country, 10)?.map(|c| c.to_ascii_uppercase());
        if let Some(code) = &country {
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(ApiError::BadRequest(format!(
                    "country: {code:?} is not an ISO 3166-1 alpha-2 code such as US or CA"
                )));
            }
        }

        let date_from = parse_date("date_from", self.date_from)?;
        let date_to = parse_date("date_to", self.date_to)?;
        if let (Some(from), Some(to)) = (date_from, date_to) {
            if from > to {
                return Err(ApiError::BadRequest(format!(
                    "date_from ({from}) is after date_to ({to})"
                )));
            }
        }

        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            )));
        }
        let offset = self.offset.unwrap_or(0);
        if !(0..=MAX_OFFSET).contains(&offset) {
            return Err(ApiError::BadRequest(format!(
                "offset must be between 0 and {MAX_OFFSET}, got {offset}; page further with nextCursor"
            )));
        }

        let mut query = SearchQuery {
            text,
            keywords,
            id,
            agencies,
            brand: optional("brand", self.brand, TEXT_MAX_CHARS)?,
            hazard: optional("hazard", self.hazard, TEXT_MAX_CHARS)?,
            category: optional("product_category", self.product_category, TEXT_MAX_CHARS)?,
            country,
            date_from,
            date_to,
            limit,
            offset,
            cursor: None,
        };

        if let Some(token) = self.next_cursor.filter(|t| !t.is_empty()) {
            if offset != 0 {
                return Err(ApiError::BadRequest(
                    "offset and nextCursor cannot be combined".into(),
                ));
            }
            let cursor = Cursor::decode(&token)
                .filter(|cursor| cursor.query_hash == query.fingerprint())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "nextCursor is invalid or belongs to a different search".into(),
                    )
                })?;
            query.cursor = Some(cursor);
        }
        Ok(query)
    }
}

impl SearchQuery {
    /// Returns a hash of everything that selects and orders results, so a
    /// cursor cannot be replayed against another search.
    pub fn fingerprint(&self) -> u64 {
        let mut hasher = Sha256::new();
        let parts = [
            self.text.as_deref().unwrap_or(""),
            &self.keywords.join("\u{1f}"),
            self.id.as_deref().unwrap_or(""),
            &self.agencies.join(","),
            self.brand.as_deref().unwrap_or(""),
            self.hazard.as_deref().unwrap_or(""),
            self.category.as_deref().unwrap_or(""),
            self.country.as_deref().unwrap_or(""),
            &self.date_from.map(|d| d.to_string()).unwrap_or_default(),
            &self.date_to.map(|d| d.to_string()).unwrap_or_default(),
        ];
        for part in parts {
            hasher.update(part.as_bytes());
            hasher.update([0x1e]);
        }
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }
}

/// Trims `value` and checks the 2–200 character rule and the absence of NUL,
/// which Postgres text cannot hold.
fn check_text(field: &str, value: &str) -> Result<String, ApiError> {
    let trimmed = value.trim();
    if trimmed.contains('\0') {
        return Err(ApiError::BadRequest(format!(
            "{field} must not contain NUL characters"
        )));
    }
    let chars = trimmed.chars().count();
    if chars < TEXT_MIN_CHARS {
        return Err(ApiError::BadRequest(format!(
            "{field} must have at least {TEXT_MIN_CHARS} characters after trimming"
        )));
    }
    if chars > TEXT_MAX_CHARS {
        return Err(ApiError::BadRequest(format!(
            "{field} must have at most {TEXT_MAX_CHARS} characters, got {chars}"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Trims an optional filter; blank means absent.
fn optional(
    field: &str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.contains('\0') {
        return Err(ApiError::BadRequest(format!(
            "{field} must not contain NUL characters"
        )));
    }
    if trimmed.chars().count() > max_chars {
        return Err(ApiError::BadRequest(format!(
            "{field} must have at most {max_chars} characters"
        )));
    }
    Ok(Some(trimmed.to_owned()))
}

fn check_list_len(field: &str, len: usize) -> Result<(), ApiError> {
    if len > MAX_LIST_ITEMS {
        return Err(ApiError::BadRequest(format!(
            "{field} must have at most {MAX_LIST_ITEMS} entries, got {len}"
        )));
    }
    Ok(())
}

fn parse_date(field: &str, value: Option<String>) -> Result<Option<NaiveDate>, ApiError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{field}: {value:?} is not a date in YYYY-MM-DD form"
            ))
        })
}
