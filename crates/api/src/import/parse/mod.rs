//! Parsers that read the public recall data sets and map each record onto
//! [`Recall`].
//!
//! [`parse_file`] reads one file, decompresses it when it is gzip, detects
//! its format from the content and returns the records it could map together
//! with a [`Rejection`] for each record it could not. A file that cannot be
//! read or parsed as a whole is a [`ParseError`]. Damaged input ends in
//! rejections or errors, never in a panic.

mod cpsc_csv;
mod cpsc_json;
mod eu_safety_gate;
mod health_canada;
pub mod normalized;
mod oecd;
pub mod text;
mod tinysafe;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::{Map, Value};

use super::record::Recall;

pub use normalized::write_normalized;

/// Records read from one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// Records mapped onto the normalised schema, in file order.
    pub records: Vec<Recall>,
    /// Records that were skipped, in file order.
    pub rejected: Vec<Rejection>,
}

impl Parsed {
    fn reject(&mut self, reason: RejectReason, reference: String) {
        self.rejected.push(Rejection { reason, reference });
    }
}

/// A record that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Reason the record was skipped.
    pub reason: RejectReason,
    /// Location of the record: the file, the position in the file and, when
    /// the record has one, its id (e.g. `toys.json: record 3 (26-294)`).
    pub reference: String,
}

/// Reason a single record was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// The record has no recall id, so it cannot be deduplicated or linked.
    MissingId,
    /// The record has no title and none can be built from its other fields.
    MissingTitle,
    /// The record is not valid for its format: invalid JSON, a value of the
    /// wrong type, a CSV row with the wrong number of fields or invalid UTF-8.
    MalformedRecord,
    /// The record names an issuing agency that has no [`Agency`] value.
    ///
    /// [`Agency`]: super::record::Agency
    UnknownAgency,
}

