//! Import of public recall data into `recalls_enhanced`: parse each file
//! into normalised [`record::Recall`]s, keep one version per recall, upsert,
//! and rebuild the search word dictionary.

pub mod parse;
pub mod record;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use sqlx::PgPool;

use crate::import::parse::{Parsed, RejectReason};
use crate::import::record::{Agency, Recall};
use crate::import::store::UpsertCounts;

/// The repository's sample: every baby and child recall that the import
/// maps, from all bundled sources, in the normalised gzip JSON-lines format.
/// It is compiled in so that a fresh checkout or a bare container image
/// serves real searches.
pub static BUNDLED_SAMPLE: &[u8] = include_bytes!("../../../../data/recalls-sample.jsonl.gz");

/// Outcome of an import.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Files read.
    pub files: usize,
    /// Records read, before de-duplication.
    pub records: usize,
    /// Records dropped because another record describes the same recall.
    pub duplicates: usize,
    /// Database changes.
    pub counts: UpsertCounts,
    /// Rejected records by reason.
    pub rejected: BTreeMap<RejectReason, usize>,
    /// Distinct recalls by agency code.
    pub by_agency: BTreeMap<&'static str, usize>,
    /// Words in the rebuilt search dictionary.
    pub search_terms: u64,
}

impl ImportSummary {
    /// Logs the summary as one structured line, with one rejection reason
    /// per field so each count can be searched.
    pub fn log(&self, seconds: f64) {
        let rejected: BTreeMap<&str, usize> = self
            .rejected
            .iter()
            .map(|(reason, count)| (reason.describe(), *count))
            .collect();
        tracing::info!(
            files = self.files,
            records = self.records,
            duplicates = self.duplicates,
            inserted = self.counts.inserted,
            updated = self.counts.updated,
            unchanged = self.counts.unchanged,
            rejected_total = self.rejected.values().sum::<usize>(),
            rejected = ?rejected,
            by_agency = ?self.by_agency,
            search_terms = self.search_terms,
            seconds,
            "import finished"
        );
    }
}

/// Reads every file under `paths` and keeps one record per recall.
pub fn read_paths(paths: &[PathBuf]) -> anyhow::Result<(Vec<Recall>, ImportSummary)> {
    let files = parse::collect_files(paths)?;
    let mut summary = ImportSummary {
        files: files.len(),
        ..ImportSummary::default()
    };
    let mut parsed_all = Vec::new();
    for file in &files {
        let parsed =
            parse::parse_file(file).with_context(|| format!("reading {}", file.display()))?;
        tracing::debug!(file = %file.display(), records = parsed.records.len(), rejected = parsed.rejected.len(), "file parsed");
        parsed_all.push(parsed);
    }
    let recalls = merge(parsed_all, &mut summary);
    Ok((recalls, summary))
}

/// Keeps one record per (agency, recall id): the one from the feed of
/// highest priority, the first read among equals, with empty fields filled
/// from the other copies. A recall is a child product when any copy says so,
/// because the same CPSC recall is filed under several categories and only
/// some are child categories. Counts rejections.
pub fn merge(parsed: Vec<Parsed>, summary: &mut ImportSummary) -> Vec<Recall> {
    let mut kept: HashMap<(Agency, String), Recall> = HashMap::new();
    let mut order: Vec<(Agency, String)> = Vec::new();
    for Parsed { records, rejected } in parsed {
        for rejection in rejected {
            *summary.rejected.entry(rejection.reason).or_default() += 1;
        }
        for record in records {
            summary.records += 1;
            let key = (record.source, record.source_id.clone());
            match kept.get_mut(&key) {
                Some(existing) => {
                    summary.duplicates += 1;
                    if record.feed.priority() > existing.feed.priority() {
                        let older = std::mem::replace(existing, record);
                        fill_gaps(existing, older);
                    } else {
                        fill_gaps(existing, record);
                    }
                }
                None => {
                    order.push(key.clone());
                    kept.insert(key, record);
                }
            }
        }
    }
    let recalls: Vec<Recall> = order
        .into_iter()
        .filter_map(|key| kept.remove(&key))
        .collect();
    for recall in &recalls {
        *summary.by_agency.entry(recall.source.code()).or_default() += 1;
    }
    recalls
}

/// Fills the empty fields of `winner` from another copy of the same recall.
fn fill_gaps(winner: &mut Recall, other: Recall) {
    fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
        if slot.is_none() {
            *slot = value;
        }
    }
    fn fill_list(slot: &mut Vec<String>, values: Vec<String>) {
        if slot.is_empty() {
            *slot = values;
        }
    }
    winner.is_child_product |= other.is_child_product;
    fill(&mut winner.recall_date, other.recall_date);
    fill(&mut winner.description, other.description);
    fill(&mut winner.hazard, other.hazard);
    fill(&mut winner.remedy, other.remedy);
    fill(&mut winner.category, other.category);
    fill(&mut winner.country, other.country);
    fill(&mut winner.url, other.url);
    fill_list(&mut winner.product_names, other.product_names);
    fill_list(&mut winner.brands, other.brands);
    fill_list(&mut winner.manufacturers, other.manufacturers);
    fill_list(&mut winner.image_urls, other.image_urls);
    fill_list(&mut winner.upcs, other.upcs);
}

/// Imports files or folders into the database and returns what changed.
pub async fn import_paths(pool: &PgPool, paths: Vec<PathBuf>) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let (recalls, mut summary) = tokio::task::spawn_blocking(move || read_paths(&paths))
        .await
        .context("the import's parser task failed")??;
    store_recalls(pool, &recalls, &mut summary).await?;
    summary.log(started.elapsed().as_secs_f64());
    Ok(summary)
}

/// Loads the bundled sample into the database.
pub async fn import_bundled_sample(pool: &PgPool) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let parsed = parse::normalized::read_normalized(BUNDLED_SAMPLE)
        .context("the bundled recall sample is unreadable")?;
    let mut summary = ImportSummary {
        files: 1,
        ..ImportSummary::default()
    };
    let recalls = merge(vec![parsed], &mut summary);
    store_recalls(pool, &recalls, &mut summary).await?;
    summary.log(started.elapsed().as_secs_f64());
    Ok(summary)
}

async fn store_recalls(
    pool: &PgPool,
    recalls: &[Recall],
    summary: &mut ImportSummary,
) -> anyhow::Result<()> {
    summary.counts = store::upsert(pool, recalls)
        .await
        .context("writing recalls failed")?;
    summary.search_terms = store::rebuild_search_terms(pool)
        .await
        .context("rebuilding the search dictionary failed")?;
    Ok(())
}

/// Writes the baby and child recalls found under `paths` to `output` in the
/// bundled sample's format.
pub fn write_sample(paths: &[PathBuf], output: &Path) -> anyhow::Result<ImportSummary> {
    let (recalls, summary) = read_paths(paths)?;
    let children: Vec<Recall> = recalls.into_iter().filter(|r| r.is_child_product).collect();
    parse::normalized::write_normalized(output, &children)
        .with_context(|| format!("writing {}", output.display()))?;
    tracing::info!(output = %output.display(), recalls = children.len(), "sample written");
    Ok(summary)
}
