//! Search over the bundled real recall sample: ranking, typo correction,
//! filters and paging.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::TestApp;
use serde_json::{json, Value};

fn items(response: &common::TestResponse) -> &Vec<Value> {
    response.json["data"]["items"]
        .as_array()
        .expect("items array")
}

fn text_of(item: &Value) -> String {
    format!("{} {}", item["title"], item["productName"]).to_lowercase()
}

#[tokio::test]
async fn crib_finds_crib_recalls_first() {
    let app = TestApp::spawn_on_sample().await;
    let response = app.search(json!({"product": "crib"})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json["ok"], true);
    assert_eq!(response.json["data"]["limit"], 20);
    assert_eq!(response.json["data"]["offset"], 0);
    assert_eq!(response.json["data"]["hasMore"], true);
    assert!(response.json["data"]["total"].as_i64().unwrap() > 100);
    let page = items(&response);
    assert_eq!(page.len(), 20);
    for item in page.iter().take(5) {
        assert!(text_of(item).contains("crib"), "{item}");
    }
    let scores: Vec<f64> = page
        .iter()
        .map(|i| i["relevanceScore"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "scores not descending: {scores:?}"
    );
    assert_eq!(response.json["traceId"].as_str().map(str::len), Some(19));
}

#[tokio::test]
async fn typos_and_partial_brands_still_match() {
    let app = TestApp::spawn_on_sample().await;
    for (typed, expected) in [
        ("strollr", "stroller"),
        ("pacifer", "pacifier"),
        ("grac", "graco"),
    ] {
        let response = app.search(json!({"product": typed})).await;
        assert_eq!(response.status, 200);
        let page = items(&response);
        assert!(!page.is_empty(), "{typed} found nothing");
        let hits = page
            .iter()
            .filter(|i| text_of(i).contains(expected))
            .count();
        assert!(
            hits >= page.len() / 2,
            "{typed}: {hits} of {} mention {expected}",
            page.len()
        );
    }
}

#[tokio::test]
async fn joined_words_are_split() {
    let app = TestApp::spawn_on_sample().await;
    for (typed, spaced) in [("carseat", "car seat"), ("babygate", "baby gate")] {
        let joined = app.search(json!({"product": typed})).await;
        let separate = app.search(json!({"product": spaced})).await;
        assert_eq!(joined.status, 200, "{}", joined.text);
        let total = separate.json["data"]["total"].as_i64().unwrap();
        assert!(total > 0, "{spaced} found nothing");
        assert_eq!(
            joined.json["data"]["total"].as_i64(),
            Some(total),
            "{typed}"
        );
        assert_eq!(joined.json["data"]["items"], separate.json["data"]["items"]);
    }
}

#[tokio::test]
async fn country_filter_narrows_results() {
    let app = TestApp::spawn_on_sample().await;
    let all = app.search(json!({"product": "crib"})).await;
    let canada = app
        .search(json!({"product": "crib", "country": "ca"}))
        .await;
    let all_total = all.json["data"]["total"].as_i64().unwrap();
    let canada_total = canada.json["data"]["total"].as_i64().unwrap();
    assert!(
        canada_total > 0 && canada_total < all_total,
        "{canada_total} of {all_total}"
    );
    for item in items(&canada) {
        assert_eq!(item["country"], "CA");
        assert_eq!(item["agencyCode"], "HEALTH_CANADA");
    }
}

#[tokio::test]
async fn date_range_and_agency_filters_apply() {
    let app = TestApp::spawn_on_sample().await;
    let response = app
        .search(json!({
            "product": "toy",
            "agencies": ["eu_safety_gate"],
            "date_from": "2024-01-01",
            "date_to": "2024-12-31",
            "limit": 100
        }))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let page = items(&response);
    assert!(!page.is_empty());
    for item in page {
        assert_eq!(item["agencyCode"], "EU_SAFETY_GATE");
        let date = item["recallDate"].as_str().unwrap();
        assert!(("2024-01-01"..="2024-12-31").contains(&date), "date {date}");
    }
}

#[tokio::test]
async fn id_filter_returns_exact_recall() {
    let app = TestApp::spawn_on_sample().await;
    let response = app.search(json!({"id": "26-191"})).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json["data"]["total"], 1);
    let item = &items(&response)[0];
    assert_eq!(item["id"], "26-191");
    assert_eq!(item["agencyCode"], "CPSC");
    assert_eq!(item["recallDate"], "2026-01-15");
    assert_eq!(item["isChildProduct"], true);
    assert!(item["title"]
        .as_str()
        .unwrap()
        .contains("KEAWIS Crib Mattresses"));
}

#[tokio::test]
async fn brand_and_keyword_filters_apply() {
    let app = TestApp::spawn_on_sample().await;
    let response = app
        .search(json!({"product": "car seat", "brand": "graco", "keywords": ["recall"]}))
        .await;
    assert_eq!(response.status, 200);
    let page = items(&response);
    assert!(!page.is_empty());
    for item in page {
        let names = format!("{} {}", item["brand"], item["manufacturer"]).to_lowercase();
        assert!(names.contains("graco"), "{item}");
    }
}

#[tokio::test]
async fn cursor_pages_cover_every_result_once() {
    let app = TestApp::spawn_on_sample().await;
    let first = app.search(json!({"product": "bassinet", "limit": 7})).await;
    let total = first.json["data"]["total"].as_i64().unwrap();
    assert!(total > 14, "need at least three pages, got {total}");

    let mut seen = Vec::new();
    let mut response = first;
    loop {
        for item in items(&response) {
            seen.push(format!("{}:{}", item["agencyCode"], item["id"]));
        }
        let Some(cursor) = response.json["data"]["nextCursor"]
            .as_str()
            .map(str::to_owned)
        else {
            assert_eq!(response.json["data"]["hasMore"], false);
            break;
        };
        response = app
            .search(json!({"product": "bassinet", "limit": 7, "nextCursor": cursor}))
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len() as i64, total);
    assert_eq!(unique.len(), seen.len());

    let by_offset = app
        .search(json!({"product": "bassinet", "limit": 7, "offset": 7}))
        .await;
    let second_page: Vec<String> = items(&by_offset)
        .iter()
        .map(|i| format!("{}:{}", i["agencyCode"], i["id"]))
        .collect();
    assert_eq!(second_page, seen[7..14]);
}

#[tokio::test]
async fn cursor_of_another_search_is_rejected() {
    let app = TestApp::spawn_on_sample().await;
    let first = app.search(json!({"product": "crib"})).await;
    let cursor = first.json["data"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .search(json!({"product": "stroller", "nextCursor": cursor}))
        .await;
    common::assert_problem(&response, 400, "BAD_REQUEST");
}

#[tokio::test]
async fn page_past_the_end_keeps_total() {
    let app = TestApp::spawn_on_sample().await;
    let response = app.search(json!({"product": "keawis", "offset": 50})).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json["data"]["total"], 1);
    assert!(items(&response).is_empty());
    assert_eq!(response.json["data"]["hasMore"], false);
    assert_eq!(response.json["data"]["nextCursor"], Value::Null);
}