impl RejectReason {
    /// Returns the reason as a plain-English phrase for reports and logs.
    pub fn describe(self) -> &'static str {
        match self {
            RejectReason::MissingId => "the record has no recall id",
            RejectReason::MissingTitle => "the record has no title or product name",
            RejectReason::MalformedRecord => {
                "the record is not valid for its format (invalid JSON or UTF-8, \
                 a value of the wrong type or a CSV row with the wrong number of fields)"
            }
            RejectReason::UnknownAgency => "the record names an agency that is not supported",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A failure that stops a whole file from being parsed.
#[derive(thiserror::Error, Debug)]
pub enum ParseError {
    /// The file or folder could not be read.
    #[error("failed to read {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The content matches none of the supported formats.
    #[error(
        "unknown recall data format in {}: expected CPSC JSON or CSV, TinySafe JSON lines, \
         Health Canada JSON, EU Safety Gate XML, OECD GlobalRecalls JSON lines or \
         normalized JSON lines; pass only recall data files or the folders that hold them",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file has a known format but its content is invalid as a whole,
    /// e.g. truncated gzip, JSON or XML.
    #[error("invalid recall data in {}: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Description of the problem and its location.
        detail: String,
    },
}

impl ParseError {
    fn malformed(path: &Path, detail: impl Into<String>) -> Self {
        ParseError::Malformed {
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }
}

/// The supported file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// CPSC Recall API JSON, `{"meta": {"slug": …}, "recalls": [...]}`.
    CpscJson,
    /// cpsc.gov CSV export, one product category per file.
    CpscCsv,
    /// TinySafe U.S. baby and child recalls, JSON lines.
    TinysafeJsonl,
    /// Government of Canada recalls bulk JSON, one array.
    HealthCanadaJson,
    /// EU Safety Gate weekly report XML.
    EuSafetyGateXml,
    /// OECD GlobalRecalls records, JSON lines.
    OecdJsonl,
    /// This repository's own format: one serialized [`Recall`] per line.
    Normalized,
}

impl Format {
    /// Returns a short name for logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::CpscJson => "cpsc_json",
            Format::CpscCsv => "cpsc_csv",
            Format::TinysafeJsonl => "tinysafe_jsonl",
            Format::HealthCanadaJson => "health_canada_json",
            Format::EuSafetyGateXml => "eu_safety_gate_xml",
            Format::OecdJsonl => "oecd_jsonl",
            Format::Normalized => "normalized",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// File names that sit next to the data files but hold no records.
const SKIPPED_NAMES: &[&str] = &["SHA256SUMS", "SHA1SUMS", "MD5SUMS", "LICENSE", "LICENCE"];

/// Extensions of documentation and checksum files.
const SKIPPED_EXTENSIONS: &[&str] = &["md", "txt", "sha256", "asc", "sig"];

/// Expands `paths` into a sorted list of data files without duplicates.
///
/// Folders are walked recursively. Inside folders, hidden entries,
/// checksum lists (`SHA256SUMS`) and documentation (`*.md`, `*.txt`) are
/// skipped. Files named directly are always kept.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ParseError> {
    let mut files = Vec::new();
    let mut visited_folders = HashSet::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|source| ParseError::Io {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            collect_folder(path, &mut files, &mut visited_folders)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect_folder(
    folder: &Path,
    files: &mut Vec<PathBuf>,
    visited_folders: &mut HashSet<PathBuf>,
) -> Result<(), ParseError> {
    let io_error = |source| ParseError::Io {
        path: folder.to_path_buf(),
        source,
    };
    // Symbolic links can form cycles, so each real folder is walked once.
    let real_folder = fs::canonicalize(folder).map_err(io_error)?;
    if !visited_folders.insert(real_folder) {
        return Ok(());
    }
    for entry in fs::read_dir(folder).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if is_skipped(&path) {
            continue;
        }
        let metadata = fs::metadata(&path).map_err(|source| ParseError::Io {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            collect_folder(&path, files, visited_folders)?;
        } else if metadata.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

fn is_skipped(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    if name.starts_with('.') || SKIPPED_NAMES.contains(&name) {
        return true;
    }
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            SKIPPED_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
        })
}

/// The number of leading bytes [`parse_file`] passes to [`detect_format`].
const HEAD_LEN: usize = 64 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Detects the format of a file from its first bytes.
///
/// `head` may be the raw start of a gzip file, which is then decompressed as
/// far as it goes. Detection uses the content only, because the published
/// file names (`latest.json.gz`, `report_345.xml.gz`) do not name the
/// source. `path` is accepted for symmetry with [`parse_file`] and unused.
pub fn detect_format(_path: &Path, head: &[u8]) -> Option<Format> {
    let decompressed;
    let head = if head.starts_with(&GZIP_MAGIC) {
        decompressed = decompress_prefix(head);
        decompressed.as_slice()
    } else {
        head
    };
    let head = head.strip_prefix(UTF8_BOM).unwrap_or(head);
    let start = head.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let head = &head[start..];

    match head[0] {
        b'<' => contains(head, b"<Safety-Gate").then_some(Format::EuSafetyGateXml),
        b'[' => contains(head, b"\"NID\"").then_some(Format::HealthCanadaJson),
        b'{' => detect_json_object(head),
        _ => {
            let first_line = head.split(|byte| *byte == b'\n').next().unwrap_or(head);
            let is_cpsc_csv =
                contains(first_line, b"Recall Number") && contains(first_line, b"Recall Heading");
            is_cpsc_csv.then_some(Format::CpscCsv)
        }
    }
}

/// Tells the JSON-lines formats apart by the keys of their first line, and
/// recognises a CPSC JSON file, whose first line is usually only `{`.
fn detect_json_object(head: &[u8]) -> Option<Format> {
    let first_line = head.split(|byte| *byte == b'\n').next().unwrap_or(head);
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(first_line) {
        let has = |key: &str| object.contains_key(key);
        if has("source_id") && has("feed") {
            return Some(Format::Normalized);
        }
        if has("native_id") && has("country") {
            return Some(Format::OecdJsonl);
        }
        if has("recall_id") && has("source") {
            return Some(Format::TinysafeJsonl);
        }
        if has("recalls") {
            return Some(Format::CpscJson);
        }
        return None;
    }
    let is_cpsc_json = contains(head, b"\"RecallNumber\"")
        || (contains(head, b"\"meta\"") && contains(head, b"\"recalls\""));
    if is_cpsc_json {
        return Some(Format::CpscJson);
    }
    // A first line longer than the head is cut off and does not parse, so
    // fall back to looking for the keys as text.
    let has = |key: &[u8]| contains(first_line, key);
    if has(b"\"source_id\"") && has(b"\"feed\"") {
        Some(Format::Normalized)
    } else if has(b"\"native_id\"") {
        Some(Format::OecdJsonl)
    } else if has(b"\"recall_id\"") {
        Some(Format::TinysafeJsonl)
    } else {
        None
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Decompresses as much of a gzip prefix as is complete. The read error at
/// the cut is expected because the rest of the stream is missing.
fn decompress_prefix(head: &[u8]) -> Vec<u8> {
    let mut decoder = MultiGzDecoder::new(head);
    let mut output = Vec::new();
    let mut chunk = [0u8; 8192];
    while output.len() < HEAD_LEN {
        match decoder.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => output.extend_from_slice(&chunk[..read]),
        }
    }
    output
}

/// Reads, decompresses, detects and parses one file.
pub fn parse_file(path: &Path) -> Result<Parsed, ParseError> {
    let data = read_file(path)?;
    let head = &data[..data.len().min(HEAD_LEN)];
    let format = detect_format(path, head).ok_or_else(|| ParseError::UnknownFormat {
        path: path.to_path_buf(),
    })?;
    parse_bytes(format, path, &data)
}

/// Parses decompressed file content in a known format. `path` is only used
/// in rejection references and errors, and for the category that the CPSC
/// CSV export encodes in its file name.
pub(crate) fn parse_bytes(format: Format, path: &Path, data: &[u8]) -> Result<Parsed, ParseError> {
    match format {
        Format::CpscJson => cpsc_json::parse(path, data),
        Format::CpscCsv => cpsc_csv::parse(path, data),
        Format::TinysafeJsonl => Ok(tinysafe::parse(path, data)),
        Format::HealthCanadaJson => health_canada::parse(path, data),
        Format::EuSafetyGateXml => eu_safety_gate::parse(path, data),
        Format::OecdJsonl => Ok(oecd::parse(path, data)),
        Format::Normalized => Ok(normalized::parse(path, data)),
    }
}

/// Reads a whole file, decompressing it when it starts with the gzip magic
/// bytes whatever its name.
fn read_file(path: &Path) -> Result<Vec<u8>, ParseError> {
    let raw = fs::read(path).map_err(|source| ParseError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    decompress(path, &raw)
}

/// Decompresses gzip data, or copies data without the gzip magic bytes.
fn decompress(path: &Path, raw: &[u8]) -> Result<Vec<u8>, ParseError> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw.to_vec());
    }
    let mut data = Vec::with_capacity(raw.len().saturating_mul(8));
    MultiGzDecoder::new(raw)
        .read_to_end(&mut data)
        .map_err(|error| ParseError::malformed(path, format!("invalid gzip data: {error}")))?;
    Ok(data)
}

/// Formats a rejection reference: file name, 1-based position and the
/// record's id when it has one.
fn reference(path: &Path, position: usize, id: Option<&str>) -> String {
    let file = path.display();
    match id {
        Some(id) if !id.is_empty() => format!("{file}: record {position} ({id})"),
        _ => format!("{file}: record {position}"),
    }
}

/// Splits JSON lines into (1-based line number, line) pairs, skipping
/// blank lines.
fn json_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let data = data.strip_prefix(UTF8_BOM).unwrap_or(data);
    data.split(|byte| *byte == b'\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| line.iter().any(|byte| !byte.is_ascii_whitespace()))
}

/// Returns a JSON value as text: strings as they are, numbers in their
/// decimal form, anything else as `None`.
fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Returns a member of a JSON object as text (see [`json_text`]).
fn member_text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(json_text)
}

/// Returns a member of a JSON object as cleaned text, or `None` when it is
/// missing, not text or empty after cleaning.
fn member_clean(object: &Map<String, Value>, key: &str) -> Option<String> {
    text::clean_opt(member_text(object, key).as_deref())
}
