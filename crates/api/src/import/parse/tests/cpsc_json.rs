//! CPSC Recall API JSON, one file per cpsc.gov product category.

use std::path::Path;

use serde_json::Value;

use super::{date, fixture, parse_fixture, record};
use crate::import::parse::{parse_bytes, Format, ParseError, RejectReason};
use crate::import::record::{Agency, Feed};

#[test]
fn toys_file_maps_every_field() {
    let parsed = parse_fixture("cpsc_json/toys.json");
    assert_eq!(parsed.records.len(), 2);
    assert!(parsed.rejected.is_empty());

    let kits = record(&parsed, Agency::Cpsc, "26-294");
    assert_eq!(kits.feed, Feed::CpscJson);
    assert_eq!(
        kits.title,
        "TheKiddoSpace Recalls Children's Fingerpainting Kits Due to Risk of Injury from \
         Hazardous Substances and Phthalate Exposure; Violates Federal Hazardous Substances Act \
         and Phthalates Ban"
    );
    assert_eq!(kits.recall_date, date(2026, 2, 26));
    assert_eq!(kits.product_names, ["TheKiddoSpace Fingerpainting Kits"]);
    assert_eq!(
        kits.manufacturers,
        ["SN Commerce LLC, dba TheKiddoSpaceStore, of Dover, Delaware"]
    );
    assert_eq!(kits.category.as_deref(), Some("Toys"));
    assert_eq!(kits.country.as_deref(), Some("US"));
    assert_eq!(kits.image_urls.len(), 3);
    assert_eq!(
        kits.image_urls[0],
        "https://www.cpsc.gov/s3fs-public/Picture1_158.png"
    );
    assert!(kits.url.as_deref().is_some_and(|url| url.starts_with(
        "https://www.cpsc.gov/Recalls/2026/TheKiddoSpace-Recalls-Childrens-Fingerpainting-Kits"
    )));
    assert!(kits.brands.is_empty());
    assert!(kits.is_child_product);

    let rattles = record(&parsed, Agency::Cpsc, "25-115");
    assert_eq!(rattles.upcs, ["698904871507"]);
    assert_eq!(rattles.recall_date, date(2025, 1, 30));
    assert!(rattles.is_child_product);
}

#[test]
fn child_flag_depends_on_category_file() {
    // The same recall outside a child category and without a strict baby
    // word ("children's" is too broad) is not flagged.
    let parsed = parse_fixture("cpsc_json/arts-and-crafts.json");
    let kits = record(&parsed, Agency::Cpsc, "26-294");
    assert_eq!(kits.category.as_deref(), Some("Arts and crafts"));
    assert!(!kits.is_child_product);
}

#[test]
fn pruned_fields_are_empty() {
    // 26282 lacks RecallID, URL, ConsumerContact, Images and LastPublishDate,
    // and its date is a UTC timestamp of U.S. midnight.
    let parsed = parse_fixture("cpsc_json/grills-and-accessories.json");
    assert_eq!(parsed.records.len(), 1);
    let brushes = record(&parsed, Agency::Cpsc, "26-282");
    assert_eq!(brushes.recall_date, date(2026, 2, 26));
    assert_eq!(brushes.url, None);
    assert!(brushes.image_urls.is_empty());
    assert!(brushes.upcs.is_empty());
    assert_eq!(brushes.category.as_deref(), Some("Grills and accessories"));
    assert_eq!(
        brushes.manufacturers,
        ["Weber-Stephen Products LLC, of Palatine, Illinois"]
    );
    assert!(!brushes.is_child_product);
}

