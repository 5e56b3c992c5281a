//! Keyset cursor: the sort key of the last item of a page. The next page
//! starts strictly after it, so no result is skipped or repeated even when
//! rows are added between pages, as offset paging would.

/// Sort key of the last item of a page, plus the search it belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    /// Relevance of the last item, as Postgres returned it (`real`).
    pub rank: f32,
    /// Recall date of the last item as days since 1970-01-01; missing dates
    /// sort as [`Cursor::MISSING_DATE`].
    pub date_days: i32,
    /// Row id of the last item, the final tie-breaker.
    pub row_id: i64,
    /// [`crate::search::request::SearchQuery::fingerprint`] of the search.
    pub query_hash: u64,
}

impl Cursor {
    /// Sort value of a missing recall date: 0001-01-01, before every real
    /// date.
    pub const MISSING_DATE: i32 = -719_162;

    /// Encodes the cursor as an opaque URL-safe token.
    pub fn encode(&self) -> String {
        format!(
            "v1.{:08x}.{:x}.{:x}.{:016x}",
            self.rank.to_bits(),
            self.date_days as u32,
            self.row_id as u64,
            self.query_hash
        )
    }

    /// Decodes a token made by [`Cursor::encode`]; `None` for anything else.
    pub fn decode(token: &str) -> Option<Cursor> {
        let mut parts = token.strip_prefix("v1.")?.split('.');
        let rank = f32::from_bits(u32::from_str_radix(parts.next()?, 16).ok()?);
        let date_days = u32::from_str_radix(parts.next()?, 16).ok()? as i32;
        let row_id = u64::from_str_radix(parts.next()?, 16).ok()? as i64;
        let query_hash = u64::from_str_radix(parts.next()?, 16).ok()?;
        if parts.next().is_some() || !rank.is_finite() || row_id < 0 {
            return None;
        }
        Some(Cursor {
            rank,
            date_days,
            row_id,
            query_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            rank: 0.123_456_7,
            date_days: Cursor::MISSING_DATE,
            row_id: 987_654,
            query_hash: u64::MAX - 5,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
    }

    #[test]
    fn malformed_cursor_is_rejected() {
        for token in [
            "",
            "v1.",
            "v2.0.0.0.0",
            "v1.zz.0.0.0",
            "v1.0.0.0.0.0",
            "v1.7fc00000.0.1.2",
        ] {
            assert_eq!(Cursor::decode(token), None, "token {token:?}");
        }
    }
}
