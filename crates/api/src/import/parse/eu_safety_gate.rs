//! EU Safety Gate (formerly RAPEX) weekly report XML:
//! `<Safety-Gate><report_date>25/09/2009</report_date>…<notifications>…`
//! with one `<notifications>` element per alert. Fields are mostly CDATA
//! that may contain HTML. Notifications have no date of their own.

use std::collections::HashMap;
use std::mem;
use std::path::Path;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::text::{
    clean_opt, clean_text, extract_barcodes, has_child_words, parse_date, push_clean,
};
use super::{ParseError, Parsed, RejectReason};
use crate::import::record::{Agency, Feed, Recall};

/// EU Safety Gate categories whose products are for babies or children.
const CHILD_CATEGORIES: &[&str] = &["Toys", "Childcare articles and children's equipment"];

/// `brand` values that mean the brand is not known.
const UNKNOWN_BRANDS: &[&str] = &[
    "unknown",
    "not specified",
    "not known",
    "none",
    "n/a",
    "-",
    "--",
    "no brand",
    "unbranded",
];

/// ISO 3166-1 alpha-2 codes of the countries that notify Safety Gate alerts:
/// the EU member states, the EEA states and the United Kingdom (which still
/// notifies for Northern Ireland), under every spelling the reports use.
/// Greece is `GR` here although the EU writes it `EL`.
const NOTIFYING_COUNTRIES: &[(&str, &str)] = &[
    ("Austria", "AT"),
    ("Belgium", "BE"),
    ("Bulgaria", "BG"),
    ("Croatia", "HR"),
    ("Cyprus", "CY"),
    ("Czech Republic", "CZ"),
    ("Czechia", "CZ"),
    ("Denmark", "DK"),
    ("Estonia", "EE"),
    ("Finland", "FI"),
    ("France", "FR"),
    ("Germany", "DE"),
    ("Greece", "GR"),
    ("Hungary", "HU"),
    ("Iceland", "IS"),
    ("Ireland", "IE"),
    ("Italy", "IT"),
    ("Latvia", "LV"),
    ("Liechtenstein", "LI"),
    ("Lithuania", "LT"),
    ("Luxembourg", "LU"),
    ("Malta", "MT"),
    ("Netherlands", "NL"),
    ("Norway", "NO"),
    ("Poland", "PL"),
    ("Portugal", "PT"),
    ("Romania", "RO"),
    ("Slovakia", "SK"),
    ("Slovenia", "SI"),
    ("Spain", "ES"),
    ("Sweden", "SE"),
    ("The Netherlands", "NL"),
    ("United Kingdom", "GB"),
    ("United Kingdom in respect of Northern Ireland", "GB"),
];

/// Returns the ISO code of a notifying country name, or `None` for a name
/// outside the table.
pub(super) fn country_code(name: &str) -> Option<&'static str> {
    let name = name.trim();
    NOTIFYING_COUNTRIES
        .iter()
        .find(|(country, _)| country.eq_ignore_ascii_case(name))
        .map(|(_, code)| *code)
}

/// Reports whether an ISO code belongs to a country that notifies Safety
/// Gate alerts.
pub(super) fn is_notifying_country_code(code: &str) -> bool {
    NOTIFYING_COUNTRIES
        .iter()
        .any(|(_, known)| known.eq_ignore_ascii_case(code.trim()))
}

/// Reports whether an id has the shape of a Safety Gate case number:
/// `NNNN/YY` as used up to 2011, or with a prefix such as `A12/00954/20` or
/// `SR/03722/25`.
pub(super) fn is_case_number(id: &str) -> bool {
    let parts: Vec<&str> = id.trim().split('/').collect();
    let is_digits = |part: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&part.len()) && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    match parts.as_slice() {
        [number, year] => is_digits(number, 3..=5) && is_digits(year, 2..=2),
        [prefix, number, year] => {
            !prefix.is_empty()
                && prefix.bytes().all(|byte| byte.is_ascii_alphanumeric())
                && is_digits(number, 3..=5)
                && is_digits(year, 2..=2)
        }
        _ => false,
    }
}

