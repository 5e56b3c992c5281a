//! Every kind of bad search input answers a 4xx problem+json (or normal
//! results for odd but valid text), never a 5xx, and changes nothing.

#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_problem, TestApp};
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let response = app
        .post_raw(
            "/api/v1/search/advanced",
            "application/json",
            b"{\"product\": ".to_vec(),
        )
        .await;
    assert_problem(&response, 400, "INVALID_JSON");
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let app = TestApp::spawn().await;
    for content_type in ["text/plain", "", "application/x-www-form-urlencoded"] {
        let response = app
            .post_raw(
                "/api/v1/search/advanced",
                content_type,
                br#"{"product":"crib"}"#.to_vec(),
            )
            .await;
        assert_problem(&response, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
}

#[tokio::test]
async fn json_with_charset_is_accepted() {
    let app = TestApp::spawn().await;
    let response = app
        .post_raw(
            "/api/v1/search/advanced",
            "application/json; charset=utf-8",
            br#"{"product":"crib"}"#.to_vec(),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    // The only stored recall is the search probe's canary, a crib recall.
    assert_eq!(response.json["data"]["total"], 1);
    assert_eq!(response.json["data"]["items"][0]["id"], "26-191");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = TestApp::spawn().await;
    let padding = "a".repeat(100 * 1024);
    let body = format!(r#"{{"product":"crib","pad":"{padding}"}}"#);
    let response = app
        .post_raw(
            "/api/v1/search/advanced",
            "application/json",
            body.into_bytes(),
        )
        .await;
    assert_problem(&response, 413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn invalid_product_text_is_400() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(201);
    let cases = [
        json!({"product": ""}),
        json!({"product": "   "}),
        json!({"product": "a"}),
        json!({"product": long}),
        json!({"product": "crib\u{0}"}),
        json!({}),
        json!({"brand": "Graco"}),
        json!({"product": 42}),
        json!([1, 2]),
    ];
    for body in cases {
        let response = app.search(body.clone()).await;
        assert_eq!(response.status, 400, "case {body}: {}", response.text);
        assert_eq!(
            response.content_type, "application/problem+json",
            "case {body}"
        );
    }
}

#[tokio::test]
async fn exactly_200_characters_is_accepted() {
    let app = TestApp::spawn().await;
    let response = app.search(json!({"product": "é".repeat(200)})).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

#[tokio::test]
async fn query_operators_and_quotes_never_fail() {
    let app = TestApp::spawn().await;
    let texts = [
        "a & b",
        "!",
        "!!",
        ":*",
        "crib:*",
        "'",
        "''",
        "\\",
        "(",
        ")",
        "crib (",
        "a | b",
        "<->",
        "\"unclosed",
        "-",
        "--",
        "-crib",
        "or",
        "crib or",
        "🍼 bottle",
        "🍼🍼",
        "'; DROP TABLE recalls_enhanced; --",
        "%_%",
        "x\u{7f}y",
    ];
    for text in texts {
        let response = app.search(json!({"product": text})).await;
        assert!(
            response.status == 200 || response.status == 400,
            "text {text:?} gave {}: {}",
            response.status,
            response.text
        );
        if response.status == 200 {
            assert_eq!(response.json["ok"], true);
        } else {
            assert_problem(&response, 400, "BAD_REQUEST");
        }
    }
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'recalls_enhanced'")
            .fetch_one(&app.state.pool)
            .await
            .unwrap();
    assert_eq!(tables, 1);
}

#[tokio::test]
async fn invalid_filters_are_400() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"product": "crib", "limit": 0}), "limit"),
        (json!({"product": "crib", "limit": 101}), "limit"),
        (json!({"product": "crib", "limit": -5}), "limit"),
        (json!({"product": "crib", "offset": -1}), "offset"),
        (json!({"product": "crib", "offset": 10_001}), "offset"),
        (json!({"product": "crib", "limit": 1e300}), "limit"),
        (
            json!({"product": "crib", "date_from": "2024-13-01"}),
            "date_from",
        ),
        (
            json!({"product": "crib", "date_from": "2024-02-01", "date_to": "2024-01-01"}),
            "date_from",
        ),
        (json!({"product": "crib", "agencies": ["NASA"]}), "agencies"),
        (json!({"product": "crib", "country": "USA"}), "country"),
        (
            json!({"product": "crib", "nextCursor": "garbage"}),
            "nextCursor",
        ),
        (json!({"product": "crib", "keywords": ["a"]}), "keywords"),
    ];
    for (body, field) in cases {
        let response = app.search(body.clone()).await;
        assert_eq!(response.status, 400, "case {body}: {}", response.text);
        let detail = response.json["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(field),
            "case {body}: detail {detail:?} does not name {field}"
        );
    }
}

#[tokio::test]
async fn unknown_route_and_method_are_problems() {
    let app = TestApp::spawn().await;
    assert_problem(&app.get("/wp-login.php").await, 404, "NOT_FOUND");
    assert_problem(
        &app.get("/api/v1/search/advanced").await,
        405,
        "METHOD_NOT_ALLOWED",
    );
    let metrics = app.get("/metrics").await.text;
    assert!(metrics.contains("route=\"unmatched\",status=\"404\""));
    assert!(!metrics.contains("wp-login"));
}
