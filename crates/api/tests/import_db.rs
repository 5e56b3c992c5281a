//! Import of the real fixture excerpts of every source format into a
//! database of the test's own.

#![allow(clippy::unwrap_used)]

mod common;

use babyshield_api::import::parse::RejectReason;
use common::TestApp;
use serde_json::json;
use sqlx::Row;

#[tokio::test]
async fn import_maps_every_format_and_is_idempotent() {
    let app = TestApp::spawn().await;
    let first = app.import_fixtures(&["."]).await;
    assert_eq!(first.files, 23);
    assert_eq!(first.records, 60);
    assert_eq!(first.duplicates, 13);
    assert_eq!(first.counts.inserted, 47);
    assert_eq!(first.counts.updated, 0);
    assert_eq!(first.rejected.get(&RejectReason::MissingTitle), Some(&1));
    assert_eq!(first.by_agency.get("CPSC"), Some(&16));
    assert_eq!(first.by_agency.get("EU_SAFETY_GATE"), Some(&13));
    assert_eq!(first.by_agency.get("HEALTH_CANADA"), Some(&11));
    assert_eq!(first.by_agency.get("FDA"), Some(&4));
    assert_eq!(first.by_agency.get("NHTSA"), Some(&1));
    assert_eq!(first.by_agency.get("OECD"), Some(&2));

    let second = app.import_fixtures(&["."]).await;
    assert_eq!(second.counts.inserted, 0);
    assert_eq!(second.counts.updated, 0);
    assert_eq!(second.counts.unchanged, 47);

    // 47 fixture recalls plus the search probe's canary.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM recalls_enhanced")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(stored, 48);
}

#[tokio::test]
async fn recall_in_several_feeds_is_stored_once() {
    let app = TestApp::spawn().await;
    app.import_fixtures(&["."]).await;
    let rows = sqlx::query(
        "SELECT feed, recall_date::text AS date, is_child_product, title, hazard, cardinality(image_urls) AS images
         FROM recalls_enhanced WHERE source = 'CPSC' AND source_id = '26-294'",
    )
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.get::<String, _>("feed"), "cpsc_csv");
    assert_eq!(row.get::<String, _>("date"), "2026-02-26");
    // Only some copies file it under a child category; any copy counts.
    assert!(row.get::<bool, _>("is_child_product"));
    assert!(row
        .get::<String, _>("title")
        .contains("Children’s Fingerpainting"));
    // The images come from the JSON copy, which the CSV lacks.
    assert_eq!(row.get::<i32, _>("images"), 3);
    let hazard: String = row.get("hazard");
    assert!(!hazard.contains("lang="), "{hazard}");
    assert!(
        !hazard.contains('<') && !hazard.contains("&nbsp;"),
        "{hazard}"
    );
}

#[tokio::test]
async fn awkward_records_are_cleaned() {
    let app = TestApp::spawn().await;
    app.import_fixtures(&["."]).await;
    let pool = &app.state.pool;

    let eu: (String, String) = sqlx::query_as(
        "SELECT source_id, recall_date::text FROM recalls_enhanced WHERE source_id LIKE '1150/09%'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(eu, ("1150/09".to_owned(), "2009-09-25".to_owned()));

    let missing_date: Option<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT recall_date FROM recalls_enhanced WHERE source = 'HEALTH_CANADA' AND source_id = '67746'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(missing_date, None);

    let markup: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recalls_enhanced
         WHERE title ~ '&(amp|nbsp|quot|lt|gt);|<br' OR description ~ '&(amp|nbsp|quot);|<br' OR remedy ~ '&(amp|nbsp);'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(markup, 0);

    let non_ascii: String = sqlx::query_scalar(
        "SELECT title FROM recalls_enhanced WHERE source = 'CPSC' AND source_id = '10-135'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(non_ascii.contains("Lámparas"), "{non_ascii}");
    let trademark: String = sqlx::query_scalar(
        "SELECT title FROM recalls_enhanced WHERE source = 'FDA' AND source_id = 'DT-20250418'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(trademark, "Gerber® Soothe N Chew® Teething Sticks");
}

#[tokio::test]
async fn imported_recalls_are_searchable() {
    let app = TestApp::spawn().await;
    app.import_fixtures(&["health_canada", "eu_safety_gate"])
        .await;
    let response = app.search(json!({"product": "toddler tower"})).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json["data"]["items"][0]["id"], "82323");
    assert_eq!(response.json["data"]["items"][0]["country"], "CA");

    let bath = app
        .search(json!({"product": "bathing seat", "agencies": ["EU_SAFETY_GATE"]}))
        .await;
    assert_eq!(bath.json["data"]["items"][0]["id"], "SR/01004/26");
}
