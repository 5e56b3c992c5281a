use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use crate::import::parse::{collect_files, detect_format, parse_file, Format};

#[test]
#[ignore]
fn full_data_summary() {
    let root = PathBuf::from(std::env::var("RECALL_DATA").unwrap());
    let started = Instant::now();
    let files = collect_files(&[root]).unwrap();
    println!("collect: {} files in {:?}", files.len(), started.elapsed());
    #[derive(Default)]
    struct Stats { files: usize, records: usize, rejected: BTreeMap<String, usize>, child: usize, keys: HashSet<(String, String)>, child_keys: HashSet<(String,String)>, secs: f64, errors: usize }
    let mut by_format: BTreeMap<String, Stats> = BTreeMap::new();
    let mut all_keys: HashSet<(String,String)> = HashSet::new();
    let mut all_child: HashSet<(String,String)> = HashSet::new();
    for file in &files {
        let head = {
            let raw = std::fs::read(file).unwrap();
            raw[..raw.len().min(65536)].to_vec()
        };
        let format = detect_format(file, &head).map(Format::name).unwrap_or("unknown").to_string();
        let t = Instant::now();
        let result = parse_file(file);
        let stats = by_format.entry(format).or_default();
        stats.secs += t.elapsed().as_secs_f64();
        stats.files += 1;
        match result {
            Ok(parsed) => {
                stats.records += parsed.records.len();
                for r in &parsed.rejected { *stats.rejected.entry(format!("{:?}", r.reason)).or_default() += 1; if stats.rejected.values().sum::<usize>() <= 5 { println!("  reject {:?} {}", r.reason, r.reference); } }
                for r in &parsed.records {
                    let key = (r.source.code().to_string(), r.source_id.clone());
                    if r.is_child_product { stats.child += 1; stats.child_keys.insert(key.clone()); all_child.insert(key.clone()); }
                    stats.keys.insert(key.clone());
                    all_keys.insert(key);
                }
            }
            Err(e) => { stats.errors += 1; println!("  error {e}"); }
        }
    }
    for (format, s) in &by_format {
        println!("{format}: files {} records {} rejected {:?} child {} unique {} unique_child {} errors {} parse {:.2}s", s.files, s.records, s.rejected, s.child, s.keys.len(), s.child_keys.len(), s.errors, s.secs);
    }
    let mut by_agency: BTreeMap<String, usize> = BTreeMap::new();
    for (a, _) in &all_keys { *by_agency.entry(a.clone()).or_default() += 1; }
    println!("all: unique {} child {} by agency {:?} total {:?}", all_keys.len(), all_child.len(), by_agency, started.elapsed());
}

#[test]
#[ignore]
fn dump_ids() {
    let root = PathBuf::from(std::env::var("RECALL_DATA").unwrap());
    let ids: Vec<String> = std::env::var("IDS").unwrap().split(',').map(str::to_owned).collect();
    for file in collect_files(&[root]).unwrap() {
        let parsed = parse_file(&file).unwrap();
        for r in parsed.records {
            if ids.contains(&r.source_id) {
                println!("{} => {}", file.file_name().unwrap().to_string_lossy(), serde_json::to_string_pretty(&r).unwrap());
            }
        }
    }
}
