//! Text cleaning, date parsing, id normalisation and the baby/child product
//! test shared by all source formats.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::{Captures, Regex};

/// Baby and child product words, matched case-insensitively as whole words.
///
/// Broader words such as "child", "kids" or "toy" are left out on purpose:
/// they match "child-resistant packaging" and the EU chemical boilerplate
/// "may harm the health of children", so they flag many adult products.
const CHILD_WORDS: &str = r"(?i)\b(?:cribs?|strollers?|infants?|bab(?:y|ies)|toddlers?|car[\s-]?seats?|pacifiers?|high[\s-]?chairs?|bassinets?|play[\s-]?yards?|playpens?|teeth(?:er|ers|ing)|nursery|newborns?|bouncers?|baby[\s-]?walkers?|infant[\s-]?walkers?|child[\s-]?restraints?|booster[\s-]?seats?|diapers?|bibs?|rattles?|sippy|onesies?)\b";

/// HTML comments and opening, closing and empty tags, including Microsoft
/// Word's `<o:p>`. Which names count as HTML is decided in [`strip_tags`].
const TAG: &str = r"(?s:<!--.*?-->)|</?([A-Za-z][A-Za-z0-9]*)(?::[A-Za-z0-9]+)?(?:\s[^<>]*)?/?>";

/// A link that the cpsc.gov CSV export cut to an ellipsis, with the
/// `lang="EN-US">` left over from the anchor tag that held it. The anchor's
/// own text follows the remnant, so removing the match keeps the sentence.
const BROKEN_ANCHOR: &str = r#"https?://[^\s…]*…(?:\s*lang="[^"]*"\s*>)?|\blang="[^"]*"\s*>"#;

/// A CPSC recall number with or without its hyphen, e.g. `26-342`, `26342`
/// or `12076A`. One legacy TinySafe id has a doubled hyphen (`14--181`).
const CPSC_ID: &str = r"^(\d{2})-*(\d{3})([A-Za-z]?)$";

/// The label in front of a barcode in free text, e.g. "UPC: ", "UPC Code# ",
/// "UPC Code of ", followed by one or more digit groups.
const LABELLED_UPC: &str = r"(?i)\bUPCs?\b(?:\s*(?:codes?|numbers?|nos?\.?|of|#|:))*\s*(\d[\d \-]*(?:\s*(?:,|;|/|&|\band\b|\bor\b)\s*\d[\d \-]*)*)";

/// Compiles one of the constant patterns above.
///
/// Returns `None` instead of panicking, so a bad pattern disables one
/// cleaning step and not the whole import. A unit test checks that every
/// pattern compiles.
fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static CHILD_WORDS_RE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(CHILD_WORDS));
static TAG_RE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(TAG));
static BROKEN_ANCHOR_RE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(BROKEN_ANCHOR));
static CPSC_ID_RE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(CPSC_ID));
static LABELLED_UPC_RE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(LABELLED_UPC));

/// Reports whether every constant pattern of this module compiles.
#[cfg(test)]
pub(crate) fn all_patterns_compile() -> bool {
    [
        &CHILD_WORDS_RE,
        &TAG_RE,
        &BROKEN_ANCHOR_RE,
        &CPSC_ID_RE,
        &LABELLED_UPC_RE,
    ]
    .iter()
    .all(|re| re.is_some())
}

/// HTML elements that attach to the word before them (`m<sup>2</sup>` reads
/// `m2`), so their tags are removed without a gap.
const ATTACHED_ELEMENTS: &[&str] = &["sub", "sup", "wbr"];

/// HTML elements whose tags are replaced by a space. Even inline tags such as
/// `<b>` separate words in the sources ("COLGATE<b>THIS IS A COUNTERFEIT").
/// Tag names outside this list and [`ATTACHED_ELEMENTS`] are kept as text,
/// because the sources put other words in angle brackets (the `<VDE>` test
/// mark).
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "html",
    "i",
    "img",
    "li",
    "o",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strike",
    "strong",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

/// Cleans one text value: removes cut-off links, HTML tags and comments,
/// decodes HTML entities (named and numeric, up to two levels of escaping),
/// collapses every run of whitespace including NBSP into one space, and
/// trims.
///
/// Tags are removed before entities are decoded, so an escaped `&lt;9m` stays
/// the text `<9m`. Non-ASCII characters are kept as published.
pub fn clean_text(raw: &str) -> String {
    let without_anchors = match BROKEN_ANCHOR_RE.as_ref() {
        Some(re) if raw.contains("lang=") || raw.contains('…') => re.replace_all(raw, " "),
        _ => raw.into(),
    };
    let without_tags = strip_tags(&without_anchors);
    let decoded = html_escape::decode_html_entities(&without_tags);
    // Some EU texts were escaped twice (`&amp;micro;`), so a second pass
    // decodes what the first one uncovered.
    let decoded = if decoded.contains('&') {
        html_escape::decode_html_entities(&decoded).into_owned()
    } else {
        decoded.into_owned()
    };
    collapse_whitespace(&decoded)
}

