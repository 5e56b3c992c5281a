//! CPSC recalls in the Recall API shape, one file per cpsc.gov product
//! category: `{"meta": {"slug": "cribs", …}, "recalls": [{"RecallNumber":
//! "26069", …}, …]}`. Empty values were pruned by the publisher of the files,
//! so a missing key means "empty".

use std::path::Path;

use serde_json::{Map, Value};

use super::text::{
    barcode_digits, canonical_cpsc_id, clean_text, has_child_words, humanize_slug,
    is_cpsc_child_slug, join_clean, parse_date, push_clean,
};
use super::{member_clean, member_text, reference, ParseError, Parsed, RejectReason};
use crate::import::record::{Agency, Feed, Recall};

pub(super) fn parse(path: &Path, data: &[u8]) -> Result<Parsed, ParseError> {
    let root: Value = serde_json::from_slice(data)
        .map_err(|error| ParseError::malformed(path, format!("invalid JSON: {error}")))?;
    let Value::Object(root) = root else {
        return Err(ParseError::malformed(
            path,
            "the top level is not a JSON object",
        ));
    };
    let Some(Value::Array(recalls)) = root.get("recalls") else {
        return Err(ParseError::malformed(path, "there is no \"recalls\" array"));
    };
    let slug = root
        .get("meta")
        .and_then(|meta| meta.get("slug"))
        .and_then(Value::as_str)
        .unwrap_or_default();

    let mut parsed = Parsed::default();
    for (index, recall) in recalls.iter().enumerate() {
        let position = index + 1;
        let Value::Object(recall) = recall else {
            parsed.reject(
                RejectReason::MalformedRecord,
                reference(path, position, None),
            );
            continue;
        };
        match map_recall(recall, slug) {
            Ok(record) => parsed.records.push(record),
            Err((reason, id)) => parsed.reject(reason, reference(path, position, id.as_deref())),
        }
    }
    Ok(parsed)
}

/// Maps one recall. On failure, returns the reason and the id, if any.
fn map_recall(
    recall: &Map<String, Value>,
    slug: &str,
) -> Result<Recall, (RejectReason, Option<String>)> {
    let raw_id = member_text(recall, "RecallNumber").map(|id| clean_text(&id));
    let source_id = match raw_id.as_deref() {
        None | Some("") => return Err((RejectReason::MissingId, None)),
        Some(id) => canonical_cpsc_id(id).unwrap_or_else(|| id.to_owned()),
    };
    let Some(title) = member_clean(recall, "Title") else {
        return Err((RejectReason::MissingTitle, Some(source_id)));
    };

    let product_names = names(recall, &["Products"], "Name");
    let manufacturers = names(
        recall,
        &["Manufacturers", "Importers", "Distributors"],
        "Name",
    );
    let image_urls = names(recall, &["Images"], "URL");
    let upcs: Vec<String> = nested_texts(recall, "ProductUPCs", "UPC")
        .filter_map(|upc| barcode_digits(&upc))
        .fold(Vec::new(), |mut upcs, upc| {
            if !upcs.contains(&upc) {
                upcs.push(upc);
            }
            upcs
        });
    let hazards: Vec<String> = nested_texts(recall, "Hazards", "Name").collect();
    let remedies: Vec<String> = nested_texts(recall, "Remedies", "Name").collect();
    let hazard = join_clean(hazards.iter().map(String::as_str));
    let remedy = join_clean(remedies.iter().map(String::as_str));
    let description = member_clean(recall, "Description");
    let category = (!slug.trim().is_empty()).then(|| humanize_slug(slug));

    let is_child_product = is_cpsc_child_slug(slug)
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
        feed: Feed::CpscJson,
        recall_date: member_text(recall, "RecallDate").and_then(|date| parse_date(&date)),
        title,
        product_names,
        description,
        brands: Vec::new(),
        manufacturers,
        hazard,
        remedy,
        category,
        country: Some("US".to_owned()),
        url: member_clean(recall, "URL"),
        image_urls,
        upcs,
        is_child_product,
    })
}

/// Returns the text of `field` in each object of the array `array`, e.g.
/// `Products[].Name`. Values that are not text are skipped.
fn nested_texts<'a>(
    recall: &'a Map<String, Value>,
    array: &str,
    field: &'a str,
) -> impl Iterator<Item = String> + 'a {
    recall
        .get(array)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(move |item| item.as_object().and_then(|item| member_text(item, field)))
}

/// Collects the cleaned, non-empty, distinct `field` values of the arrays
/// named `arrays`.
fn names(recall: &Map<String, Value>, arrays: &[&str], field: &str) -> Vec<String> {
    let mut values = Vec::new();
    for array in arrays {
        for value in nested_texts(recall, array, field) {
            push_clean(&mut values, &value);
        }
    }
    values
}
