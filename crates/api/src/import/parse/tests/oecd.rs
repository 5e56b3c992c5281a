//! OECD GlobalRecalls portal JSON lines.

use std::path::Path;

use super::{date, parse_fixture, record};
use crate::import::parse::{parse_bytes, Format, RejectReason};
use crate::import::record::{Agency, Feed};

const FIXTURE: &str = "oecd/recalls_global.jsonl";

#[test]
fn republished_records_keep_their_agency() {
    let parsed = parse_fixture(FIXTURE);
    assert_eq!(parsed.records.len(), 10);
    assert!(parsed.rejected.is_empty());
    assert!(parsed
        .records
        .iter()
        .all(|recall| recall.feed == Feed::OecdGlobalRecalls));

    let count = |agency| {
        parsed
            .records
            .iter()
            .filter(|recall| recall.source == agency)
            .count()
    };
    assert_eq!(count(Agency::Cpsc), 6);
    assert_eq!(count(Agency::HealthCanada), 1);
    assert_eq!(count(Agency::EuSafetyGate), 1);
    assert_eq!(count(Agency::Oecd), 2);

    let carrier = record(&parsed, Agency::HealthCanada, "82495");
    assert_eq!(carrier.title, "MEC Shuttlecraft Kid Carrier");
    assert_eq!(carrier.country.as_deref(), Some("CA"));

    let pushchair = record(&parsed, Agency::EuSafetyGate, "0812/11");
    assert_eq!(pushchair.title, "FuKang");
    assert_eq!(pushchair.country.as_deref(), Some("SK"));
    assert_eq!(pushchair.recall_date, date(2011, 8, 19));
    assert!(pushchair.is_child_product, "tag \"baby\"");

    let solar = record(&parsed, Agency::Oecd, "JP:E0000002467");
    assert_eq!(solar.country.as_deref(), Some("JP"));
    assert_eq!(
        solar.url.as_deref(),
        Some("http://www.recall.go.jp/new/detail.php?rcl=00000002467")
    );

    let blanket = record(&parsed, Agency::Oecd, "AU:PS1135095");
    assert_eq!(blanket.title, "Weet-Bix Wearable Blanket");
    assert!(!blanket.is_child_product);
}

#[test]
fn cpsc_numbers_are_canonical() {
    let parsed = parse_fixture(FIXTURE);

    let table = record(&parsed, Agency::Cpsc, "12-076");
    assert_eq!(table.title, "Dover Dining Table");
    assert_eq!(table.recall_date, date(2011, 12, 29));
    assert_eq!(table.description, None);
    assert_eq!(table.country.as_deref(), Some("US"));
    // The first of the alphabetically sorted tags.
    assert_eq!(table.category.as_deref(), Some("bar"));
    assert_eq!(
        table.url.as_deref(),
        Some("https://www.cpsc.gov/Recalls/2012/West-Elm-Recalls-Dover-Dining-Table-Due-to-Injury-Hazard")
    );
    assert_eq!(
        table.image_urls,
        ["http://PoliciesApplications.oecd.org/GlobalRecalls/Recall/EN/US/12076/Recall.2012.12076.12076a.jpg"]
    );

    let hammocks = record(&parsed, Agency::Cpsc, "00-107B");
    assert_eq!(hammocks.title, "Baby hammocks");
    assert!(hammocks.is_child_product);

    let toys = record(&parsed, Agency::Cpsc, "01-160A");
    assert!(
        !toys.is_child_product,
        "\"toys\" is not a strict child word"
    );

    let lamps = record(&parsed, Agency::Cpsc, "10-135");
    assert_eq!(
        lamps.title,
        "Discovery Kids™ Animated Marine and Safari Lamps"
    );
}

#[test]
fn recent_rows_without_tags() {
    let parsed = parse_fixture(FIXTURE);
    let lights = record(&parsed, Agency::Cpsc, "26-713");
    assert_eq!(lights.recall_date, date(2026, 8, 20));
    assert_eq!(lights.category, None);
    assert!(lights.image_urls.is_empty());
    assert!(lights.description.as_deref().is_some_and(
        |text| text.starts_with("This recall involves JINHEZO Mini Waterproof LED Tea Lights.")
    ));
    // Without `ext_url`, the portal page is the link.
    assert!(lights
        .url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://globalrecalls.oecd.org/#/recalls/")));
}

#[test]
fn bad_rows_are_rejected() {
    let data = concat!(
        r#"{"country": "US", "native_id": " ", "title": "Cribs"}"#,
        "\n",
        r#"{"country": "us", "native_id": "12076", "title": "  "}"#,
        "\n",
        r#"{"country": "US", "native_id": 12076"#,
        "\n",
        r#"{"country": "us", "native_id": 12076, "title": "Dover Dining Table", "tags": [{"code": "P995", "value": "baby"}, {"value": null}, "x"]}"#,
        "\n",
    );
    let parsed = parse_bytes(Format::OecdJsonl, Path::new("oecd.jsonl"), data.as_bytes()).unwrap();
    let rejected: Vec<(RejectReason, &str)> = parsed
        .rejected
        .iter()
        .map(|rejection| (rejection.reason, rejection.reference.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (RejectReason::MissingId, "oecd.jsonl: record 1"),
            (RejectReason::MissingTitle, "oecd.jsonl: record 2 (12-076)"),
            (RejectReason::MalformedRecord, "oecd.jsonl: record 3"),
        ]
    );
    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.records[0].source, Agency::Cpsc);
    assert_eq!(parsed.records[0].source_id, "12-076");
    assert_eq!(parsed.records[0].category.as_deref(), Some("baby"));
    assert!(parsed.records[0].is_child_product);
}
