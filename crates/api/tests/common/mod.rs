//! Test harness: each test gets its own Postgres database (dropped when the
//! harness is dropped, even after a failed assertion), in-memory cache and
//! limiter unless it names a Redis, and drives the real router without a
//! socket.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod throwaway;

use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use babyshield_api::app::{self, AppState};
use babyshield_api::config::Cli;
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Server of every test database.
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// An application on a database of its own.
pub struct TestApp {
    /// The router under test.
    pub router: Router,
    /// Its shared state.
    pub state: AppState,
    database: String,
}

/// A response, read whole.
pub struct TestResponse {
    /// Status code.
    pub status: StatusCode,
    /// `Content-Type` header.
    pub content_type: String,
    /// Body parsed as JSON, or `Value::Null` when it is not JSON.
    pub json: Value,
    /// Raw body.
    pub text: String,
    /// Response headers.
    pub headers: axum::http::HeaderMap,
}

impl TestApp {
    /// Builds an app with the given extra settings (as command-line flags).
    pub async fn spawn_with(flags: &[&str]) -> TestApp {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let database = format!(
            "babyshield_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut app = TestApp::spawn_against(&format!("{POSTGRES}/{database}"), flags).await;
        app.database = database;
        app
    }

    /// Builds an app on the database at `database_url`, which the harness
    /// leaves in place, with the given extra settings.
    pub async fn spawn_against(database_url: &str, flags: &[&str]) -> TestApp {
        let mut args = vec![
            "babyshield-api",
            "--database-url",
            database_url,
            "--load-sample",
            "false",
            "--log-level",
            "warn",
        ];
        // Tests run in parallel on one machine: unless a test asks for Redis,
        // the app keeps its cache and limiter in memory so that tests never
        // share cached results or rate-limit windows.
        for (flag, value) in [("--redis-url", ""), ("--rate-limit-requests", "1000000")] {
            if !flags.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        args.extend_from_slice(flags);
        let cli = Cli::try_parse_from(args).expect("valid test flags");
        let state = app::prepare(&cli.config).await.expect("app prepares");
        let router = app::router(&state, &cli.config);
        TestApp {
            router,
            state,
            database: String::new(),
        }
    }

    /// Builds an app on a database holding the bundled sample, created once
    /// per test process and shared by its tests, which must only read.
    pub async fn spawn_on_sample() -> TestApp {
        let database = sample_database();
        let database_url = format!("{POSTGRES}/{database}");
        let cli = Cli::try_parse_from([
            "babyshield-api",
            "--database-url",
            &database_url,
            "--log-level",
            "warn",
            "--redis-url",
            "",
            "--rate-limit-requests",
            "1000000",
        ])
        .expect("valid test flags");
        let state = app::prepare(&cli.config).await.expect("app prepares");
        let router = app::router(&state, &cli.config);
        TestApp {
            router,
            state,
            // Kept for the other tests of this process; removed by the next
            // test process.
            database: String::new(),
        }
    }

    /// Builds an app with default settings and an empty recall table.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// Sends a request through the router.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            content_type,
            json,
            text,
            headers,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// `POST /api/v1/search/advanced` with a JSON body.
    pub async fn search(&self, body: Value) -> TestResponse {
        self.post_raw(
            "/api/v1/search/advanced",
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    /// `POST path` with any content type and body.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> TestResponse {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Imports fixture files or folders under `tests/fixtures/recalls/`.
    pub async fn import_fixtures(
        &self,
        relative: &[&str],
    ) -> babyshield_api::import::ImportSummary {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/recalls");
        let paths = relative.iter().map(|r| root.join(r)).collect();
        babyshield_api::import::import_paths(&self.state.pool, paths)
            .await
            .expect("fixtures import")
    }
}

/// Returns the name of this process's sample database, creating and
/// loading it on first use. Sample databases of earlier test processes are
/// dropped then.
fn sample_database() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let name = format!("babyshield_test_sample_{}", std::process::id());
        let created = name.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&format!("{POSTGRES}/postgres"))
                    .await
                    .unwrap();
                let stale: Vec<String> = sqlx::query_scalar(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'babyshield\\_test\\_sample\\_%'",
                )
                .fetch_all(&mut connection)
                .await
                .unwrap();
                // A sample database whose test process still runs belongs
                // to a concurrent test run; only the leftovers of finished
                // processes are dropped.
                let finished = stale.into_iter().filter(|database| {
                    database
                        .rsplit('_')
                        .next()
                        .and_then(|pid| pid.parse::<u32>().ok())
                        .is_none_or(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
                });
                for database in finished {
                    let statement = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                    sqlx::query(&statement).execute(&mut connection).await.unwrap();
                }
                let cli = Cli::try_parse_from([
                    "babyshield-api",
                    "--database-url",
                    &format!("{POSTGRES}/{created}"),
                ])
                .unwrap();
                app::prepare(&cli.config).await.expect("sample database loads");
            });
        })
        .join()
        .expect("sample database thread");
        name
    })
    .clone()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if self.database.is_empty() {
            return;
        }
        let database = self.database.clone();
        // Drop runs outside async context rules, so the cleanup gets a
        // thread and a runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut connection) =
                    sqlx::PgConnection::connect(&format!("{POSTGRES}/postgres")).await
                {
                    let statement = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                    let _ = sqlx::query(&statement).execute(&mut connection).await;
                }
            });
        })
        .join();
    }
}

/// Asserts a problem+json response with `status` and `code`.
pub fn assert_problem(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status.as_u16(), status, "body: {}", response.text);
    assert_eq!(response.content_type, "application/problem+json");
    assert_eq!(response.json["status"], status);
    assert_eq!(response.json["code"], code, "body: {}", response.text);
    assert!(response.json["title"].is_string());
    assert!(response.json["detail"].is_string());
    assert!(response.json["type"].is_string());
    assert!(response.json["traceId"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
}
