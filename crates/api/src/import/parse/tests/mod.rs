//! Tests of the recall parsers on real excerpts of the public data sets in
//! `tests/fixtures/recalls/`, whose README names each publisher.

mod cpsc_csv;
mod cpsc_json;
mod eu_safety_gate;
mod files;
mod health_canada;
mod normalized;
mod oecd;
mod text;
mod tinysafe;

use std::path::PathBuf;

use super::{parse_file, Parsed};
use crate::import::record::{Agency, Recall};

/// Returns the path of a file under `tests/fixtures/recalls/`.
fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/recalls")
        .join(relative)
}

/// Parses a fixture, failing the test on a file-level error.
fn parse_fixture(relative: &str) -> Parsed {
    let path = fixture(relative);
    match parse_file(&path) {
        Ok(parsed) => parsed,
        Err(error) => panic!("{error}"),
    }
}

/// Returns the only record with this agency and id.
fn record<'a>(parsed: &'a Parsed, source: Agency, source_id: &str) -> &'a Recall {
    let matches: Vec<&Recall> = parsed
        .records
        .iter()
        .filter(|record| record.source == source && record.source_id == source_id)
        .collect();
    assert_eq!(matches.len(), 1, "records with id {source_id}");
    matches[0]
}

/// Builds a date for assertions.
fn date(year: i32, month: u32, day: u32) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(year, month, day)
}
