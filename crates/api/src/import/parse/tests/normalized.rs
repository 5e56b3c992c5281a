//! The repository's own normalized JSON-lines format.

use std::path::{Path, PathBuf};

use super::parse_fixture;
use crate::import::parse::normalized::read_normalized;
use crate::import::parse::{
    detect_format, parse_bytes, parse_file, write_normalized, Format, RejectReason,
};

/// A file path in the system temporary folder that is removed on drop.
struct TemporaryFile(PathBuf);

impl TemporaryFile {
    fn new(name: &str) -> Self {
        let file_name = format!("babyshield-parse-{}-{name}", std::process::id());
        TemporaryFile(std::env::temp_dir().join(file_name))
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn written_records_read_back_equal() {
    let mut records = parse_fixture("tinysafe/latest.jsonl.gz").records;
    records.extend(parse_fixture("eu_safety_gate/report_345.xml.gz").records);
    records.extend(parse_fixture("health_canada/latest.json.gz").records);

    let file = TemporaryFile::new("round-trip.jsonl.gz");
    write_normalized(&file.0, &records).unwrap();

    let raw = std::fs::read(&file.0).unwrap();
    assert_eq!(&raw[..2], [0x1f, 0x8b], "gzip magic bytes");
    assert_eq!(detect_format(&file.0, &raw), Some(Format::Normalized));

    let parsed = parse_file(&file.0).unwrap();
    assert!(parsed.rejected.is_empty());
    assert_eq!(parsed.records, records);

    let in_memory = read_normalized(&raw).unwrap();
    assert_eq!(in_memory.records, records);
}

#[test]
fn empty_list_writes_empty_file() {
    let file = TemporaryFile::new("empty.jsonl.gz");
    write_normalized(&file.0, &[]).unwrap();
    let parsed = read_normalized(&std::fs::read(&file.0).unwrap()).unwrap();
    assert!(parsed.records.is_empty());
    assert!(parsed.rejected.is_empty());
}

#[test]
fn invalid_lines_are_rejected() {
    let records = parse_fixture("oecd/recalls_global.jsonl").records;
    let mut lines: Vec<String> = records
        .iter()
        .take(2)
        .map(|record| serde_json::to_string(record).unwrap())
        .collect();
    lines.push(lines[0].replace("\"source_id\":\"26-713\"", "\"source_id\":\" \""));
    lines.push(lines[0].replace("\"feed\":\"oecd_global_recalls\"", "\"feed\":\"unknown\""));
    lines.push(lines[1].replace(
        "\"title\":\"Goal Zero YETI 3000X Portable Power Stations\"",
        "\"title\":\"\"",
    ));
    let data = lines.join("\n");

    let parsed = parse_bytes(
        Format::Normalized,
        Path::new("sample.jsonl"),
        data.as_bytes(),
    )
    .unwrap();
    assert_eq!(parsed.records.len(), 2);
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
            RejectReason::MissingTitle
        ]
    );
    assert_eq!(
        parsed.rejected[2].reference,
        "sample.jsonl: record 5 (26-712)"
    );
}

#[test]
fn corrupt_gzip_is_an_error() {
    assert!(read_normalized(&[0x1f, 0x8b, 0x08, 0x00, 0x01]).is_err());
}
