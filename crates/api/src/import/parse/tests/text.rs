//! Text cleaning, dates, ids, barcodes and the child-product test, on values
//! copied from the real data sets.

use crate::import::parse::text::{
    all_patterns_compile, barcode_digits, canonical_cpsc_id, clean_opt, clean_text,
    extract_barcodes, extract_labelled_upcs, has_child_words, humanize_slug, is_cpsc_child_slug,
    parse_date,
};

use super::date;

#[test]
fn patterns_compile() {
    assert!(all_patterns_compile());
}

#[test]
fn clean_text_decodes_entities() {
    assert_eq!(
        clean_text("Casual &amp; Comfortable"),
        "Casual & Comfortable"
    );
    assert_eq!(
        clean_text("between&nbsp;20 and&nbsp;58 inches"),
        "between 20 and 58 inches"
    );
    assert_eq!(
        clean_text("Retira del Mercado L&#225;mparas"),
        "Retira del Mercado Lámparas"
    );
    assert_eq!(clean_text("Kids&#x2122; Lamps"), "Kids™ Lamps");
    // Escaped twice in an EU report.
    assert_eq!(clean_text("63 &amp;micro;g/kg"), "63 µg/kg");
}

#[test]
fn clean_text_collapses_whitespace() {
    assert_eq!(clean_text("  Zenition\u{a0}50 \n"), "Zenition 50");
    assert_eq!(clean_text("About 9,400\u{a0}"), "About 9,400");
    assert_eq!(clean_text("line one\r\n\r\nline two"), "line one line two");
    assert_eq!(clean_text("&nbsp; \t"), "");
}

#[test]
fn clean_text_removes_broken_anchors() {
    let hazard = "which violate the https://cpsc.gov/Business--Manufacturing/Business-Education/\
                  Business-Gu\u{2026} lang=\"EN-US\">Federal Hazardous Substances Act.&nbsp;";
    assert_eq!(
        clean_text(hazard),
        "which violate the Federal Hazardous Substances Act."
    );

    let hazard = "the mandatory standard for&nbsp;https://www.federalregister.gov/documents/\
                  2022/02/15/2022-02414/safety-\u{2026} mattresses, as the";
    assert_eq!(
        clean_text(hazard),
        "the mandatory standard for mattresses, as the"
    );

    let hazard = "Business-Education/Toy-Safety\"\u{2026} and electrical requirements";
    assert_eq!(
        clean_text(&format!("the https://www.cpsc.gov/{hazard}")),
        "the and electrical requirements"
    );
}

#[test]
fn clean_text_strips_html_tags() {
    assert_eq!(
        clean_text("Two models of MITSUBISHI cars:<b>a)</b> Montero"),
        "Two models of MITSUBISHI cars: a) Montero"
    );
    assert_eq!(
        clean_text("COLGATE<b>THIS IS A COUNTERFEIT PRODUCT</b>"),
        "COLGATE THIS IS A COUNTERFEIT PRODUCT"
    );
    assert_eq!(clean_text("line<br />break<br/>again"), "line break again");
    assert_eq!(clean_text("<a href=\"www.dema.sk\">dema</a>"), "dema");
    assert_eq!(
        clean_text("Disney <font color=\"#ff0000\">(MAY BE COUNTERFEIT)</font>"),
        "Disney (MAY BE COUNTERFEIT)"
    );
    assert_eq!(clean_text("2 m<sup>2</sup>"), "2 m2");
    assert_eq!(clean_text("<!-- note\n -->text<o:p></o:p>"), "text");
}

#[test]
fn clean_text_keeps_angle_bracket_text() {
    assert_eq!(
        clean_text("mains supply cord (\"<VDE> HOGVVH3-F 2x0.5 mm²\")"),
        "mains supply cord (\"<VDE> HOGVVH3-F 2x0.5 mm²\")"
    );
    assert_eq!(
        clean_text("iQ0036407 <9m (29.5ft) TRUBLUE iQ XL (20m) iQXL02678 <17.5m (57.4ft)"),
        "iQ0036407 <9m (29.5ft) TRUBLUE iQ XL (20m) iQXL02678 <17.5m (57.4ft)"
    );
    // Entities are decoded after tags are removed, so escaped text stays.
    assert_eq!(
        clean_text("iQ0036407&lt;9m (29.5ft)TRUBLUE&lt;17.5m"),
        "iQ0036407<9m (29.5ft)TRUBLUE<17.5m"
    );
    assert_eq!(clean_text("KY-738A <IC>"), "KY-738A <IC>");
}

#[test]
fn clean_text_keeps_non_ascii() {
    let text = "Türkiye “Finger Painting Kit,” Gerber® Soothe N Chew® — Giraffe™ Kögler";
    assert_eq!(clean_text(text), text);
}

#[test]
fn clean_opt_drops_empty_values() {
    assert_eq!(clean_opt(None), None);
    assert_eq!(clean_opt(Some(" \u{a0} ")), None);
    assert_eq!(clean_opt(Some("<br/>")), None);
    assert_eq!(
        clean_opt(Some(" Fall hazard ")),
        Some("Fall hazard".to_owned())
    );
}

