//! TinySafe U.S. baby and child recalls (CPSC, FDA and NHTSA rows).

use std::path::Path;

use serde_json::Value;

use super::{date, fixture, parse_fixture, record};
use crate::import::parse::{parse_bytes, Format, Parsed, RejectReason};
use crate::import::record::{Agency, Feed};

const FIXTURE: &str = "tinysafe/latest.jsonl.gz";

#[test]
fn every_row_is_a_child_product() {
    let parsed = parse_fixture(FIXTURE);
    assert_eq!(parsed.records.len(), 13);
    assert!(parsed.rejected.is_empty());
    assert!(parsed.records.iter().all(|recall| recall.is_child_product));
    assert!(parsed
        .records
        .iter()
        .all(|recall| recall.feed == Feed::TinysafeUs));
    assert!(parsed
        .records
        .iter()
        .all(|recall| recall.country.as_deref() == Some("US")));

    let count = |agency| {
        parsed
            .records
            .iter()
            .filter(|recall| recall.source == agency)
            .count()
    };
    assert_eq!(count(Agency::Cpsc), 8);
    assert_eq!(count(Agency::Fda), 4);
    assert_eq!(count(Agency::Nhtsa), 1);
}

#[test]
fn cpsc_rows_map_fields() {
    let parsed = parse_fixture(FIXTURE);

    let kits = record(&parsed, Agency::Cpsc, "26-294");
    assert_eq!(
        kits.title,
        "TheKiddoSpace Recalls Children's Fingerpainting Kits Due to Risk of Injury from \
         Hazardous Substances and Phthalate Exposure; Violates Federal Hazardous Substances Act \
         and Phthalates Ban"
    );
    assert_eq!(kits.recall_date, date(2026, 2, 26));
    assert_eq!(kits.brands, ["TheKiddoSpace"]);
    assert_eq!(kits.category.as_deref(), Some("Toys"));
    assert_eq!(kits.product_names, ["TheKiddoSpace Fingerpainting Kits"]);

    let warning = record(&parsed, Agency::Cpsc, "26-641");
    assert_eq!(warning.recall_date, date(2026, 7, 23));
    assert_eq!(warning.url.as_deref(), Some("https://www.cpsc.gov/Recalls"));
    assert_eq!(warning.category.as_deref(), Some("Clothing & sleepwear"));
    assert_eq!(
        warning.hazard.as_deref(),
        Some(
            "The pajama sets violate the mandatory safety standard for children's sleepwear, \
             posing a risk of burn injury or death to children."
        )
    );
}

#[test]
fn cpsc_ids_are_normalised() {
    let parsed = parse_fixture(FIXTURE);
    assert_eq!(
        record(&parsed, Agency::Cpsc, "14-181").recall_date,
        date(2014, 5, 15)
    );
    assert_eq!(
        record(&parsed, Agency::Cpsc, "01-160A").brands,
        ["Raymond Geddes"]
    );
    assert_eq!(
        record(&parsed, Agency::Cpsc, "00-107B").title,
        "CPSC, Hangouts Recall Baby Hammocks"
    );
    // TinySafe's own id for a CPSC safety message is not a recall number.
    let message = record(&parsed, Agency::Cpsc, "CPSC-GEN-f0c6cb0c28");
    assert_eq!(message.recall_date, date(2008, 12, 31));

    // `10135` (the Spanish notice) and `10-135` are the same recall.
    let lamps: Vec<&str> = parsed
        .records
        .iter()
        .filter(|recall| recall.source_id == "10-135")
        .map(|recall| recall.title.as_str())
        .collect();
    assert_eq!(
        lamps,
        [
            "Innovage LLC Retira del Mercado Lámparas Discovery Kids por Peligros de Incendio y \
             Quemaduras",
            "Innovage LLC Recalls Discovery Kids Lamps Due to Fire and Burn Hazards"
        ]
    );
}

