//! cpsc.gov "Recalls" CSV exports: UTF-8 with a byte order mark, one file
//! per product category, named `<category-slug>_<from>_<to>.csv`. The
//! export has no URL, image or barcode columns, and its text contains HTML
//! entities and cut-off links (see [`clean_text`]).

use std::path::Path;

use csv::{ReaderBuilder, StringRecord};

use super::text::{
    canonical_cpsc_id, clean_opt, clean_text, has_child_words, humanize_slug, is_cpsc_child_slug,
    parse_date, push_clean,
};
use super::{ParseError, Parsed, RejectReason, UTF8_BOM};
use crate::import::record::{Agency, Feed, Recall};

/// Column positions, looked up by header name because the export's column
/// order is not documented.
struct Columns {
    recall_number: usize,
    date: Option<usize>,
    heading: Option<usize>,
    product_name: Option<usize>,
    description: Option<usize>,
    hazard: Option<usize>,
    remedy: Option<usize>,
    consumer_action: Option<usize>,
    firms: Vec<usize>,
}

impl Columns {
    fn find(headers: &StringRecord) -> Option<Columns> {
        let position = |name: &str| headers.iter().position(|header| header.trim() == name);
        Some(Columns {
            recall_number: position("Recall Number")?,
            date: position("Date"),
            heading: position("Recall Heading"),
            product_name: position("Name of product"),
            description: position("Description"),
            hazard: position("Hazard Description"),
            remedy: position("Remedy"),
            consumer_action: position("Consumer Action"),
            firms: ["Manufacturers", "Importers", "Distributors"]
                .into_iter()
                .filter_map(position)
                .collect(),
        })
    }
}

pub(super) fn parse(path: &Path, data: &[u8]) -> Result<Parsed, ParseError> {
    let data = data.strip_prefix(UTF8_BOM).unwrap_or(data);
    let mut reader = ReaderBuilder::new().flexible(true).from_reader(data);
    let headers = reader
        .headers()
        .map_err(|error| ParseError::malformed(path, format!("invalid CSV header: {error}")))?
        .clone();
    let columns = Columns::find(&headers).ok_or_else(|| {
        ParseError::malformed(path, "the CSV header has no \"Recall Number\" column")
    })?;
    let slug = category_slug(path);

    let mut parsed = Parsed::default();
    for (index, result) in reader.records().enumerate() {
        let position = index + 1;
        let line = match &result {
            Ok(row) => row.position(),
            Err(error) => error.position(),
        }
        .map_or(0, |position| position.line());
        let reference = |id: Option<&str>| match id {
            Some(id) => format!("{}: row {position} (line {line}, {id})", path.display()),
            None => format!("{}: row {position} (line {line})", path.display()),
        };
        let row = match result {
            Ok(row) if row.len() == headers.len() => row,
            // Invalid UTF-8, broken quoting or a wrong number of fields.
            _ => {
                parsed.reject(RejectReason::MalformedRecord, reference(None));
                continue;
            }
        };
        match map_row(&row, &columns, slug.as_deref()) {
            Ok(record) => parsed.records.push(record),
            Err((reason, id)) => parsed.reject(reason, reference(id.as_deref())),
        }
    }
    Ok(parsed)
}

fn map_row(
    row: &StringRecord,
    columns: &Columns,
    slug: Option<&str>,
) -> Result<Recall, (RejectReason, Option<String>)> {
    let field = |column: Option<usize>| column.and_then(|column| row.get(column));
    let cleaned = |column: Option<usize>| clean_opt(field(column));

    let raw_id = clean_text(field(Some(columns.recall_number)).unwrap_or_default());
    if raw_id.is_empty() {
        return Err((RejectReason::MissingId, None));
    }
    let source_id = canonical_cpsc_id(&raw_id).unwrap_or(raw_id);
    let Some(title) = cleaned(columns.heading) else {
        return Err((RejectReason::MissingTitle, Some(source_id)));
    };

    let mut product_names = Vec::new();
    push_clean(
        &mut product_names,
        field(columns.product_name).unwrap_or_default(),
    );
    let mut manufacturers = Vec::new();
    for column in &columns.firms {
        push_clean(&mut manufacturers, field(Some(*column)).unwrap_or_default());
    }
    let description = cleaned(columns.description);
    let hazard = cleaned(columns.hazard);
    let remedy = cleaned(columns.remedy).or_else(|| cleaned(columns.consumer_action));
    let category = slug.map(humanize_slug);

    let is_child_product = slug.is_some_and(is_cpsc_child_slug)
        || has_child_words(
            [&title]
                .into_iter()
                .chain(&product_names)
                .chain(&description)
                .chain(&hazard)
                .chain(&category)
                .map(String::as_str),
        );

    Ok(Recall {
        source: Agency::Cpsc,
        source_id,
        feed: Feed::CpscCsv,
        recall_date: field(columns.date).and_then(parse_date),
        title,
        product_names,
        description,
        brands: Vec::new(),
        manufacturers,
        hazard,
        remedy,
        category,
        country: Some("US".to_owned()),
        url: None,
        image_urls: Vec::new(),
        upcs: Vec::new(),
        is_child_product,
    })
}

/// Reads the category slug from an export file name such as
/// `strollers-and-car-seats_2023-12-01_2026-04-01.csv`. Slugs never contain
/// an underscore, so the slug is the name up to the first one.
fn category_slug(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let slug = name.split(['_', '.']).next()?.trim();
    (!slug.is_empty()).then(|| slug.to_owned())
}
