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
    struct Stats {
        files: usize,
        records: usize,
        rejected: BTreeMap<String, usize>,
        child: usize,
        keys: HashSet<(String, String)>,
        child_keys: HashSet<(String, String)>,
        secs: f64,
        errors: usize,
    }
    let mut by_format: BTreeMap<String, Stats> = BTreeMap::new();
    let mut all_keys: HashSet<(String, String)> = HashSet::new();
    let mut all_child: HashSet<(String, String)> = HashSet::new();
    for file in &files {
        let head = {
            let raw = std::fs::read(file).unwrap();
            raw[..raw.len().min(65536)].to_vec()
        };
        let format = detect_format(file, &head)
            .map(Format::name)
            .unwrap_or("unknown")
            .to_string();
        let t = Instant::now();
        let result = parse_file(file);
        let stats = by_format.entry(format).or_default();
        stats.secs += t.elapsed().as_secs_f64();
        stats.files += 1;
        match result {
            Ok(parsed) => {
                stats.records += parsed.records.len();
                for r in &parsed.rejected {
                    *stats.rejected.entry(format!("{:?}", r.reason)).or_default() += 1;
                    if stats.rejected.values().sum::<usize>() <= 5 {
                        println!("  reject {:?} {}", r.reason, r.reference);
                    }
                }
                for r in &parsed.records {
                    let key = (r.source.code().to_string(), r.source_id.clone());
                    if r.is_child_product {
                        stats.child += 1;
                        stats.child_keys.insert(key.clone());
                        all_child.insert(key.clone());
                    }
                    stats.keys.insert(key.clone());
                    all_keys.insert(key);
                }
            }
            Err(e) => {
                stats.errors += 1;
                println!("  error {e}");
            }
        }
    }
    for (format, s) in &by_format {
        println!("{format}: files {} records {} rejected {:?} child {} unique {} unique_child {} errors {} parse {:.2}s", s.files, s.records, s.rejected, s.child, s.keys.len(), s.child_keys.len(), s.errors, s.secs);
    }
    let mut by_agency: BTreeMap<String, usize> = BTreeMap::new();
    for (a, _) in &all_keys {
        *by_agency.entry(a.clone()).or_default() += 1;
    }
    println!(
        "all: unique {} child {} by agency {:?} total {:?}",
        all_keys.len(),
        all_child.len(),
        by_agency,
        started.elapsed()
    );
}

#[test]
#[ignore]
fn dump_ids() {
    let root = PathBuf::from(std::env::var("RECALL_DATA").unwrap());
    let ids: Vec<String> = std::env::var("IDS")
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    for file in collect_files(&[root]).unwrap() {
        let parsed = parse_file(&file).unwrap();
        for j in &parsed.rejected {
            println!("REJECT {:?} {}", j.reason, j.reference);
        }
        for r in parsed.records {
            if ids.contains(&r.source_id) || ids[0] == "*" {
                println!(
                    "{} => {}",
                    file.file_name().unwrap().to_string_lossy(),
                    serde_json::to_string_pretty(&r).unwrap()
                );
            }
        }
    }
}

#[test]
#[ignore]
fn leftover_markup() {
    let root = PathBuf::from(std::env::var("RECALL_DATA").unwrap());
    let re = regex::Regex::new(
        r#"<[A-Za-z/!][^<>]{0,40}>|&#?[A-Za-z0-9]{2,8};|lang="|https?://\S*…|\u{a0}|\s\s"#,
    )
    .unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for file in collect_files(&[root]).unwrap() {
        let parsed = parse_file(&file).unwrap();
        for r in parsed.records {
            let mut texts: Vec<(&str, &str)> =
                vec![("title", &r.title), ("source_id", &r.source_id)];
            for (k, v) in [
                ("description", &r.description),
                ("hazard", &r.hazard),
                ("remedy", &r.remedy),
                ("category", &r.category),
            ] {
                if let Some(v) = v {
                    texts.push((k, v));
                }
            }
            for v in &r.product_names {
                texts.push(("product_names", v));
            }
            for v in &r.brands {
                texts.push(("brands", v));
            }
            for v in &r.manufacturers {
                texts.push(("manufacturers", v));
            }
            for (k, v) in texts {
                for m in re.find_iter(v) {
                    let key = format!("{:?} {} {}", r.feed, k, m.as_str());
                    let c = counts.entry(key.clone()).or_default();
                    *c += 1;
                    if *c == 1 {
                        let s = m.start().saturating_sub(40);
                        let e = (m.end() + 40).min(v.len());
                        println!("{key} | {}", v.get(s..e).unwrap_or("?"));
                    }
                }
            }
        }
    }
    println!("{counts:#?}");
}
