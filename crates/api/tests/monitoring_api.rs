//! Liveness, readiness, probes and the Prometheus scrape.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::Request;
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn healthz_answers_get_and_head() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/monitoring/healthz").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json["status"], "ok");
    assert_eq!(response.json["version"], env!("CARGO_PKG_VERSION"));
    assert!(response.json["uptime_seconds"].is_u64());

    let head = app
        .send(
            Request::head("/api/v1/monitoring/healthz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
}

#[tokio::test]
async fn readyz_reports_each_dependency() {
    let app = TestApp::spawn_with(&["--redis-url", "redis://127.0.0.1:6379"]).await;
    let response = app.get("/api/v1/monitoring/readyz").await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json["status"], "ok");
    assert_eq!(response.json["checks"]["database"], "ok");
    assert_eq!(response.json["checks"]["redis"], "ok");
    assert!(response.json["details"]["database"]["latency_ms"].is_f64());
}

#[tokio::test]
async fn readyz_without_redis_is_disabled_and_ready() {
    let app = TestApp::spawn_with(&["--redis-url", ""]).await;
    let response = app.get("/api/v1/monitoring/readyz").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json["checks"]["redis"], "disabled");
}

#[tokio::test]
async fn readyz_is_503_once_shutting_down() {
    let app = TestApp::spawn().await;
    app.state.readiness.begin_shutdown();
    let response = app.get("/api/v1/monitoring/readyz").await;
    assert_eq!(response.status, 503);
    assert_eq!(response.json["status"], "shutting_down");
}

#[tokio::test]
async fn search_probe_finds_canary() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/monitoring/probe/search").await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json["probe"], "search");
    assert_eq!(response.json["success"], true);
    assert!(response.json["duration_seconds"].as_f64().unwrap() > 0.0);

    let metrics = app.get("/metrics").await.text;
    assert!(
        metrics.contains("probe_success{probe=\"search\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn healthz_probe_fails_without_listener() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/monitoring/probe/healthz").await;
    assert_eq!(response.status, 503);
    assert_eq!(response.json["success"], false);
    assert_eq!(response.json["error"], "the listener is not bound yet");
}

#[tokio::test]
async fn metrics_expose_every_family() {
    let app = TestApp::spawn().await;
    app.search(json!({"product": "crib"})).await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text;
    for expected in [
        "http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/search/advanced\",status=\"200\",le=\"0.8\"} 1",
        "http_requests_total{method=\"POST\",route=\"/api/v1/search/advanced\",status=\"200\"} 1",
        "error_total{kind=\"database\"} 0",
        "error_total{kind=\"redis\"} 0",
        "error_total{kind=\"timeout\"} 0",
        "error_total{kind=\"internal\"} 0",
        "cache_hits_total{cache=\"search\"} 0",
        "cache_misses_total{cache=\"search\"} 1",
        "database_connections_max 10",
        "database_connections_active ",
        "database_connections_idle ",
        "probe_success{probe=\"healthz\"} 0",
        "probe_duration_seconds{probe=\"search\"} ",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
        "build_info{commit=",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[tokio::test]
async fn metrics_pass_promtool_check() {
    let app = TestApp::spawn().await;
    app.search(json!({"product": "crib"})).await;
    app.get("/no/such/route").await;
    let text = app.get("/metrics").await.text;

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian package prometheus; scripts/test.sh installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {report}");
    assert_eq!(report.trim(), "", "promtool reported problems");
}

#[tokio::test]
async fn slo_without_traffic_has_only_finite_numbers() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/monitoring/slo").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json["overall_status"], "ok");
    assert!(!response.text.contains("null"), "{}", response.text);
    assert_eq!(
        response.json["objectives"]["availability"]["error_budget"]["remaining_ratio"],
        1.0
    );

    let metrics = app.get("/metrics").await.text;
    let slo_lines: Vec<&str> = metrics.lines().filter(|l| l.starts_with("slo_")).collect();
    assert!(
        slo_lines.len() >= 100,
        "only {} slo_ series",
        slo_lines.len()
    );
    for line in slo_lines {
        let value = line.rsplit(' ').next().unwrap();
        let parsed: f64 = value.parse().unwrap();
        assert!(parsed.is_finite(), "{line}");
        assert!(
            line.contains("objective=\"") && line.contains("window=\""),
            "{line}"
        );
    }
}