#[test]
fn entities_and_nbsp_are_cleaned() {
    let parsed = parse_fixture("cpsc_json/furniture-and-furnishings-and-decorations.json");
    let shades = record(&parsed, Agency::Cpsc, "25-163");
    assert_eq!(shades.recall_date, date(2025, 2, 27));
    assert_eq!(
        shades.description.as_deref(),
        Some(
            "This recall involves Allesin corded window shades. The roller shades were sold in \
             white, gray and dark gray, and in sizes ranging between 20 and 58 inches wide and 72 \
             inches high. “Allesin” is printed on the label sticker on the shades’ headrail."
        )
    );

    let parsed = parse_fixture("cpsc_json/flashlights-or-batterypowered-lanterns.json");
    let flashlights = record(&parsed, Agency::Cpsc, "25-016");
    assert_eq!(flashlights.recall_date, date(2024, 10, 10));
    assert_eq!(
        flashlights.manufacturers,
        ["NPW Group, of Cincinnati, Ohio"]
    );
}

#[test]
fn less_than_signs_in_text_survive() {
    let parsed = parse_fixture("cpsc_json/mountain-climbing.json");
    let belays = record(&parsed, Agency::Cpsc, "24-277");
    let description = belays.description.as_deref().unwrap_or_default();
    assert!(description.contains("iQ0014492 through iQ0036407 <9m (29.5ft) TRUBLUE iQ XL (20m)"));
    assert!(description.ends_with("iQXLP0104 through iQXLP0182 <17.5m (57.4ft)"));
}

#[test]
fn child_category_file_flags_recall() {
    let parsed = parse_fixture("cpsc_json/cribs.json");
    let mattresses = record(&parsed, Agency::Cpsc, "26-069");
    assert_eq!(mattresses.category.as_deref(), Some("Cribs"));
    assert_eq!(mattresses.image_urls.len(), 6);
    assert_eq!(mattresses.recall_date, date(2025, 11, 6));
    assert!(mattresses.is_child_product);
}

/// Parses the flashlight excerpt after `edit` changed its JSON.
fn parse_edited(edit: impl FnOnce(&mut Value)) -> Result<crate::import::parse::Parsed, ParseError> {
    let path = fixture("cpsc_json/flashlights-or-batterypowered-lanterns.json");
    let text = std::fs::read(&path).unwrap_or_default();
    let mut json: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
    edit(&mut json);
    let data = serde_json::to_vec(&json).unwrap_or_default();
    parse_bytes(Format::CpscJson, Path::new("edited.json"), &data)
}

#[test]
fn missing_number_is_rejected() {
    let parsed = parse_edited(|json| {
        json["recalls"][0]
            .as_object_mut()
            .map(|recall| recall.remove("RecallNumber"));
    })
    .unwrap();
    assert!(parsed.records.is_empty());
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(parsed.rejected[0].reason, RejectReason::MissingId);
    assert_eq!(parsed.rejected[0].reference, "edited.json: record 1");
}

#[test]
fn blank_title_is_rejected() {
    let parsed =
        parse_edited(|json| json["recalls"][0]["Title"] = Value::from(" &nbsp; ")).unwrap();
    assert!(parsed.records.is_empty());
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(parsed.rejected[0].reason, RejectReason::MissingTitle);
    assert_eq!(
        parsed.rejected[0].reference,
        "edited.json: record 1 (25-016)"
    );
}

#[test]
fn non_object_recall_is_rejected() {
    let parsed = parse_edited(|json| {
        if let Some(recalls) = json["recalls"].as_array_mut() {
            recalls.insert(0, Value::from("26342"));
        }
    })
    .unwrap();
    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(parsed.rejected[0].reason, RejectReason::MalformedRecord);
}

#[test]
fn numeric_recall_number_is_accepted() {
    let parsed =
        parse_edited(|json| json["recalls"][0]["RecallNumber"] = Value::from(25016)).unwrap();
    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.records[0].source_id, "25-016");
}

#[test]
fn file_without_recalls_is_malformed() {
    let result = parse_edited(|json| {
        json.as_object_mut().map(|root| root.remove("recalls"));
    });
    assert!(matches!(result, Err(ParseError::Malformed { .. })));

    let result = parse_bytes(
        Format::CpscJson,
        Path::new("cut.json"),
        b"{\"meta\": {\"slug\"",
    );
    assert!(matches!(result, Err(ParseError::Malformed { .. })));
}