/// The raw text of one `<notifications>` element.
#[derive(Default)]
struct Notification {
    /// 1-based position in the report.
    position: usize,
    /// Text of each child element, by element name.
    fields: HashMap<String, String>,
    /// URLs from `<pictures><picture>`.
    pictures: Vec<String>,
}

impl Notification {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

pub(super) fn parse(path: &Path, data: &[u8]) -> Result<Parsed, ParseError> {
    let (report_date, notifications) = read_report(path, data)?;
    let report_date = parse_date(&report_date);

    let mut parsed = Parsed::default();
    for notification in &notifications {
        match map_notification(notification, report_date) {
            Ok(record) => parsed.records.push(record),
            Err((reason, id)) => {
                let reference = super::reference(path, notification.position, id.as_deref());
                parsed.reject(reason, reference);
            }
        }
    }
    Ok(parsed)
}

/// Streams the XML and returns the report date text and the notifications.
///
/// Text of elements nested inside a field (one case number ends in
/// `<br/>`) is kept in the field, and each nested tag counts as a space.
fn read_report(path: &Path, data: &[u8]) -> Result<(String, Vec<Notification>), ParseError> {
    let mut reader = Reader::from_reader(data);
    let mut stack: Vec<String> = Vec::new();
    let mut report_date = String::new();
    let mut notifications = Vec::new();
    let mut current: Option<Notification> = None;
    let mut field_text = String::new();
    let mut picture_text = String::new();

    loop {
        let event = reader.read_event().map_err(|error| {
            let detail = format!("invalid XML at byte {}: {error}", reader.error_position());
            ParseError::malformed(path, detail)
        })?;
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if stack.len() == 1 && name == "notifications" {
                    current = Some(Notification {
                        position: notifications.len() + 1,
                        ..Notification::default()
                    });
                } else if stack.len() == 2 && current.is_some() {
                    field_text.clear();
                    picture_text.clear();
                } else if stack.len() >= 3 {
                    field_text.push(' ');
                }
                stack.push(name);
            }
            Event::Empty(_) if stack.len() >= 3 => field_text.push(' '),
            Event::Text(text) => {
                // XML entities are decoded here and HTML entities later by
                // `clean_text`. Text with an entity that XML does not define
                // (`&nbsp;`) fails to unescape, so it is passed on as is.
                let text = match text.unescape() {
                    Ok(text) => text.into_owned(),
                    Err(_) => String::from_utf8_lossy(&text).into_owned(),
                };
                append_text(
                    &stack,
                    &text,
                    &mut report_date,
                    &mut field_text,
                    &mut picture_text,
                );
            }
            Event::CData(cdata) => {
                let text = String::from_utf8_lossy(&cdata);
                append_text(
                    &stack,
                    &text,
                    &mut report_date,
                    &mut field_text,
                    &mut picture_text,
                );
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let depth = stack.len();
                if let Some(notification) = current.as_mut() {
                    if depth == 3 && stack[2] == "pictures" && name == "picture" {
                        notification.pictures.push(mem::take(&mut picture_text));
                    } else if depth == 2 && name != "pictures" {
                        notification.fields.insert(name, mem::take(&mut field_text));
                    } else if depth == 1 {
                        notifications.extend(current.take());
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }

    if !stack.is_empty() {
        let detail = format!("the XML ends inside the <{}> element", stack.join("><"));
        return Err(ParseError::malformed(path, detail));
    }
    if notifications.is_empty() && report_date.trim().is_empty() {
        let detail = "no <report_date> and no <notifications> element was found; \
                      expected an EU Safety Gate weekly report";
        return Err(ParseError::malformed(path, detail));
    }
    Ok((report_date, notifications))
}

/// Appends text to the buffer of the element that is open: the report date,
/// a notification field or a picture URL. Other text (the report's week,
/// year and addendum) is not imported.
fn append_text(
    stack: &[String],
    text: &str,
    report_date: &mut String,
    field_text: &mut String,
    picture_text: &mut String,
) {
    match stack {
        [_, date] if date == "report_date" => report_date.push_str(text),
        [_, notification, pictures, picture, ..]
            if notification == "notifications"
                && pictures == "pictures"
                && picture == "picture" =>
        {
            picture_text.push_str(text);
        }
        [_, notification, field, ..] if notification == "notifications" && field != "pictures" => {
            field_text.push_str(text);
        }
        _ => {}
    }
}

fn map_notification(
    notification: &Notification,
    report_date: Option<chrono::NaiveDate>,
) -> Result<Recall, (RejectReason, Option<String>)> {
    // Case numbers such as `A12/00954/20` are kept whole: the parts after
    // the slashes are not an id on their own.
    let source_id = clean_text(notification.field("caseNumber"));
    if source_id.is_empty() {
        return Err((RejectReason::MissingId, None));
    }

    let product_type = clean_text(notification.field("product"));
    let name = clean_text(notification.field("name"));
    let brand = clean_opt(Some(notification.field("brand")))
        .filter(|brand| !UNKNOWN_BRANDS.contains(&brand.to_lowercase().as_str()));
    let description = clean_opt(Some(notification.field("description")));
    let Some(title) = build_title(
        &product_type,
        brand.as_deref(),
        &name,
        description.as_deref(),
    ) else {
        return Err((RejectReason::MissingTitle, Some(source_id)));
    };

    let mut product_names = Vec::new();
    push_clean(&mut product_names, &name);
    push_clean(&mut product_names, notification.field("type_numberOfModel"));
    let mut image_urls = Vec::new();
    for picture in &notification.pictures {
        push_clean(&mut image_urls, picture);
    }
    let hazard = clean_opt(Some(notification.field("danger")))
        .or_else(|| clean_opt(Some(notification.field("riskType"))));
    let category = clean_opt(Some(notification.field("category")));

    let has_child_category = category.as_deref().is_some_and(|category| {
        CHILD_CATEGORIES
            .iter()
            .any(|child| child.eq_ignore_ascii_case(category))
    });
    let is_child_product = has_child_category
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
        source: Agency::EuSafetyGate,
        source_id,
        feed: Feed::EuSafetyGate,
        recall_date: report_date,
        title,
        product_names,
        description,
        brands: brand.into_iter().collect(),
        manufacturers: Vec::new(),
        hazard,
        remedy: clean_opt(Some(notification.field("measures"))),
        category,
        country: country_code(&clean_text(notification.field("notifyingCountry")))
            .map(str::to_owned),
        url: clean_opt(Some(notification.field("reference"))),
        image_urls,
        upcs: extract_barcodes(&clean_text(notification.field("barcode"))),
        is_child_product,
    })
}

/// The maximum length, in characters, of a title taken from a description.
const MAX_DESCRIPTION_TITLE_CHARS: usize = 160;

/// Builds a headline from the product type, brand and model name, e.g.
/// "Expandable toy – Skillmatics Aqua Puffs". Reports up to 2007 often leave
/// all three empty and name the product only in the description, so the
/// first sentence of the description is the fallback.
fn build_title(
    product_type: &str,
    brand: Option<&str>,
    name: &str,
    description: Option<&str>,
) -> Option<String> {
    let mut detail = String::new();
    if let Some(brand) = brand {
        // Model names usually repeat the brand ("Skillmatics Aqua Puffs").
        if !name.to_lowercase().contains(&brand.to_lowercase()) {
            detail.push_str(brand);
        }
    }
    if !name.is_empty() {
        if !detail.is_empty() {
            detail.push(' ');
        }
        detail.push_str(name);
    }
    match (product_type.is_empty(), detail.is_empty()) {
        (false, false) => Some(format!("{product_type} – {detail}")),
        (false, true) => Some(product_type.to_owned()),
        (true, false) => Some(detail),
        (true, true) => description
            .map(first_sentence)
            .filter(|title| !title.is_empty()),
    }
}

/// Returns the first sentence of a text without its full stop, cut at a word
/// boundary with an ellipsis when longer than
/// [`MAX_DESCRIPTION_TITLE_CHARS`].
fn first_sentence(text: &str) -> String {
    let sentence = text.split(". ").next().unwrap_or(text).trim();
    let sentence = sentence.strip_suffix('.').unwrap_or(sentence);
    if sentence.chars().count() <= MAX_DESCRIPTION_TITLE_CHARS {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(MAX_DESCRIPTION_TITLE_CHARS).collect();
    let cut = match cut.rfind(' ') {
        Some(space) => &cut[..space],
        None => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}