/// Cleans an optional text value; returns `None` when nothing is left.
pub fn clean_opt(raw: Option<&str>) -> Option<String> {
    let cleaned = clean_text(raw?);
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Cleans `raw` and appends it to `list` unless it is empty or already there.
pub fn push_clean(list: &mut Vec<String>, raw: &str) {
    let cleaned = clean_text(raw);
    if !cleaned.is_empty() && !list.contains(&cleaned) {
        list.push(cleaned);
    }
}

/// Cleans each part and joins the non-empty ones with a space; returns `None`
/// when every part is empty.
pub fn join_clean<'a>(parts: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut joined = String::new();
    for part in parts {
        let cleaned = clean_text(part);
        if cleaned.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(&cleaned);
    }
    (!joined.is_empty()).then_some(joined)
}

fn strip_tags(text: &str) -> std::borrow::Cow<'_, str> {
    let Some(re) = TAG_RE.as_ref() else {
        return text.into();
    };
    if !text.contains('<') {
        return text.into();
    }
    re.replace_all(text, |caps: &Captures<'_>| {
        let Some(name) = caps.get(1) else {
            // An HTML comment.
            return String::new();
        };
        let name = name.as_str().to_ascii_lowercase();
        if ATTACHED_ELEMENTS.contains(&name.as_str()) {
            String::new()
        } else if HTML_ELEMENTS.contains(&name.as_str()) {
            " ".to_owned()
        } else {
            caps[0].to_owned()
        }
    })
}

fn collapse_whitespace(text: &str) -> String {
    let mut collapsed = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    collapsed
}

/// Parses every date format found in the recall sources: ISO dates and
/// timestamps (`2026-03-26`, `2026-03-26T00:00:00`, `2024-10-10T05:00:00.000Z`),
/// `YYYYMMDD`, `DD/MM/YYYY` and "Month DD, YYYY". Returns `None` for empty or
/// unrecognised text.
///
/// A timestamp keeps its own calendar date without a time zone conversion.
/// The CPSC timestamps with `Z` are U.S. midnight written in UTC (05:00Z or
/// 06:00Z), so their UTC date is the U.S. recall date.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let text = raw.trim();
    let bytes = text.as_bytes();
    if bytes.len() >= 10 && bytes[4] == b'-' && bytes[7] == b'-' {
        let is_date_or_timestamp = bytes.len() == 10 || matches!(bytes[10], b'T' | b' ');
        if !is_date_or_timestamp {
            return None;
        }
        return NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok();
    }
    if bytes.len() == 8 && bytes.iter().all(u8::is_ascii_digit) {
        return NaiveDate::parse_from_str(text, "%Y%m%d").ok();
    }
    if text.contains('/') {
        // Only the EU Safety Gate writes dates with slashes, day first.
        return NaiveDate::parse_from_str(text, "%d/%m/%Y").ok();
    }
    NaiveDate::parse_from_str(text, "%B %d, %Y")
        .or_else(|_| NaiveDate::parse_from_str(text, "%b %d, %Y"))
        .ok()
}

/// Converts a CPSC recall number to the canonical `YY-NNN` form, keeping a
/// suffix letter in upper case (`26342` → `26-342`, `01-160a` → `01-160A`).
///
/// Suffix letters are kept because CPSC gave several unrelated recalls of one
/// day the same number with different letters (`01160A` toys, `01160B`
/// bicycle forks). Returns `None` when `raw` is not a CPSC recall number.
pub fn canonical_cpsc_id(raw: &str) -> Option<String> {
    let caps = CPSC_ID_RE.as_ref()?.captures(raw.trim())?;
    Some(format!(
        "{}-{}{}",
        &caps[1],
        &caps[2],
        caps[3].to_ascii_uppercase()
    ))
}

/// Reports whether any of `texts` contains a baby or child product word
/// (cribs, strollers, infants, car seats, pacifiers, diapers and so on).
pub fn has_child_words<'a>(texts: impl IntoIterator<Item = &'a str>) -> bool {
    let Some(re) = CHILD_WORDS_RE.as_ref() else {
        return false;
    };
    texts.into_iter().any(|text| re.is_match(text))
}

