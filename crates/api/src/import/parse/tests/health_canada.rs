//! Government of Canada recalls bulk JSON (all programs).

use std::path::Path;

use super::{date, parse_fixture, record};
use crate::import::parse::{parse_bytes, Format, ParseError, RejectReason};
use crate::import::record::{Agency, Feed};

const FIXTURE: &str = "health_canada/latest.json.gz";

#[test]
fn every_program_is_imported() {
    let parsed = parse_fixture(FIXTURE);
    assert_eq!(parsed.records.len(), 11);
    assert!(parsed.rejected.is_empty());
    assert!(parsed
        .records
        .iter()
        .all(|recall| recall.feed == Feed::HealthCanada));
    assert!(parsed
        .records
        .iter()
        .all(|recall| recall.country.as_deref() == Some("CA")));
}

#[test]
fn consumer_product_maps_fields() {
    let parsed = parse_fixture(FIXTURE);
    let carrier = record(&parsed, Agency::HealthCanada, "82495");
    assert_eq!(
        carrier.title,
        "MEC Shuttlecraft Kid Carrier recalled due to potential fall hazard"
    );
    assert_eq!(carrier.product_names, ["MEC Shuttlecraft Kid Carrier"]);
    assert_eq!(carrier.hazard.as_deref(), Some("Fall hazard"));
    assert_eq!(carrier.category.as_deref(), Some("Other"));
    assert_eq!(carrier.recall_date, date(2026, 8, 20));
    assert_eq!(
        carrier.url.as_deref(),
        Some("https://recalls-rappels.canada.ca/en/alert-recall/mec-shuttlecraft-kid-carrier-recalled-due-potential-fall-hazard")
    );
    let remedy = carrier.remedy.as_deref().unwrap_or_default();
    assert!(remedy.starts_with(
        "Consumers should immediately stop using the recalled product and return it to a MEC \
         store for a refund. For more information,"
    ));
    // "Kid" is a broad word, so the carrier is not flagged.
    assert!(!carrier.is_child_product);
}

#[test]
fn whitespace_and_symbols_are_cleaned() {
    let parsed = parse_fixture(FIXTURE);
    assert_eq!(
        record(&parsed, Agency::HealthCanada, "78297").title,
        "Zenition 50"
    );
    let stool = record(&parsed, Agency::HealthCanada, "82323");
    assert_eq!(
        stool.product_names,
        ["Boon PIVOT Toddler Tower Kids Kitchen Step Stool"]
    );
    assert_eq!(
        stool.title,
        "Boon PIVOT Toddler Tower Kids Kitchen Step Stool recalled due to tip-over hazard"
    );
    assert!(record(&parsed, Agency::HealthCanada, "76201")
        .title
        .starts_with("Giraffe™ OmniBed Carestation CS1"));
    assert!(record(&parsed, Agency::HealthCanada, "75629")
        .title
        .contains("Storage & Sterilization Case and Tray"));
}

#[test]
fn missing_values_become_none() {
    let parsed = parse_fixture(FIXTURE);
    let undated = record(&parsed, Agency::HealthCanada, "67746");
    assert_eq!(undated.recall_date, None);

    let food = record(&parsed, Agency::HealthCanada, "62996");
    assert!(food.product_names.is_empty());
    assert_eq!(
        food.title,
        "Happy Veggie World brand Vege Chicken Breast and Vegefarm brand Vege Stewed Lamb Chunk \
         recalled due to undeclared egg"
    );

    let french = record(&parsed, Agency::HealthCanada, "73167");
    assert_eq!(
        french.title,
        "Numéro de rappel de Transports Canada - 2023104 - HYUNDAI"
    );
    assert_eq!(french.category, None);
    assert_eq!(french.hazard, None);
}

#[test]
fn child_categories_and_words() {
    let parsed = parse_fixture(FIXTURE);
    let child = |id: &str| record(&parsed, Agency::HealthCanada, id).is_child_product;
    // "Toys and games", with a trailing space in the published title.
    assert_eq!(
        record(&parsed, Agency::HealthCanada, "81885").title,
        "Electric train set for toddlers recalled due to injury hazard"
    );
    assert!(child("81885"));
    assert!(child("82424"), "Child Car Seat");
    assert!(child("61503"), "Household items - Toys and games");
    assert!(child("82323"), "\"Toddler\" in the title");
    assert!(!child("78297"));
}

#[test]
fn rejections_and_malformed_files() {
    let data = br#"[{"NID": "1", "Title": " "}, {"NID": null, "Title": "Crib"}, "82495",
                    {"NID": 2, "Title": "Crib recall", "Last updated": "2020-01-02"}]"#;
    let parsed = parse_bytes(Format::HealthCanadaJson, Path::new("hc.json"), data).unwrap();
    let reasons: Vec<RejectReason> = parsed
        .rejected
        .iter()
        .map(|rejection| rejection.reason)
        .collect();
    assert_eq!(
        reasons,
        [
            RejectReason::MissingTitle,
            RejectReason::MissingId,
            RejectReason::MalformedRecord
        ]
    );
    assert_eq!(parsed.rejected[0].reference, "hc.json: record 1 (1)");
    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.records[0].source_id, "2");
    assert!(parsed.records[0].is_child_product);

    let result = parse_bytes(
        Format::HealthCanadaJson,
        Path::new("hc.json"),
        b"{\"NID\": \"1\"}",
    );
    assert!(matches!(result, Err(ParseError::Malformed { .. })));
    let result = parse_bytes(
        Format::HealthCanadaJson,
        Path::new("hc.json"),
        b"[{\"NID\": \"1\"",
    );
    assert!(matches!(result, Err(ParseError::Malformed { .. })));
}
