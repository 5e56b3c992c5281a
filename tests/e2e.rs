//! End-to-end: starts the built `babyshield-api` binary against real
//! Postgres (a database of its own) and Redis, waits for readiness and
//! searches the bundled real recall sample over HTTP.

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
        let port = free_port();
        let database = format!("babyshield_e2e_{}_{}", std::process::id(), port);
        let child = Command::new(env!("CARGO_BIN_EXE_babyshield-api"))
            .arg("serve")
            .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", format!("{POSTGRES}/{database}"))
            .env("REDIS_URL", "redis://127.0.0.1:6379")
            .env("LOG_LEVEL", "warn")
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
            .args(["-qc", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database)])
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
    assert!(crib_titles[0].contains("crib"), "top result {:?}", crib_titles[0]);

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
