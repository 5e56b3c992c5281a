//! File discovery, format detection, file-level errors, cross-feed ids and
//! robustness against damaged input.

use std::path::{Path, PathBuf};

use super::{fixture, parse_fixture};
use crate::import::parse::{
    collect_files, detect_format, parse_bytes, parse_file, Format, ParseError,
};
use crate::import::record::Agency;

const FIXTURE_FORMATS: &[(&str, Format)] = &[
    (
        "cpsc_csv/arts-and-crafts_2023-12-01_2026-04-01.csv",
        Format::CpscCsv,
    ),
    ("cpsc_csv/cribs_2023-12-01_2026-04-01.csv", Format::CpscCsv),
    (
        "cpsc_csv/grills-and-accessories_2023-12-01_2026-04-01.csv",
        Format::CpscCsv,
    ),
    (
        "cpsc_csv/mountain-climbing_2023-12-01_2026-04-01.csv",
        Format::CpscCsv,
    ),
    ("cpsc_csv/toys_2023-12-01_2026-04-01.csv", Format::CpscCsv),
    ("cpsc_json/arts-and-crafts.json", Format::CpscJson),
    ("cpsc_json/cribs.json", Format::CpscJson),
    (
        "cpsc_json/flashlights-or-batterypowered-lanterns.json",
        Format::CpscJson,
    ),
    (
        "cpsc_json/furniture-and-furnishings-and-decorations.json",
        Format::CpscJson,
    ),
    ("cpsc_json/grills-and-accessories.json", Format::CpscJson),
    ("cpsc_json/mountain-climbing.json", Format::CpscJson),
    ("cpsc_json/toys.json", Format::CpscJson),
    ("eu_safety_gate/report_100.xml.gz", Format::EuSafetyGateXml),
    (
        "eu_safety_gate/report_10000001.xml.gz",
        Format::EuSafetyGateXml,
    ),
    (
        "eu_safety_gate/report_10000300.xml.gz",
        Format::EuSafetyGateXml,
    ),
    ("eu_safety_gate/report_109.xml.gz", Format::EuSafetyGateXml),
    ("eu_safety_gate/report_188.xml.gz", Format::EuSafetyGateXml),
    ("eu_safety_gate/report_300.xml.gz", Format::EuSafetyGateXml),
    ("eu_safety_gate/report_345.xml.gz", Format::EuSafetyGateXml),
    ("eu_safety_gate/report_412.xml.gz", Format::EuSafetyGateXml),
    ("health_canada/latest.json.gz", Format::HealthCanadaJson),
    ("oecd/recalls_global.jsonl", Format::OecdJsonl),
    ("tinysafe/latest.jsonl.gz", Format::TinysafeJsonl),
];

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(fixture(relative)).unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut output = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(data), &mut output).unwrap();
    output
}

#[test]
fn formats_detected_from_raw_heads() {
    for (relative, format) in FIXTURE_FORMATS {
        let raw = read(relative);
        let head = &raw[..raw.len().min(4096)];
        assert_eq!(
            detect_format(&fixture(relative), head),
            Some(*format),
            "{relative}"
        );
    }
}

#[test]
fn formats_detected_whatever_the_name() {
    for (relative, format) in FIXTURE_FORMATS {
        let raw = read(relative);
        let content = if raw.starts_with(&[0x1f, 0x8b]) {
            gunzip(&raw)
        } else {
            raw
        };
        assert_eq!(
            detect_format(Path::new("data.bin"), &content),
            Some(*format),
            "{relative}"
        );
    }
}

#[test]
fn unknown_content_is_not_detected() {
    let path = Path::new("x");
    assert_eq!(detect_format(path, b""), None);
    assert_eq!(detect_format(path, b"   \n"), None);
    assert_eq!(detect_format(path, b"# Recall data sets\n"), None);
    assert_eq!(detect_format(path, b"{\"hello\": 1}\n"), None);
    assert_eq!(detect_format(path, b"<html><body></body></html>"), None);
    assert_eq!(detect_format(path, b"[1, 2, 3]"), None);
    assert_eq!(detect_format(path, &[0x1f, 0x8b, 0x08]), None);
}

