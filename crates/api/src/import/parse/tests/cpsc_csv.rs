//! cpsc.gov CSV exports, one file per product category, with a byte order
//! mark.

use std::path::Path;

use super::{date, fixture, parse_fixture, record};
use crate::import::parse::{parse_bytes, Format, ParseError, RejectReason};
use crate::import::record::{Agency, Feed};

const TOYS: &str = "cpsc_csv/toys_2023-12-01_2026-04-01.csv";

#[test]
fn toys_export_maps_every_field() {
    let parsed = parse_fixture(TOYS);
    assert_eq!(parsed.records.len(), 2);
    assert!(parsed.rejected.is_empty());

    let kits = record(&parsed, Agency::Cpsc, "26-294");
    assert_eq!(kits.feed, Feed::CpscCsv);
    assert_eq!(
        kits.title,
        "TheKiddoSpace Recalls Children’s Fingerpainting Kits Due to Risk of Injury from \
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
    assert_eq!(kits.url, None);
    assert!(kits.image_urls.is_empty());
    assert!(kits.is_child_product);

    let rattles = record(&parsed, Agency::Cpsc, "25-115");
    assert_eq!(rattles.recall_date, date(2025, 1, 30));
    assert!(rattles.is_child_product);
}

#[test]
fn broken_anchor_remnants_are_removed() {
    let parsed = parse_fixture(TOYS);
    let kits = record(&parsed, Agency::Cpsc, "26-294");
    assert_eq!(
        kits.hazard.as_deref(),
        Some(
            "The recalled children’s fingerpainting kits contain the hazardous substances \
             methanol and ethylene glycol and are intended for children under 12 years of age, \
             which violate the Federal Hazardous Substances Act. The products also contain a \
             regulated phthalate, which violate the federal phthalate ban; phthalates are toxic \
             if ingested by young children and can cause adverse health effects."
        )
    );
    assert!(kits
        .remedy
        .as_deref()
        .is_some_and(|remedy| remedy.ends_with("local waste disposal requirements.")));
}

#[test]
fn truncated_links_and_curly_quotes() {
    let parsed = parse_fixture("cpsc_csv/cribs_2023-12-01_2026-04-01.csv");
    assert_eq!(parsed.records.len(), 1);
    let mattresses = record(&parsed, Agency::Cpsc, "26-069");
    assert_eq!(
        mattresses.title,
        "Criblike Mattresses Recalled Due to Risk of Serious Injury or Death from Entrapment or \
         Suffocation; Violates Mandatory Standards for Mattresses; Sold on Amazon by Mengna"
    );
    assert_eq!(mattresses.recall_date, date(2025, 11, 6));
    assert!(mattresses
        .hazard
        .as_deref()
        .is_some_and(|hazard| hazard.starts_with(
            "The aftermarket mattresses violate the mandatory standard for mattresses, as the"
        )));
    assert!(mattresses
        .description
        .as_deref()
        .is_some_and(|text| text.ends_with("“Criblike” and the model number are printed on labels located on the end of the product.")));
    // The only firm is under "Retailer:", which is not a manufacturer.
    assert!(mattresses.manufacturers.is_empty());
    assert_eq!(mattresses.category.as_deref(), Some("Cribs"));
    assert!(mattresses.is_child_product);
}

#[test]
fn escaped_less_than_signs_are_decoded() {
    let parsed = parse_fixture("cpsc_csv/mountain-climbing_2023-12-01_2026-04-01.csv");
    let belays = record(&parsed, Agency::Cpsc, "24-277");
    let description = belays.description.as_deref().unwrap_or_default();
    assert!(description.contains("iQ0014492 through iQ0036407<9m (29.5ft)TRUBLUE"));
    assert!(!belays.is_child_product);
}

#[test]
fn category_comes_from_file_name() {
    let parsed = parse_fixture("cpsc_csv/arts-and-crafts_2023-12-01_2026-04-01.csv");
    let kits = record(&parsed, Agency::Cpsc, "26-294");
    assert_eq!(kits.category.as_deref(), Some("Arts and crafts"));
    assert!(!kits.is_child_product);

    let parsed = parse_fixture("cpsc_csv/grills-and-accessories_2023-12-01_2026-04-01.csv");
    let brushes = record(&parsed, Agency::Cpsc, "26-282");
    assert_eq!(brushes.category.as_deref(), Some("Grills and accessories"));
    assert_eq!(brushes.recall_date, date(2026, 2, 26));
}

fn toys_text() -> String {
    std::fs::read_to_string(fixture(TOYS)).unwrap_or_default()
}

#[test]
fn bad_rows_are_rejected() {
    let text = toys_text().replacen("\n26-294,", "\n,", 1).replacen(
        "\n25-115,",
        "\n25-115,too,few\n25-115,",
        1,
    );
    let mut data = text.into_bytes();
    data.extend_from_slice(b"25-999,,\"October 10, 2024\",,\xFF\xFE,,,,,,,,,,,,,,,,,\n");
    let parsed = parse_bytes(Format::CpscCsv, Path::new("toys_edited.csv"), &data).unwrap();

    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.records[0].source_id, "25-115");
    let reasons: Vec<RejectReason> = parsed
        .rejected
        .iter()
        .map(|rejection| rejection.reason)
        .collect();
    assert_eq!(
        reasons,
        [
            RejectReason::MissingId,
            RejectReason::MalformedRecord,
            RejectReason::MalformedRecord
        ]
    );
    assert_eq!(
        parsed.rejected[0].reference,
        "toys_edited.csv: row 1 (line 2)"
    );
}

#[test]
fn missing_heading_is_rejected() {
    let text = toys_text().replacen(
        "\"TheKiddoSpace Recalls Children’s Fingerpainting Kits Due to Risk of Injury from \
         Hazardous Substances and Phthalate Exposure; Violates Federal Hazardous Substances Act \
         and Phthalates Ban\"",
        "\"&nbsp;\"",
        1,
    );
    let parsed = parse_bytes(
        Format::CpscCsv,
        Path::new("toys_edited.csv"),
        text.as_bytes(),
    )
    .unwrap();
    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(parsed.rejected[0].reason, RejectReason::MissingTitle);
    assert_eq!(
        parsed.rejected[0].reference,
        "toys_edited.csv: row 1 (line 2, 26-294)"
    );
}

#[test]
fn header_without_recall_number_is_malformed() {
    let text = toys_text().replacen("\"Recall Number\"", "\"Number\"", 1);
    let result = parse_bytes(
        Format::CpscCsv,
        Path::new("toys_edited.csv"),
        text.as_bytes(),
    );
    assert!(matches!(result, Err(ParseError::Malformed { .. })));
}
