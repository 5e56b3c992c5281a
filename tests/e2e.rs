//! End-to-end: starts the built `babyshield-api` binary against real
//! Postgres (a database of its own) and Redis, waits for readiness and
//! searches the bundled real recall sample over HTTP.

#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// The binary under test; killed and its database dropped on drop.
struct Service {
    child: Child,
    base: String,
    database: String,
}

impl Service {
    fn start() -> Service {
        Service::start_with(&[])
    }

    fn start_with(env: &[(&str, &str)]) -> Service {
        let port = free_port();
        let database = format!("babyshield_e2e_{}_{}", std::process::id(), port);
        let child = Command::new(env!("CARGO_BIN_EXE_babyshield-api"))
            .arg("serve")
            .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", format!("{POSTGRES}/{database}"))
            .env("REDIS_URL", "redis://127.0.0.1:6379")
            .env("LOG_LEVEL", "warn")
            .env("RATE_LIMIT_REQUESTS", "1000000")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start babyshield-api");
        Service {
            child,
            base: format!("http://127.0.0.1:{port}"),
            database,
        }
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                panic!("babyshield-api exited early with {status}");
            }
            let url = format!("{}/api/v1/monitoring/readyz", self.base);
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "not ready within 120 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("psql")
            .arg(format!("{POSTGRES}/postgres"))
            .args([
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

async fn search(client: &reqwest::Client, base: &str, body: Value) -> (u16, Value) {
    let response = client
        .post(format!("{base}/api/v1/search/advanced"))
        .json(&body)
        .send()
        .await
        .expect("search request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("search body is JSON"))
}

fn titles(body: &Value) -> Vec<String> {
    body["data"]["items"]
        .as_array()
        .expect("items array")
        .iter()
        .map(|item| item["title"].as_str().unwrap_or_default().to_lowercase())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_serves_real_recall_searches() {
    let client = reqwest::Client::new();
    let mut service = Service::start();
    service.wait_ready(&client).await;
    let base = service.base.clone();

    let ready: Value = client
        .get(format!("{base}/api/v1/monitoring/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["redis"], "ok");

    let (status, cribs) = search(&client, &base, json!({"product": "crib"})).await;
    assert_eq!(status, 200, "{cribs}");
    assert_eq!(cribs["ok"], true);
    assert!(cribs["data"]["total"].as_i64().unwrap() >= 20, "{cribs}");
    let crib_titles = titles(&cribs);
    assert_eq!(crib_titles.len(), 20);
    assert!(
        crib_titles[0].contains("crib"),
        "top result {:?}",
        crib_titles[0]
    );

    let (status, typo) = search(&client, &base, json!({"product": "strollr"})).await;
    assert_eq!(status, 200);
    assert!(typo["data"]["total"].as_i64().unwrap() > 0, "{typo}");
    assert!(titles(&typo).iter().any(|t| t.contains("stroller")));

    let (_, canada) = search(&client, &base, json!({"product": "crib", "country": "CA"})).await;
    let canada_total = canada["data"]["total"].as_i64().unwrap();
    assert!(canada_total > 0 && canada_total < cribs["data"]["total"].as_i64().unwrap());
    for item in canada["data"]["items"].as_array().unwrap() {
        assert_eq!(item["country"], "CA");
    }

    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(
        "http_requests_total{method=\"POST\",route=\"/api/v1/search/advanced\",status=\"200\"} 3"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_command_reflects_healthz() {
    let client = reqwest::Client::new();
    let mut service = Service::start();
    service.wait_ready(&client).await;
    let address = service.base.trim_start_matches("http://").to_owned();

    let healthy = Command::new(env!("CARGO_BIN_EXE_babyshield-api"))
        .args(["healthcheck", "--bind-address", &address])
        .status()
        .unwrap();
    assert!(healthy.success());

    let closed = format!("127.0.0.1:{}", free_port());
    let output = Command::new(env!("CARGO_BIN_EXE_babyshield-api"))
        .args(["healthcheck", "--bind-address", &closed])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("connecting to"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_started_requests_finish() {
    let client = reqwest::Client::new();
    let mut service = Service::start_with(&[
        ("SHUTDOWN_DRAIN_DELAY_SECONDS", "2"),
        ("SHUTDOWN_DEADLINE_SECONDS", "10"),
    ]);
    service.wait_ready(&client).await;
    let base = service.base.clone();

    let signalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        let base = base.clone();
        let signalled = signalled.clone();
        workers.push(tokio::spawn(async move {
            let (mut before, mut after_ok, mut failed_before) = (0u32, 0u32, Vec::new());
            for _ in 0..2000 {
                let sent_after_signal = signalled.load(std::sync::atomic::Ordering::SeqCst);
                let result = client
                    .post(format!("{base}/api/v1/search/advanced"))
                    .json(&json!({"product": "crib"}))
                    .send()
                    .await;
                let complete = match result {
                    Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
                    Err(_) => false,
                };
                match (sent_after_signal, complete) {
                    (false, true) => before += 1,
                    (false, false) => failed_before.push(before),
                    (true, true) => after_ok += 1,
                    // After the listener closes, new requests are refused.
                    (true, false) => break,
                }
            }
            (before, after_ok, failed_before)
        }));
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = service.child.id().to_string();
    signalled.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());

    // During the drain delay readiness is 503 while requests still succeed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = client
        .get(format!("{base}/api/v1/monitoring/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);

    let mut total_before = 0;
    let mut total_after = 0;
    for worker in workers {
        let (before, after_ok, failed_before) = worker.await.unwrap();
        assert!(
            failed_before.is_empty(),
            "requests sent before SIGTERM failed: {failed_before:?}"
        );
        total_before += before;
        total_after += after_ok;
    }
    assert!(total_before > 0);
    assert!(
        total_after > 0,
        "no request was served during the drain delay"
    );

    let started = Instant::now();
    let status = loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "process did not exit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_contract_violation() {
    let client = reqwest::Client::new();
    let mut service = Service::start_with(&[("ADMIN_TOKEN", "contract-test-token")]);
    service.wait_ready(&client).await;
    let schema = format!("{}/api/v1/openapi.json", service.base);

    // Bounded: at most 100 generated cases per operation, deterministic.
    let output = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .args(["run", &schema])
            .args([
                "--checks",
                "not_a_server_error,response_schema_conformance,content_type_conformance",
            ])
            .args(["--max-examples", "100", "--generation-deterministic"])
            .args(["--request-timeout", "10"])
            .args(["-H", "Authorization: Bearer contract-test-token"])
            .output()
            .expect("schemathesis runs (PyPI package schemathesis; scripts/tools.sh installs it)")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("No issues found"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn trickled_body_times_out_with_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let client = reqwest::Client::new();
    let mut service = Service::start_with(&[("BODY_TIMEOUT_MS", "1000")]);
    service.wait_ready(&client).await;
    let address = service.base.trim_start_matches("http://").to_owned();

    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/search/advanced HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let trickle = async {
        for byte in b"{\"product\":\"crib\"".iter().cycle() {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    // The server answers while the client is still sending.
    let _ = tokio::time::timeout(Duration::from_millis(2500), trickle).await;
    let mut response = vec![0u8; 2048];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut response))
        .await
        .expect("the server answers or closes")
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&response[..read]);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "response after {:?}: {text}",
        started.elapsed()
    );
    assert!(text.contains("application/problem+json"), "{text}");
}

/// Prometheus and the blackbox exporter, started on loopback for one test.
/// Dropping it kills both and removes their folder.
struct Monitoring {
    children: Vec<Child>,
    folder: std::path::PathBuf,
    prometheus: String,
}

impl Drop for Monitoring {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

impl Monitoring {
    /// Starts both with the repository's `prometheus/` configuration and
    /// rules, aimed at `service` (a `host:port`). Only addresses and
    /// intervals change. Targets point at the ports of this test, and
    /// scrapes and rule groups run every 2 s instead of every 15 s to 2 min.
    fn start(service: &str) -> Monitoring {
        let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let folder = std::env::temp_dir().join(format!("babyshield-prometheus-{}", free_port()));
        std::fs::create_dir_all(folder.join("rules")).unwrap();
        let blackbox = format!("127.0.0.1:{}", free_port());
        let prometheus = format!("127.0.0.1:{}", free_port());

        let fast = |text: String| {
            text.replace("scrape_interval: 15s", "scrape_interval: 2s")
                .replace("scrape_timeout: 10s", "scrape_timeout: 2s")
                .replace("evaluation_interval: 30s", "evaluation_interval: 2s")
                .replace("interval: 30s", "interval: 2s")
                .replace("interval: 2m", "interval: 2s")
        };
        let read = |path: &str| std::fs::read_to_string(repository.join(path)).unwrap();
        let config = fast(read("prometheus/prometheus.yml"))
            .replace("127.0.0.1:8080", service)
            .replace("127.0.0.1:9115", &blackbox)
            .replace("127.0.0.1:9090", &prometheus)
            .replace("../deploy/prometheus/alerts.yml", "rules/alerts.yml");
        std::fs::write(folder.join("prometheus.yml"), config).unwrap();
        std::fs::write(
            folder.join("rules/recording.yml"),
            fast(read("prometheus/rules/recording.yml")),
        )
        .unwrap();
        std::fs::write(
            folder.join("rules/alerts.yml"),
            fast(read("deploy/prometheus/alerts.yml")),
        )
        .unwrap();

        let mut monitoring = Monitoring {
            children: Vec::new(),
            folder,
            prometheus: format!("http://{prometheus}"),
        };
        let installed = "Debian packages prometheus and prometheus-blackbox-exporter; scripts/check-assets.sh installs them";
        let exporter = Command::new("prometheus-blackbox-exporter")
            .arg(format!(
                "--config.file={}",
                repository.join("prometheus/blackbox.yml").display()
            ))
            .arg(format!("--web.listen-address={blackbox}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(installed);
        monitoring.children.push(exporter);
        let server = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                monitoring.folder.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                monitoring.folder.join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(installed);
        monitoring.children.push(server);
        monitoring
    }

    /// Runs an instant query and returns its result vector, or an empty one
    /// while Prometheus is not up yet.
    async fn query(&self, client: &reqwest::Client, promql: &str) -> Vec<Value> {
        let response = client
            .get(format!("{}/api/v1/query", self.prometheus))
            .query(&[("query", promql)])
            .send()
            .await;
        let Ok(response) = response else {
            return Vec::new();
        };
        let body: Value = response.json().await.unwrap_or(Value::Null);
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Polls `promql` until `accept` takes its result, for at most 60 s.
    async fn wait_for(
        &self,
        client: &reqwest::Client,
        promql: &str,
        accept: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let result = self.query(client, promql).await;
            if accept(&result) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "{promql} still gave {result:?} after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Returns the sample value of one instant-vector element.
fn sample(element: &Value) -> f64 {
    element["value"][1]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_and_evaluates_rules() {
    let client = reqwest::Client::new();
    let mut service = Service::start();
    service.wait_ready(&client).await;
    let address = service.base.trim_start_matches("http://").to_owned();
    let monitoring = Monitoring::start(&address);

    let up = monitoring
        .wait_for(&client, r#"up{job="babyshield-api"}"#, |r| r.len() == 1)
        .await;
    assert_eq!(sample(&up[0]), 1.0);

    let probes = monitoring
        .wait_for(&client, r#"probe_success{job="babyshield-probes"}"#, |r| {
            r.len() == 2
        })
        .await;
    for probe in &probes {
        assert_eq!(sample(probe), 1.0, "{probe}");
    }

    // The SLI rules leave out monitoring and scrape routes, so searches
    // make the traffic, one every 250 ms while waiting and at most 240.
    let traffic = {
        let client = client.clone();
        let base = service.base.clone();
        tokio::spawn(async move {
            for _ in 0..240 {
                search(&client, &base, json!({"product": "crib"})).await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let rate = monitoring
        .wait_for(&client, "job:http_requests:rate5m", |r| {
            r.first().is_some_and(|element| sample(element) > 0.0)
        })
        .await;
    traffic.abort();
    assert_eq!(rate.len(), 1, "{rate:?}");
    assert_eq!(rate[0]["metric"]["job"], "babyshield-api");

    service.child.kill().unwrap();
    service.child.wait().unwrap();
    let pending = monitoring
        .wait_for(
            &client,
            r#"ALERTS{alertname="ServiceDown", alertstate="pending"}"#,
            |r| !r.is_empty(),
        )
        .await;
    assert_eq!(pending[0]["metric"]["severity"], "critical");
    assert_eq!(pending[0]["metric"]["instance"], address.as_str());
}