/// Keeps only the digits of a barcode that a source stores in its own field
/// (CPSC `ProductUPCs`); returns `None` when no digit is left.
pub fn barcode_digits(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// Extracts barcodes from free text that lists one or more of them, such as
/// the EU `barcode` field (`1. 8424906752764, 2. 8424906752771`,
/// `6 181100 232165`, `EAN 4006381333931`).
///
/// Digit groups separated only by spaces or hyphens are read as one barcode
/// when together they have a GTIN length (8, 12, 13 or 14 digits), and as
/// separate barcodes otherwise. A single unbroken group counts when it has 8
/// to 14 digits, which also keeps UPC-A codes published without their check
/// digit. Shorter numbers (batch codes, list numbers) are dropped.
pub fn extract_barcodes(raw: &str) -> Vec<String> {
    let mut barcodes = Vec::new();
    for run in digit_runs(raw) {
        let merged: String = run.chars().filter(char::is_ascii_digit).collect();
        let is_single_group = merged.len() == run.len();
        if is_single_group {
            if (8..=14).contains(&merged.len()) {
                push_unique(&mut barcodes, merged);
            }
            continue;
        }
        if matches!(merged.len(), 8 | 12 | 13 | 14) {
            push_unique(&mut barcodes, merged);
            continue;
        }
        for group in run.split([' ', '-']) {
            if (8..=14).contains(&group.len()) {
                push_unique(&mut barcodes, group.to_owned());
            }
        }
    }
    barcodes
}

/// Extracts the barcodes that free text introduces with "UPC", as FDA
/// product descriptions do ("UPC: 813267020335", "UPC Code# 850015736018",
/// "UPC 50428318034 and 41220164578").
pub fn extract_labelled_upcs(text: &str) -> Vec<String> {
    let mut barcodes = Vec::new();
    let Some(re) = LABELLED_UPC_RE.as_ref() else {
        return barcodes;
    };
    for caps in re.captures_iter(text) {
        for barcode in extract_barcodes(&caps[1]) {
            push_unique(&mut barcodes, barcode);
        }
    }
    barcodes
}

/// Splits text into maximal runs of digits joined by single spaces or
/// hyphens, e.g. `EAN 8 595022 045693.` → `8 595022 045693`.
fn digit_runs(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if !bytes[index].is_ascii_digit() {
            index += 1;
            continue;
        }
        let start = index;
        let mut end = index;
        while index < bytes.len() {
            let byte = bytes[index];
            if byte.is_ascii_digit() {
                index += 1;
                end = index;
            } else if matches!(byte, b' ' | b'-')
                && bytes.get(index + 1).is_some_and(u8::is_ascii_digit)
            {
                index += 1;
            } else {
                break;
            }
        }
        // Runs start and end on ASCII digits, so both ends are char boundaries.
        if let Some(run) = text.get(start..end) {
            runs.push(run);
        }
    }
    runs
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// Turns a category slug into words with a capital first letter
/// (`strollers-and-car-seats` → `Strollers and car seats`).
pub fn humanize_slug(slug: &str) -> String {
    let words = slug.trim().replace(['-', '_'], " ");
    let words = collapse_whitespace(&words);
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// CPSC "Recall by product" category slugs whose products are made for
/// babies or children, chosen by hand from the 303 slugs of cpsc.gov. Mixed
/// categories such as `bunk-beds`, `bed-rails` or `crayons-or-chalk` are left
/// out, so their recalls rely on the word test.
const CPSC_CHILD_SLUGS: &[&str] = &[
    "attached-highchair",
    "babies-and-kids",
    "baby-monitors",
    "baby-rattles",
    "baby-walkers-and-jumpers",
    "bassinets-and-cradles",
    "blocks-or-stacking-toys-or-pull-toys",
    "building-sets",
    "child-arts-and-crafts",
    "crib-bumpers",
    "crib-mobiles-and-gyms",
    "cribs",
    "doll-houses-and-other-play-scenes",
    "dolls-or-plush-toys-or-and-action-figures",
    "high-chairs",
    "infant-and-toddler-play-centers",
    "infant-support-cushions",
    "infant-toddler-rockers",
    "merrygoround",
    "nursery-equipment-and-supplies",
    "other-riding-toys",
    "pacifiers-and-teething-rings",
    "play-tents-or-play-tunnels-or-other-enclosures",
    "play-yards",
    "playground-equipment",
    "portable-baby-swings",
    "powered-riding-toys",
    "pretend-electronics-or-tools-or-housewares-and-appliances",
    "riding-toys",
    "seesaws-teeter-totters",
    "sleep-positioners",
    "squeeze-or-squeaker-toys",
    "stroller-accessories",
    "strollers",
    "strollers-and-car-seats",
    "swings-or-swing-sets",
    "toy-guns",
    "toy-guns-with-projectiles",
    "toy-makeup-kits-or-cosmetics",
    "toy-musical-instruments",
    "toy-sports-equipment",
    "toy-vehicles-not-riding-toys",
    "toys",
    "water-toys",
];

/// Reports whether a CPSC category slug is a baby or child category.
pub fn is_cpsc_child_slug(slug: &str) -> bool {
    CPSC_CHILD_SLUGS.contains(&slug.trim().to_ascii_lowercase().as_str())
}
