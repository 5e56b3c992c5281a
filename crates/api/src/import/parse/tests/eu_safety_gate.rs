//! EU Safety Gate weekly report XML.

use std::path::Path;

use super::{date, parse_fixture, record};
use crate::import::parse::eu_safety_gate::{country_code, is_case_number};
use crate::import::parse::{parse_bytes, Format, ParseError, RejectReason};
use crate::import::record::{Agency, Feed};

#[test]
fn case_number_with_br_tag() {
    let parsed = parse_fixture("eu_safety_gate/report_345.xml.gz");
    assert_eq!(parsed.records.len(), 3);
    assert!(parsed.rejected.is_empty());

    let robe = record(&parsed, Agency::EuSafetyGate, "1150/09");
    assert_eq!(robe.feed, Feed::EuSafetyGate);
    assert_eq!(robe.title, "Fancy dress - King’s robe – Robe de roi");
    assert_eq!(robe.recall_date, date(2009, 9, 25));
    assert_eq!(robe.country.as_deref(), Some("HU"));
    assert_eq!(robe.category.as_deref(), Some("Toys"));
    assert!(robe.brands.is_empty(), "the brand \"Unknown\" is dropped");
    assert_eq!(
        robe.product_names,
        ["123120060 Robe De Roi, batch No. No88673, bar code: 4719484886739"]
    );
    assert_eq!(
        robe.url.as_deref(),
        Some("https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/-15843")
    );
    assert_eq!(robe.image_urls.len(), 2);
    assert!(robe.upcs.is_empty());
    assert!(robe.is_child_product);
}

#[test]
fn brand_entities_and_categories() {
    let parsed = parse_fixture("eu_safety_gate/report_345.xml.gz");

    let scarves = record(&parsed, Agency::EuSafetyGate, "1263/09");
    assert_eq!(scarves.title, "Scarves – Casual & Comfortable");
    assert_eq!(scarves.brands, ["Casual & Comfortable"]);
    assert_eq!(scarves.country.as_deref(), Some("FI"));
    assert_eq!(
        scarves.category.as_deref(),
        Some("Clothing, textiles and fashion items")
    );
    assert!(!scarves.is_child_product);

    let balloons = record(&parsed, Agency::EuSafetyGate, "1262/09");
    assert_eq!(balloons.title, "Balloons – Have Fun");
    assert_eq!(
        balloons.product_names,
        ["Art. Number. 2877; production date : September 2008"]
    );
    assert!(balloons.is_child_product, "category Toys");
}

#[test]
fn early_reports_take_title_from_description() {
    let parsed = parse_fixture("eu_safety_gate/report_100.xml.gz");
    assert_eq!(parsed.records.len(), 2);

    let chair = record(&parsed, Agency::EuSafetyGate, "0043/05");
    assert_eq!(
        chair.title,
        "Plastic foldable high chair “Brevi – Pony” (N° 276)"
    );
    assert_eq!(chair.recall_date, date(2005, 2, 4));
    assert!(chair.is_child_product);

    let guns = record(&parsed, Agency::EuSafetyGate, "0044/05");
    assert_eq!(
        guns.title,
        "Four models of air sport guns “1) Air Sport Gun SP 158; 2) CYMA P799A Air Sport Gun; 3) \
         CYMA P698A Air Sport Gun; 4) Air Sport Gun M35L”, with laser gun-sight…"
    );
    assert_eq!(guns.image_urls.len(), 4);
    assert!(!guns.is_child_product);

    let parsed = parse_fixture("eu_safety_gate/report_109.xml.gz");
    let cars = record(&parsed, Agency::EuSafetyGate, "0174/05");
    assert_eq!(
        cars.description.as_deref(),
        Some(
            "Two models of MITSUBISHI cars: a) Montero/Pajero/Super Exceed: Type *95/54*0048, \
             C-825, C-826, B-1696, B-1695, B-2293, C-1145, B2199, C-1102, B-2159, C-1111; b) \
             L200: type C-1001."
        )
    );
    assert_eq!(cars.country.as_deref(), Some("ES"));
    assert_eq!(cars.recall_date, date(2005, 4, 8));
}

#[test]
fn barcodes_and_newer_case_numbers() {
    let parsed = parse_fixture("eu_safety_gate/report_10000001.xml.gz");
    let lotion = record(&parsed, Agency::EuSafetyGate, "A12/00940/20");
    assert_eq!(
        lotion.title,
        "Skin lightening product – Bio Claire Lightening Body Lotion without Hydroquinone"
    );
    assert_eq!(lotion.brands, ["Bio Claire"]);
    assert_eq!(lotion.upcs, ["6181100232165"]);
    assert_eq!(lotion.country.as_deref(), Some("DE"));
    assert_eq!(lotion.recall_date, date(2020, 7, 3));

    let oil = record(&parsed, Agency::EuSafetyGate, "A12/00933/20");
    assert_eq!(oil.title, "Care oil – AGIVA Moustache Beard Oil");
    assert_eq!(oil.country.as_deref(), Some("SK"));
    assert_eq!(oil.upcs, ["8698703025523"]);

    let parsed = parse_fixture("eu_safety_gate/report_188.xml.gz");
    let guns = record(&parsed, Agency::EuSafetyGate, "0574/06");
    assert_eq!(guns.upcs, ["8424906752764", "8424906752771"]);
}

