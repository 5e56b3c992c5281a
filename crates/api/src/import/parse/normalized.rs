//! The repository's own sample format: gzip-compressed JSON lines, one
//! serialized [`Recall`] per line, as written by [`write_normalized`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::{decompress, json_lines, reference, ParseError, Parsed, RejectReason};
use crate::import::record::Recall;

/// Writes `records` to `path` as gzip-compressed JSON lines, replacing the
/// file if it exists.
pub fn write_normalized(path: &Path, records: &[Recall]) -> io::Result<()> {
    let file = File::create(path)?;
    let mut writer = BufWriter::new(GzEncoder::new(file, Compression::default()));
    for record in records {
        serde_json::to_writer(&mut writer, record)?;
        writer.write_all(b"\n")?;
    }
    let encoder = writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    encoder.finish()?.sync_all()
}

/// Parses normalized records from memory, e.g. a sample compiled into the
/// binary; the data may be gzip-compressed or plain.
pub fn read_normalized(data: &[u8]) -> Result<Parsed, ParseError> {
    let path = Path::new("normalized data in memory");
    let data = decompress(path, data)?;
    Ok(parse(path, &data))
}

pub(super) fn parse(path: &Path, data: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    for (line_number, line) in json_lines(data) {
        let record = match serde_json::from_slice::<Recall>(line) {
            Ok(record) => record,
            Err(_) => {
                parsed.reject(
                    RejectReason::MalformedRecord,
                    reference(path, line_number, None),
                );
                continue;
            }
        };
        // The files are edited by hand, so the schema's "never empty" rules
        // are checked again.
        if record.source_id.trim().is_empty() {
            parsed.reject(RejectReason::MissingId, reference(path, line_number, None));
        } else if record.title.trim().is_empty() {
            let id = Some(record.source_id.as_str());
            parsed.reject(RejectReason::MissingTitle, reference(path, line_number, id));
        } else {
            parsed.records.push(record);
        }
    }
    parsed
}