#[test]
fn fda_rows_use_display_name_and_upcs() {
    let parsed = parse_fixture(FIXTURE);

    let formula = record(&parsed, Agency::Fda, "H-0891-2026");
    assert_eq!(
        formula.title,
        "a2 Platinum Premium infant formula Milk-based Powder…"
    );
    assert!(formula.product_names[0]
        .starts_with("a2 Platinum Premium infant formula Milk-based Powder with Iron"));
    assert_eq!(formula.upcs, ["813267020335"]);
    assert_eq!(
        formula.hazard.as_deref(),
        Some("Possible contamination with Cereulide toxin.")
    );
    assert_eq!(formula.category.as_deref(), Some("Food & formula"));
    assert_eq!(formula.recall_date, date(2026, 5, 1));

    let sunscreen = record(&parsed, Agency::Fda, "D-0276-2025");
    assert_eq!(sunscreen.upcs, ["813277019923", "813277019916"]);

    let teething = record(&parsed, Agency::Fda, "DT-20250418");
    assert_eq!(teething.title, "Gerber® Soothe N Chew® Teething Sticks");
    assert_eq!(teething.brands, ["Gerber"]);

    let kit = record(&parsed, Agency::Fda, "Z-1931-2026");
    assert_eq!(
        kit.title,
        "LSL Healthcare, Infant Central Line Dressing Change Kit"
    );
    assert_eq!(
        kit.remedy.as_deref(),
        Some(
            "Stop using it for now. The recall notice doesn't say what the specific risk is — \
             check the official notice, and if your baby used it and has any symptoms, contact \
             your pediatrician."
        )
    );
}

#[test]
fn nhtsa_row_maps_models() {
    let parsed = parse_fixture(FIXTURE);
    let seats = record(&parsed, Agency::Nhtsa, "NHTSA-72C001000");
    assert_eq!(seats.title, "Five Filer Bros. Child Seats");
    assert_eq!(
        seats.product_names,
        ["Five Filer Bros. FIVE FILER BROS.", "FIVE FILER BROS."]
    );
    assert_eq!(seats.manufacturers, ["FIVE"]);
    assert_eq!(seats.brands, ["Five Filer Bros"]);
    assert_eq!(seats.recall_date, date(1972, 5, 1));
    assert_eq!(seats.category.as_deref(), Some("Car seats"));
    // Both hazard fields are empty strings in the source.
    assert_eq!(seats.hazard, None);
}

/// Parses the first fixture line after `edit` changed it, plus the given
/// raw lines.
fn parse_edited(edit: impl FnOnce(&mut Value), extra_lines: &[&str]) -> Parsed {
    let mut text = String::new();
    let data = std::fs::read(fixture(FIXTURE)).unwrap_or_default();
    let mut decoder = flate2::read::GzDecoder::new(data.as_slice());
    std::io::Read::read_to_string(&mut decoder, &mut text).unwrap_or_default();
    let first_line = text.lines().next().unwrap_or_default();
    let mut row: Value = serde_json::from_str(first_line).unwrap_or(Value::Null);
    edit(&mut row);
    let mut lines = vec![row.to_string()];
    lines.extend(extra_lines.iter().map(|line| line.to_string()));
    let input = lines.join("\n");
    parse_bytes(
        Format::TinysafeJsonl,
        Path::new("edited.jsonl"),
        input.as_bytes(),
    )
    .unwrap()
}

#[test]
fn unknown_agency_is_rejected() {
    let parsed = parse_edited(|row| row["source"] = Value::from("USDA"), &[]);
    assert!(parsed.records.is_empty());
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(parsed.rejected[0].reason, RejectReason::UnknownAgency);
    assert_eq!(
        parsed.rejected[0].reference,
        "edited.jsonl: record 1 (26-641)"
    );
}

#[test]
fn missing_id_and_title_are_rejected() {
    let parsed = parse_edited(|row| row["recall_id"] = Value::Null, &[]);
    assert_eq!(parsed.rejected[0].reason, RejectReason::MissingId);

    let parsed = parse_edited(
        |row| {
            for key in ["heading", "display_name", "product_name"] {
                row[key] = Value::from(" ");
            }
        },
        &[],
    );
    assert_eq!(parsed.rejected[0].reason, RejectReason::MissingTitle);
}

#[test]
fn invalid_lines_are_rejected() {
    let parsed = parse_edited(
        |_| {},
        &["", "{\"source\": \"CPSC\", \"recall_id\"", "[1, 2]", "  "],
    );
    assert_eq!(parsed.records.len(), 1);
    let rejected: Vec<(RejectReason, &str)> = parsed
        .rejected
        .iter()
        .map(|rejection| (rejection.reason, rejection.reference.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (RejectReason::MalformedRecord, "edited.jsonl: record 3"),
            (RejectReason::MalformedRecord, "edited.jsonl: record 4")
        ]
    );
}