#[test]
fn northern_ireland_notifications() {
    let parsed = parse_fixture("eu_safety_gate/report_10000300.xml.gz");
    let seat = record(&parsed, Agency::EuSafetyGate, "SR/01004/26");
    assert_eq!(seat.title, "Children's bathing seat – Baby Bath Stand");
    assert_eq!(seat.country.as_deref(), Some("GB"));
    assert_eq!(
        seat.category.as_deref(),
        Some("Childcare articles and children's equipment")
    );
    assert!(seat.is_child_product);

    let puffs = record(&parsed, Agency::EuSafetyGate, "SR/01001/26");
    assert_eq!(
        puffs.title,
        "Expandable toy – Skillmatics Aqua Puffs ‘Watch Your Art Grow’"
    );
    assert_eq!(puffs.brands, ["Skillmatics"]);
    assert_eq!(puffs.upcs, ["8904279510043"]);
    assert_eq!(puffs.recall_date, date(2026, 4, 10));
}

#[test]
fn angle_bracket_marks_are_kept() {
    let parsed = parse_fixture("eu_safety_gate/report_300.xml.gz");
    let lamp = record(&parsed, Agency::EuSafetyGate, "1291/08");
    assert_eq!(
        lamp.title,
        "Lava lamp – Glitter floating lamp – LAMPARA MOVIMIENTO"
    );
    assert!(lamp
        .description
        .as_deref()
        .is_some_and(|text| text.contains("mains supply cord (\"<VDE> HOGVVH3-F 2x0.5 mm²\")")));
}

#[test]
fn notification_without_names_is_rejected() {
    let parsed = parse_fixture("eu_safety_gate/report_412.xml.gz");
    assert!(parsed.records.is_empty());
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(parsed.rejected[0].reason, RejectReason::MissingTitle);
    assert!(parsed.rejected[0]
        .reference
        .ends_with("report_412.xml.gz: record 1 (0001/11)"));
}

#[test]
fn notifying_countries_map_to_iso_codes() {
    assert_eq!(country_code("The Netherlands"), Some("NL"));
    assert_eq!(country_code("Czechia"), Some("CZ"));
    assert_eq!(country_code("Greece"), Some("GR"));
    assert_eq!(
        country_code("United Kingdom in respect of Northern Ireland"),
        Some("GB")
    );
    assert_eq!(country_code(" liechtenstein "), Some("LI"));
    assert_eq!(country_code("People's Republic of China"), None);
}

#[test]
fn case_number_shapes() {
    for id in [
        "0812/11",
        "A12/00954/20",
        "SR/03722/25",
        "INFO/00012/21",
        "150/09",
    ] {
        assert!(is_case_number(id), "{id}");
    }
    for id in ["82495", "12076A", "0812/2011", "/11", "A/B/C/D"] {
        assert!(!is_case_number(id), "{id}");
    }
}

const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Safety-Gate>\
                      <report_date>14/01/2011</report_date>";

#[test]
fn missing_case_number_is_rejected() {
    let xml = format!(
        "{HEADER}<notifications><caseNumber><![CDATA[ ]]></caseNumber>\
         <product><![CDATA[Balloons]]></product></notifications>\
         <notifications><caseNumber>0002/11</caseNumber><name>Rattle &amp; teether</name>\
         </notifications></Safety-Gate>"
    );
    let parsed = parse_bytes(
        Format::EuSafetyGateXml,
        Path::new("report.xml"),
        xml.as_bytes(),
    )
    .unwrap();
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(parsed.rejected[0].reason, RejectReason::MissingId);
    assert_eq!(parsed.rejected[0].reference, "report.xml: record 1");
    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.records[0].title, "Rattle & teether");
    assert_eq!(parsed.records[0].recall_date, date(2011, 1, 14));
    assert!(parsed.records[0].is_child_product);
}

#[test]
fn broken_xml_is_malformed() {
    let inputs = [
        format!("{HEADER}<notifications><caseNumber>0002/11</caseNumber>"),
        format!("{HEADER}<notifications><caseNumber>0002/11</name></notifications></Safety-Gate>"),
        "not xml at all".to_owned(),
    ];
    for xml in inputs {
        let result = parse_bytes(
            Format::EuSafetyGateXml,
            Path::new("report.xml"),
            xml.as_bytes(),
        );
        assert!(matches!(result, Err(ParseError::Malformed { .. })), "{xml}");
    }
}
