//! Government of Canada "Recalls and safety alerts" bulk JSON: one array of
//! flat objects from every program (consumer products, food, drugs, medical
//! devices, vehicles). Every program is imported, and `Category` keeps them
//! apart.

use std::path::Path;

use serde_json::{Map, Value};

use super::text::{has_child_words, parse_date, push_clean};
use super::{member_clean, member_text, reference, ParseError, Parsed, RejectReason};
use crate::import::record::{Agency, Feed, Recall};

/// Parts of the `Category` value (multi-category records join parts with
/// " - ", e.g. "Household items - Toys and games") that are baby or child
/// categories.
const CHILD_CATEGORIES: &[&str] = &[
    "Toys and games",
    "Infant products",
    "Child Car Seat",
    "Booster Seat",
];

pub(super) fn parse(path: &Path, data: &[u8]) -> Result<Parsed, ParseError> {
    let root: Value = serde_json::from_slice(data)
        .map_err(|error| ParseError::malformed(path, format!("invalid JSON: {error}")))?;
    let Value::Array(rows) = root else {
        return Err(ParseError::malformed(
            path,
            "the top level is not a JSON array",
        ));
    };

    let mut parsed = Parsed::default();
    for (index, row) in rows.iter().enumerate() {
        let position = index + 1;
        let Value::Object(row) = row else {
            parsed.reject(
                RejectReason::MalformedRecord,
                reference(path, position, None),
            );
            continue;
        };
        match map_row(row) {
            Ok(record) => parsed.records.push(record),
            Err((reason, id)) => parsed.reject(reason, reference(path, position, id.as_deref())),
        }
    }
    Ok(parsed)
}

fn map_row(row: &Map<String, Value>) -> Result<Recall, (RejectReason, Option<String>)> {
    let Some(source_id) = member_clean(row, "NID") else {
        return Err((RejectReason::MissingId, None));
    };
    let Some(title) = member_clean(row, "Title") else {
        return Err((RejectReason::MissingTitle, Some(source_id)));
    };

    let mut product_names = Vec::new();
    push_clean(
        &mut product_names,
        &member_text(row, "Product").unwrap_or_default(),
    );
    let hazard = member_clean(row, "Issue");
    let category = member_clean(row, "Category");

    let has_child_category = category.as_deref().is_some_and(|category| {
        category.split(" - ").any(|part| {
            CHILD_CATEGORIES
                .iter()
                .any(|child| part.trim().eq_ignore_ascii_case(child))
        })
    });
    let is_child_product = has_child_category
        || has_child_words(
            [&title]
                .into_iter()
                .chain(&product_names)
                .chain(&hazard)
                .chain(&category)
                .map(String::as_str),
        );

    Ok(Recall {
        source: Agency::HealthCanada,
        source_id,
        feed: Feed::HealthCanada,
        // The file has no publication date, only the date of the last update.
        recall_date: member_text(row, "Last updated").and_then(|date| parse_date(&date)),
        title,
        product_names,
        description: None,
        brands: Vec::new(),
        manufacturers: Vec::new(),
        hazard,
        remedy: member_clean(row, "What you should do"),
        category,
        country: Some("CA".to_owned()),
        url: member_clean(row, "URL"),
        image_urls: Vec::new(),
        upcs: Vec::new(),
        is_child_product,
    })
}
