//! TinySafe U.S. baby and child recalls: JSON lines of CPSC, FDA and NHTSA
//! records that the publisher selected as relevant to babies and children.

use std::path::Path;

use serde_json::{Map, Value};

use super::text::{canonical_cpsc_id, clean_text, extract_labelled_upcs, parse_date, push_clean};
use super::{json_lines, member_clean, member_text, reference, Parsed, RejectReason};
use crate::import::record::{Agency, Feed, Recall};

pub(super) fn parse(path: &Path, data: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    for (line_number, line) in json_lines(data) {
        let Ok(Value::Object(row)) = serde_json::from_slice::<Value>(line) else {
            parsed.reject(
                RejectReason::MalformedRecord,
                reference(path, line_number, None),
            );
            continue;
        };
        match map_row(&row) {
            Ok(record) => parsed.records.push(record),
            Err((reason, id)) => {
                parsed.reject(reason, reference(path, line_number, id.as_deref()));
            }
        }
    }
    parsed
}

/// Maps the `source` field onto an agency. FDA rows taken from press
/// releases are marked "FDA datatables (press releases)".
fn agency(source: &str) -> Option<Agency> {
    let source = source.trim();
    let starts_with = |prefix: &str| {
        source
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    if source.eq_ignore_ascii_case("CPSC") {
        Some(Agency::Cpsc)
    } else if starts_with("FDA") {
        Some(Agency::Fda)
    } else if source.eq_ignore_ascii_case("NHTSA") {
        Some(Agency::Nhtsa)
    } else {
        None
    }
}

fn map_row(row: &Map<String, Value>) -> Result<Recall, (RejectReason, Option<String>)> {
    let raw_id = member_text(row, "recall_id")
        .map(|id| clean_text(&id))
        .filter(|id| !id.is_empty());
    let Some(agency) = member_text(row, "source").as_deref().and_then(agency) else {
        return Err((RejectReason::UnknownAgency, raw_id));
    };
    let Some(raw_id) = raw_id else {
        return Err((RejectReason::MissingId, None));
    };
    // CPSC numbers are normalised so that they match the CPSC feeds. Ids that
    // are not recall numbers (FDA, NHTSA, TinySafe's own `CPSC-GEN-…`) are
    // kept as published.
    let source_id = match agency {
        Agency::Cpsc => canonical_cpsc_id(&raw_id).unwrap_or(raw_id),
        _ => raw_id,
    };

    let product_name = member_text(row, "product_name").unwrap_or_default();
    let mut product_names = Vec::new();
    push_clean(&mut product_names, &product_name);
    for model in row
        .get("models")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(model) = model
            .as_object()
            .and_then(|model| member_text(model, "model"))
        {
            push_clean(&mut product_names, &model);
        }
    }

    // FDA and NHTSA rows have no heading. Their product names run up to
    // 4,000 characters, so the publisher's short display name is the better
    // headline.
    let title = member_clean(row, "heading")
        .or_else(|| member_clean(row, "display_name"))
        .or_else(|| product_names.first().cloned());
    let Some(title) = title else {
        return Err((RejectReason::MissingTitle, Some(source_id)));
    };

    let mut brands = Vec::new();
    for brand in row
        .get("brands")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(brand) = brand.as_str() {
            push_clean(&mut brands, brand);
        }
    }
    if brands.is_empty() {
        push_clean(&mut brands, &member_text(row, "brand").unwrap_or_default());
    }
    let mut manufacturers = Vec::new();
    push_clean(
        &mut manufacturers,
        &member_text(row, "manufacturer").unwrap_or_default(),
    );

    Ok(Recall {
        source: agency,
        source_id,
        feed: Feed::TinysafeUs,
        recall_date: member_text(row, "recall_date").and_then(|date| parse_date(&date)),
        title,
        product_names,
        description: None,
        brands,
        manufacturers,
        hazard: member_clean(row, "hazard_text").or_else(|| member_clean(row, "reason")),
        remedy: member_clean(row, "action"),
        category: member_clean(row, "category_label")
            .or_else(|| member_clean(row, "category_family")),
        country: Some("US".to_owned()),
        url: member_clean(row, "url"),
        image_urls: Vec::new(),
        upcs: extract_labelled_upcs(&product_name),
        // The publisher curated the whole file for baby and child products.
        is_child_product: true,
    })
}
