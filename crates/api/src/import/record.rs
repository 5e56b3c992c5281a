//! The normalised recall record that every source format is mapped to.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Agency codes used in the `agencies` search filter and the `agencyCode`
/// response field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Agency {
    /// U.S. Consumer Product Safety Commission.
    Cpsc,
    /// U.S. Food and Drug Administration.
    Fda,
    /// U.S. National Highway Traffic Safety Administration.
    Nhtsa,
    /// Health Canada (consumer product safety and the other programs).
    HealthCanada,
    /// European Commission Safety Gate (formerly RAPEX).
    EuSafetyGate,
    /// OECD GlobalRecalls portal, for records no other source covers.
    Oecd,
}

impl Agency {
    /// Returns the code stored in `recalls_enhanced.source`.
    pub fn code(self) -> &'static str {
        match self {
            Agency::Cpsc => "CPSC",
            Agency::Fda => "FDA",
            Agency::Nhtsa => "NHTSA",
            Agency::HealthCanada => "HEALTH_CANADA",
            Agency::EuSafetyGate => "EU_SAFETY_GATE",
            Agency::Oecd => "OECD",
        }
    }

    /// Parses an agency code as clients send it (case-insensitive).
    pub fn from_code(code: &str) -> Option<Agency> {
        const ALL: [Agency; 6] = [
            Agency::Cpsc,
            Agency::Fda,
            Agency::Nhtsa,
            Agency::HealthCanada,
            Agency::EuSafetyGate,
            Agency::Oecd,
        ];
        ALL.into_iter()
            .find(|a| a.code().eq_ignore_ascii_case(code.trim()))
    }
}

/// The data set a record was read from. When two data sets describe the same
/// recall (same agency and id), the record from the feed with the higher
/// [`Feed::priority`] wins, whatever the import order, so that importing the
/// same files again changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// CPSC Recall API JSON, one file per product category.
    CpscJson,
    /// cpsc.gov CSV export, one file per product category.
    CpscCsv,
    /// Curated U.S. baby and child recalls (CPSC, FDA, NHTSA) in JSON lines.
    TinysafeUs,
    /// Government of Canada recalls bulk JSON.
    HealthCanada,
    /// EU Safety Gate weekly report XML.
    EuSafetyGate,
    /// OECD GlobalRecalls JSON lines.
    OecdGlobalRecalls,
}

impl Feed {
    /// Returns the rank used to pick one record among feeds that describe
    /// the same recall; higher wins.
    pub fn priority(self) -> i16 {
        match self {
            // The cpsc.gov CSV export is the agency's own file; the JSON set
            // was merged by a third party and carries a few titles and
            // remedies of other recalls, so the CSV's text wins and the JSON
            // fills in what the CSV lacks (images, UPCs).
            Feed::CpscCsv => 50,
            Feed::CpscJson => 45,
            Feed::HealthCanada | Feed::EuSafetyGate => 40,
            Feed::TinysafeUs => 30,
            Feed::OecdGlobalRecalls => 10,
        }
    }

    /// Returns the name stored in `recalls_enhanced.feed`.
    pub fn name(self) -> &'static str {
        match self {
            Feed::CpscJson => "cpsc_json",
            Feed::CpscCsv => "cpsc_csv",
            Feed::TinysafeUs => "tinysafe_us",
            Feed::HealthCanada => "health_canada",
            Feed::EuSafetyGate => "eu_safety_gate",
            Feed::OecdGlobalRecalls => "oecd_globalrecalls",
        }
    }
}

/// One recall in the normalised schema of `recalls_enhanced`. Text fields are
/// plain text: HTML tags and entities are removed and whitespace collapsed by
/// the parsers, and non-ASCII text is kept as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recall {
    /// Agency that issued the recall.
    pub source: Agency,
    /// The agency's own recall id, in one canonical form per agency
    /// (CPSC `26-342`, EU `A12/00954/20`, Health Canada NID).
    pub source_id: String,
    /// Data set the record was read from.
    pub feed: Feed,
    /// Recall date; for sources without one, the closest date they publish
    /// (EU weekly report date, Health Canada last update).
    pub recall_date: Option<NaiveDate>,
    /// Headline of the notice; never empty.
    pub title: String,
    /// Product names or models named by the notice.
    pub product_names: Vec<String>,
    /// Product description.
    pub description: Option<String>,
    /// Brand names.
    pub brands: Vec<String>,
    /// Manufacturers, importers and distributors.
    pub manufacturers: Vec<String>,
    /// Hazard text.
    pub hazard: Option<String>,
    /// What the consumer should do.
    pub remedy: Option<String>,
    /// Product category as the source names it.
    pub category: Option<String>,
    /// ISO 3166-1 alpha-2 code of the country where the recall was issued
    /// (`US`, `CA`, or the EU member state that notified it).
    pub country: Option<String>,
    /// Official page of the notice.
    pub url: Option<String>,
    /// Product photo URLs.
    pub image_urls: Vec<String>,
    /// Barcodes (UPC, EAN, GTIN) as digits.
    pub upcs: Vec<String>,
    /// Whether the product is for babies or children.
    pub is_child_product: bool,
}
