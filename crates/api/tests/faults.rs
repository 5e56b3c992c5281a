//! Fault tests: Postgres and Redis servers of the test's own are stopped,
//! paused with SIGSTOP and restarted under a running app. Liveness never
//! fails, readiness follows the dependency within its time limit and
//! recovers without a restart, and no request hangs past its timeout.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::throwaway::{ThrowawayPostgres, ThrowawayRedis};
use common::{assert_problem, TestApp, TestResponse};
use serde_json::json;

/// Settings that make the faults show quickly.
const FAST: &[&str] = &[
    "--readiness-cache-ms",
    "100",
    "--readiness-check-timeout-ms",
    "500",
    "--request-timeout-ms",
    "3000",
    "--database-acquire-timeout-ms",
    "1000",
];

async fn timed(
    app: &TestApp,
    request: impl std::future::Future<Output = TestResponse>,
) -> (TestResponse, Duration) {
    let _ = app;
    let started = Instant::now();
    let response = request.await;
    (response, started.elapsed())
}

/// Polls readiness until it answers `status` and returns how long it took.
async fn wait_for_readiness(app: &TestApp, status: u16, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let response = app.get("/api/v1/monitoring/readyz").await;
        if response.status.as_u16() == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "readiness still {} after {within:?}: {}",
            response.status,
            response.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn error_count(metrics: &str, kind: &str) -> u64 {
    let prefix = format!("error_total{{kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} series"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_then_restarted() {
    let mut postgres = ThrowawayPostgres::start();
    let app = TestApp::spawn_against(&postgres.url("babyshield"), FAST).await;
    assert_eq!(app.search(json!({"product": "crib"})).await.status, 200);

    postgres.stop();
    assert_eq!(app.get("/api/v1/monitoring/healthz").await.status, 200);
    let (ready, took) = timed(&app, app.get("/api/v1/monitoring/readyz")).await;
    assert!(took < Duration::from_secs(1), "readyz took {took:?}");
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.json["checks"]["database"], "down");

    // Another text than before, so the result cannot come from the cache.
    let (search, took) = timed(&app, app.search(json!({"product": "crib mattress"}))).await;
    assert!(took < Duration::from_secs(3), "search took {took:?}");
    assert_problem(&search, 503, "DATABASE_UNAVAILABLE");
    assert!(error_count(&app.get("/metrics").await.text, "database") >= 1);

    postgres.resume_from_stop();
    let recovered = wait_for_readiness(&app, 200, Duration::from_secs(5)).await;
    assert!(recovered < Duration::from_secs(5));
    assert_eq!(app.search(json!({"product": "keawis"})).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_paused_then_resumed() {
    let postgres = ThrowawayPostgres::start();
    let app = TestApp::spawn_against(&postgres.url("babyshield"), FAST).await;
    assert_eq!(app.search(json!({"product": "crib"})).await.status, 200);

    postgres.pause();
    assert_eq!(app.get("/api/v1/monitoring/healthz").await.status, 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (ready, took) = timed(&app, app.get("/api/v1/monitoring/readyz")).await;
    assert!(took < Duration::from_secs(1), "readyz took {took:?}");
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.json["checks"]["database"], "down");

    let (search, took) = timed(&app, app.search(json!({"product": "crib mattress"}))).await;
    assert!(took <= Duration::from_millis(3200), "search took {took:?}");
    assert_eq!(search.status, 503, "{}", search.text);
    assert_eq!(search.content_type, "application/problem+json");

    postgres.unpause();
    wait_for_readiness(&app, 200, Duration::from_secs(5)).await;
    let started = Instant::now();
    loop {
        if app.search(json!({"product": "keawis"})).await.status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "search did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_keeps_search_serving() {
    let mut redis = ThrowawayRedis::start();
    let redis_url = redis.url();
    let mut flags = FAST.to_vec();
    flags.extend(["--redis-url", &redis_url]);
    let app = TestApp::spawn_with(&flags).await;
    assert_eq!(
        app.get("/api/v1/monitoring/readyz").await.json["checks"]["redis"],
        "ok"
    );

    redis.stop();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (ready, took) = timed(&app, app.get("/api/v1/monitoring/readyz")).await;
    assert!(took < Duration::from_secs(1), "readyz took {took:?}");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json["status"], "degraded");
    assert_eq!(ready.json["checks"]["redis"], "degraded");
    assert_eq!(ready.json["checks"]["database"], "ok");
    let search = app.search(json!({"product": "crib"})).await;
    assert_eq!(search.status, 200);
    assert_eq!(search.json["data"]["total"], 1);
    assert!(error_count(&app.get("/metrics").await.text, "redis") >= 1);

    redis.resume_from_stop();
    let started = Instant::now();
    loop {
        let ready = app.get("/api/v1/monitoring/readyz").await;
        if ready.json["checks"]["redis"] == "ok" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "redis not ok: {}",
            ready.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_paused_answers_degraded_quickly() {
    let redis = ThrowawayRedis::start();
    let redis_url = redis.url();
    let mut flags = FAST.to_vec();
    flags.extend(["--redis-url", &redis_url]);
    let app = TestApp::spawn_with(&flags).await;

    redis.pause();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (ready, took) = timed(&app, app.get("/api/v1/monitoring/readyz")).await;
    assert!(took < Duration::from_secs(1), "readyz took {took:?}");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json["checks"]["redis"], "degraded");
    assert!(ready.json["details"]["redis"]["error"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    assert_eq!(app.search(json!({"product": "crib"})).await.status, 200);

    redis.unpause();
    let started = Instant::now();
    loop {
        if app.get("/api/v1/monitoring/readyz").await.json["checks"]["redis"] == "ok" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "redis did not recover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readiness_calls_share_one_query() {
    let postgres = ThrowawayPostgres::start();
    let app = std::sync::Arc::new(
        TestApp::spawn_against(
            &postgres.url("babyshield"),
            &[
                "--readiness-cache-ms",
                "1000",
                "--readiness-check-timeout-ms",
                "500",
            ],
        )
        .await,
    );
    let before = postgres.count_statements("SELECT 1");

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let app = std::sync::Arc::clone(&app);
        calls.spawn(async move { app.get("/api/v1/monitoring/readyz").await.status.as_u16() });
    }
    while let Some(status) = calls.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    // Postgres writes its log asynchronously from the client's view.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(postgres.count_statements("SELECT 1") - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_searches_turn_slo_critical() {
    let mut postgres = ThrowawayPostgres::start();
    let app = TestApp::spawn_against(&postgres.url("babyshield"), FAST).await;
    let idle = app.get("/api/v1/monitoring/slo").await;
    assert_eq!(idle.json["overall_status"], "ok", "{}", idle.text);

    for i in 0..200 {
        let response = app.search(json!({"product": format!("crib {i}")})).await;
        assert_eq!(response.status, 200);
    }
    let healthy = app.get("/api/v1/monitoring/slo").await;
    assert_eq!(healthy.json["overall_status"], "ok", "{}", healthy.text);
    assert_eq!(
        healthy.json["objectives"]["availability"]["events"]["5m"],
        200
    );

    // 11 failures in 211 requests: a 5.2 % error rate, a burn rate of 52.
    postgres.stop();
    for i in 0..11 {
        let response = app
            .search(json!({"product": format!("stroller {i}")}))
            .await;
        assert_eq!(response.status, 503);
    }
    let report = app.get("/api/v1/monitoring/slo").await.json;
    assert_eq!(report["overall_status"], "critical", "{report}");
    let availability = &report["objectives"]["availability"];
    assert_eq!(availability["status"], "critical");
    assert_eq!(availability["events"]["5m"], 211);
    assert_eq!(availability["bad_events"]["5m"], 11);
    let fast_burn = availability["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|alert| alert["name"] == "fast_burn")
        .unwrap();
    assert_eq!(fast_burn["firing"], true, "{fast_burn}");

    // Probe, readiness and scrape calls never count.
    app.get("/api/v1/monitoring/readyz").await;
    app.get("/metrics").await;
    let after = app.get("/api/v1/monitoring/slo").await.json;
    assert_eq!(after["objectives"]["availability"]["events"]["5m"], 211);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_past_capacity_are_shed_at_once() {
    let postgres = ThrowawayPostgres::start();
    let mut flags = FAST.to_vec();
    flags.extend(["--max-concurrent-searches", "1"]);
    let app =
        std::sync::Arc::new(TestApp::spawn_against(&postgres.url("babyshield"), &flags).await);

    // A frozen database holds the one permitted search until its acquire
    // timeout; the next search must not queue behind it.
    postgres.pause();
    let slow = {
        let app = std::sync::Arc::clone(&app);
        tokio::spawn(async move { app.search(json!({"product": "held search"})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (shed, took) = timed(&app, app.search(json!({"product": "shed search"}))).await;
    assert!(took < Duration::from_millis(100), "shedding took {took:?}");
    assert_problem(&shed, 503, "OVERLOADED");
    assert_eq!(shed.headers.get("retry-after").unwrap(), "1");
    assert_eq!(app.get("/api/v1/monitoring/healthz").await.status, 200);

    postgres.unpause();
    let held = slow.await.unwrap().status.as_u16();
    assert!(held == 200 || held == 503, "held search answered {held}");
    assert!(error_count(&app.get("/metrics").await.text, "overload") >= 1);
}