#[test]
fn parse_date_reads_every_source_format() {
    assert_eq!(parse_date("2026-03-26T00:00:00"), date(2026, 3, 26));
    assert_eq!(parse_date("2024-10-10T05:00:00.000Z"), date(2024, 10, 10));
    assert_eq!(parse_date("2026-08-20"), date(2026, 8, 20));
    assert_eq!(parse_date("20260723"), date(2026, 7, 23));
    assert_eq!(parse_date("19720501"), date(1972, 5, 1));
    assert_eq!(parse_date("25/09/2009"), date(2009, 9, 25));
    assert_eq!(parse_date("November 06, 2025"), date(2025, 11, 6));
    assert_eq!(parse_date("February 5, 2026"), date(2026, 2, 5));
    assert_eq!(parse_date("Nov 06, 2025"), date(2025, 11, 6));
    assert_eq!(parse_date(" 2026-08-20 "), date(2026, 8, 20));
}

#[test]
fn parse_date_rejects_invalid_text() {
    for text in [
        "",
        "null",
        "2026-13-01",
        "2026-02-30",
        "32/01/2020",
        "2026-03-26X",
        "Unknown",
    ] {
        assert_eq!(parse_date(text), None, "{text:?}");
    }
    // A multi-byte character where the separator is expected must not panic.
    assert_eq!(parse_date("2026-03-2€"), None);
}

#[test]
fn cpsc_ids_are_canonical() {
    assert_eq!(canonical_cpsc_id("26342").as_deref(), Some("26-342"));
    assert_eq!(canonical_cpsc_id("26-342").as_deref(), Some("26-342"));
    assert_eq!(canonical_cpsc_id(" 26-294 ").as_deref(), Some("26-294"));
    assert_eq!(canonical_cpsc_id("12076A").as_deref(), Some("12-076A"));
    assert_eq!(canonical_cpsc_id("01-160a").as_deref(), Some("01-160A"));
    assert_eq!(canonical_cpsc_id("14--181").as_deref(), Some("14-181"));
}

#[test]
fn non_cpsc_ids_are_not_canonicalized() {
    for id in [
        "",
        "H-0891-2026",
        "NHTSA-72C001000",
        "CPSC-GEN-f0c6cb0c28",
        "123456",
        "2634",
    ] {
        assert_eq!(canonical_cpsc_id(id), None, "{id:?}");
    }
}

#[test]
fn barcodes_from_free_text() {
    assert_eq!(
        extract_barcodes("1. 8424906752764, 2. 8424906752771"),
        ["8424906752764", "8424906752771"]
    );
    assert_eq!(extract_barcodes("6 181100 232165"), ["6181100232165"]);
    assert_eq!(
        extract_barcodes("8433325179700 - 8433325187217"),
        ["8433325179700", "8433325187217"]
    );
    assert_eq!(extract_barcodes("EAN 4006381333931"), ["4006381333931"]);
    assert_eq!(extract_barcodes("8-888881-199301"), ["8888881199301"]);
    assert_eq!(
        extract_barcodes("1) 6417084112132, 1) 6417084112132"),
        ["6417084112132"]
    );
}

#[test]
fn barcodes_skip_other_numbers() {
    for text in [
        "",
        "Unknown",
        "27811 05604",
        "2023-16",
        "*1804001*",
        "1171-080092 9232633-0208-09111",
    ] {
        assert!(extract_barcodes(text).is_empty(), "{text:?}");
    }
}

#[test]
fn barcode_digits_keeps_digits() {
    assert_eq!(
        barcode_digits("0-12345-67890-5").as_deref(),
        Some("012345678905")
    );
    assert_eq!(barcode_digits("n/a"), None);
}

#[test]
fn labelled_upcs_from_fda_product_names() {
    assert_eq!(
        extract_labelled_upcs("Net weight: 31.7oz (900gm). UPC: 813267020335. Firm name"),
        ["813267020335"]
    );
    assert_eq!(
        extract_labelled_upcs("UPC Code# 850015736018"),
        ["850015736018"]
    );
    assert_eq!(
        extract_labelled_upcs("UPC CODE 3 10310 40000 2."),
        ["310310400002"]
    );
    assert_eq!(
        extract_labelled_upcs("UPC 50428318034 and 41220164578"),
        ["50428318034", "41220164578"]
    );
    assert_eq!(
        extract_labelled_upcs("UPC Code of 300871239418 or 300871239456 and Use By Date"),
        ["300871239418", "300871239456"]
    );
    assert!(extract_labelled_upcs("Lot # 2210321712 with Expiration Date").is_empty());
}

#[test]
fn child_words_match_baby_products() {
    for text in [
        "Baby Bath Stand",
        "infant formula",
        "CAR-SEAT base",
        "High Chairs",
        "teething ring",
        "Play yard mattress",
        "Bassinets",
    ] {
        assert!(has_child_words([text]), "{text:?}");
    }
}

#[test]
fn child_words_skip_broad_words() {
    for text in [
        "child-resistant packaging",
        "may harm the health of children",
        "Toys",
        "Kids Kitchen Step Stool",
        "Cribbage board",
    ] {
        assert!(!has_child_words([text]), "{text:?}");
    }
}

#[test]
fn cpsc_slugs() {
    assert_eq!(
        humanize_slug("strollers-and-car-seats"),
        "Strollers and car seats"
    );
    assert_eq!(humanize_slug(""), "");
    assert!(is_cpsc_child_slug("cribs"));
    assert!(is_cpsc_child_slug("babies-and-kids"));
    assert!(!is_cpsc_child_slug("arts-and-crafts"));
}
