//! OECD GlobalRecalls portal records, JSON lines, one per (country,
//! native id). The portal republishes regulators' records: most rows are
//! CPSC recalls, and the rest come from Health Canada, the EU Safety Gate,
//! Japan, Australia and a few others.

use std::path::Path;

use serde_json::{Map, Value};

use super::eu_safety_gate::{is_case_number, is_notifying_country_code};
use super::text::{canonical_cpsc_id, clean_text, has_child_words, parse_date, push_clean};
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

/// Picks the agency and id of a row, so that records the portal republished
/// merge with the same recall from the agency's own feed:
///
/// - U.S. rows with a CPSC recall number (`12076`, `00107B`) become CPSC
///   recalls with the canonical `YY-NNN` id.
/// - Canadian rows with a numeric id carry the Health Canada NID (`82495`).
/// - Rows from EU and EEA states and the UK with a case number such as
///   `0812/11` are Safety Gate (RAPEX) alerts.
///
/// Other rows keep the portal as their agency, with the id
/// `<country>:<native id>` because native ids are only unique within one
/// country.
fn identify(country: Option<&str>, native_id: &str) -> (Agency, String) {
    match country {
        Some("US") => {
            if let Some(cpsc_id) = canonical_cpsc_id(native_id) {
                return (Agency::Cpsc, cpsc_id);
            }
        }
        Some("CA") if native_id.bytes().all(|byte| byte.is_ascii_digit()) => {
            return (Agency::HealthCanada, native_id.to_owned());
        }
        Some(code) if is_notifying_country_code(code) && is_case_number(native_id) => {
            return (Agency::EuSafetyGate, native_id.to_owned());
        }
        _ => {}
    }
    let id = match country {
        Some(country) => format!("{country}:{native_id}"),
        None => native_id.to_owned(),
    };
    (Agency::Oecd, id)
}

fn map_row(row: &Map<String, Value>) -> Result<Recall, (RejectReason, Option<String>)> {
    let country = member_clean(row, "country")
        .map(|country| country.to_ascii_uppercase())
        .filter(|country| {
            country.len() == 2 && country.bytes().all(|byte| byte.is_ascii_alphabetic())
        });
    let native_id = member_text(row, "native_id")
        .map(|id| clean_text(&id))
        .filter(|id| !id.is_empty());
    let Some(native_id) = native_id else {
        return Err((RejectReason::MissingId, None));
    };
    let (source, source_id) = identify(country.as_deref(), &native_id);
    let Some(title) = member_clean(row, "title") else {
        return Err((RejectReason::MissingTitle, Some(source_id)));
    };

    let mut tags = Vec::new();
    for tag in row
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(value) = tag.as_object().and_then(|tag| member_text(tag, "value")) {
            push_clean(&mut tags, &value);
        }
    }
    let description = member_clean(row, "description");
    let mut image_urls = Vec::new();
    push_clean(
        &mut image_urls,
        &member_text(row, "image_url").unwrap_or_default(),
    );

    let is_child_product = has_child_words(
        [&title]
            .into_iter()
            .chain(&description)
            .chain(&tags)
            .map(String::as_str),
    );

    Ok(Recall {
        source,
        source_id,
        feed: Feed::OecdGlobalRecalls,
        recall_date: member_text(row, "date_submitted").and_then(|date| parse_date(&date)),
        title,
        product_names: Vec::new(),
        description,
        brands: Vec::new(),
        manufacturers: Vec::new(),
        hazard: None,
        remedy: None,
        // NOTE: the portal lists tags in alphabetical order, not by
        // relevance, so the first tag is often a minor word ("bar" for a
        // dining table).
        category: tags.first().cloned(),
        country,
        url: member_clean(row, "ext_url").or_else(|| member_clean(row, "portal_link")),
        image_urls,
        upcs: Vec::new(),
        is_child_product,
    })
}