#[test]
fn collect_files_walks_folders_sorted() {
    let root = fixture("");
    let files = collect_files(&[root.clone(), fixture("oecd")]).unwrap();
    let relative: Vec<PathBuf> = files
        .iter()
        .map(|file| file.strip_prefix(&root).unwrap().to_path_buf())
        .collect();
    let expected: Vec<PathBuf> = FIXTURE_FORMATS
        .iter()
        .map(|(path, _)| PathBuf::from(path))
        .collect();
    // README.md is skipped and the repeated folder adds nothing.
    assert_eq!(relative, expected);
}

#[test]
fn collect_files_keeps_named_files() {
    let readme = fixture("README.md");
    let files = collect_files(std::slice::from_ref(&readme)).unwrap();
    assert_eq!(files, vec![readme]);
}

#[test]
fn missing_path_is_an_io_error() {
    let missing = fixture("no-such-folder");
    assert!(matches!(
        collect_files(std::slice::from_ref(&missing)),
        Err(ParseError::Io { .. })
    ));
    let error = parse_file(&missing).unwrap_err();
    assert!(matches!(error, ParseError::Io { .. }));
    assert!(error.to_string().starts_with("failed to read "));
}

#[test]
fn readme_is_an_unknown_format() {
    let error = parse_file(&fixture("README.md")).unwrap_err();
    assert!(matches!(error, ParseError::UnknownFormat { .. }));
}

#[test]
fn same_recall_has_one_key_in_every_feed() {
    let keys: Vec<(Agency, String)> = [
        "cpsc_json/toys.json",
        "cpsc_csv/toys_2023-12-01_2026-04-01.csv",
        "tinysafe/latest.jsonl.gz",
    ]
    .into_iter()
    .map(|relative| {
        let parsed = parse_fixture(relative);
        let kits = parsed
            .records
            .iter()
            .find(|recall| recall.title.starts_with("TheKiddoSpace Recalls"))
            .unwrap();
        (kits.source, kits.source_id.clone())
    })
    .collect();
    assert!(
        keys.iter()
            .all(|key| *key == (Agency::Cpsc, "26-294".to_owned())),
        "{keys:?}"
    );

    // The OECD portal and TinySafe write suffixed CPSC numbers differently.
    let oecd = parse_fixture("oecd/recalls_global.jsonl");
    let tinysafe = parse_fixture("tinysafe/latest.jsonl.gz");
    for id in ["00-107B", "01-160A", "10-135"] {
        assert!(oecd
            .records
            .iter()
            .any(|recall| recall.source == Agency::Cpsc && recall.source_id == id));
        assert!(tinysafe
            .records
            .iter()
            .any(|recall| recall.source == Agency::Cpsc && recall.source_id == id));
    }

    // OECD's Canadian row is Health Canada's NID 82495.
    let canada = parse_fixture("health_canada/latest.json.gz");
    assert!(canada
        .records
        .iter()
        .any(|recall| recall.source_id == "82495"));
    assert!(oecd
        .records
        .iter()
        .any(|recall| recall.source == Agency::HealthCanada && recall.source_id == "82495"));
}

#[test]
fn truncated_gzip_is_malformed() {
    let raw = read("tinysafe/latest.jsonl.gz");
    let path = std::env::temp_dir().join(format!(
        "babyshield-parse-{}-cut.jsonl.gz",
        std::process::id()
    ));
    std::fs::write(&path, &raw[..raw.len() / 2]).unwrap();
    let result = parse_file(&path);
    let _ = std::fs::remove_file(&path);
    assert!(
        matches!(result, Err(ParseError::Malformed { .. })),
        "{result:?}"
    );
}

/// Feeds every fixture, cut at 16 points and with 16 bytes overwritten, to
/// its parser. Any outcome but a panic passes.
#[test]
fn damaged_input_never_panics() {
    const VARIANTS: usize = 16;
    for (relative, format) in FIXTURE_FORMATS {
        let raw = read(relative);
        let content = if raw.starts_with(&[0x1f, 0x8b]) {
            gunzip(&raw)
        } else {
            raw
        };
        let path = Path::new(relative);
        for step in 0..VARIANTS {
            let cut = content.len() * step / VARIANTS;
            let _ = parse_bytes(*format, path, &content[..cut]);

            let mut damaged = content.clone();
            for byte in damaged.iter_mut().skip(cut).step_by(97).take(16) {
                *byte = [b'"', b'<', 0xFF, b'\n', b',', b'&'][step % 6];
            }
            let _ = parse_bytes(*format, path, &damaged);
            let _ = detect_format(path, &damaged);
        }
    }
}
