//! Rate limiting, the search cache and the admin routes against real Redis
//! servers that each test starts for itself.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::throwaway::ThrowawayRedis;
use common::{assert_problem, TestApp, TestResponse};
use redis::AsyncCommands;
use serde_json::json;

async fn redis_connection(redis: &ThrowawayRedis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn app_with(redis_url: &str, extra: &[&str]) -> TestApp {
    let mut flags = vec!["--redis-url", redis_url, "--redis-retry-interval-ms", "300"];
    flags.extend_from_slice(extra);
    TestApp::spawn_with(&flags).await
}

async fn keyed_search(app: &TestApp, key: &str) -> TestResponse {
    let request = Request::post("/api/v1/search/advanced")
        .header("content-type", "application/json")
        .header("x-api-key", key)
        .body(Body::from(json!({"product": "crib"}).to_string()))
        .unwrap();
    app.send(request).await
}

fn header(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn metric_value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_admit_exactly_the_limit() {
    let redis = ThrowawayRedis::start();
    // 100 requests reach each instance at once: the concurrency limit is
    // raised so that load shedding, which runs before the limiter, stays
    // out of the count.
    let flags = [
        "--rate-limit-requests",
        "37",
        "--max-concurrent-searches",
        "1000",
    ];
    let first = Arc::new(app_with(&redis.url(), &flags).await);
    let second = Arc::new(app_with(&redis.url(), &flags).await);
    let key = babyshield_api::identity::create_key(&first.state.pool, "burst-user")
        .await
        .unwrap();
    // The second instance has a database of its own; give it the same key.
    sqlx::query(
        "INSERT INTO api_keys (key_hash, key_prefix, user_id) VALUES ($1, 'bsk_', 'burst-user')",
    )
    .bind(babyshield_api::identity::hash_key(&key))
    .execute(&second.state.pool)
    .await
    .unwrap();

    let mut requests = tokio::task::JoinSet::new();
    for i in 0..200 {
        let app = if i % 2 == 0 {
            Arc::clone(&first)
        } else {
            Arc::clone(&second)
        };
        let key = key.clone();
        requests.spawn(async move { keyed_search(&app, &key).await.status.as_u16() });
    }
    let (mut admitted, mut limited) = (0, 0);
    while let Some(status) = requests.join_next().await {
        match status.unwrap() {
            200 => admitted += 1,
            429 => limited += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(admitted, 37);
    assert_eq!(limited, 163);

    let mut connection = redis_connection(&redis).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    for key in keys.iter().filter(|k| k.starts_with("rate_limit")) {
        let ttl: i64 = connection.pttl(key).await.unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
    assert!(
        keys.contains(&"rate_limit_count:burst-user".to_owned()),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limited_response_carries_honest_retry_after() {
    let redis = ThrowawayRedis::start();
    let app = app_with(
        &redis.url(),
        &[
            "--rate-limit-requests",
            "2",
            "--rate-limit-window-seconds",
            "2",
        ],
    )
    .await;
    let key = babyshield_api::identity::create_key(&app.state.pool, "patient-user")
        .await
        .unwrap();

    let first = keyed_search(&app, &key).await;
    assert_eq!(first.status, 200);
    assert_eq!(header(&first, "x-ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(
        header(&first, "x-ratelimit-remaining").as_deref(),
        Some("1")
    );
    assert_eq!(header(&first, "x-ratelimit-reset").as_deref(), Some("2"));
    assert_eq!(keyed_search(&app, &key).await.status, 200);

    let limited = keyed_search(&app, &key).await;
    assert_problem(&limited, 429, "RATE_LIMITED");
    assert_eq!(
        header(&limited, "x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    let retry_after: u64 = header(&limited, "retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "retry-after {retry_after}");

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let retried = keyed_search(&app, &key).await;
    assert_eq!(retried.status, 200, "{}", retried.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runbook_override_and_blocklist_take_effect() {
    let redis = ThrowawayRedis::start();
    let app = app_with(&redis.url(), &["--rate-limit-requests", "12"]).await;
    let key = babyshield_api::identity::create_key(&app.state.pool, "user-42")
        .await
        .unwrap();
    let mut connection = redis_connection(&redis).await;

    for _ in 0..3 {
        assert_eq!(keyed_search(&app, &key).await.status, 200);
    }
    let metrics = app.get("/metrics").await.text;
    assert_eq!(
        metric_value(&metrics, "rate_limit_remaining{user_id=\"user-42\"}"),
        Some(9.0),
        "{metrics}"
    );

    let _: () = connection
        .hset("rate_limit:user-42", "limit", 10_000)
        .await
        .unwrap();
    let _: () = connection.expire("rate_limit:user-42", 3600).await.unwrap();
    let raised = keyed_search(&app, &key).await;
    assert_eq!(raised.status, 200);
    assert_eq!(
        header(&raised, "x-ratelimit-limit").as_deref(),
        Some("10000")
    );
    assert_eq!(
        header(&raised, "x-ratelimit-remaining").as_deref(),
        Some("9996")
    );
    let metrics = app.get("/metrics").await.text;
    assert_eq!(
        metric_value(&metrics, "rate_limit_remaining{user_id=\"user-42\"}"),
        None
    );

    let _: () = connection.sadd("blocked_users", "user-42").await.unwrap();
    assert_problem(&keyed_search(&app, &key).await, 403, "FORBIDDEN");
    let _: () = connection.srem("blocked_users", "user-42").await.unwrap();
    assert_eq!(keyed_search(&app, &key).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remaining_gauge_disappears_when_window_resets() {
    let redis = ThrowawayRedis::start();
    let app = app_with(
        &redis.url(),
        &[
            "--rate-limit-requests",
            "5",
            "--rate-limit-window-seconds",
            "1",
        ],
    )
    .await;
    let key = babyshield_api::identity::create_key(&app.state.pool, "short-window")
        .await
        .unwrap();
    keyed_search(&app, &key).await;
    let series = "rate_limit_remaining{user_id=\"short-window\"}";
    assert_eq!(
        metric_value(&app.get("/metrics").await.text, series),
        Some(4.0)
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(metric_value(&app.get("/metrics").await.text, series), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_api_key_is_401() {
    let redis = ThrowawayRedis::start();
    let app = app_with(&redis.url(), &[]).await;
    let key = babyshield_api::identity::create_key(&app.state.pool, "revoked")
        .await
        .unwrap();
    babyshield_api::identity::revoke_keys(&app.state.pool, "revoked")
        .await
        .unwrap();
    assert_problem(
        &keyed_search(&app, "bsk_not-a-key").await,
        401,
        "UNAUTHORIZED",
    );
    assert_problem(&keyed_search(&app, &key).await, 401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_failure_falls_back_and_recovers() {
    let mut redis = ThrowawayRedis::start();
    let app = app_with(&redis.url(), &["--rate-limit-requests", "1000"]).await;
    let key = babyshield_api::identity::create_key(&app.state.pool, "steady")
        .await
        .unwrap();
    assert_eq!(keyed_search(&app, &key).await.status, 200);

    redis.stop();
    for _ in 0..20 {
        let response = keyed_search(&app, &key).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(
            header(&response, "x-ratelimit-limit").as_deref(),
            Some("1000")
        );
    }
    let metrics = app.get("/metrics").await.text;
    assert!(metric_value(&metrics, "error_total{kind=\"redis\"}").unwrap() >= 1.0);

    redis.resume_from_stop();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut connection = redis_connection(&redis).await;
    let mut counted = None;
    for _ in 0..20 {
        assert_eq!(keyed_search(&app, &key).await.status, 200);
        counted = connection
            .get::<_, Option<u64>>("rate_limit_count:steady")
            .await
            .unwrap();
        if counted.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(counted.is_some(), "the limiter did not return to Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_cache_counts_hits_and_misses() {
    let redis = ThrowawayRedis::start();
    let app = app_with(&redis.url(), &[]).await;
    let first = app.search(json!({"product": "crib mattress"})).await;
    let second = app.search(json!({"product": "crib mattress"})).await;
    assert_eq!(first.json["data"], second.json["data"]);
    assert_ne!(first.json["traceId"], second.json["traceId"]);
    let metrics = app.get("/metrics").await.text;
    assert_eq!(
        metric_value(&metrics, "cache_misses_total{cache=\"search\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric_value(&metrics, "cache_hits_total{cache=\"search\"}"),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_ttl_turns_the_search_cache_off() {
    let redis = ThrowawayRedis::start();
    let app = app_with(&redis.url(), &["--search-cache-ttl-seconds", "0"]).await;
    for _ in 0..2 {
        let response = app.search(json!({"product": "crib mattress"})).await;
        assert_eq!(response.status, 200, "{}", response.text);
    }
    let metrics = app.get("/metrics").await.text;
    assert_eq!(
        metric_value(&metrics, "cache_misses_total{cache=\"search\"}"),
        Some(2.0)
    );
    assert_eq!(
        metric_value(&metrics, "cache_hits_total{cache=\"search\"}"),
        Some(0.0)
    );
    assert_eq!(
        metric_value(&metrics, "error_total{kind=\"redis\"}"),
        Some(0.0)
    );
    let mut connection = redis_connection(&redis).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("search_cache:*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_clear_keeps_rate_limit_keys() {
    let redis = ThrowawayRedis::start();
    let app = app_with(&redis.url(), &["--admin-token", "s3cret-admin"]).await;
    let key = babyshield_api::identity::create_key(&app.state.pool, "keeper")
        .await
        .unwrap();
    keyed_search(&app, &key).await;
    app.search(json!({"product": "stroller"})).await;
    let mut connection = redis_connection(&redis).await;
    let _: () = connection
        .sadd("blocked_users", "someone-else")
        .await
        .unwrap();

    let request = Request::post("/admin/cache/clear")
        .header("authorization", "Bearer s3cret-admin")
        .body(Body::empty())
        .unwrap();
    let cleared = app.send(request).await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.json["removed"], 2);

    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        keys.iter().all(|k| !k.starts_with("search_cache:")),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"rate_limit_count:keeper".to_owned()),
        "{keys:?}"
    );
    assert!(keys.contains(&"blocked_users".to_owned()), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_check_the_bearer_token() {
    let redis = ThrowawayRedis::start();
    let app = app_with(&redis.url(), &["--admin-token", "s3cret-admin"]).await;
    let post = |path: &str, auth: Option<&str>| {
        let mut request = Request::post(path);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.body(Body::empty()).unwrap()
    };
    for path in ["/admin/cache/clear", "/admin/gc"] {
        assert_problem(&app.send(post(path, None)).await, 401, "UNAUTHORIZED");
        assert_problem(
            &app.send(post(path, Some("Bearer wrong"))).await,
            403,
            "FORBIDDEN",
        );
        assert_problem(
            &app.send(post(path, Some("Basic czNjcmV0"))).await,
            401,
            "UNAUTHORIZED",
        );
    }
    let gc = app
        .send(post("/admin/gc", Some("Bearer s3cret-admin")))
        .await;
    assert_eq!(gc.status, 200, "{}", gc.text);
    assert!(gc.json["rss_before_bytes"].as_u64().unwrap() > 0);
    assert!(gc.json["rss_after_bytes"].as_u64().unwrap() > 0);
    assert!(gc.json["released_bytes"].is_u64());
    assert!(!gc.text.contains("s3cret"));

    let without_token = app_with(&redis.url(), &[]).await;
    assert_problem(
        &without_token
            .send(post("/admin/gc", Some("Bearer s3cret-admin")))
            .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn without_redis_limits_and_caches_in_memory() {
    let app = TestApp::spawn_with(&["--redis-url", "", "--rate-limit-requests", "3"]).await;
    for _ in 0..3 {
        assert_eq!(app.search(json!({"product": "crib"})).await.status, 200);
    }
    let limited = app.search(json!({"product": "crib"})).await;
    assert_problem(&limited, 429, "RATE_LIMITED");
    let metrics = app.get("/metrics").await.text;
    assert_eq!(
        metric_value(&metrics, "cache_hits_total{cache=\"search\"}"),
        Some(2.0)
    );
    assert_eq!(
        metric_value(&metrics, "cache_misses_total{cache=\"search\"}"),
        Some(1.0)
    );
    assert_eq!(app.get("/api/v1/monitoring/healthz").await.status, 200);
}
